# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The platform preflight: everything that must hold before an upgrade changes anything, checked at once, so a
refusal names every problem and leaves the cluster as it was.

- the Kubernetes API server is at least a given version (from its /version);
- the namespaces and PriorityClasses exist;
- the infrastructure the guide deploys first (step 1: Consul, Kafka) accepts TCP connections;
- each service's target is within the guide's N-2 release policy of what runs (releases.py), and not older unless
  a downgrade is allowed; what runs is what the platform's own state says (platform_state.observed_state over the
  Deployments, the Services and the ledgers, as the deployment role reads it);
- no rollout of those services is in progress: no ledger says a canary is progressing, a blue/green switch left its
  Service on another color than the ledger's, or a rolling drain has pods left; no other run holds their Lease.

`plan` is pure: it turns what was read into problems and a report. `read` does the reading, through cluster.Cluster
for the Kubernetes API and a TCP connection per endpoint.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re
import socket

from ansible_collections.cxpe.rollout.plugins.module_utils import lease as leases
from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.labels import COLORS, LABEL_COLOR, LABEL_NAME
from ansible_collections.cxpe.rollout.plugins.module_utils.platform_state import observed_state, running_version
from ansible_collections.cxpe.rollout.plugins.module_utils.releases import ReleaseError, is_older, parse_version, release_gap
from ansible_collections.cxpe.rollout.plugins.module_utils.status import platform_status
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies.bluegreen import STRATEGY as BLUE_GREEN
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies.canary import PROGRESSING
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies.canary import STRATEGY as CANARY
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies.rolling import COMPLETED
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies.rolling import STRATEGY as ROLLING

# "1.27", and a /version's minor as managed clusters report it ("27+").
KUBERNETES_RELEASE = re.compile(r"^v?(\d+)\.(\d+)")
MINOR = re.compile(r"^(\d+)")


def kubernetes_release(text):
    """(major, minor) of a Kubernetes version such as '1.27' or 'v1.32.4'; ValueError when it is not one."""
    match = KUBERNETES_RELEASE.match(("%s" % text).strip())
    if not match:
        raise ValueError("%r is not a Kubernetes version like 1.27" % (text,))
    return int(match.group(1)), int(match.group(2))


def server_release(document):
    """(major, minor) from the server's /version document, None when it tells neither."""
    major, minor = MINOR.match("%s" % document.get("major", "")), MINOR.match("%s" % document.get("minor", ""))
    if major and minor:
        return int(major.group(1)), int(minor.group(1))
    try:
        return kubernetes_release(document.get("gitVersion") or "")
    except ValueError:
        return None


def kubernetes_problems(document, minimum):
    """The server's release as 'major.minor' (None when /version does not tell), and the problem when it is older than
    `minimum` ('1.27')."""
    running = server_release(document)
    if running is None:
        return None, ["the Kubernetes API server's /version tells no version: %s" % (document,)]
    shown = "%d.%d" % running
    if running < kubernetes_release(minimum):
        build = " (%s)" % document["gitVersion"] if document.get("gitVersion") else ""
        return shown, ["the Kubernetes API server runs %s%s, older than the %s the upgrade needs" % (shown, build, minimum)]
    return shown, []


def missing_problems(what, exists):
    """One problem per name whose object does not exist; `exists` maps each name to whether it does."""
    return ["%s %s does not exist" % (what, name) for name, found in exists.items() if not found]


def endpoint_problems(probes, timeout):
    """One problem per endpoint that did not accept a connection; `probes` are (endpoint, socket error or None)."""
    return ["endpoint %s (%s:%s) does not accept a TCP connection within %gs: %s"
            % (endpoint["name"], endpoint["host"], endpoint["port"], timeout, error)
            for endpoint, error in probes if error is not None]


def where(request):
    return "%s/%s" % (request["namespace"], request["service"])


def _unique(items):
    return list(dict.fromkeys(items))


def _unparsable(request, version, role):
    """The problem with a version that is not a Genesys service version, or None."""
    try:
        parse_version(version)
    except ReleaseError as error:
        return "%s: the %s %s, so the release policy cannot be checked" % (where(request), role, error)
    return None


