# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The cxpe.rollout.canary role end to end on kubesim with a real Prometheus, run as the service account of the
cxpe.rollout.rbac playbook on a cluster that authorizes by RBAC: a good version promoted through every router, a bad
version aborted at its first analysis, Prometheus lost mid-step, a canary that never becomes Ready, and schedules
refused before any change; and the role run twice in one play, for two services."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import concurrent.futures
import json
import threading

import pytest
from bluegreen_support import get, ledger, new_namespace, poll, propagate, resource_versions, traffic_totals
from canary_support import CANARY_KINDS, canary_service, canary_share, version_counts
from playbook_support import run_playbook
from port_support import free_port
from service_account_support import account_env

STABLE, GOOD, BAD, TYPO = "1.0", "2.0", "2.1-errors20", "9.9.9-typo"
REQUEST_RATE = 100
TIME_SCALE = 20
MEASURE_SECONDS = 1.5


def upgrade(env, prometheus, namespace, version, kind, **extra):
    variables = {
        "canary_namespace": namespace, "canary_service": "web", "canary_version": version,
        "canary_routers": [] if kind == "replicas" else [{"kind": kind}],
        "canary_prometheus_url": prometheus.url if prometheus else "",
        # Prometheus scrapes every second: let two scrapes see each step's requests.
        "canary_analysis_initial_delay": 2.5, "canary_analysis_count": 2, "canary_analysis_interval": 1,
        "canary_ready_timeout": 60, "canary_weight_timeout": 60, "canary_scale_down_delay": 1,
    }
    variables.update(extra)
    return run_playbook(env, "cxpe.rollout.canary_upgrade", "-e", json.dumps(variables))


def scraped(prometheus, namespace):
    """Wait until Prometheus has the namespace's request counters: the role checks the stable version's
    side of the analysis before it changes anything."""
    poll(lambda: prometheus.query('kubesim_service_requests_total{namespace="%s"}' % namespace), bool,
         "Prometheus to scrape %s's requests" % namespace)


def stable_version(simulator, namespace):
    return get(simulator, namespace, "deployment", "web")["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/version"]


def history_actions(simulator, namespace):
    return [entry["action"] for entry in json.loads(ledger(simulator, namespace, "web")["history"])]


def canary_traffic_share(simulator, namespace, canary):
    propagate(simulator)
    before = version_counts(simulator, namespace, (STABLE, canary))
    poll(lambda: version_counts(simulator, namespace, (STABLE, canary)),
         lambda after: canary_share(before, after, canary)[1] > 500, "traffic to flow")
    return canary_share(before, version_counts(simulator, namespace, (STABLE, canary)), canary)[0]


def test_a_good_version_is_promoted_through_every_router(rbac_kubesim_factory, prometheus_factory, request, tmp_path):
    simulator = rbac_kubesim_factory(time_scale=TIME_SCALE)
    prometheus = prometheus_factory(simulator)
    namespaces = dict((kind, new_namespace(simulator, "%s-%s" % (request.node.name, kind))) for kind in CANARY_KINDS)
    account = account_env(simulator, tmp_path, {"canary": list(namespaces.values())})
    for kind, namespace in namespaces.items():
        canary_service(simulator, namespace, kind, canary=STABLE, request_rate=REQUEST_RATE)
    for namespace in namespaces.values():
        scraped(prometheus, namespace)
    # Side by side, a service per router kind: the full default schedule through ingress-nginx; two steps through the others.
    with concurrent.futures.ThreadPoolExecutor(len(namespaces)) as pool:
        runs = dict((kind, pool.submit(upgrade, account, prometheus, namespace, GOOD, kind,
                                       **({} if kind == "nginx" else {"canary_schedule": [50, 100]})))
                    for kind, namespace in namespaces.items())
    for kind, namespace in namespaces.items():
        run, counts = runs[kind].result()
        assert run.returncode == 0 and counts["failed"] == 0, run.stdout
        assert stable_version(simulator, namespace) == GOOD
        assert get(simulator, namespace, "deployment", "web")["spec"]["replicas"] == 3
        assert get(simulator, namespace, "deployment", "web-canary")["spec"]["replicas"] == 0
        record = ledger(simulator, namespace, "web")
        assert (record["phase"], record["weight"], record["active.version"], record["previous.version"]) == (
            "promoted", "0", GOOD, STABLE), record
        steps = 4 if kind == "nginx" else 2
        assert history_actions(simulator, namespace) == ["weight"] * steps + ["promote"]
        assert traffic_totals(simulator, namespace, version=GOOD)[0] > 0
        # Moving the weights, promoting and scaling the canary down failed no request.
        assert traffic_totals(simulator, namespace)[1] == 0, (kind, version_counts(simulator, namespace, (STABLE, GOOD)))


