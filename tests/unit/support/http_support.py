# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""A stand-in for ansible's open_url, for the tests of the modules' HTTP clients."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type


def opener(answer):
    """An open_url that records each call in `.calls` and returns `answer` (or raises it, when it is an exception)."""
    calls = []

    def open_url(url, **options):
        calls.append((url, options))
        if isinstance(answer, Exception):
            raise answer
        return answer
    open_url.calls = calls
    return open_url
