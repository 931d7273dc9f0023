# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible.errors import AnsibleLookupError
from ansible_collections.cxpe.rollout.plugins.module_utils.catalog import (
    select_groups,
)
from ansible_collections.cxpe.rollout.plugins.plugin_utils import catalog_file


def test_the_catalog_is_found_beside_the_plugins():
    groups = catalog_file.query_catalog(select_groups, names=["gauth"])
    assert [service["name"] for service in groups[0]["services"]] == ["gauth-auth", "gauth-environment", "gauth-ui"]


def test_the_selection_options_reach_the_catalog():
    groups = catalog_file.query_catalog(select_groups, names=["designer", "gws"], unit="secondary")
    assert [(group["name"], [service["name"] for service in group["services"]]) for group in groups] == [
        ("designer", ["designer-das"]),
    ]


def test_catalog_errors_become_lookup_errors():
    with pytest.raises(AnsibleLookupError, match=r"unknown service group\(s\): nope"):
        catalog_file.query_catalog(select_groups, names=["nope"])


@pytest.mark.parametrize("content, message", [
    (None, "cannot read the service catalog"),
    ("groups: [", "cannot read the service catalog"),
    ("groups: []", "invalid service catalog"),
])
def test_unreadable_or_invalid_files(tmp_path, monkeypatch, content, message):
    path = tmp_path / "catalog.yml"
    if content is not None:
        path.write_text(content)
    monkeypatch.setattr(catalog_file, "CATALOG_PATH", str(path))
    with pytest.raises(AnsibleLookupError, match=message):
        catalog_file.query_catalog(select_groups)
