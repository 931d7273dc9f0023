# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Genesys service versions and releases, for the guide's N-2 upgrade policy ("Upgrade overview": an estate
must not fall more than two releases behind). Pure.

A service version is `a.b.c.d` (`9.0.100.01`: release 9.0.100, build 01) or `a.b.c` (`100.0.1000014`: release
100.0.1000014, no build); whatever follows a `-` is a build variant (`9.0.102.01-errors30`) and is ignored. Releases
of the same `a.b` line are counted by their third component; releases of different lines are not comparable.
"""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

EXAMPLES = "9.0.100.01 or 100.0.1000014"


class ReleaseError(ValueError):
    """A version that is not a Genesys service version; the message names it."""


def parse_version(version):
    """(release, build) of a version: release is (a, b, c), build an int or None."""
    text = ("%s" % (version if version is not None else "")).strip()
    parts = text.split("-", 1)[0].split(".")
    if len(parts) not in (3, 4) or not all(part.isdigit() for part in parts):
        raise ReleaseError("version %r is not a Genesys service version like %s" % (version, EXAMPLES))
    numbers = [int(part) for part in parts]
    return tuple(numbers[:3]), (numbers[3] if len(numbers) == 4 else None)


def release(version):
    """The release (a, b, c) of a version."""
    return parse_version(version)[0]


def release_gap(running, target):
    """How many releases `target` is ahead of `running` (negative when behind); None when they are of different
    `a.b` lines, which the release count does not compare."""
    running_release, target_release = release(running), release(target)
    if running_release[:2] != target_release[:2]:
        return None
    return target_release[2] - running_release[2]


def is_older(target, running):
    """Whether `target` is an older version than `running`: an earlier release, or an earlier build of the same one (a
    version without a build counts as build 0)."""
    target_release, target_build = parse_version(target)
    running_release, running_build = parse_version(running)
    return (target_release, target_build or 0) < (running_release, running_build or 0)