def test_a_bad_version_is_aborted_at_its_first_analysis_and_bad_input_changes_nothing(
        rbac_kubesim_factory, prometheus_factory, request, tmp_path):
    simulator = rbac_kubesim_factory(time_scale=TIME_SCALE, extra_args=["--missing-image", "*:%s" % TYPO])
    prometheus = prometheus_factory(simulator)
    namespace = new_namespace(simulator, request.node.name)
    canary_service(simulator, namespace, "nginx", canary=STABLE, request_rate=REQUEST_RATE)
    account = account_env(simulator, tmp_path, {"canary": [namespace]})
    scraped(prometheus, namespace)

    # Schedules that could never promote, or go backwards, are refused before anything is written.
    before = resource_versions(simulator, namespace)
    for schedule in ([5, 25, 50], [25, 5, 100], [0, 50, 100]):
        run, counts = upgrade(account, prometheus, namespace, GOOD, "nginx", canary_schedule=schedule)
        assert run.returncode != 0 and "is not a schedule" in run.stdout, run.stdout
    run, counts = upgrade(account, prometheus, namespace, GOOD, "nginx", canary_routers=[{"kind": "nginx", "name": "nope"}])
    assert run.returncode != 0 and "Ingress %s/nope does not exist" % namespace in run.stdout, run.stdout
    # Prometheus unreachable, and a query with no data, are found before anything changes.
    run, counts = upgrade(account, None, namespace, GOOD, "nginx", canary_prometheus_url="http://127.0.0.1:%d" % free_port())
    assert run.returncode != 0 and "is unreachable" in run.stdout, run.stdout
    run, counts = upgrade(account, prometheus, namespace, GOOD, "nginx", canary_errors_metric="no_such_metric_total",
                          canary_requests_metric="no_such_metric_total")
    assert run.returncode != 0 and "error-ratio of the stable version is inconclusive" in run.stdout, run.stdout
    assert resource_versions(simulator, namespace) == before

    # 20% of the bad version's requests fail: its first analysis fails and every request goes back to stable.
    run, counts = upgrade(account, prometheus, namespace, BAD, "nginx")
    assert run.returncode != 0 and counts["failed"] == 1, run.stdout
    assert "The canary of %s/web %s was aborted: analysis Failed: error-ratio is failed" % (namespace, BAD) in run.stdout
    record = ledger(simulator, namespace, "web")
    assert (record["phase"], record["weight"], record["step"], record["active.version"]) == ("aborted", "0", "0", STABLE)
    measurements = json.loads(record["measurements"])
    assert measurements and measurements[-1]["check"] == "error-ratio" and measurements[-1]["value"] > 0.1, measurements
    assert history_actions(simulator, namespace) == ["weight", "abort"]
    assert get(simulator, namespace, "deployment", "web-canary")["spec"]["replicas"] == 0
    assert canary_traffic_share(simulator, namespace, BAD) == 0.0
    # The only failed requests are the bad version's own.
    assert traffic_totals(simulator, namespace, version=STABLE)[1] == 0
    assert traffic_totals(simulator, namespace, version=BAD)[1] > 0
    requests, errors = traffic_totals(simulator, namespace)
    assert errors == traffic_totals(simulator, namespace, version=BAD)[1]

    # A tag that was never pushed: the canary never becomes Ready, no traffic moves, and the run says why.
    run, counts = upgrade(account, prometheus, namespace, TYPO, "nginx", canary_ready_timeout=10)
    assert run.returncode != 0 and counts["failed"] == 1, run.stdout
    assert get(simulator, namespace, "ingress", "web-canary")["metadata"]["annotations"]["nginx.ingress.kubernetes.io/canary-weight"] == "0"
    assert stable_version(simulator, namespace) == STABLE
    assert traffic_totals(simulator, namespace, version=STABLE)[1] == 0


