"""Request paths to the resource they address.

    /api/v1[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]
    /apis/<group>/<version>[/namespaces/<ns>]/<plural>[/<name>[/<subresource>]]
    /api(s)/.../watch/...   (the legacy watch prefix)

``/api/v1/namespaces/<name>[/status]`` is the namespace object itself.
"""

from dataclasses import dataclass

from .. import resources
from ..errors import NotFound


@dataclass(frozen=True)
class Target:
    rtype: resources.ResourceType
    namespace: str | None
    name: str | None
    subresource: str | None
    legacy_watch: bool = False

    @property
    def is_collection(self):
        return self.name is None


def not_found():
    return NotFound("the server could not find the requested resource", details={})


def _group_version(parts):
    """(group, version, remaining segments) of an /api or /apis path."""
    if parts[0] == "api" and len(parts) >= 2:
        return "", parts[1], parts[2:]
    if parts[0] == "apis" and len(parts) >= 3:
        return parts[1], parts[2], parts[3:]
    raise not_found()


def resolve(path):
    parts = [part for part in path.split("/") if part]
    if not parts:
        raise not_found()
    group, version, rest = _group_version(parts)
    legacy_watch = bool(rest) and rest[0] == "watch"
    if legacy_watch:
        rest = rest[1:]
    namespace = None
    if len(rest) >= 3 and rest[0] == "namespaces" and rest[2] not in resources.NAMESPACES.subresources:
        namespace, rest = rest[1], rest[2:]
    if not rest or len(rest) > 3:
        raise not_found()
    rtype = resources.by_path(group, version, rest[0])
    if rtype is None or (namespace is not None and not rtype.namespaced):
        raise not_found()
    name = rest[1] if len(rest) >= 2 else None
    subresource = rest[2] if len(rest) == 3 else None
    if subresource is not None and subresource not in rtype.subresources:
        raise not_found()
    return Target(rtype, namespace, name, subresource, legacy_watch)
