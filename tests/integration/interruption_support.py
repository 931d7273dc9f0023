# -*- coding: utf-8 -*-
# Copyright: (c) 2026, cxpe.rollout maintainers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Stopping a run where a test wants it: gates the run's analysis must pass (webhooks the test holds closed, and a
Prometheus stand-in), watches of the simulated cluster, and an ansible-playbook run killed as a controller that dies
kills it - every process it started, background jobs included."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import getpass
import http.server
import json
import os
import re
import signal
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
import uuid

from playbook_support import ANSIBLE_PLAYBOOK, COLLECTIONS, INVENTORY

# The analysis module gives up on a webhook after 10 s: a test kills a run held at a gate well before.
HOLD_SECONDS = 30
WATCH_SECONDS = 120
MARKER = "CXPE_TEST_RUN"


class Server(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address):
        """A killed run hangs up on the call it was making: nothing to report."""


class Gates(object):
    """An HTTP server for a run's checks. /gate/<name> answers 200 once the gate is open, and records that a run
    reached it; /api/v1/query answers every PromQL query with 0, as a Prometheus would; /sessions/<namespace>/<pod>
    answers the pod's open sessions, as kubesim counts them."""

    def __init__(self, simulator):
        self.simulator = simulator
        self._closed = set()
        self._reached = {}
        self._lock = threading.Condition()
        gates = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):  # noqa: N802 (the http.server interface)
                path = urllib.parse.urlsplit(self.path).path
                if path.startswith("/gate/"):
                    gates.reach(path[len("/gate/"):])
                    body = b"open"
                elif path == "/api/v1/query":
                    body = json.dumps({"status": "success", "data": {"resultType": "vector", "result": [
                        {"metric": {}, "value": [time.time(), "0"]}]}}).encode()
                elif path.startswith("/sessions/"):
                    namespace, pod = path[len("/sessions/"):].split("/", 1)
                    body = ("%d" % gates.sessions(namespace, pod)).encode()
                else:
                    self.send_response(404)
                    self.end_headers()
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = Server(("127.0.0.1", 0), Handler)
        self.url = "http://127.0.0.1:%d" % self.server.server_address[1]
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def gate(self, name):
        return "%s/gate/%s" % (self.url, name)

    def close(self, name):
        with self._lock:
            self._closed.add(name)
            self._reached.pop(name, None)

    def open(self, name):
        with self._lock:
            self._closed.discard(name)
            self._lock.notify_all()

    def reach(self, name):
        """A run calls the gate: note it, then hold the call while the gate is closed."""
        with self._lock:
            self._reached[name] = self._reached.get(name, 0) + 1
            self._lock.notify_all()
            self._lock.wait_for(lambda: name not in self._closed, timeout=HOLD_SECONDS)

    def wait_reached(self, name, seconds=WATCH_SECONDS):
        with self._lock:
            if not self._lock.wait_for(lambda: self._reached.get(name), timeout=seconds):
                raise AssertionError("no run reached gate %s within %ss" % (name, seconds))

    def sessions(self, namespace, pod):
        with urllib.request.urlopen(self.simulator.metrics_url, timeout=10) as response:
            text = response.read().decode()
        labels = ('namespace="%s"' % namespace, 'pod="%s"' % pod)
        return sum(float(match.group(2)) for match in re.finditer(r"^kubesim_sessions_active\{([^}]*)\} (\S+)$", text, re.M)
                   if all(label in match.group(1).split(",") for label in labels))

    def stop(self):
        self.open_all()
        self.server.shutdown()

    def open_all(self):
        with self._lock:
            self._closed.clear()
            self._lock.notify_all()