def release_problems(request, running, max_gap, allow_downgrade):
    """(gap, problems) of taking a service that runs `running` to its target `request["version"]`: how many releases
    ahead the target is (None when that cannot be counted) and what the N-`max_gap` release policy says against it.
    A service that does not run yet, or has no target, has nothing to check."""
    target = request.get("version")
    if not target or not running:
        return None, []
    unparsable = [problem for problem in (_unparsable(request, target, "target"), _unparsable(request, running, "running"))
                  if problem]
    if unparsable:
        return None, unparsable
    gap = release_gap(running, target)
    if gap is None:
        return None, ["%s: the target %s and the running %s are of different release lines, which the N-%d release policy "
                      "does not compare" % (where(request), target, running, max_gap)]
    if is_older(target, running):
        if allow_downgrade:
            return gap, []
        return gap, ["%s: the target %s is older than the running %s: a downgrade (allow_downgrade permits it)"
                     % (where(request), target, running)]
    if gap > max_gap:
        return gap, ["%s: the target %s is %d release%s ahead of the running %s; the N-%d release policy allows at most %d"
                     % (where(request), target, gap, "s" if gap > 1 else "", running, max_gap, max_gap)]
    return gap, []


def ledger_problems(entry, service_color):
    """What a service's ledger (a ledger.list_ledgers entry) says is in progress. `service_color` is the color that
    the Service named after the service selects now (None when it selects none)."""
    namespace, service = entry.get("namespace"), entry.get("service")
    name = "%s/%s" % (namespace, service)
    if not entry.get("valid", True):
        return ["the rollout ledger ConfigMap %s/%s cannot be read, so whether a rollout of %s is in progress is unknown: %s"
                % (namespace, entry.get("name"), name, entry.get("error"))]
    strategy, phase, recorded = entry.get("strategy"), entry.get("phase"), entry.get("updated")
    if strategy == CANARY and phase == PROGRESSING:
        return ["a canary of %s is in progress: version %s takes %s%% of the traffic (step %s, recorded %s); promote or "
                "abort it first" % (name, (entry.get("canary") or {}).get("version"), entry.get("weight"), entry.get("step"),
                                    recorded)]
    if strategy == ROLLING and phase != COMPLETED:
        plan = entry.get("plan") or {}
        pods = plan.get("pods") or []
        done = set((entry.get("progress") or {}).get("done") or [])
        left = [pod for pod in pods if pod not in done]
        if left:
            return ["a rolling drain of %s (%s) has %d of its %d pods left to replace (phase %s, recorded %s); let it "
                    "finish or roll it back first" % (name, plan.get("workload"), len(left), len(pods), phase, recorded)]
    if strategy == BLUE_GREEN:
        active = (entry.get("active") or {}).get("color")
        # Only a switch that drives the Service named after the service moves its selector.
        drives_service = "Service/%s" % service in (entry.get("routers") or {})
        if drives_service and active in COLORS and service_color in COLORS and service_color != active:
            return ["a blue/green switch of %s is incomplete: its ledger says %s is active (recorded %s), but Service %s "
                    "selects %s; finish the switch or switch back first" % (name, active, recorded, name, service_color)]
    return []


def lease_problems(found_leases, now, host=None, alive=None):
    """One problem per Lease that another run holds and has renewed within its duration, unless that run's process
    was on this host (`host`) and is gone (`alive(pid)` false): the next run here takes such a Lease over at once
    (lease.holder_problem)."""
    return [problem for problem in (leases.holder_problem(obj, None, now, host, alive) for obj in found_leases) if problem]


def _selected_colors(services):
    """{(namespace, service): the color the Service named after the service selects} from status Service summaries."""
    return dict(((item["namespace"], item["name"]), item["selector"].get(LABEL_COLOR)) for item in services
                if item["selector"].get(LABEL_NAME) == item["name"])


