# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Validation and ordering of the service catalog (data/service_catalog.yml).

Pure functions over the parsed YAML document; reading the file is left to the
controller-side callers so that this module stays importable anywhere.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import re
from fractions import Fraction

STRATEGIES = ("blue_green", "canary", "rolling_update")

# Where a service may be hosted in a unit group: the primary unit only, or
# either unit of a pair. A secondary unit only runs the latter.
HOSTINGS = ("primary", "primary_or_secondary")
UNITS = ("primary", "secondary")

# What kind of service a group's or a service's is (its pods' app.kubernetes.io/component label), which sizes its
# containers (manifests.COMPONENT_RESOURCES): real-time voice and media services also run on the real-time node
# pool, with a grace period as long as their calls.
COMPONENTS = ("api", "ui", "reporting", "realtime")
DEFAULT_COMPONENT = "api"
REALTIME = "realtime"

# A service's own `resources`: both of these for both of these, each a quantity, no request above its limit.
RESOURCE_BOUNDS = ("requests", "limits")
RESOURCE_NAMES = ("cpu", "memory")
QUANTITY = re.compile(r"^([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(m|k|M|G|T|P|E|Ki|Mi|Gi|Ti|Pi|Ei)?$")
QUANTITY_SUFFIXES = {
    None: 1, "m": Fraction(1, 1000), "k": 10 ** 3, "M": 10 ** 6, "G": 10 ** 9, "T": 10 ** 12, "P": 10 ** 15, "E": 10 ** 18,
    "Ki": 2 ** 10, "Mi": 2 ** 20, "Gi": 2 ** 30, "Ti": 2 ** 40, "Pi": 2 ** 50, "Ei": 2 ** 60,
}

# Step 1 of the documented deployment order is infrastructure (Consul, Kafka);
# service groups start at step 2.
INFRASTRUCTURE_STEP = 1
FIRST_GROUP_STEP = 2
LAST_STEP = 9

DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
DNS1123_LABEL_MAX = 63

# The suffixes the manifests add to a service's name, by strategy: blue/green
# Deployments <service>-blue and <service>-green and a Service
# <service>-preview; a canary Deployment <service>-canary and Services
# <service>-stable and <service>-canary. A service's name must leave room for
# the longest suffix of its strategy.
NAME_SUFFIXES = {
    "blue_green": ("-blue", "-green", "-preview"),
    "canary": ("-stable", "-canary"),
}


class CatalogError(ValueError):
    """The catalog is malformed or a selection from it cannot be satisfied."""


def max_service_name_length(strategy):
    """The longest name a service of this strategy may have: its objects' names are DNS-1123 labels too."""
    return DNS1123_LABEL_MAX - max([len(suffix) for suffix in NAME_SUFFIXES.get(strategy, ())] or [0])


def _is_dns_label(value, max_length=DNS1123_LABEL_MAX):
    return isinstance(value, str) and DNS1123_LABEL.match(value) is not None and len(value) <= max_length


def _is_step(value, first):
    # bool is an int subclass; a YAML `true` is not a step.
    return isinstance(value, int) and not isinstance(value, bool) and first <= value <= LAST_STEP


def quantity_value(quantity):
    """The amount a Kubernetes quantity string stands for ("500m" is 1/2, "1Gi" 2**30), or None if it is not one.
    Only the forms a catalog needs: a decimal number and an SI or binary suffix, no exponent."""
    match = QUANTITY.match(quantity) if isinstance(quantity, str) else None
    return Fraction(match.group(1)) * QUANTITY_SUFFIXES[match.group(2)] if match else None


def _resources_problems(resources, here):
    """The problems of a group's or a service's own `resources`: requests and limits, each with cpu and memory."""
    shape = "resources must be a mapping of %s, each a mapping of %s to quantity strings" % (
        " and ".join(RESOURCE_BOUNDS), " and ".join(RESOURCE_NAMES))
    if not isinstance(resources, dict) or sorted(resources) != sorted(RESOURCE_BOUNDS) or not all(
            isinstance(resources[bound], dict) and sorted(resources[bound]) == sorted(RESOURCE_NAMES) for bound in RESOURCE_BOUNDS):
        return ["%s: %s" % (here, shape)]
    problems = []
    for name in RESOURCE_NAMES:
        request, limit = (quantity_value(resources[bound][name]) for bound in RESOURCE_BOUNDS)
        for bound, value in zip(RESOURCE_BOUNDS, (request, limit)):
            if not value:
                problems.append("%s: resources.%s.%s %r is not a positive quantity such as '500m' or '1Gi'"
                                % (here, bound, name, resources[bound][name]))
        if request and limit and request > limit:
            problems.append("%s: resources.requests.%s %s is above its limit %s"
                            % (here, name, resources["requests"][name], resources["limits"][name]))
    return problems


