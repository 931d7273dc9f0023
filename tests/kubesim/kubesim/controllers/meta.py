"""Object metadata the controllers share: owner references, names, hashes, conditions, IntOrString."""

import json
import math
import random

from ..errors import ApiError
from ..selectors import selector_matches
from ..store import copy_json

# The alphabet apimachinery uses for generated name suffixes and encoded hashes: no vowels (no
# accidental words) and no characters that look alike.
SAFE_ALPHABET = "bcdfghjklmnpqrstvwxz2456789"
_FNV32_OFFSET = 0x811C9DC5
_FNV32_PRIME = 0x01000193


def labels(obj):
    return obj["metadata"].get("labels") or {}


def annotations(obj):
    return obj["metadata"].get("annotations") or {}


def namespace_of(obj):
    return obj["metadata"].get("namespace")


def name_of(obj):
    return obj["metadata"]["name"]


def uid_of(obj):
    return obj["metadata"]["uid"]


def is_deleting(obj):
    return bool(obj["metadata"].get("deletionTimestamp"))


def controller_reference(obj):
    return next((ref for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("controller")), None)


def is_controlled_by(obj, owner):
    reference = controller_reference(obj)
    return reference is not None and reference.get("uid") == uid_of(owner)


def owner_reference(owner):
    """The controller reference a controller puts on the objects it creates."""
    return {
        "apiVersion": owner["apiVersion"], "kind": owner["kind"], "name": name_of(owner), "uid": uid_of(owner),
        "controller": True, "blockOwnerDeletion": True,
    }


def adopt(owner):
    """A change that makes ``owner`` the controller of an orphan."""
    def change(obj):
        if controller_reference(obj) is None:
            obj["metadata"].setdefault("ownerReferences", []).append(owner_reference(owner))
    return change


def release(*owner_uids):
    """A change that drops the references to these owners."""
    def change(obj):
        remaining = [ref for ref in obj["metadata"].get("ownerReferences") or [] if ref.get("uid") not in owner_uids]
        if remaining:
            obj["metadata"]["ownerReferences"] = remaining
        else:
            obj["metadata"].pop("ownerReferences", None)
    return change


def random_suffix(length=5):
    return "".join(random.choices(SAFE_ALPHABET, k=length))


def safe_encode(text):
    """apimachinery's SafeEncodeString: each character mapped into the safe alphabet."""
    return "".join(SAFE_ALPHABET[ord(char) % len(SAFE_ALPHABET)] for char in text)


def fnv32a(data):
    value = _FNV32_OFFSET
    for byte in data:
        value = ((value ^ byte) * _FNV32_PRIME) & 0xFFFFFFFF
    return value


def semantic(value):
    """JSON content as the API's semantic equality sees it: empty maps and lists, and nulls, are as good as absent."""
    if isinstance(value, dict):
        kept = {k: semantic(v) for k, v in value.items()}
        return {k: v for k, v in kept.items() if v not in (None, {}, [])}
    if isinstance(value, list):
        return [semantic(v) for v in value]
    return value


def canonical_json(value):
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def content_hash(value, collision_count=0):
    """A short stable hash of JSON content, spelled like the ones Kubernetes puts in names."""
    data = canonical_json(value).encode()
    if collision_count:
        data += str(collision_count).encode()
    return safe_encode(str(fnv32a(data)))


def int_or_percent(value, total, round_up):
    """An IntOrString (``2`` or ``"25%"``) as a count out of ``total``."""
    if value is None:
        return 0
    if isinstance(value, str):
        if value.endswith("%"):
            exact = int(value[:-1]) * total / 100
            return math.ceil(exact) if round_up else math.floor(exact)
        return int(value)
    return int(value)


def find_condition(conditions, condition_type):
    return next((c for c in conditions or [] if c.get("type") == condition_type), None)



def mutate_if_changed(store, rtype, obj, change, subresource=None):
    """Apply ``change`` to the stored object, but only take the store's lock when it would change
    ``obj`` (the controller's recent copy). Returns the stored object, or None if nothing was written."""
    changed = copy_json(obj)
    change(changed)
    if changed == obj:
        return None
    return try_write(store.mutate, rtype, namespace_of(obj), name_of(obj), change, subresource=subresource)


def try_write(action, *args, **kwargs):
    """A controller write that may lose a race with a client (the object is gone, the namespace is
    terminating); the next pass sees the new state and decides again. Returns None on failure."""
    try:
        return action(*args, **kwargs)
    except ApiError:
        return None



def claim(store, rtype, owner, candidates):
    """The candidates ``owner`` controls, as its ControllerRefManager sees them: orphans its selector
    matches are adopted, objects it controls that the selector no longer matches are released."""
    selector = (owner.get("spec") or {}).get("selector")
    owned = []
    for obj in candidates:
        selected = selector_matches(selector, labels(obj))
        if is_controlled_by(obj, owner):
            if selected or is_deleting(owner):
                owned.append(obj)
            else:
                try_write(store.mutate, rtype, namespace_of(obj), name_of(obj), release(uid_of(owner)))
        elif controller_reference(obj) is None and selected and not is_deleting(owner) and not is_deleting(obj):
            adopted = try_write(store.mutate, rtype, namespace_of(obj), name_of(obj), adopt(owner))
            if adopted is not None and is_controlled_by(adopted, owner):
                owned.append(adopted)
    return owned


def earliest(delays):
    """The soonest of the wake-up delays controllers return (None: no timer wanted)."""
    return min((delay for delay in delays if delay is not None), default=None)


def by_namespace(objects):
    grouped = {}
    for obj in objects:
        grouped.setdefault(namespace_of(obj), []).append(obj)
    return grouped