def plan(reads, options):
    """{"problems", "server_version", "services"} from what `read` returned and the module's options.

    `services` has one entry per requested service: namespace, service, strategy, the version it runs (None when it
    does not run yet), the target, and the gap in releases (None when there is nothing to count).
    """
    problems = []
    server_version, too_old = kubernetes_problems(reads["version"], options["min_kubernetes_version"])
    problems.extend(too_old)
    problems.extend(missing_problems("namespace", reads["namespaces"]))
    problems.extend(missing_problems("PriorityClass", reads["priority_classes"]))
    problems.extend(endpoint_problems(reads["endpoints"], options["endpoint_timeout"]))
    status = reads["status"]
    state = observed_state(status["deployments"], status["services"], reads["ledgers"])
    colors = _selected_colors(status["services"])
    report = []
    for request in options["services"]:
        key = (request["namespace"], request["service"])
        observed = (state.get(key[0]) or {}).get(key[1]) or {}
        # Without a strategy, a service with an active color (its Service selects one, or its ledger names one) is
        # blue/green.
        strategy = request.get("strategy") or (BLUE_GREEN if observed.get("active_color") in COLORS else None)
        running = running_version(state, key[0], key[1], strategy)
        gap, refused = release_problems(request, running, options["max_release_gap"], options["allow_downgrade"])
        problems.extend(refused)
        for entry in reads["ledgers"]:
            if (entry.get("namespace"), entry.get("service")) == key:
                problems.extend(ledger_problems(entry, colors.get(key)))
        problems.extend(lease_problems(reads["leases"].get(key) or [], reads["now"], reads["host"], reads["alive"].get))
        report.append({"namespace": key[0], "service": key[1], "strategy": strategy, "running": running,
                       "target": request.get("version"), "gap": gap})
    return {"problems": _unique(problems), "server_version": server_version, "services": report}


# ---------------------------------------------------------------- I/O ----

def probe(endpoint, timeout, connect=socket.create_connection):
    """None when the endpoint accepts a TCP connection within `timeout` seconds, else the socket error as text."""
    try:
        connection = connect((endpoint["host"], endpoint["port"]), timeout)
    except OSError as error:
        return "%s" % error or error.__class__.__name__
    connection.close()
    return None


def read(cluster, options, connect=socket.create_connection, clock=leases.utc_now, host=None, alive=leases.process_alive):
    """What `plan` needs, read through `cluster` (a cluster.Cluster) and, for the endpoints, `connect`.

    Per namespace of the services: one list each of their Deployments, of the Services, of the rollout ledgers and of
    the Leases; then one read per namespace and PriorityClass, and the server's /version. Of each Lease holder on this
    host (`host`, by default this machine's name), whether its process runs (`alive`).
    """
    host = host or socket.gethostname()
    requests = options["services"]
    deployments, services, found_ledgers, found_leases = {}, {}, [], {}
    for namespace in _unique(request["namespace"] for request in requests):
        names = _unique(request["service"] for request in requests if request["namespace"] == namespace)
        selector = "%s in (%s)" % (LABEL_NAME, ",".join(sorted(names)))
        deployments[namespace] = cluster.list("apps/v1", "Deployment", namespace, label_selector=selector)[0]
        services[namespace] = cluster.list("v1", "Service", namespace)[0]
        listed = [entry for entry in ledgers.list_ledgers(cluster, namespace) if entry.get("service") in names]
        found_ledgers.extend(listed)
        lease_objects = cluster.list(leases.API_VERSION, leases.KIND, namespace)[0]
        for name in names:
            # A run's Lease is named like the ledger it writes: <service>-rollout unless the run named another.
            lease_names = set([ledgers.ledger_name(name)] + [entry["name"] for entry in listed if entry.get("service") == name])
            found_leases[(namespace, name)] = [obj for obj in lease_objects if obj["metadata"]["name"] in lease_names]
    return {
        "version": cluster.server_version(),
        "namespaces": dict((name, cluster.get("v1", "Namespace", name) is not None) for name in _unique(options["namespaces"])),
        "priority_classes": dict((name, cluster.get("scheduling.k8s.io/v1", "PriorityClass", name) is not None)
                                 for name in _unique(options["priority_classes"])),
        "endpoints": [(endpoint, probe(endpoint, options["endpoint_timeout"], connect)) for endpoint in options["endpoints"]],
        "status": platform_status(deployments, services),
        "ledgers": found_ledgers,
        "leases": found_leases,
        "now": clock(),
        "host": host,
        "alive": dict((pid, alive(pid)) for pid in _holder_pids(found_leases, host)),
    }


def _holder_pids(found_leases, host):
    """The process IDs of the runs on `host` that hold one of the Leases."""
    pids = set()
    for objects in found_leases.values():
        for obj in objects:
            holder = leases.parse_identity((obj.get("spec") or {}).get("holderIdentity") or "")
            if holder and holder[1] == host:
                pids.add(holder[2])
    return sorted(pids)