def _kind_problems(entry, here):
    """The problems of the `component` and `resources` a group or a service may give."""
    problems = []
    if "component" in entry and entry["component"] not in COMPONENTS:
        problems.append("%s: component %r is not one of %s" % (here, entry["component"], ", ".join(COMPONENTS)))
    if "resources" in entry:
        problems.extend(_resources_problems(entry["resources"], here))
    return problems


def _name_problems(name, where, seen, what):
    """Check that an entry's name is a DNS-1123 label not seen before, and remember it."""
    if not _is_dns_label(name):
        return ["%s: name %r must be a DNS-1123 label" % (where, name)]
    if name in seen:
        return ["%s: duplicate %s %r" % (where, what, name)]
    seen.add(name)
    return []


def _priority_class_problems(catalog):
    problems = []
    classes = catalog.get("priority_classes")
    if not isinstance(classes, list) or not classes:
        return ["priority_classes must be a non-empty list"], set()
    names = set()
    for index, entry in enumerate(classes):
        where = "priority_classes[%d]" % index
        if not isinstance(entry, dict):
            problems.append("%s must be a mapping" % where)
            continue
        name = entry.get("name")
        problems.extend(_name_problems(name, where, names, "priority class"))
        value = entry.get("value")
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append("%s (%s): value must be an integer" % (where, name))
    return problems, names


def _service_problems(group, where, class_names, seen_services):
    problems = []
    services = group.get("services")
    if not isinstance(services, list) or not services:
        return ["%s: services must be a non-empty list" % where]
    namespaces = group.get("namespaces") or []
    longest = max_service_name_length(group.get("strategy"))
    group_step = group["step"] if _is_step(group.get("step"), FIRST_GROUP_STEP) else FIRST_GROUP_STEP
    for index, service in enumerate(services):
        here = "%s.services[%d]" % (where, index)
        if not isinstance(service, dict):
            problems.append("%s must be a mapping" % here)
            continue
        name = service.get("name")
        if not _is_dns_label(name, longest):
            problems.append("%s: name %r must be a DNS-1123 label of at most %d characters" % (here, name, longest))
        elif name in seen_services:
            problems.append("%s: service %r is already defined in group %r" % (here, name, seen_services[name]))
        else:
            seen_services[name] = group.get("name")
        if service.get("priority_class") not in class_names:
            problems.append(
                "%s (%s): priority_class %r is not one of %s"
                % (here, name, service.get("priority_class"), ", ".join(sorted(class_names)))
            )
        if "namespace" in service:
            if service["namespace"] not in namespaces:
                problems.append(
                    "%s (%s): namespace %r is not one of the group's namespaces %s"
                    % (here, name, service["namespace"], namespaces)
                )
        elif len(namespaces) > 1:
            problems.append("%s (%s): the group has several namespaces, so the service must name one" % (here, name))
        if "step" in service and not _is_step(service["step"], group_step):
            problems.append("%s (%s): step must be an integer from the group's step to %d" % (here, name, LAST_STEP))
        if "hosting" in service and service["hosting"] not in HOSTINGS:
            problems.append("%s (%s): hosting %r is not one of %s" % (here, name, service["hosting"], ", ".join(HOSTINGS)))
        problems.extend(_kind_problems(service, "%s (%s)" % (here, name)))
    return problems


def _group_problems(group, where, class_names, seen_groups, seen_services):
    if not isinstance(group, dict):
        return ["%s must be a mapping" % where]
    name = group.get("name")
    problems = _name_problems(name, where, seen_groups, "group")
    where = "%s (%s)" % (where, name)
    namespaces = group.get("namespaces")
    if not isinstance(namespaces, list) or not namespaces or not all(_is_dns_label(ns) for ns in namespaces):
        problems.append("%s: namespaces must be a non-empty list of DNS-1123 labels" % where)
    if not _is_step(group.get("step"), FIRST_GROUP_STEP):
        problems.append("%s: step must be an integer from %d to %d" % (where, FIRST_GROUP_STEP, LAST_STEP))
    if group.get("strategy") not in STRATEGIES:
        problems.append("%s: strategy %r is not one of %s" % (where, group.get("strategy"), ", ".join(STRATEGIES)))
    if group.get("hosting") not in HOSTINGS:
        problems.append("%s: hosting %r is not one of %s" % (where, group.get("hosting"), ", ".join(HOSTINGS)))
    problems.extend(_kind_problems(group, where))
    return problems + _service_problems(group, where, class_names, seen_services)


