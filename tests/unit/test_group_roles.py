# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The group roles (roles/<group>) against the service catalog they repeat.

Each catalog group has a role of its name that upgrades the group's services
with the group's strategy. The roles hold the catalog's names and strategies as
plain data, for their argument specs and defaults, so these tests keep the two
from drifting apart: a service, group or strategy changed on one side only
fails here.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import os

import pytest
import yaml

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
ROLES = os.path.join(ROOT, "roles")


def read_yaml(*parts):
    with open(os.path.join(ROOT, *parts), encoding="utf-8") as stream:
        return yaml.safe_load(stream)


CATALOG_GROUPS = read_yaml("data", "service_catalog.yml")["groups"]


def group_of_role(role):
    """The group a role's tasks/main.yml passes to service_upgrade, or None for a role that is not a group role.

    The strategy roles (bluegreen, canary, rolling), platform_deploy,
    service_upgrade itself and the other roles pass none.
    """
    if not os.path.isfile(os.path.join(ROLES, role, "tasks", "main.yml")):
        return None
    for task in read_yaml("roles", role, "tasks", "main.yml") or []:
        group = (task.get("vars") or {}).get("service_upgrade_group")
        if group is not None:
            return group
    return None


def group_roles():
    return sorted(role for role in os.listdir(ROLES) if group_of_role(role) is not None)


def test_every_catalog_group_has_a_role():
    assert sorted(set(group["name"] for group in CATALOG_GROUPS) - set(group_roles())) == []


def test_every_group_role_is_a_catalog_group():
    assert sorted(set(group_roles()) - set(group["name"] for group in CATALOG_GROUPS)) == []


@pytest.mark.parametrize("group", CATALOG_GROUPS, ids=[group["name"] for group in CATALOG_GROUPS])
def test_the_role_repeats_its_group(group):
    name = group["name"]
    services = [service["name"] for service in group["services"]]
    assert os.path.isdir(os.path.join(ROLES, name)), "no role %s" % name

    tasks = read_yaml("roles", name, "tasks", "main.yml")
    assert len(tasks) == 1
    assert tasks[0]["ansible.builtin.include_role"] == {"name": "cxpe.rollout.service_upgrade", "tasks_from": "group"}
    assert tasks[0]["vars"] == {
        "service_upgrade_group": name,
        "service_upgrade_strategy": group["strategy"],
        "service_upgrade_services": "{{ %s_services }}" % name,
        "service_upgrade_version": "{{ %s_version }}" % name,
        "service_upgrade_versions": "{{ %s_versions }}" % name,
    }

    assert read_yaml("roles", name, "defaults", "main.yml")["%s_services" % name] == services

    options = read_yaml("roles", name, "meta", "argument_specs.yml")["argument_specs"]["main"]["options"]
    assert sorted(options) == sorted(["%s_version" % name, "%s_versions" % name, "%s_services" % name])
    assert options["%s_services" % name]["choices"] == services
    assert options["%s_services" % name]["default"] == services