@pytest.mark.parametrize("kind", ("consul",))
def test_losing_prometheus_mid_step_aborts_and_never_promotes(rbac_kubesim_factory, prometheus_factory, request, tmp_path, kind):
    simulator = rbac_kubesim_factory(time_scale=TIME_SCALE)
    prometheus = prometheus_factory(simulator)
    namespace = new_namespace(simulator, request.node.name)
    canary_service(simulator, namespace, kind, canary=STABLE, request_rate=REQUEST_RATE)
    account = account_env(simulator, tmp_path, {"canary": [namespace]})
    scraped(prometheus, namespace)
    outcome = {}
    play = threading.Thread(target=lambda: outcome.update(run=upgrade(
        account, prometheus, namespace, GOOD, kind, canary_schedule=[25, 100], canary_step_pause=3)))
    play.start()
    poll(lambda: ledger_weight(simulator, namespace), lambda weight: weight == "25", "the first step", seconds=120)
    prometheus.stop()
    play.join(timeout=300)
    run, counts = outcome["run"]
    assert run.returncode != 0 and counts["failed"] == 1, run.stdout
    assert "was aborted: analysis" in run.stdout, run.stdout
    record = ledger(simulator, namespace, "web")
    assert (record["phase"], record["weight"], record["active.version"]) == ("aborted", "0", STABLE)
    assert "promote" not in history_actions(simulator, namespace)
    assert stable_version(simulator, namespace) == STABLE
    assert canary_traffic_share(simulator, namespace, GOOD) == 0.0
    assert traffic_totals(simulator, namespace)[1] == 0


def ledger_weight(simulator, namespace):
    result = simulator.kubectl("get", "configmap", "web-rollout", "-n", namespace, "-o", "jsonpath={.data.weight}", check=False)
    return result.stdout.strip() if result.returncode == 0 else None


def test_the_role_run_twice_in_a_play_checks_each_service_s_own_stable_version(kubesim_factory, prometheus_factory, request, tmp_path):
    simulator = kubesim_factory(time_scale=TIME_SCALE)
    prometheus = prometheus_factory(simulator)
    namespace = new_namespace(simulator, request.node.name)
    canary_service(simulator, namespace, "nginx", canary=STABLE, request_rate=REQUEST_RATE)
    canary_service(simulator, namespace, "replicas", service_name="api", canary=STABLE, request_rate=REQUEST_RATE)
    scraped(prometheus, namespace)
    common = {"canary_namespace": namespace, "canary_version": GOOD, "canary_prometheus_url": prometheus.url, "canary_schedule": [100],
              "canary_analysis_initial_delay": 2.5, "canary_analysis_count": 1, "canary_scale_down_delay": 0}
    checked = "{{ canary_preflight_metrics | map(attribute='query') | list }}"
    tasks = []
    for service, routers in (("web", [{"kind": "nginx"}]), ("api", [])):
        tasks += [{"name": "upgrade " + service, "ansible.builtin.include_role": {"name": "cxpe.rollout.canary"},
                   "vars": dict(common, canary_service=service, canary_routers=routers)},
                  {"name": "checked for " + service, "ansible.builtin.debug": {"msg": checked}}]
    playbook = tmp_path / "twice.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    run, counts = run_playbook(simulator.env, str(playbook))
    assert run.returncode == 0 and counts["failed"] == 0, run.stdout
    assert stable_version(simulator, namespace) == GOOD
    # The second run checked its own service's stable version only, not the first one's again.
    second = run.stdout.split("TASK [checked for api]")[1]
    assert 'service=~\\"api(-stable|-canary)?\\"' in second and "web(-stable" not in second, second
