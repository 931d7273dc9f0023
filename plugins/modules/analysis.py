#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
module: analysis
short_description: Gate a rollout on Prometheus metrics and HTTP checks
version_added: 1.0.0
author:
  - cxpe.rollout maintainers (@cxpe)
description:
  - Measures O(count) times, O(interval) seconds apart, every metric (an instant PromQL query against a
    Prometheus HTTP API) and every webhook (an HTTP request), and fails unless the rollout may go on.
  - A metric measurement passes when its value is within O(metrics[].min) and O(metrics[].max) and, with a
    O(metrics[].baseline_query), when C(value <= baseline * (1 + tolerance)), for example the new version's error
    ratio against the old one's. A webhook measurement passes on a 2xx answer.
  - A measurement with no data (an empty result, or NaN such as an error ratio with no requests) or whose
    Prometheus or webhook does not answer is inconclusive.
  - A check fails once more than O(failure_limit) of its measurements failed; the analysis then stops at once.
    It is inconclusive once more than O(inconclusive_limit) were inconclusive. An inconclusive analysis fails
    unless O(on_inconclusive=pass).
  - A query that Prometheus rejects (a syntax error, for example) fails the module at once with Prometheus's
    own error text, as does a query returning more than one series.
options:
  prometheus_url:
    description: Base URL of the Prometheus HTTP API, for example C(http://prometheus.monitoring:9090). Required with O(metrics).
    type: str
  prometheus_headers:
    description: HTTP headers sent to Prometheus, for example C(Authorization).
    type: dict
  metrics:
    description: The metric checks.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the check, used in the results.
        type: str
        required: true
      query:
        description: Instant PromQL query returning one series or a scalar.
        type: str
        required: true
      min:
        description: Lowest passing value.
        type: float
      max:
        description: Highest passing value.
        type: float
      baseline_query:
        description: Instant PromQL query of the value to compare with (typically the same metric for the old version).
        type: str
      tolerance:
        description: How far above the baseline the value may be, as a fraction (0.1 is 10%).
        type: float
        default: 0
  webhooks:
    description: HTTP checks, each passing on a 2xx answer.
    type: list
    elements: dict
    default: []
    suboptions:
      name:
        description: Name of the check, used in the results.
        type: str
        required: true
      url:
        description: URL to request.
        type: str
        required: true
      method:
        description: HTTP method.
        type: str
        default: GET
      body:
        description: JSON body to send.
        type: dict
      headers:
        description: HTTP headers to send.
        type: dict
  initial_delay:
    description: Seconds to wait before the first measurement, for example for traffic to reach a version that was just switched to.
    type: float
    default: 0
  count:
    description: Measurements of each check.
    type: int
    default: 1
  interval:
    description: Seconds between measurements.
    type: float
    default: 0
  failure_limit:
    description: Failed measurements a check may have and still pass.
    type: int
    default: 0
  inconclusive_limit:
    description: Inconclusive measurements a check may have and still pass.
    type: int
    default: 0
  on_inconclusive:
    description: Whether an inconclusive analysis fails the module or lets the rollout go on.
    type: str
    choices: [fail, pass]
    default: fail
  timeout:
    description: Seconds to wait for each HTTP answer.
    type: int
    default: 10
  validate_certs:
    description: Whether to verify TLS certificates of Prometheus and the webhooks.
    type: bool
    default: true
extends_documentation_fragment:
  - cxpe.rollout.rollout.read_only
notes:
  - The P(cxpe.rollout.bluegreen#role) role uses it for its smoke check and its post-switch window.
seealso:
  - module: cxpe.rollout.bluegreen_switch
"""

EXAMPLES = r"""
- name: Fail when the new version's error ratio is above 1% or above the old one's by more than 10%
  cxpe.rollout.analysis:
    prometheus_url: http://prometheus.monitoring:9090
    metrics:
      - name: error_ratio
        query: >-
          sum(rate(kubesim_service_request_errors_total{service="gws-chat",version="9.0.101.02"}[1m]))
          / sum(rate(kubesim_service_requests_total{service="gws-chat",version="9.0.101.02"}[1m]))
        max: 0.01
        baseline_query: >-
          sum(rate(kubesim_service_request_errors_total{service="gws-chat",version="9.0.100.01"}[1m]))
          / sum(rate(kubesim_service_requests_total{service="gws-chat",version="9.0.100.01"}[1m]))
        tolerance: 0.1
    count: 5
    interval: 30
    failure_limit: 1

- name: Smoke-test the idle color through its preview entry point
  cxpe.rollout.analysis:
    webhooks:
      - name: health
        url: http://gws-chat-preview.gws.svc/health
"""

RETURN = r"""
outcome:
  description: C(Successful), C(Failed) or C(Inconclusive).
  returned: always
  type: str
  sample: Successful
passed:
  description: Whether the rollout may go on (Successful, or Inconclusive with O(on_inconclusive=pass)).
  returned: always
  type: bool
checks:
  description: The outcome of each check, by name.
  returned: always
  type: dict
  sample: {error_ratio: Successful}
measurements:
  description: Every measurement, in order.
  returned: always
  type: list
  elements: dict
  contains:
    check:
      description: Name of the check.
      type: str
    kind:
      description: C(metric) or C(webhook).
      type: str
    at:
      description: When it was measured (UTC).
      type: str
    phase:
      description: C(passed), C(failed) or C(inconclusive).
      type: str
    value:
      description: The query's value (metrics; null without data).
      type: float
    baseline:
      description: The baseline query's value (metrics with a baseline).
      type: float
    status:
      description: The HTTP status (webhooks; null without an answer).
      type: int
    message:
      description: Why it passed, failed or was inconclusive.
      type: str
duration_ms:
  description: Time the module took, in milliseconds.
  returned: always
  type: int
"""

import time

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.cxpe.rollout.plugins.module_utils import analysis
from ansible_collections.cxpe.rollout.plugins.module_utils.ledger import timestamp
from ansible_collections.cxpe.rollout.plugins.module_utils.prometheus import (
    Prometheus,
    QueryError,
    call_webhook,
)


def module_spec():
    return dict(
        prometheus_url=dict(type="str"),
        prometheus_headers=dict(type="dict", no_log=True),
        metrics=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True),
            query=dict(type="str", required=True),
            min=dict(type="float"),
            max=dict(type="float"),
            baseline_query=dict(type="str"),
            tolerance=dict(type="float", default=0),
        )),
        webhooks=dict(type="list", elements="dict", default=[], options=dict(
            name=dict(type="str", required=True),
            url=dict(type="str", required=True),
            method=dict(type="str", default="GET"),
            body=dict(type="dict"),
            headers=dict(type="dict", no_log=True),
        )),
        initial_delay=dict(type="float", default=0),
        count=dict(type="int", default=1),
        interval=dict(type="float", default=0),
        failure_limit=dict(type="int", default=0),
        inconclusive_limit=dict(type="int", default=0),
        on_inconclusive=dict(type="str", choices=["fail", "pass"], default="fail"),
        timeout=dict(type="int", default=10),
        validate_certs=dict(type="bool", default=True),
    )


def measure_webhook(hook, params):
    phase, status, message = call_webhook(hook["url"], hook["method"], hook["body"], hook["headers"],
                                          params["timeout"], params["validate_certs"])
    return {"check": hook["name"], "kind": "webhook", "at": timestamp(), "phase": phase, "status": status,
            "message": message}


def run(params, tally, sleep=time.sleep):
    prometheus = Prometheus(params["prometheus_url"], params["prometheus_headers"], params["timeout"],
                            params["validate_certs"]) if params["metrics"] else None
    for index in range(params["count"]):
        sleep(params["interval"] if index else params["initial_delay"])
        for metric in params["metrics"]:
            tally.add(analysis.measure_metric(prometheus.query, metric, timestamp()))
        for hook in params["webhooks"]:
            tally.add(measure_webhook(hook, params))
        if tally.failed():
            return


def main():
    started = time.monotonic()
    module = AnsibleModule(argument_spec=module_spec(), supports_check_mode=True)
    params = module.params
    if not params["metrics"] and not params["webhooks"]:
        module.fail_json(msg="nothing to measure: give metrics, webhooks or both")
    if params["metrics"] and not params["prometheus_url"]:
        module.fail_json(msg="prometheus_url is required with metrics")
    tally = analysis.Tally(params["failure_limit"], params["inconclusive_limit"])

    def results():
        return {"outcome": tally.outcome(), "checks": tally.outcomes(), "measurements": tally.measurements,
                "duration_ms": int((time.monotonic() - started) * 1000)}

    try:
        analysis.check_metrics(params["metrics"], params["count"], params["failure_limit"], params["inconclusive_limit"],
                               interval=params["interval"], initial_delay=params["initial_delay"])
        run(params, tally)
    except (analysis.AnalysisError, QueryError) as error:
        module.fail_json(msg="%s" % error, passed=False, **results())
    outcome = tally.outcome()
    passed = outcome == analysis.SUCCESSFUL or (outcome == analysis.INCONCLUSIVE_OUTCOME
                                                and params["on_inconclusive"] == "pass")
    if not passed:
        module.fail_json(msg="analysis %s: %s" % (outcome, tally.summary()), passed=False, **results())
    module.exit_json(changed=False, passed=True, **results())


if __name__ == "__main__":
    main()
