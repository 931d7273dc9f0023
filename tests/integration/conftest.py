# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Fixtures of the integration tests beside the simulator and Prometheus ones of tests/conftest.py."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import http.server
import threading

import pytest


class Health(http.server.BaseHTTPRequestHandler):
    """A webhook target standing for a health URL: /ok answers 200, anything else 503."""

    def do_GET(self):  # noqa: N802 (the http.server interface)
        self.send_response(200 if self.path == "/ok" else 503)
        self.end_headers()

    def log_message(self, *args):
        pass


@pytest.fixture(name="webhook_url")
def webhook_url_fixture():
    """The base URL of a Health server, stopped at the end of the test."""
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Health)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield "http://127.0.0.1:%d" % server.server_address[1]
    server.shutdown()
