"""The HTTP side of the API server: HTTP/1.1 with keep-alive, JSON bodies, chunked watch streams.

Every failure becomes a Status body with its code; an unexpected one is a 500 and the server
keeps serving. Each answered request is counted in the request metrics, with its code and how
long it took, and written to the audit log when there is one, just before the end of its answer
goes out: a client that reads the metrics or the log after its answer finds it there.
"""

import json
import logging
import math
import select
import socket
import ssl
import sys
import threading
import time
import urllib.parse
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ..errors import ApiError, BadRequest
from ..serving import BackgroundServer
from .admin import PREFIX as ADMIN_PREFIX
from .rest import BOOKMARK_INTERVAL_SECONDS, Api, Request, Response, WatchStream

LOG = logging.getLogger("kubesim.api")
# How often a quiet watch checks that its client is still there.
WATCH_POLL_SECONDS = 0.5
MAX_BODY_BYTES = 3 * 1024 * 1024


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128

    def __init__(self, address, api, audit):
        super().__init__(address, _Handler)
        self.api = api
        self.audit = audit
        self.stopping = threading.Event()

    def handle_error(self, request, client_address):
        """A client that goes away mid-request is routine; anything else is logged."""
        if not isinstance(sys.exc_info()[1], ConnectionError):
            LOG.exception("request from %s failed", client_address)


def _encode(body):
    if isinstance(body, bytes):
        return body
    if isinstance(body, str):
        return body.encode("utf-8")
    return json.dumps(body, separators=(",", ":")).encode("utf-8")


class _WatchCut(Exception):
    """An injected fault ends a watch stream here, as a dropped connection would."""


def _client_gone(connection):
    """True when the peer closed its end (readable with nothing to read)."""
    try:
        readable, _, _ = select.select([connection], [], [], 0)
        if readable and isinstance(connection, ssl.SSLSocket):
            return _tls_peer_closed(connection)
        return bool(readable) and connection.recv(1, socket.MSG_PEEK) == b""
    except OSError:
        return True


