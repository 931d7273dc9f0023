# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Ports on the loopback interface for the tests' servers, and for the addresses where nothing answers."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import socket


def free_port():
    """A port nothing listens on now. Another process may bind it before the caller does: a server started on it
    retries on another one (tests/conftest.py), and a test that wants a closed port only connects to it."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
