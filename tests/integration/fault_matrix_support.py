# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The fault matrix's pieces: kubesim's fault and pause endpoints, one small world per module under test (a
blue/green service, a canary service, a session-holding Deployment), the consistency checkers that read the
routers, the workloads and the ledger after a run and list what disagrees, and the Markdown table of outcomes
that docs/reliability.md holds."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import json
import os
import subprocess
import time
import urllib.request

import yaml
from ansible_collections.cxpe.rollout.plugins.module_utils import ledger as ledgers
from ansible_collections.cxpe.rollout.plugins.module_utils.routers.replicas import split_replicas
from ansible_collections.cxpe.rollout.plugins.module_utils.strategies.rolling import HELD_FIELDS, ORIGINAL_SPEC
from bluegreen_support import IMAGE, color_selector, deployment, ingress, service
from canary_support import track_deployment, track_selector
from playbook_support import ANSIBLE_PLAYBOOK, COLLECTIONS
from rolling_support import SERVING, workload

SERVICE = "web"
WORKLOAD = "calls"
COMPLETED = "completed"
CLEAN_FAILURE = "clean failure"
INCONSISTENT = "inconsistent"
# The canary's replicas router: the stable replica count the canary starts from, and the weight a run asks for
# (above 50%, so the run grows the canary, waits for it, then shrinks the stable track: two writes and a wait).
CANARY_BASE = 2
CANARY_WEIGHT = 60
ROLLING_REPLICAS = 2
ACTIVE_SESSIONS = "cxpe.io/active-sessions"
# How the line under the table in docs/reliability.md begins.
SUMMARY_START = "Observed:"


# ------------------------------------------------------------- kubesim's own API

def admin(simulator, path, method="GET", document=None):
    """A request to kubesim's /kubesim/v1/ endpoints; the decoded JSON answer."""
    request = urllib.request.Request("%s/kubesim/v1/%s" % (simulator.api_url, path), method=method,
                                     data=json.dumps(document).encode() if document is not None else None,
                                     headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return json.load(response)


def add_fault(simulator, rule):
    """Have kubesim fail the requests a rule picks (see docs/kubesim.md); returns the rule's id."""
    return admin(simulator, "faults", "POST", rule)["id"]


def fired(simulator, rule_ids):
    """How many requests the rules failed (or, for cut-watch, cut)."""
    return sum(admin(simulator, "faults/%d" % rule_id)["fired"] for rule_id in rule_ids)


def remove_faults(simulator, rule_ids):
    for rule_id in rule_ids:
        admin(simulator, "faults/%d" % rule_id, "DELETE")


# ------------------------------------------------------------- ansible-playbook

def run_plays(environment, workdir, inventory, plays, forks):
    """Run plays on an inventory (both dicts) with the JSON callback; {host: {task name: result}} of the tasks each
    host ran (not those it skipped)."""
    paths = {}
    for name, document in (("inventory", inventory), ("plays", plays)):
        paths[name] = os.path.join(str(workdir), name + ".yml")
        with open(paths[name], "w", encoding="utf-8") as handle:
            yaml.safe_dump(document, handle)
    env = dict(environment, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_STDOUT_CALLBACK="ansible.posix.json")
    run = subprocess.run([ANSIBLE_PLAYBOOK, "-i", paths["inventory"], "-f", str(forks), paths["plays"]], env=env,
                         capture_output=True, text=True, timeout=600, check=False)
    # The report is the output's one JSON document; the pause action prints a line before it.
    try:
        report = json.loads(run.stdout[run.stdout.index("\n{") + 1:] if not run.stdout.startswith("{") else run.stdout)
    except ValueError:
        raise AssertionError("ansible-playbook wrote no report (%d):\n%s\n%s" % (run.returncode, run.stdout, run.stderr))
    results = {}
    for play in report["plays"]:
        for task in play["tasks"]:
            for host, result in task["hosts"].items():
                if not result.get("skipped"):
                    results.setdefault(host, {})[task["task"]["name"]] = result
    return results


# ------------------------------------------------------------- the worlds

def namespace_object(name):
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name}}


def in_namespace(namespace, objects):
    for obj in objects:
        obj["metadata"]["namespace"] = namespace
    return objects