def validate_catalog(catalog):
    """Raise CatalogError listing every problem of a parsed catalog document."""
    if not isinstance(catalog, dict):
        raise CatalogError("the service catalog must be a mapping")
    problems, class_names = _priority_class_problems(catalog)
    groups = catalog.get("groups")
    if not isinstance(groups, list) or not groups:
        problems.append("groups must be a non-empty list")
        groups = []
    seen_groups, seen_services = set(), {}
    for index, group in enumerate(groups):
        problems.extend(_group_problems(group, "groups[%d]" % index, class_names, seen_groups, seen_services))
    for index, component in enumerate(catalog.get("infrastructure") or []):
        if not isinstance(component, dict) or component.get("step") != INFRASTRUCTURE_STEP:
            problems.append("infrastructure[%d] must be a mapping with step %d" % (index, INFRASTRUCTURE_STEP))
    if problems:
        raise CatalogError("invalid service catalog:\n- " + "\n- ".join(problems))


def priority_classes(catalog):
    """Return the priority classes of a valid catalog, highest value first."""
    validate_catalog(catalog)
    return sorted((dict(entry) for entry in catalog["priority_classes"]), key=lambda entry: -entry["value"])


def _normalize_group(group, priority_values):
    services = []
    for service in group["services"]:
        services.append({
            "name": service["name"],
            "title": service.get("title", service["name"]),
            "group": group["name"],
            "strategy": group["strategy"],
            "namespace": service.get("namespace", group["namespaces"][0]),
            "step": service.get("step", group["step"]),
            "hosting": service.get("hosting", group["hosting"]),
            "component": service.get("component", group.get("component", DEFAULT_COMPONENT)),
            # None: the component's.
            "resources": copy.deepcopy(service.get("resources", group.get("resources"))),
            "priority_class": service["priority_class"],
            "priority": priority_values[service["priority_class"]],
        })
    return {
        "name": group["name"],
        "title": group.get("title", group["name"]),
        "namespaces": list(group["namespaces"]),
        "step": group["step"],
        "strategy": group["strategy"],
        "hosting": group["hosting"],
        "component": group.get("component", DEFAULT_COMPONENT),
        "services": services,
    }


def select_groups(catalog, names=None, strategy=None, unit=None):
    """Return the normalized groups of a catalog in deployment order.

    `names` restricts the result to those groups; the result is still in
    deployment order, whatever the order of `names`. `strategy` keeps only the
    groups upgraded with that strategy. `unit` ('primary' or 'secondary') keeps
    only the services that kind of unit may host, and drops the groups left
    without any. Groups of the same step keep their catalog order. Each
    service of a normalized group carries its group, strategy, namespace,
    step, hosting, component, resources (None unless the catalog gives the
    service or its group its own), priority class and priority value.
    """
    validate_catalog(catalog)
    groups = catalog["groups"]
    known = [group["name"] for group in groups]
    if names:
        unknown = [name for name in names if name not in known]
        if unknown:
            raise CatalogError(
                "unknown service group(s): %s; the catalog has: %s" % (", ".join(unknown), ", ".join(known))
            )
    if strategy is not None and strategy not in STRATEGIES:
        raise CatalogError("unknown strategy %r; use one of: %s" % (strategy, ", ".join(STRATEGIES)))
    if unit is not None and unit not in UNITS:
        raise CatalogError("unknown unit %r; use one of: %s" % (unit, ", ".join(UNITS)))
    priority_values = dict((entry["name"], entry["value"]) for entry in catalog["priority_classes"])
    selected = [
        _normalize_group(group, priority_values)
        for group in groups
        if (not names or group["name"] in names) and (strategy is None or group["strategy"] == strategy)
    ]
    if unit == "secondary":
        selected = [
            dict(group, services=[service for service in group["services"] if service["hosting"] == "primary_or_secondary"])
            for group in selected
        ]
        selected = [group for group in selected if group["services"]]
    # sorted() is stable, so groups of one step keep their catalog order.
    return sorted(selected, key=lambda group: group["step"])


def namespaces_of(groups):
    """The namespaces of the given groups, each once, in group order."""
    result = []
    for group in groups:
        result.extend(ns for ns in group["namespaces"] if ns not in result)
    return result


def services_by_step(groups):
    """Pair each deployment step with the services deployed in it, in order.

    Returns a list of (step, services) tuples sorted by step. A service's own
    step may place it after the rest of its group.
    """
    steps = {}
    for group in groups:
        for service in group["services"]:
            steps.setdefault(service["step"], []).append(service)
    return sorted(steps.items(), key=lambda item: item[0])
