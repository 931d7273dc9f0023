# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import os
from fractions import Fraction

import pytest
import yaml
from ansible_collections.cxpe.rollout.plugins.module_utils.catalog import (
    CatalogError,
    namespaces_of,
    priority_classes,
    quantity_value,
    select_groups,
    services_by_step,
    validate_catalog,
)

SHIPPED = os.path.join(os.path.dirname(__file__), "..", "..", "..", "..", "data", "service_catalog.yml")


@pytest.fixture(scope="module")
def shipped():
    with open(SHIPPED, encoding="utf-8") as stream:
        return yaml.safe_load(stream)


def small_catalog():
    return {
        "priority_classes": [
            {"name": "critical", "value": 10},
            {"name": "low", "value": 0},
        ],
        "infrastructure": [{"name": "consul", "step": 1}],
        "groups": [
            {"name": "late", "namespaces": ["late"], "step": 7, "strategy": "rolling_update", "hosting": "primary",
             "services": [{"name": "late-a", "priority_class": "low"},
                          {"name": "late-b", "priority_class": "low", "hosting": "primary_or_secondary"}]},
            {"name": "multi", "namespaces": ["m1", "m2"], "step": 3, "strategy": "canary", "hosting": "primary_or_secondary",
             "services": [{"name": "multi-a", "priority_class": "critical", "namespace": "m1"},
                          {"name": "multi-b", "priority_class": "low", "namespace": "m2", "step": 8}]},
            {"name": "early", "namespaces": ["early"], "step": 3, "strategy": "blue_green", "hosting": "primary",
             "services": [{"name": "early-a", "priority_class": "critical"}]},
        ],
    }


def problems_of(catalog):
    with pytest.raises(CatalogError) as raised:
        validate_catalog(catalog)
    return str(raised.value)


# --- the shipped catalog ----------------------------------------------------

def test_shipped_catalog_is_valid(shipped):
    validate_catalog(shipped)


def test_shipped_catalog_follows_the_documented_deployment_order(shipped):
    steps = dict((group["name"], group["step"]) for group in select_groups(shipped))
    assert steps["gauth"] == 2
    assert steps["voice"] == 3
    assert steps["tenant"] == 4
    assert steps["gws"] == steps["webrtc"] == 5
    assert steps["gvp"] == 6
    for name in ("gim", "designer", "ucsx", "iwd", "tlm", "nexus", "cxc", "ges", "pulse"):
        assert steps[name] == 7, name
    assert steps["ixn"] == 8
    assert steps["gcxi"] == steps["gluswfm"] == 9
    order = [group["step"] for group in select_groups(shipped)]
    assert order == sorted(order)


def test_shipped_catalog_has_every_namespace_of_the_guide(shipped):
    assert sorted(namespaces_of(select_groups(shipped))) == sorted([
        "designer", "gws", "ges", "gim", "gca", "gsp", "gcxi", "pulse", "nexus", "ixn", "ucsx",
        "iwd", "iwddm", "iwdem", "cxc", "gvp", "webrtc", "voice", "gluswfm", "tlm", "bds", "gauth",
    ])


def test_shipped_catalog_strategies(shipped):
    strategies = dict((group["name"], group["strategy"]) for group in select_groups(shipped))
    assert strategies["gws"] == strategies["webrtc"] == "blue_green"
    assert strategies["voice"] == "canary"
    assert strategies["gauth"] == strategies["designer"] == "rolling_update"


def test_shipped_catalog_hosting(shipped):
    hosting = dict((service["name"], service["hosting"])
                   for group in select_groups(shipped) for service in group["services"])
    assert hosting["designer"] == hosting["gcxi"] == "primary"
    assert hosting["designer-das"] == "primary_or_secondary"
    for name in ("gvp-config", "gvp-mcp", "gvp-reporting", "gvp-rm", "voice-sip-proxy", "tenant-service", "webrtc-gateway"):
        assert hosting[name] == "primary_or_secondary", name
    secondary = dict((group["name"], [service["name"] for service in group["services"]])
                     for group in select_groups(shipped, unit="secondary"))
    assert sorted(secondary) == ["designer", "gvp", "tenant", "voice", "webrtc"]
    assert secondary["designer"] == ["designer-das"]