def bluegreen_world(namespace):
    """Blue (1.0) active and green (2.0) idle, one pod each, behind two routers - the Service `web` and the Ingress
    `web` over the color Services - with the preview Service `web-preview` on green, and the ledger of an earlier
    switch to blue, so a switch writes three routers and then the ledger."""
    now = ledgers.timestamp()
    recorded = ledgers.record(ledgers.new_ledger(SERVICE, "blue_green", now), "switch", {"color": None, "version": None},
                              {"color": "blue", "version": "1.0"}, "deployed", "fault-matrix", now, phase="active",
                              active={"color": "blue", "version": "1.0"}, weight=100)
    colors = [service("%s-%s" % (SERVICE, color), color_selector(SERVICE, color)) for color in ("blue", "green")]
    return in_namespace(namespace, [
        deployment(SERVICE, "blue", "1.0", replicas=1), deployment(SERVICE, "green", "2.0", replicas=1),
        service(SERVICE, color_selector(SERVICE, "blue")), service(SERVICE + "-preview", color_selector(SERVICE, "green")),
        *colors, ingress(SERVICE, SERVICE + "-blue", "%s.example.com" % SERVICE), ledgers.render(recorded, namespace)])


def canary_world(namespace):
    """A canary service on the replicas router: the stable track (1.0) at CANARY_BASE pods, the canary (2.0) at 0,
    the Service over both tracks and one per track; no ledger yet, so the first step creates it."""
    return in_namespace(namespace, [
        track_deployment(SERVICE, "stable", "1.0", CANARY_BASE), track_deployment(SERVICE, "canary", "2.0", 0),
        service(SERVICE, track_selector(SERVICE)), service(SERVICE + "-stable", track_selector(SERVICE, "stable")),
        service(SERVICE + "-canary", track_selector(SERVICE, "canary"))])


def rolling_world(namespace):
    """A Deployment of ROLLING_REPLICAS pods holding no session (their annotation says 0), created running: the
    test pauses it and gives it version 2.0 once it has rolled out, as the rolling role does."""
    obj = workload("Deployment", WORKLOAD, "1.0", ROLLING_REPLICAS, annotations={ACTIVE_SESSIONS: "0"})
    obj["spec"]["paused"] = False
    return in_namespace(namespace, [obj, service(WORKLOAD, {"app.kubernetes.io/name": WORKLOAD, SERVING: "true"})])


def kubectl_json(simulator, *args):
    return json.loads(simulator.kubectl(*args, "-o", "json").stdout)


def wait_available(simulator, namespaces, seconds=60):
    """Wait until every Deployment of the namespaces has rolled out its spec (replicas updated, Ready, no old pod)."""
    deadline = time.monotonic() + seconds
    while True:
        items = kubectl_json(simulator, "get", "deployments", "-A")["items"]
        pending = [item["metadata"]["namespace"] + "/" + item["metadata"]["name"] for item in items
                   if item["metadata"]["namespace"] in namespaces and not rolled_out(item)]
        if not pending:
            return
        if time.monotonic() > deadline:
            raise AssertionError("Deployments not rolled out after %ds: %s" % (seconds, ", ".join(pending)))
        time.sleep(0.2)


def rolled_out(deployment_obj):
    spec, status = deployment_obj["spec"], deployment_obj.get("status") or {}
    wanted = spec.get("replicas", 1)
    return (status.get("observedGeneration") == deployment_obj["metadata"]["generation"]
            and status.get("updatedReplicas", 0) == wanted and status.get("readyReplicas", 0) == wanted
            and status.get("replicas", 0) == wanted)


def new_rolling_version(simulator, namespaces):
    """Pause each namespace's Deployment and give it version 2.0, as the rolling role does before its drain."""
    for namespace in namespaces:
        simulator.kubectl("rollout", "pause", "-n", namespace, "deployment/" + WORKLOAD)
        simulator.kubectl("set", "image", "-n", namespace, "deployment/" + WORKLOAD, "app=%s:2.0" % IMAGE)


# ------------------------------------------------------------- reading a namespace back

