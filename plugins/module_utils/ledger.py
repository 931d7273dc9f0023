# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The rollout ledger: one control record per service (the "Traffic Cop").

A ConfigMap named `<service>-rollout` (by default), labelled
`cxpe.io/rollout-ledger=<service>` so one list per namespace finds them all,
holds what every strategy needs to know and to show: the active color and
version, the previous ones (where a rollback goes), the share of traffic on
the active version, the phase, the routers' state before the rollout began
(what an abort restores), timestamps and a bounded history of who moved the
traffic where, when and why.

Each field is one key of the ConfigMap's data, so `kubectl get configmap
gws-chat-rollout -o yaml` reads like the record it is; structured fields
hold JSON. The table FIELDS is the schema: a strategy that needs more adds
entries to it (canary: its step and measurements; rolling drain: its plan
and per-pod progress). `schema-version` versions the whole; a ledger written
by a newer schema is refused rather than half-understood, and keys this
version does not know are kept as they are.

In Python a ledger is a plain dict shaped like FIELDS' paths (see
new_ledger). parse() and render() are pure; read(), write() and
list_ledgers() go through cluster.Cluster, and write() is resourceVersion
guarded (a concurrent change is re-read and the change re-applied).
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import datetime
import json
import re

from ansible_collections.cxpe.rollout.plugins.module_utils.cluster import ClusterError
from ansible_collections.cxpe.rollout.plugins.module_utils.labels import (
    COLORS,
    LABEL_LEDGER,
    LABEL_MANAGED_BY,
    LABEL_NAME,
    MANAGED_BY,
)

SCHEMA_VERSION = 1
HISTORY_LIMIT = 20
STRATEGIES = ("blue_green", "canary", "rolling_update")
SUFFIX = "-rollout"
TIMESTAMP = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$")
# The parts of a ledger that say where traffic is; the rest is bookkeeping.
STATE_PATHS = (("strategy",), ("phase",), ("active",), ("previous",), ("weight",), ("canary",))


class LedgerError(ValueError):
    """A ledger ConfigMap cannot be read: the message names the ConfigMap and the bad key."""


# ------------------------------------------------------------- codecs ----
# Each codec turns a ConfigMap string into a value (raising ValueError with
# what is wrong) and back.

def _text(value):
    if not value:
        raise ValueError("must not be empty")
    return value


def _color(value):
    if value not in COLORS:
        raise ValueError("%r is not one of %s" % (value, ", ".join(COLORS)))
    return value


def _strategy(value):
    if value not in STRATEGIES:
        raise ValueError("%r is not one of %s" % (value, ", ".join(STRATEGIES)))
    return value


def _percent(value):
    try:
        number = float(value)
    except ValueError:
        raise ValueError("%r is not a number" % value)
    if not 0 <= number <= 100:
        raise ValueError("%r is not between 0 and 100" % value)
    return int(number) if number == int(number) else number


def _count(value):
    if not value.isdigit():
        raise ValueError("%r is not a whole number" % value)
    return int(value)


def _schema(value):
    if not value.isdigit() or int(value) < 1:
        raise ValueError("%r is not a positive integer" % value)
    if int(value) > SCHEMA_VERSION:
        raise ValueError("%s is newer than this collection reads (%d); upgrade cxpe.rollout" % (value, SCHEMA_VERSION))
    return int(value)


def _timestamp(value):
    if not TIMESTAMP.match(value):
        raise ValueError("%r is not a UTC timestamp like 2026-01-31T12:00:00Z" % value)
    return value


def _json(expected):
    def decode(value):
        try:
            decoded = json.loads(value)
        except ValueError as error:
            raise ValueError("is not valid JSON (%s)" % error)
        if not isinstance(decoded, expected):
            raise ValueError("must be a JSON %s" % ("object" if expected is dict else "array"))
        return decoded
    return decode


def _history(value):
    entries = _json(list)(value)
    for index, entry in enumerate(entries):
        if not isinstance(entry, dict) or not entry.get("at") or not entry.get("action"):
            raise ValueError("entry %d must be an object with at least 'at' and 'action'" % index)
    return entries


def _encode_text(value):
    return "%s" % value


def _encode_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


class Field(object):
    def __init__(self, key, path, decode, encode=_encode_text):
        self.key, self.path, self.decode, self.encode = key, path, decode, encode


FIELDS = (
    Field("schema-version", ("schema",), _schema),
    Field("service", ("service",), _text),
    Field("strategy", ("strategy",), _strategy),
    Field("phase", ("phase",), _text),
    Field("active.color", ("active", "color"), _color),
    Field("active.version", ("active", "version"), _text),
    Field("previous.color", ("previous", "color"), _color),
    Field("previous.version", ("previous", "version"), _text),
    Field("weight", ("weight",), _percent),
    Field("routers", ("routers",), _json(dict), _encode_json),
    # Canary: the version on the canary track, the schedule step reached, and the measurements of the
    # analysis that ended it (an abort's evidence).
    Field("canary.version", ("canary", "version"), _text),
    Field("step", ("step",), _count),
    Field("measurements", ("measurements",), _json(list), _encode_json),
    # Rolling drain: the plan (workload, revision, pods in order) and the progress (pods done with their
    # timings, the batch in hand and its sessions), written at every step so a run can be resumed and watched.
    Field("plan", ("plan",), _json(dict), _encode_json),
    Field("progress", ("progress",), _json(dict), _encode_json),
    Field("created", ("created",), _timestamp),
    Field("updated", ("updated",), _timestamp),
    Field("history", ("history",), _history, _encode_json),
)
REQUIRED_KEYS = ("schema-version", "service", "strategy")


def _get(tree, path):
    for part in path:
        if not isinstance(tree, dict) or part not in tree:
            return None
        tree = tree[part]
    return tree


def _set(tree, path, value):
    for part in path[:-1]:
        tree = tree.setdefault(part, {})
    tree[path[-1]] = value


# -------------------------------------------------------------- pure ----

def ledger_name(service):
    return service + SUFFIX


def timestamp(moment=None):
    """An API-style UTC timestamp (second resolution)."""
    moment = moment or datetime.datetime.now(datetime.timezone.utc)
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def new_ledger(service, strategy, now):
    """An empty ledger: no active or previous version yet, no history."""
    return {"schema": SCHEMA_VERSION, "service": service, "strategy": strategy, "phase": None,
            "active": {"color": None, "version": None}, "previous": {"color": None, "version": None},
            "weight": None, "routers": {}, "created": now, "updated": now, "history": [], "extra": {}}


def parse(configmap):
    """The ledger a ConfigMap holds; LedgerError naming the ConfigMap and key when it is not one."""
    metadata = configmap.get("metadata") or {}
    where = "rollout ledger ConfigMap %s/%s" % (metadata.get("namespace"), metadata.get("name"))
    data = configmap.get("data") or {}
    missing = [key for key in REQUIRED_KEYS if not data.get(key)]
    if missing:
        raise LedgerError("%s: key %s is missing" % (where, ", ".join(missing)))
    ledger = new_ledger(None, None, None)
    for field in FIELDS:
        if field.key not in data:
            continue
        try:
            _set(ledger, field.path, field.decode(data[field.key]))
        except ValueError as error:
            raise LedgerError("%s: key %s: %s" % (where, field.key, error))
    known = set(field.key for field in FIELDS)
    ledger["extra"] = dict((key, value) for key, value in data.items() if key not in known)
    return ledger


def render_data(ledger):
    """The ConfigMap data of a ledger; empty fields are left out."""
    data = dict(ledger.get("extra") or {})
    for field in FIELDS:
        value = _get(ledger, field.path)
        if value is None or (not value and isinstance(value, (str, list, dict))):
            continue
        data[field.key] = field.encode(value)
    return data


def render(ledger, namespace, name=None):
    """The ConfigMap of a ledger."""
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": {
            "name": name or ledger_name(ledger["service"]),
            "namespace": namespace,
            "labels": {LABEL_LEDGER: ledger["service"], LABEL_NAME: ledger["service"], LABEL_MANAGED_BY: MANAGED_BY},
        },
        "data": render_data(ledger),
    }


def same_state(one, other):
    """Whether two ledgers say the same about where traffic is (timestamps and history aside)."""
    return all(_get(one, path) == _get(other, path) for path in STATE_PATHS)


def record(ledger, action, source, target, reason, actor, now, **state):
    """A copy of the ledger after an action: `state` sets fields (phase, active, previous, weight, routers),
    and the history gains {at, action, from: source, to: target, by, why}, keeping the last HISTORY_LIMIT
    entries."""
    updated = copy.deepcopy(ledger)
    entry = {"at": now, "action": action, "from": copy.deepcopy(source), "to": copy.deepcopy(target)}
    if actor:
        entry["by"] = actor
    if reason:
        entry["why"] = reason
    updated.update(copy.deepcopy(state))
    updated["updated"] = now
    updated["history"] = (list(ledger.get("history") or []) + [entry])[-HISTORY_LIMIT:]
    return updated


def public(ledger, configmap):
    """A ledger as modules return it: its fields plus the ConfigMap's namespace and name."""
    metadata = configmap.get("metadata") or {}
    shown = dict((key, copy.deepcopy(value)) for key, value in ledger.items() if key != "extra")
    shown.update(namespace=metadata.get("namespace"), name=metadata.get("name"), valid=True)
    return shown


# ---------------------------------------------------------------- I/O ----

def read(cluster, namespace, service, name=None):
    """(ConfigMap, ledger) of a service; (None, None) when it has none yet."""
    configmap = cluster.get("v1", "ConfigMap", name or ledger_name(service), namespace)
    if configmap is None:
        return None, None
    return configmap, parse(configmap)


def wait_while_phase(cluster, namespace, service, phase, timeout):
    """Watch a service's ledger while its phase is `phase`, for at most `timeout` seconds; whether the phase changed
    (or the ledger went) in that time. A run that ends moves its ledger out of its working phase: a reader waiting for
    that is woken at once, not at its next poll."""
    name = ledger_name(service)

    def moved_on(configmaps):
        configmap = configmaps.get(name)
        return configmap is None or (configmap.get("data") or {}).get("phase") != phase

    try:
        return cluster.wait("v1", "ConfigMap", namespace, moved_on, timeout, "the phase of %s/%s to leave %s" % (namespace, name, phase),
                            field_selector="metadata.name=%s" % name)
    except ClusterError as error:
        if error.status != 504:
            raise
        return False


def write(cluster, namespace, service, change, strategy, now, name=None, current=None):
    """Apply `change(ledger) -> ledger` to a service's ledger, creating it when absent.

    `current` is the ConfigMap already read (None when there was none). A
    concurrent write makes the change start again from what is stored now;
    a concurrent creation turns the create into an update. Returns the
    ConfigMap written (or, in check mode, that would be).
    """
    name = name or ledger_name(service)
    if current is None:
        ledger = change(new_ledger(service, strategy, now))
        try:
            return cluster.create(render(ledger, namespace, name))
        except ClusterError as error:
            if error.status != 409:
                raise

    def mutate(configmap):
        configmap["data"] = render_data(change(parse(configmap)))
        return configmap

    return cluster.update("v1", "ConfigMap", name, namespace, mutate, current=current)[1]


def list_ledgers(cluster, namespace, service=None):
    """Every ledger of a namespace (or one service's), as public() dicts sorted by service.

    A ConfigMap that is not a valid ledger is listed with `valid: false` and
    its `error`, so one bad record does not hide the others.
    """
    selector = "%s=%s" % (LABEL_LEDGER, service) if service else LABEL_LEDGER
    items, _version = cluster.list("v1", "ConfigMap", namespace, label_selector=selector)
    ledgers = []
    for configmap in items:
        try:
            ledgers.append(public(parse(configmap), configmap))
        except LedgerError as error:
            metadata = configmap["metadata"]
            ledgers.append({"namespace": metadata.get("namespace"), "name": metadata["name"],
                            "service": (metadata.get("labels") or {}).get(LABEL_LEDGER),
                            "valid": False, "error": "%s" % error})
    return sorted(ledgers, key=lambda entry: (entry.get("namespace") or "", entry.get("service") or "", entry["name"]))