def test_shipped_catalog_components(shipped):
    services = dict((service["name"], service) for group in select_groups(shipped) for service in group["services"])
    realtime = sorted(name for name, service in services.items() if service["component"] == "realtime")
    # The voice microservices, and the services that carry media: GVP's Media Control Platform and WebRTC.
    voice = sorted(name for name, service in services.items() if service["group"] == "voice")
    assert realtime == sorted(voice + ["gvp-mcp", "webrtc-coturn", "webrtc-gateway"])
    assert services["tenant-service"]["component"] == services["gvp-rm"]["component"] == "api"
    assert services["gauth-ui"]["component"] == services["wwe"]["component"] == "ui"
    assert services["gim"]["component"] == services["gcxi"]["component"] == "reporting"
    assert [name for name, service in services.items() if service["resources"]] == ["gcxi"]


def test_shipped_priority_classes(shipped):
    assert [(entry["name"], entry["value"]) for entry in priority_classes(shipped)] == [
        ("genesysengage-critical-priority", 10000000),
        ("genesysengage-high-priority", 1000000),
        ("genesysengage-medium-priority", 100000),
        ("genesysengage-low-priority", 0),
    ]


def test_shipped_iwd_datamart_follows_its_group(shipped):
    steps = dict(services_by_step(select_groups(shipped, names=["iwd"])))
    assert [service["name"] for service in steps[7]] == ["iwd", "iwd-email"]
    assert [(service["name"], service["namespace"]) for service in steps[8]] == [("iwd-datamart", "iwddm")]


# --- selection and ordering ---------------------------------------------------

def test_groups_are_sorted_by_step_keeping_catalog_order_within_a_step():
    assert [group["name"] for group in select_groups(small_catalog())] == ["multi", "early", "late"]


def test_selection_keeps_deployment_order_whatever_the_order_of_names():
    assert [group["name"] for group in select_groups(small_catalog(), names=["late", "early"])] == ["early", "late"]


def test_strategy_filter():
    assert [group["name"] for group in select_groups(small_catalog(), strategy="blue_green")] == ["early"]


def test_a_secondary_unit_keeps_only_the_services_it_may_host():
    groups = select_groups(small_catalog(), unit="secondary")
    assert [(group["name"], [service["name"] for service in group["services"]]) for group in groups] == [
        ("multi", ["multi-a", "multi-b"]), ("late", ["late-b"]),
    ]


def test_a_primary_unit_keeps_every_service():
    assert select_groups(small_catalog(), unit="primary") == select_groups(small_catalog())


def test_unit_and_strategy_filters_combine():
    assert select_groups(small_catalog(), strategy="blue_green", unit="secondary") == []


def test_unknown_unit():
    with pytest.raises(CatalogError, match="unknown unit 'tertiary'; use one of: primary, secondary"):
        select_groups(small_catalog(), unit="tertiary")


def test_unknown_group_names_are_all_reported_with_the_known_ones():
    with pytest.raises(CatalogError, match=r"unknown service group\(s\): nope, nada; the catalog has: late, multi, early"):
        select_groups(small_catalog(), names=["early", "nope", "nada"])


def test_unknown_strategy():
    with pytest.raises(CatalogError, match="unknown strategy 'recreate'"):
        select_groups(small_catalog(), strategy="recreate")


def test_services_are_normalized():
    multi = select_groups(small_catalog(), names=["multi"])[0]
    assert multi["services"][1] == {
        "name": "multi-b", "title": "multi-b", "group": "multi", "strategy": "canary", "namespace": "m2",
        "step": 8, "hosting": "primary_or_secondary", "component": "api", "resources": None,
        "priority_class": "low", "priority": 0,
    }
    early = select_groups(small_catalog(), names=["early"])[0]
    assert early["hosting"] == "primary"
    assert early["services"][0]["namespace"] == "early"
    assert early["services"][0]["step"] == 3
    assert early["services"][0]["hosting"] == "primary"