class Run(object):
    """ansible-playbook started in a session of its own, its output in `log`. Every process it starts carries the
    environment variable MARKER, which is how kill() finds the ones that leave its process group (an async job's
    wrapper starts a session of its own)."""

    def __init__(self, environment, playbook, extra_vars, log):
        self.marker = uuid.uuid4().hex
        self.log = log
        env = dict(environment, ANSIBLE_COLLECTIONS_PATH=COLLECTIONS, ANSIBLE_NOCOLOR="1", ANSIBLE_FORCE_COLOR="0", **{MARKER: self.marker})
        with open(log, "w", encoding="utf-8") as output:
            self.process = subprocess.Popen(  # pylint: disable=consider-using-with
                [ANSIBLE_PLAYBOOK, "-i", INVENTORY, playbook, "-e", json.dumps(extra_vars)], env=env, stdout=output,
                stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def holder(self):
        """The identity the run holds its Leases as: the user, this host, the pid of ansible-playbook."""
        return "%s@%s/%d" % (getpass.getuser(), socket.gethostname(), self.process.pid)

    def output(self):
        with open(self.log, encoding="utf-8") as handle:
            return handle.read()

    def marked(self):
        """The pids of the processes that carry this run's marker."""
        found = []
        for entry in os.listdir("/proc"):
            if not entry.isdigit():
                continue
            try:
                with open("/proc/%s/environ" % entry, "rb") as handle:
                    environ = handle.read().split(b"\0")
            except OSError:
                continue
            if ("%s=%s" % (MARKER, self.marker)).encode() in environ:
                found.append(int(entry))
        return found

    def kill(self):
        """SIGKILL ansible-playbook's process group and every process the run started, as when the controller dies."""
        try:
            os.killpg(self.process.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        self.process.wait()
        deadline = time.monotonic() + 10
        while True:
            left = self.marked()
            if not left:
                return
            if time.monotonic() > deadline:
                raise AssertionError("processes of the run survived SIGKILL: %s" % left)
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            time.sleep(0.05)


def watch(simulator, path, condition, what, seconds=WATCH_SECONDS, **query):
    """List the objects at the API `path` (a collection, narrowed by `query`: labelSelector, fieldSelector), then watch
    them from the list's resourceVersion until `condition(objects by name)` is truthy; returns what it returned."""
    deadline = time.monotonic() + seconds
    listed = get_json(simulator, path, **query)
    objects = dict((item["metadata"]["name"], item) for item in listed["items"])
    version = listed["metadata"]["resourceVersion"]
    while True:
        found = condition(objects)
        if found:
            return found
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise AssertionError("timed out waiting for %s; last seen: %s" % (what, json.dumps(objects)[:2000]))
        url = "%s%s?%s" % (simulator.api_url, path, urllib.parse.urlencode(
            dict(query, watch="true", resourceVersion=version, timeoutSeconds=max(int(remaining), 1))))
        with urllib.request.urlopen(url, timeout=remaining + 10) as stream:
            for line in stream:
                event = json.loads(line)
                obj = event["object"]
                if event["type"] == "ERROR":
                    listed = get_json(simulator, path, **query)
                    objects = dict((item["metadata"]["name"], item) for item in listed["items"])
                    version = listed["metadata"]["resourceVersion"]
                    break
                version = obj["metadata"]["resourceVersion"]
                if event["type"] == "DELETED":
                    objects.pop(obj["metadata"]["name"], None)
                else:
                    objects[obj["metadata"]["name"]] = obj
                found = condition(objects)
                if found:
                    return found


def get_json(simulator, path, **query):
    url = "%s%s%s" % (simulator.api_url, path, "?" + urllib.parse.urlencode(query) if query else "")
    with urllib.request.urlopen(url, timeout=30) as response:
        return json.load(response)


def named(name):
    """A watch query narrowed to one object."""
    return {"fieldSelector": "metadata.name=%s" % name}


def ledger_history(configmap):
    return json.loads(((configmap or {}).get("data") or {}).get("history") or "[]")


def lease(simulator, namespace, name):
    """The Lease object, or None."""
    found = get_json(simulator, "/apis/coordination.k8s.io/v1/namespaces/%s/leases" % namespace, **named(name))["items"]
    return found[0] if found else None
