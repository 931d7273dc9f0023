"""Label and field selectors, in their query-string and object (LabelSelector) forms."""

import re

from .errors import BadRequest

_REQUIREMENT = re.compile(
    r"""^\s*(?P<neg>!)?\s*(?P<key>[A-Za-z0-9_./-]+)\s*
        (?:(?P<op>==|=|!=|\s+in\s+|\s+notin\s+)\s*(?P<value>\([^)]*\)|[A-Za-z0-9_.-]*))?\s*$""",
    re.VERBOSE,
)


def _split_top_level(text):
    """Split on commas that are not inside a parenthesised value set."""
    parts, depth, current = [], 0, []
    for char in text:
        if char == "(":
            depth += 1
        elif char == ")":
            depth -= 1
        if char == "," and depth == 0:
            parts.append("".join(current))
            current = []
        else:
            current.append(char)
    parts.append("".join(current))
    return [part for part in parts if part.strip()]


def parse_label_selector(text):
    """Parse ``a=b,c!=d,e in (x,y),f,!g`` into a list of (key, operator, values)."""
    requirements = []
    for part in _split_top_level(text or ""):
        match = _REQUIREMENT.match(part)
        if not match:
            raise BadRequest(f"unable to parse requirement: {part.strip()!r}")
        key, op, value = match.group("key"), (match.group("op") or "").strip(), match.group("value")
        if match.group("neg"):
            if op:
                raise BadRequest(f"unable to parse requirement: {part.strip()!r}")
            requirements.append((key, "DoesNotExist", ()))
        elif not op:
            requirements.append((key, "Exists", ()))
        elif op in ("=", "=="):
            requirements.append((key, "In", (value,)))
        elif op == "!=":
            requirements.append((key, "NotIn", (value,)))
        else:
            if not value.startswith("("):
                raise BadRequest(f"unable to parse requirement: {part.strip()!r}: values must be in parentheses")
            values = tuple(v.strip() for v in value[1:-1].split(",") if v.strip())
            requirements.append((key, "In" if op == "in" else "NotIn", values))
    return requirements


def selector_requirements(selector):
    """Turn a LabelSelector object (matchLabels/matchExpressions) into requirements."""
    requirements = [(k, "In", (v,)) for k, v in (selector.get("matchLabels") or {}).items()]
    for expression in selector.get("matchExpressions") or []:
        requirements.append((expression["key"], expression["operator"], tuple(expression.get("values") or ())))
    return requirements


def matches(requirements, labels):
    labels = labels or {}
    for key, op, values in requirements:
        present = key in labels
        if op == "In" and not (present and labels[key] in values):
            return False
        if op == "NotIn" and present and labels[key] in values:
            return False
        if op == "Exists" and not present:
            return False
        if op == "DoesNotExist" and present:
            return False
    return True


def selector_matches(selector, labels):
    """LabelSelector semantics: an empty selector matches everything, ``None`` nothing."""
    if selector is None:
        return False
    return matches(selector_requirements(selector), labels)


def service_selector_matches(selector, labels):
    """Service ``spec.selector`` semantics: a plain map, and an empty map selects no pods."""
    if not selector:
        return False
    return all((labels or {}).get(k) == v for k, v in selector.items())


def parse_field_selector(text):
    """Parse ``metadata.name=x,status.phase!=Running`` into (path, equal, value) triples."""
    requirements = []
    for part in _split_top_level(text or ""):
        if "!=" in part:
            path, value = part.split("!=", 1)
            equal = False
        elif "==" in part:
            path, value = part.split("==", 1)
            equal = True
        elif "=" in part:
            path, value = part.split("=", 1)
            equal = True
        else:
            raise BadRequest(f"invalid selector: '{text}'; can't understand '{part}'")
        requirements.append((path.strip(), equal, value.strip()))
    return requirements


def field_value(obj, path):
    value = obj
    for key in path.split("."):
        if not isinstance(value, dict):
            return ""
        value = value.get(key)
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def fields_match(requirements, obj):
    return all((field_value(obj, path) == value) == equal for path, equal, value in requirements)