def read_namespaces(simulator):
    """{namespace: {(kind, name): object}} of what the checkers read, in one kubectl call."""
    objects = {}
    for item in kubectl_json(simulator, "get", "deployments,services,ingresses,configmaps,pods,leases", "-A")["items"]:
        objects.setdefault(item["metadata"]["namespace"], {})[(item["kind"], item["metadata"]["name"])] = item
    return objects


def read_ledger(objects, name):
    """(parsed ledger or None, problem or None)."""
    configmap = objects.get(("ConfigMap", name + ledgers.SUFFIX))
    if configmap is None:
        return None, None
    try:
        return ledgers.parse(configmap), None
    except ledgers.LedgerError as error:
        return None, "the ledger cannot be read: %s" % error


def actions(ledger, action):
    return [entry for entry in (ledger or {}).get("history") or [] if entry["action"] == action]


def version_of(deployment_obj):
    return deployment_obj["spec"]["template"]["metadata"]["labels"].get("app.kubernetes.io/version")


# ------------------------------------------------------------- the consistency checkers

def bluegreen_inconsistencies(objects):
    """What disagrees among the routers, the Deployments and the ledger of the blue/green service: every router must
    route the ledger's active color, the preview the other one, the ledger record the version that color runs,
    and at most one switch recorded by the run (a second would be a write made twice)."""
    ledger, problem = read_ledger(objects, SERVICE)
    if problem:
        return [problem]
    if ledger is None:
        return ["the ledger is gone"]
    problems = []
    active = ledger["active"].get("color")
    selector = objects[("Service", SERVICE)]["spec"]["selector"].get("cxpe.io/color")
    if selector != active:
        problems.append("Service %s routes %s, the ledger names %s" % (SERVICE, selector, active))
    backend = objects[("Ingress", SERVICE)]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["service"]["name"]
    if backend != "%s-%s" % (SERVICE, active):
        problems.append("Ingress %s routes to %s, the ledger names %s" % (SERVICE, backend, active))
    preview = objects[("Service", SERVICE + "-preview")]["spec"]["selector"].get("cxpe.io/color")
    if preview == active:
        problems.append("the preview Service routes the active color %s" % active)
    deployed = objects.get(("Deployment", "%s-%s" % (SERVICE, active)))
    if deployed is None or version_of(deployed) != ledger["active"].get("version"):
        problems.append("the ledger says %s runs %s, its Deployment runs %s" % (
            active, ledger["active"].get("version"), deployed and version_of(deployed)))
    if ledger.get("weight") != 100:
        problems.append("the ledger records a weight of %s for a blue/green service" % ledger.get("weight"))
    if len(actions(ledger, "switch")) > 2:
        problems.append("the switch was recorded %d times" % (len(actions(ledger, "switch")) - 1))
    return problems


def bluegreen_switched(objects):
    ledger, _problem = read_ledger(objects, SERVICE)
    return ((ledger or {}).get("active") or {}).get("color") == "green"


def canary_inconsistencies(objects):
    """Every weight on the replicas router must be the ledger's: the tracks' replicas are those of the weight it
    records (0 without a ledger), the versions it names are the tracks', and a run records one step at most."""
    ledger, problem = read_ledger(objects, SERVICE)
    if problem:
        return [problem]
    weight = (ledger or {}).get("weight") or 0
    wanted = split_replicas(CANARY_BASE, weight)
    problems = []
    for track, name in (("stable", SERVICE), ("canary", SERVICE + "-canary")):
        replicas = objects[("Deployment", name)]["spec"]["replicas"]
        if replicas != wanted[track]:
            problems.append("Deployment %s runs %d replicas, the ledger's weight %s%% needs %d" % (name, replicas, weight, wanted[track]))
    if ledger is not None:
        if ledger["canary"].get("version") != version_of(objects[("Deployment", SERVICE + "-canary")]):
            problems.append("the ledger names canary version %s" % ledger["canary"].get("version"))
        if len(actions(ledger, "weight")) > 1:
            problems.append("the step was recorded %d times" % len(actions(ledger, "weight")))
    return problems


def canary_stepped(objects):
    ledger, _problem = read_ledger(objects, SERVICE)
    return (ledger or {}).get("weight") == CANARY_WEIGHT


