#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: rollout_report_data
short_description: Gather what the rollout report draws of one cluster over a time window
version_added: 1.0.0
author:
  - cxpe.rollout maintainers (@cxpe)
description:
  - Reads the rollout ledgers of some namespaces (as M(cxpe.rollout.rollout_info) does) and keeps those whose history
    records a change between O(start) and O(end) - the services whose traffic moved in the window.
  - For each of them, asks Prometheus for two range queries over the window, one series per version - the error
    ratio (failed requests over requests, per second over O(rate_window)) and the active sessions - over the Services
    that serve the service's users (C(<service>), and C(<service>-stable), C(<service>-canary) and
    C(<service>-preview) when they exist).
  - What Prometheus cannot give (no data, a query it rejects, no answer) is returned with why, never a failure, so a
    report still shows the traffic from the ledgers. After a first answer that never came, Prometheus is not asked
    again. The module fails only when the ledgers cannot be read.
  - The C(cxpe.rollout.report) and C(cxpe.rollout.upgrade) playbooks run it on each unit and draw the result
    with the P(cxpe.rollout.rollout_report#filter) filter.
  - Never changes anything.
options:
  namespaces:
    description: Namespaces whose ledgers to read. A namespace that does not exist has none.
    type: list
    elements: str
    required: true
  services:
    description: Only the ledgers of these services. Defaults to every ledger of O(namespaces).
    type: list
    elements: str
  start:
    description: Start of the window, in seconds since the epoch or as a UTC timestamp like C(2026-01-31T12:00:00Z).
    type: str
    required: true
  end:
    description: End of the window, in the same forms. Defaults to now.
    type: str
  step:
    description: Seconds between two points of a range query. Defaults to the window's length over 240, at least 1.
    type: int
  prometheus_url:
    description: Base URL of the Prometheus HTTP API. Without it only the ledgers are read.
    type: str
  prometheus_headers:
    description: HTTP headers sent to Prometheus, for example C(Authorization).
    type: dict
  prometheus_timeout:
    description: Seconds to wait for each Prometheus answer.
    type: int
    default: 10
  prometheus_validate_certs:
    description: Whether to verify the TLS certificate of Prometheus.
    type: bool
    default: true
  rate_window:
    description:
      - The range of the C(rate()) of the error ratio, a PromQL duration. Shorter shows changes sooner; it must span
        at least two of Prometheus's scrapes.
    type: str
    default: 1m
  requests_metric:
    description: The counter of requests, with the labels C(namespace), C(service) and O(version_label).
    type: str
    default: kubesim_service_requests_total
  errors_metric:
    description: The counter of failed requests, labelled as O(requests_metric).
    type: str
    default: kubesim_service_request_errors_total
  sessions_metric:
    description: The gauge of active sessions, labelled as O(requests_metric).
    type: str
    default: kubesim_service_sessions_active
  version_label:
    description: The label whose value is the version that served.
    type: str
    default: version
extends_documentation_fragment:
  - cxpe.rollout.rollout.read_only
  - kubernetes.core.k8s_auth_options
  - cxpe.rollout.rollout.kubernetes_client
seealso:
  - module: cxpe.rollout.rollout_info
"""

EXAMPLES = r"""
- name: Gather the last hour of the voice services
  cxpe.rollout.rollout_report_data:
    namespaces: [voice]
    start: "{{ now(utc=true).timestamp() - 3600 }}"
    prometheus_url: http://prometheus.monitoring:9090
  register: report_data

- name: Draw it
  ansible.builtin.copy:
    dest: /tmp/voice-report.html
    content: "{{ [report_data | combine({'unit': inventory_hostname})] | cxpe.rollout.rollout_report }}"
    mode: "0644"
  delegate_to: localhost
"""

RETURN = r"""
window:
  description: The window, in seconds since the epoch, and the step of the range queries.
  returned: success
  type: dict
  sample: {start: 1796398200.0, end: 1796398500.0, step: 2}
prometheus_url:
  description: The Prometheus asked, or null.
  returned: success
  type: str
rollouts:
  description: The services whose traffic moved in the window, sorted by namespace and service.
  returned: success
  type: list
  elements: dict
  contains:
    namespace:
      description: Namespace of the service.
      type: str
      sample: voice
    service:
      description: The service.
      type: str
      sample: tenant-service
    ledger:
      description: Its ledger, as M(cxpe.rollout.rollout_info) returns it, with its history.
      type: dict
    metrics:
      description:
        - C(error_ratio) and C(sessions), each with the C(query), its C(status) (C(ok), C(no_data), C(unreachable),
          C(rejected) or C(not_queried)), a C(message), and C(series), one per version, each with its C(version) and
          its C(points), C([time, value]) pairs where a value is null when it is not a number (no requests).
      type: dict
problems:
  description: Ledgers of the selected services that could not be read, each named with why.
  returned: success
  type: list
  elements: str
"""

import time

from ansible_collections.cxpe.rollout.plugins.module_utils import report
from ansible_collections.cxpe.rollout.plugins.module_utils.args_common import argument_spec
from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import (
    Cluster,
    ClusterError,
)
from ansible_collections.cxpe.rollout.plugins.module_utils.ledger import list_ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.prometheus import (
    NO_DATA,
    UNREACHABLE,
    Prometheus,
    QueryError,
)
from ansible_collections.kubernetes.core.plugins.module_utils.ansiblemodule import (
    AnsibleModule,
)
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.client import (
    get_api_client,
)
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.core import (
    AnsibleK8SModule,
)
from ansible_collections.kubernetes.core.plugins.module_utils.k8s.exceptions import (
    CoreException,
)


class RangeQueries(object):
    """The range queries of a window against one Prometheus, or none; a Prometheus that did not answer once is not
    asked again, so a report of many services does not wait for each."""

    def __init__(self, prometheus, start, end, step, version_label):
        self.prometheus, self.start, self.end, self.step, self.version_label = prometheus, start, end, step, version_label
        self.unreachable = None

    def run(self, query):
        measured = {"query": query, "series": []}
        if self.prometheus is None:
            return dict(measured, status="not_queried", message="no prometheus_url was given")
        if self.unreachable:
            return dict(measured, status=UNREACHABLE, message=self.unreachable)
        try:
            reading = self.prometheus.query_range(query, self.start, self.end, self.step)
        except QueryError as error:
            return dict(measured, status="rejected", message="%s" % error)
        if reading.status == UNREACHABLE:
            self.unreachable = reading.message
        elif reading.status == NO_DATA:
            return dict(measured, status=NO_DATA, message="Prometheus has no data of this service in the window")
        return dict(measured, status=reading.status, message=reading.message,
                    series=report.versions_of(reading.value or [], self.version_label))


def window(params):
    """(start, end, step) of the window the options give; ReportError when it is not one."""
    start = report.epoch(params["start"])
    end = report.epoch(params["end"]) if params["end"] else time.time()
    if end <= start:
        raise report.ReportError("the window ends (%s) before it starts (%s)" % (params["end"], params["start"]))
    return start, end, params["step"] or report.step_of(start, end)


def gather(cluster, params):
    """The ledgers of the selected services, and the range queries of those that changed in the window."""
    start, end, step = window(params)
    prometheus = None
    if params["prometheus_url"]:
        prometheus = Prometheus(params["prometheus_url"], params["prometheus_headers"], params["prometheus_timeout"],
                                params["prometheus_validate_certs"])
    queries = RangeQueries(prometheus, start, end, step, params["version_label"])
    selected = set(params["services"] or [])
    rollouts, problems = [], []
    for namespace in params["namespaces"]:
        for ledger in list_ledgers(cluster, namespace):
            if selected and ledger.get("service") not in selected:
                continue
            if not ledger["valid"]:
                problems.append("%s/%s: %s" % (ledger["namespace"], ledger["name"], ledger["error"]))
                continue
            if not report.changed_in(ledger, start, end):
                continue
            promql = report.queries(namespace, ledger["service"], params["rate_window"], params["requests_metric"],
                                    params["errors_metric"], params["sessions_metric"], params["version_label"])
            rollouts.append({"namespace": namespace, "service": ledger["service"], "ledger": ledger,
                             "metrics": dict((name, queries.run(query)) for name, query in sorted(promql.items()))})
    return {"window": {"start": start, "end": end, "step": step}, "prometheus_url": params["prometheus_url"],
            "rollouts": rollouts, "problems": problems}


def main():
    module = AnsibleK8SModule(
        module_class=AnsibleModule, supports_check_mode=True,
        argument_spec=argument_spec(
            namespaces={"type": "list", "elements": "str", "required": True},
            services={"type": "list", "elements": "str"},
            start={"type": "str", "required": True},
            end={"type": "str"},
            step={"type": "int"},
            prometheus_url={"type": "str"},
            prometheus_headers={"type": "dict", "no_log": True},
            prometheus_timeout={"type": "int", "default": 10},
            prometheus_validate_certs={"type": "bool", "default": True},
            rate_window={"type": "str", "default": "1m"},
            requests_metric={"type": "str", "default": "kubesim_service_requests_total"},
            errors_metric={"type": "str", "default": "kubesim_service_request_errors_total"},
            sessions_metric={"type": "str", "default": "kubesim_service_sessions_active"},
            version_label={"type": "str", "default": "version"},
        ),
    )
    try:
        result = gather(Cluster(get_api_client(module).client), module.params)
    except (report.ReportError, ClusterError, CoreException) as error:
        module.fail_json(msg="%s" % error)
    else:
        module.exit_json(changed=False, **result)


if __name__ == "__main__":
    main()