def test_a_service_may_override_its_groups_hosting():
    late = select_groups(small_catalog(), names=["late"])[0]
    assert [(service["name"], service["hosting"]) for service in late["services"]] == [
        ("late-a", "primary"), ("late-b", "primary_or_secondary"),
    ]


RESOURCES = {"requests": {"cpu": "500m", "memory": "1Gi"}, "limits": {"cpu": "2", "memory": "2Gi"}}


def test_a_service_takes_its_groups_component_and_resources_unless_it_has_its_own():
    catalog = small_catalog()
    late = catalog["groups"][0]
    late.update(component="reporting", resources=RESOURCES)
    late["services"][1].update(component="ui", resources={"requests": {"cpu": "1", "memory": "1Gi"}, "limits": {"cpu": "1", "memory": "1Gi"}})
    (group,) = select_groups(catalog, names=["late"])
    assert group["component"] == "reporting"
    assert [(service["component"], service["resources"]["limits"]["cpu"]) for service in group["services"]] == [("reporting", "2"), ("ui", "1")]
    # A copy: changing a selection's resources leaves the catalog as it is.
    group["services"][0]["resources"]["limits"]["cpu"] = "8"
    assert late["resources"]["limits"]["cpu"] == "2"


@pytest.mark.parametrize("quantity, value", [
    ("500m", Fraction(1, 2)), ("2", 2), ("1.5", Fraction(3, 2)), (".5", Fraction(1, 2)), ("1Gi", 2 ** 30), ("512Mi", 2 ** 29),
    ("1G", 10 ** 9), ("1k", 1000), ("0", 0),
    ("", None), ("1 Gi", None), ("-1", None), ("1e3", None), ("1gi", None), ("Gi", None), (2, None), (None, None),
])
def test_quantities(quantity, value):
    assert quantity_value(quantity) == value


def test_selection_does_not_modify_the_catalog():
    catalog = small_catalog()
    before = copy.deepcopy(catalog)
    select_groups(catalog)
    assert catalog == before


def test_services_by_step_places_services_with_their_own_step():
    plan = services_by_step(select_groups(small_catalog()))
    assert [(step, [service["name"] for service in services]) for step, services in plan] == [
        (3, ["multi-a", "early-a"]), (7, ["late-a", "late-b"]), (8, ["multi-b"]),
    ]


def test_namespaces_are_listed_once_in_group_order():
    groups = select_groups(small_catalog())
    groups.append(dict(groups[0]))
    assert namespaces_of(groups) == ["m1", "m2", "early", "late"]


# --- validation -----------------------------------------------------------------