def rolling_inconsistencies(objects, original):
    """The drain's record against its workload: no pod drained twice, no pod out of rotation that the ledger does not
    say is draining, the Lease released, and the Deployment either given back its own spec (a completed drain) or
    held paused with its own values kept for whichever run ends the drain."""
    ledger, problem = read_ledger(objects, WORKLOAD)
    if problem:
        return [problem]
    problems = []
    drained = [pod for entry in (ledger or {}).get("history") or [] if entry["action"] in ("drain", "resume")
               for pod in entry["to"]["pods"]]
    twice = sorted(set(pod for pod in drained if drained.count(pod) > 1))
    if twice:
        problems.append("pods drained twice: %s" % ", ".join(twice))
    draining = set(((ledger or {}).get("progress") or {}).get("current") or []) if (ledger or {}).get("phase") == "draining" else set()
    for (kind, name), obj in sorted(objects.items()):
        if kind == "Pod" and obj["metadata"]["labels"].get(SERVING) != "true" and name not in draining \
                and not obj["metadata"].get("deletionTimestamp"):
            problems.append("pod %s is out of rotation and the ledger does not say it is draining" % name)
    if ("Lease", WORKLOAD + ledgers.SUFFIX) in objects:
        problems.append("the Lease is still held")
    spec = objects[("Deployment", WORKLOAD)]["spec"]
    annotations = objects[("Deployment", WORKLOAD)]["metadata"].get("annotations") or {}
    own = dict((field, original.get(field)) for field in HELD_FIELDS)
    if (ledger or {}).get("phase") == "completed":
        if spec.get("paused") or ORIGINAL_SPEC in annotations or dict((field, spec.get(field)) for field in HELD_FIELDS) != own:
            problems.append("the drain completed but the Deployment was not given back its own spec: paused %s, %s"
                            % (spec.get("paused"), dict((field, spec.get(field)) for field in HELD_FIELDS)))
    else:
        kept = json.loads(annotations[ORIGINAL_SPEC]) if ORIGINAL_SPEC in annotations else dict((field, spec.get(field)) for field in HELD_FIELDS)
        if not spec.get("paused") or kept != own:
            problems.append("the drain stopped but the Deployment is not held with its own spec kept: paused %s, %s" % (spec.get("paused"), kept))
    return problems


def rolling_completed(objects):
    ledger, _problem = read_ledger(objects, WORKLOAD)
    pods = [obj for (kind, _name), obj in objects.items() if kind == "Pod" and not obj["metadata"].get("deletionTimestamp")]
    return ((ledger or {}).get("phase") == "completed"
            and all(pod["spec"]["containers"][0]["image"] == "%s:2.0" % IMAGE for pod in pods))


# ------------------------------------------------------------- the table

def render_table(modules, faults, outcomes):
    """The Markdown table of outcomes: a row per fault, a column per module; `outcomes` maps (module, fault) to one."""
    lines = ["| fault | %s |" % " | ".join("`%s`" % module for module in modules),
             "| --- | %s |" % " | ".join("---" for _module in modules)]
    for fault in faults:
        lines.append("| %s | %s |" % (fault, " | ".join(outcomes[(module, fault)] for module in modules)))
    return "\n".join(lines) + "\n"


def render_summary(outcomes):
    """The sentence under the table: how many runs ended each way."""
    counts = dict((outcome, list(outcomes.values()).count(outcome)) for outcome in (COMPLETED, CLEAN_FAILURE, INCONSISTENT))
    return ("%s %d runs: %d completed, %d clean failures, %d inconsistent end states.\n"
            % (SUMMARY_START, len(outcomes), counts[COMPLETED], counts[CLEAN_FAILURE], counts[INCONSISTENT]))


def generated_part(text, header):
    """The part of a document the matrix writes: its table (from the line `header`), a blank line and the summary
    line; None when the document has no such table."""
    lines = text.splitlines()
    start = next((index for index, line in enumerate(lines) if line == header), None)
    if start is None:
        return None
    end = start
    while end < len(lines) and lines[end].startswith("|"):
        end += 1
    if end + 1 < len(lines) and not lines[end] and lines[end + 1].startswith(SUMMARY_START):
        end += 2
    return "\n".join(lines[start:end]) + "\n"
