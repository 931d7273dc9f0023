# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import pytest
from ansible_collections.cxpe.rollout.plugins.module_utils.releases import ReleaseError, is_older, parse_version, release, release_gap


@pytest.mark.parametrize("version, parsed", [
    ("9.0.100.01", ((9, 0, 100), 1)),
    ("100.0.1000014", ((100, 0, 1000014), None)),
    ("9.0.102.01-errors30", ((9, 0, 102), 1)),
    ("100.0.1000014-rc1", ((100, 0, 1000014), None)),
    (" 9.0.100.01 ", ((9, 0, 100), 1)),
])
def test_a_version_is_its_release_and_build_whatever_follows_a_dash(version, parsed):
    assert parse_version(version) == parsed
    assert release(version) == parsed[0]


@pytest.mark.parametrize("version", ["1.0", "9.0.100.01.7", "latest", "", None, "v9.0.100.01", "9.0.x.01", "9..100", "-9.0.100"])
def test_a_version_that_does_not_parse_is_an_error_naming_it(version):
    with pytest.raises(ReleaseError) as error:
        parse_version(version)
    assert "version %r is not a Genesys service version like 9.0.100.01 or 100.0.1000014" % (version,) == "%s" % error.value


@pytest.mark.parametrize("running, target, gap", [
    ("9.0.100.01", "9.0.100.02", 0),
    ("9.0.100.01", "9.0.102.01", 2),
    ("9.0.100.01", "9.0.103.05-errors30", 3),
    ("9.0.102.01", "9.0.100.01", -2),
    ("100.0.1000014", "100.0.1000016", 2),
    ("100.0.1000014", "100.0.1000014", 0),
    ("9.0.100.01", "9.1.100.01", None),
    ("9.0.100.01", "100.0.1000014", None),
])
def test_the_release_gap_counts_releases_of_one_line_and_none_across_lines(running, target, gap):
    assert release_gap(running, target) == gap


def test_the_release_gap_of_a_version_that_does_not_parse_names_it():
    with pytest.raises(ReleaseError, match="'9.0' is not"):
        release_gap("9.0.100.01", "9.0")
    with pytest.raises(ReleaseError, match="'main' is not"):
        release_gap("main", "9.0.100.01")


@pytest.mark.parametrize("target, running, older", [
    ("9.0.99.01", "9.0.100.01", True),
    ("9.0.100.01", "9.0.100.02", True),
    ("9.0.100.02", "9.0.100.01", False),
    ("9.0.100.01", "9.0.100.01-errors30", False),
    ("9.0.101.01", "9.0.100.09", False),
    ("100.0.1000013", "100.0.1000014", True),
    ("9.0.100", "9.0.100.00", False),
])
def test_older_means_an_earlier_release_or_an_earlier_build_of_the_same(target, running, older):
    assert is_older(target, running) is older
