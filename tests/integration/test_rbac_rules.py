# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The strategies' Roles (data/rbac.yml) are exactly what the strategies need.

Every strategy runs once, as the service account of the cxpe.rollout.rbac playbook, on a simulator that authorizes by
RBAC and writes kube-apiserver's audit log, through every router and workload kind its role drives: blue/green through a
Service, an Ingress and an OpenShift Route at once; canary through ingress-nginx, an OpenShift Route and Consul at once,
and by the replica ratio; rolling update of a Deployment and of a StatefulSet. Then:

- nothing is missing: no request of the account was refused;
- nothing is more than needed: for each rule of a strategy's Role, a request of its run that this rule allows and no
  other rule of the Role does (kubesim's own RBAC rule matching says so), which is allowed with the Role, and refused
  (403) once the Role is applied without that rule (replayed as the account, writes as dry runs).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import http.server
import json
import os
import threading
import time

import kubernetes
import pytest
from bluegreen_support import apply, color_selector, deployment, ingress, route, service, wait_rollout
from canary_support import canary_service
from canary_support import router_objects as canary_router_objects
from playbook_support import ROOT, run_playbook
from rolling_support import deploy
from service_account_support import (account_env, account_events, api_client, guide_table, namespace_of, plain, refused, replay, role_name,
                                     rule_id, strategy_rules, witness)

TIME_SCALE = 50
VERSION = "2.0"
RULES = strategy_rules()
NAMESPACES = {"blue_green": "rbac-blue-green", "canary": "rbac-canary", "rolling_update": "rbac-rolling"}


class Zero(http.server.BaseHTTPRequestHandler):
    """A Prometheus whose every instant query is 0: the canary's error ratio and each drained pod's session count."""

    def do_GET(self):  # noqa: N802 (the http.server interface)
        body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [{"metric": {}, "value": [time.time(), "0"]}]}})
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    do_POST = do_GET

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def prometheus_url():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Zero)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()


def runs(prometheus_url):
    """{strategy: [(playbook, variables)]}: the upgrades of each strategy's run, each of its own service or workload."""
    namespace = NAMESPACES
    canary = {"canary_namespace": namespace["canary"], "canary_version": VERSION, "canary_schedule": [100], "canary_prometheus_url": prometheus_url,
              "canary_analysis_metrics": [{"name": "errors", "query": "errors", "max": 0}], "canary_analysis_count": 1,
              "canary_scale_down_delay": 0, "canary_ready_timeout": 60, "canary_weight_timeout": 60}
    rolling = {"rolling_namespace": namespace["rolling_update"], "rolling_version": VERSION, "rolling_prometheus_url": prometheus_url,
               "rolling_sessions_query": 'sessions{pod="{pod}"}', "rolling_rotation_delay": 0, "rolling_poll_interval": 0.2,
               "rolling_progress_interval": 1, "rolling_ready_timeout": 60}
    return {
        "blue_green": [("bluegreen_upgrade", {
            "bluegreen_namespace": namespace["blue_green"], "bluegreen_service": "web", "bluegreen_version": VERSION,
            "bluegreen_routers": [{"kind": "service"}, {"kind": "ingress"}, {"kind": "route"}], "bluegreen_scale_down_delay": 0,
            "bluegreen_ready_timeout": 60})],
        "canary": [("canary_upgrade", dict(canary, canary_service="web", canary_routers=[{"kind": "nginx"}, {"kind": "route"}, {"kind": "consul"}])),
                   ("canary_upgrade", dict(canary, canary_service="calls", canary_routers=[]))],
        "rolling_update": [("rolling_upgrade", dict(rolling, rolling_kind="Deployment", rolling_name="calls")),
                           ("rolling_upgrade", dict(rolling, rolling_kind="StatefulSet", rolling_name="sip"))],
    }


