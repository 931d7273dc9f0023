# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The roles' README.md files against their argument specs.

tools/role_readme.py writes each README from meta/argument_specs.yml; an
option, default or description changed in the specs and not in the README (or
the other way round) fails here, as does an example play that the role's own
argument spec would refuse.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import importlib.util
import os

import pytest
import yaml
from ansible.module_utils.common.arg_spec import ArgumentSpecValidator

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")


def load_generator():
    spec = importlib.util.spec_from_file_location("role_readme", os.path.join(ROOT, "tools", "role_readme.py"))
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


role_readme = load_generator()

# What a role's argument spec holds besides what Ansible validates.
DOC_KEYS = ("description",)


def main_options(role):
    with open(os.path.join(ROOT, "roles", role, "meta", "argument_specs.yml"), encoding="utf-8") as stream:
        return yaml.safe_load(stream)["argument_specs"]["main"].get("options") or {}


def test_every_role_has_argument_specs():
    assert role_readme.roles() == sorted(os.listdir(os.path.join(ROOT, "roles")))


def test_readmes_are_what_the_argument_specs_say():
    assert role_readme.stale_readmes() == [], "run .venv/bin/python tools/role_readme.py"


@pytest.mark.parametrize("role", role_readme.roles())
def test_example_passes_the_role_argument_spec(role):
    options = main_options(role)
    spec = dict((name, dict((key, value) for key, value in option.items() if key not in DOC_KEYS)) for name, option in options.items())
    result = ArgumentSpecValidator(spec).validate(role_readme.example_vars(role, options))
    assert result.error_messages == []


def test_an_option_table_follows_its_spec():
    table = role_readme.options_table({
        "demo_count": {"description": ["How many.", "At least C(1)."], "type": "int", "default": 3, "required": False},
        "demo_mode": {"description": "O(demo_count) or V(all) | none.", "type": "str", "choices": ["one", "all"], "required": True},
        "demo_names": {"description": "Names.", "type": "list", "elements": "str", "choices": ["a", "b"], "default": ["a", "b"]},
    })
    assert table[2:] == [
        "| `demo_count` | int | no | `3` | How many. At least `1`. |",
        "| `demo_mode` | str | yes |  | `demo_count` or `all` \\| none. Choices: `one`, `all`. |",
        "| `demo_names` | list of str | no | every choice | Names. Choices: `a`, `b`. |",
    ]


def test_an_example_must_set_the_required_options():
    options = dict(main_options("bluegreen"), bluegreen_cluster={"description": "A new required option.", "type": "str", "required": True})
    with pytest.raises(ValueError, match=r"lacks the required \['bluegreen_cluster'\]"):
        role_readme.example_vars("bluegreen", options)


def test_an_example_sets_only_options():
    options = dict((name, option) for name, option in main_options("bluegreen").items() if name != "bluegreen_service")
    with pytest.raises(ValueError, match=r"sets \['bluegreen_service'\], not options"):
        role_readme.example_vars("bluegreen", options)