def _tls_peer_closed(connection):
    """TLS cannot peek: read without blocking instead. A watching client sends nothing, so what arrives
    is its close (close_notify or end of stream), or only part of a TLS record."""
    timeout = connection.gettimeout()
    connection.setblocking(False)
    try:
        return connection.recv(1) == b""
    except ssl.SSLWantReadError:
        return False
    finally:
        connection.settimeout(timeout)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "kubesim"
    # Headers and body go out as separate writes; without this, Nagle's algorithm and delayed ACKs add 40 ms per response.
    disable_nagle_algorithm = True

    def do_GET(self):  # noqa: N802 (the names http.server dispatches to)
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = do_GET

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        LOG.debug("%s %s", self.address_string(), format % args)

    # ---------------------------------------------------------------- request

    def _read_body(self):
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            return self._read_chunked()
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            raise ApiError("Request entity too large: limit is 3145728", code=413, reason="RequestEntityTooLarge")
        return self.rfile.read(length) if length > 0 else b""

    def _read_chunked(self):
        chunks = []
        while True:
            size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
            if size == 0:
                while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(self.rfile.read(size))
            self.rfile.readline()

    def _request(self):
        url = urllib.parse.urlsplit(self.path)
        query = {key: values[-1] for key, values in urllib.parse.parse_qs(url.query, keep_blank_values=True).items()}
        headers = {key.lower(): value for key, value in self.headers.items()}
        return Request(self.command, urllib.parse.unquote(url.path), query, headers, self._read_body(),
                       impersonate_groups=tuple(self.headers.get_all("Impersonate-Group") or ()))

    def _dispatch(self):
        started = time.monotonic()
        audit = self.server.audit
        entry = audit.received(self.path, self.client_address[0]) if audit else None
        request, warnings = None, ()
        try:
            try:
                request = self._request()
            except ValueError as exc:
                raise BadRequest(f"malformed request: {exc}") from exc
            response = self.server.api.handle(request)
            warnings = request.warnings
        except ApiError as exc:
            response = Response(exc.code, exc.status())
        except Exception as exc:  # pylint: disable=broad-except
            LOG.exception("%s %s failed", self.command, self.path)
            response = Response(500, ApiError(f"Internal error occurred: {exc}").status())
        labels = request.labels if request is not None else None
        # kubesim's own endpoints belong to the test harness, not to the cluster: they are not audited.
        audited = entry is not None and request is not None and not request.path.startswith(ADMIN_PREFIX)
        counted = False

        def count(code, body=None):
            """Count and audit the request once, whichever way its answer ends."""
            nonlocal counted
            if counted:
                return
            counted = True
            if labels is not None:
                self.server.api.metrics.observe(labels, code, time.monotonic() - started)
            if audited:
                audit.completed(entry, request, code, body)

        if isinstance(response, WatchStream):
            self._stream(response, count, (lambda: audit.started(entry, request)) if audited else None)
            return
        if response.delay:
            self.server.stopping.wait(response.delay)
        count(response.code, response.body)
        self._send(response, warnings)

    # ---------------------------------------------------------------- response

    def _send(self, response, warnings=()):
        payload = _encode(response.body)
        self.send_response(response.code)
        self.send_header("Content-Type", response.content_type)
        for name, value in response.headers.items():
            self.send_header(name, value)
        for warning in warnings:
            self.send_header("Warning", '299 - "' + warning.replace("\\", "\\\\").replace('"', '\\"') + '"')
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _chunk(self, data):
        self.wfile.write(f"{len(data):x}\r\n".encode() + data + b"\r\n")
        self.wfile.flush()

    def _stream(self, stream, count, on_start=None):
        """Stream the watch; ``on_start()`` is called once its headers went out, ``count(200)`` before it ends (its
        code went out first)."""
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.send_header("Cache-Control", "no-cache, private")
        self.end_headers()
        if on_start:
            on_start()
        sent = 0
        cut_at = time.monotonic() + stream.cut_seconds if stream.cut_seconds is not None else math.inf

        def send_event(event):
            nonlocal sent
            self._chunk(_encode(stream.render(*event)) + b"\n")
            sent += 1
            if stream.cut_events is not None and sent >= stream.cut_events:
                raise _WatchCut()

        try:
            for event in stream.events:
                send_event(event)
            if stream.watch is not None:
                self._follow(stream, send_event, cut_at)
            count(200)
            self.wfile.write(b"0\r\n\r\n")
            self.wfile.flush()
        except _WatchCut:
            count(200)
            self._drop_connection()
        except OSError:
            count(200)
            self.close_connection = True
        finally:
            if stream.watch is not None:
                stream.watch.close()

    def _drop_connection(self):
        """Stop mid-stream, without the closing chunk, and close the connection: what the client of a
        broken connection sees."""
        self.close_connection = True
        self.connection.shutdown(socket.SHUT_RDWR)

    def _follow(self, stream, send_event, cut_at):
        deadline = time.monotonic() + stream.timeout
        next_bookmark = time.monotonic() + BOOKMARK_INTERVAL_SECONDS
        while not self.server.stopping.is_set():
            now = time.monotonic()
            if now >= cut_at:
                raise _WatchCut()
            if now >= deadline:
                return
            event = stream.watch.next(timeout=min(WATCH_POLL_SECONDS, deadline - now, cut_at - now))
            if event is not None:
                send_event(event)
                continue
            if _client_gone(self.connection):
                self.close_connection = True
                return
            if stream.bookmarks and time.monotonic() >= next_bookmark:
                bookmark = stream.bookmark()
                # Read before looking at the queue: if it is empty, every event up to that version has gone out.
                if stream.watch.events.empty():
                    self._chunk(_encode(stream.render("BOOKMARK", bookmark)) + b"\n")
                next_bookmark = time.monotonic() + BOOKMARK_INTERVAL_SECONDS


class ApiServer(BackgroundServer):
    """The API server on ``host:port`` (port 0: a free one, see ``.port``); ``engine`` runs the controllers
    its admin endpoint pauses, ``fault_rules`` are the faults it injects, ``access`` authenticates and authorizes
    the requests (access.AccessControl; by default any token is accepted and everything allowed), ``audit`` is the
    audit log the requests are written to (audit.AuditLog), if any."""

    def __init__(self, store, engine, fault_rules, host, port, access=None, audit=None):
        api = Api(store, engine, fault_rules, lambda: f"{host}:{self.port}", access)
        super().__init__(_Server((host, port), api, audit), "kubesim-api")

    def stop(self):
        # Open watch streams end on their next poll instead of holding shutdown up.
        self.httpd.stopping.set()
        super().stop()