def deploy_services(simulator):
    """What the runs upgrade, deployed by the admin."""
    for namespace in NAMESPACES.values():
        simulator.kubectl("create", "namespace", namespace)
    blue_green = NAMESPACES["blue_green"]
    apply(simulator, blue_green, deployment("web", "blue", "1.0"), deployment("web", "green", "1.0", replicas=0),
          service("web", color_selector("web", "blue")), service("web-preview", color_selector("web", "green")),
          service("web-blue", color_selector("web", "blue")), service("web-green", color_selector("web", "green")),
          ingress("web", "web-blue", "web.example.com"), route("web", "web-blue", "web.example.com"))
    canary_service(simulator, NAMESPACES["canary"], "nginx", canary="1.0")
    apply(simulator, NAMESPACES["canary"], *canary_router_objects("web", "route")[0] + canary_router_objects("web", "consul")[0])
    canary_service(simulator, NAMESPACES["canary"], "replicas", service_name="calls", canary="1.0")
    rolling = NAMESPACES["rolling_update"]
    deploy(simulator, rolling, "Deployment", "calls", replicas=2, session_rate=0)
    simulator.kubectl("rollout", "resume", "-n", rolling, "deployment/calls")
    deploy(simulator, rolling, "StatefulSet", "sip", replicas=1, session_rate=0)
    wait_rollout(simulator, blue_green, "web-blue")


@pytest.fixture(scope="module")
def audited(module_rbac_kubesim_factory, prometheus_url, tmp_path_factory):
    """Every strategy run as the service account: (simulator, the account's environment, the playbooks' results by strategy,
    the audit events of the account's requests)."""
    workdir = tmp_path_factory.mktemp("rbac-rules")
    audit_log = workdir / "audit.log"
    simulator = module_rbac_kubesim_factory(time_scale=TIME_SCALE, extra_args=["--audit-log-path", str(audit_log)])
    deploy_services(simulator)
    env = account_env(simulator, workdir, dict((strategy, [namespace]) for strategy, namespace in NAMESPACES.items()))

    upgrades = [(strategy, playbook, variables) for strategy, each in runs(prometheus_url).items() for playbook, variables in each]
    # Side by side: each upgrade has a service or workload (and so a Lease) of its own.
    with concurrent.futures.ThreadPoolExecutor(len(upgrades)) as pool:
        futures = [(strategy, pool.submit(run_playbook, env, "cxpe.rollout." + playbook, "-e", json.dumps(variables)))
                   for strategy, playbook, variables in upgrades]
        results = dict((strategy, [future.result() for each, future in futures if each == strategy]) for strategy in NAMESPACES)
    return simulator, env, results, account_events(audit_log)


@pytest.mark.parametrize("strategy", sorted(NAMESPACES))
def test_every_run_passes_and_no_request_of_the_account_is_refused(audited, strategy):
    _simulator, _env, results, events = audited
    for result, counts in results[strategy]:
        assert result.returncode == 0 and counts["failed"] == 0, result.stdout + result.stderr
    mine = [event for event in events if namespace_of(event) in (NAMESPACES[strategy], None)]
    assert [event for event in mine if namespace_of(event)], "no request of %s was audited" % strategy
    assert not refused(mine)


def test_the_guide_shows_the_rules_of_each_strategy():
    with open(os.path.join(ROOT, "docs", "rbac.md"), encoding="utf-8") as handle:
        guide = handle.read()
    for strategy, rules in RULES.items():
        assert guide_table(rules) in guide, strategy


def set_rules(rbac, strategy, rules):
    """Give the strategy's Role these rules (a Role's rules are replaced as a whole by a patch)."""
    rbac.patch_namespaced_role(role_name(strategy), NAMESPACES[strategy], {"rules": rules})


@pytest.mark.parametrize("strategy, rule", [(strategy, rule) for strategy in sorted(RULES) for rule in RULES[strategy]],
                         ids=[rule_id(strategy, rule) for strategy in sorted(RULES) for rule in RULES[strategy]])
def test_each_rule_is_needed(audited, strategy, rule):
    simulator, env, _results, events = audited
    assert rule["why"].strip(), "every rule says which module or task needs it"
    rules = [plain(each) for each in RULES[strategy]]
    request = witness([event for event in events if namespace_of(event) == NAMESPACES[strategy]], rules, rule)
    assert request, "no request of the %s run needs %s" % (strategy, plain(rule))
    account = api_client(env["K8S_AUTH_KUBECONFIG"])
    rbac = kubernetes.client.RbacAuthorizationV1Api(api_client(simulator.kubeconfig))
    assert replay(account, request) not in (401, 403), request
    set_rules(rbac, strategy, [each for each in rules if each != plain(rule)])
    try:
        assert replay(account, request) == 403, request
    finally:
        set_rules(rbac, strategy, rules)