@pytest.mark.parametrize("mutate, message", [
    (lambda c: c["groups"][0].update(strategy="big_bang"), "strategy 'big_bang' is not one of"),
    (lambda c: c["groups"][0].update(hosting="secondary"),
     "groups[0] (late): hosting 'secondary' is not one of primary, primary_or_secondary"),
    (lambda c: c["groups"][0].pop("hosting"), "groups[0] (late): hosting None is not one of primary, primary_or_secondary"),
    (lambda c: c["groups"][0]["services"][1].update(hosting="anywhere"),
     "groups[0] (late).services[1] (late-b): hosting 'anywhere' is not one of primary, primary_or_secondary"),
    (lambda c: c["groups"][0].update(step=1), "step must be an integer from 2 to 9"),
    (lambda c: c["groups"][0].update(step=True), "step must be an integer from 2 to 9"),
    (lambda c: c["groups"][0].update(name="Late"), "name 'Late' must be a DNS-1123 label"),
    (lambda c: c["groups"][0].update(namespaces=[]), "namespaces must be a non-empty list"),
    (lambda c: c["groups"][0].update(services=[]), "services must be a non-empty list"),
    (lambda c: c["groups"].append(copy.deepcopy(c["groups"][0])), "duplicate group 'late'"),
    (lambda c: c["groups"][2]["services"].append({"name": "late-a", "priority_class": "low"}),
     "service 'late-a' is already defined in group 'late'"),
    (lambda c: c["groups"][0]["services"][0].update(priority_class="urgent"), "priority_class 'urgent' is not one of critical, low"),
    (lambda c: c["groups"][1]["services"][0].update(namespace="elsewhere"), "namespace 'elsewhere' is not one of the group's namespaces"),
    (lambda c: c["groups"][1]["services"][0].pop("namespace"), "the group has several namespaces, so the service must name one"),
    (lambda c: c["groups"][1]["services"][1].update(step=2), "step must be an integer from the group's step to 9"),
    (lambda c: c["groups"][2]["services"][0].update(name="a" * 56), "must be a DNS-1123 label of at most 55 characters"),
    (lambda c: c["groups"][1]["services"][0].update(name="a" * 57), "must be a DNS-1123 label of at most 56 characters"),
    (lambda c: c["priority_classes"].append({"name": "low", "value": 1}), "duplicate priority class 'low'"),
    (lambda c: c["priority_classes"][0].update(value="10"), "value must be an integer"),
    (lambda c: c["infrastructure"][0].update(step=2), "infrastructure[0] must be a mapping with step 1"),
    (lambda c: c["groups"][0].update(component="media"), "groups[0] (late): component 'media' is not one of api, ui, reporting, realtime"),
    (lambda c: c["groups"][0]["services"][1].update(component=None),
     "groups[0] (late).services[1] (late-b): component None is not one of api, ui, reporting, realtime"),
    (lambda c: c["groups"][0].update(resources={"requests": {"cpu": "1"}}),
     "groups[0] (late): resources must be a mapping of requests and limits, each a mapping of cpu and memory to quantity strings"),
    (lambda c: c["groups"][0]["services"][0].update(resources=dict(RESOURCES, limits={"cpu": "2", "memory": "2Gi", "gpu": "1"})),
     "groups[0] (late).services[0] (late-a): resources must be a mapping of requests and limits"),
    (lambda c: c["groups"][0]["services"][0].update(resources=dict(RESOURCES, extra={})), "resources must be a mapping of requests and limits"),
    (lambda c: c["groups"][0]["services"][0].update(resources=dict(RESOURCES, requests={"cpu": 1, "memory": "1Gi"})),
     "(late-a): resources.requests.cpu 1 is not a positive quantity such as '500m' or '1Gi'"),
    (lambda c: c["groups"][0]["services"][0].update(resources=dict(RESOURCES, limits={"cpu": "0", "memory": "1GB"})),
     "resources.limits.cpu '0' is not a positive quantity"),
    (lambda c: c["groups"][0]["services"][0].update(resources=dict(RESOURCES, limits={"cpu": "2", "memory": "1GB"})),
     "resources.limits.memory '1GB' is not a positive quantity"),
    (lambda c: c["groups"][0]["services"][0].update(resources=dict(RESOURCES, limits={"cpu": "250m", "memory": "1Gi"})),
     "(late-a): resources.requests.cpu 500m is above its limit 250m"),
    (lambda c: c.update(groups=[]), "groups must be a non-empty list"),
    (lambda c: c.update(priority_classes=None), "priority_classes must be a non-empty list"),
])
def test_invalid_catalogs_are_reported(mutate, message):
    catalog = small_catalog()
    mutate(catalog)
    assert message in problems_of(catalog)


def test_every_problem_is_reported_at_once():
    catalog = small_catalog()
    catalog["groups"][0]["strategy"] = "big_bang"
    catalog["groups"][2]["services"][0]["priority_class"] = "urgent"
    report = problems_of(catalog)
    assert "big_bang" in report and "urgent" in report


def test_a_blue_green_or_canary_name_may_be_long_elsewhere():
    catalog = small_catalog()
    catalog["groups"][0]["services"][0]["name"] = "a" * 63
    catalog["groups"][1]["services"][0]["name"] = "b" * 56
    catalog["groups"][2]["services"][0]["name"] = "c" * 55
    validate_catalog(catalog)


def test_a_catalog_must_be_a_mapping():
    assert problems_of([]) == "the service catalog must be a mapping"
