"""A small local HTTP server playing Superset: the four endpoints the dashboards import uses.

It speaks login, csrf_token, assets/import and dashboard (+ its charts) the way
Superset 6.1 does (JWT bearer token, then a CSRF token with a Referer; see
Superset's /api/v1/security and /api/v1/assets endpoints) and records what it
received, so tests can look at the real HTTP traffic. Dashboards are found by
the slug of the dashboard in the bundle it was sent, as Superset would.
"""

from __future__ import annotations

import io
import json
import socket
import threading
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import yaml

USERNAME = "importer"
PASSWORD = "superset-pass-6f1c"
DASHBOARD_ID = 7


@dataclass
class FakeSuperset:
    """What the stand-in received, and how it should misbehave."""

    username: str = USERNAME
    password: str = PASSWORD
    unavailable_first: int = 0  # answer 503 to this many requests first
    requests_seen: int = 0
    imports: list[dict[str, Any]] = field(default_factory=list)
    charts: dict[str, int] = field(default_factory=dict)
    dashboard_slugs: set[str] = field(default_factory=set)


def handler(state: FakeSuperset) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *_args: Any) -> None:
            pass

        def _send(self, status: int, body: dict[str, Any]) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _unavailable(self) -> bool:
            state.requests_seen += 1
            if state.requests_seen <= state.unavailable_first:
                self._send(503, {"message": "starting"})
                return True
            return False

        def _authorised(self, csrf: bool = False) -> bool:
            ok = self.headers.get("Authorization") == "Bearer jwt-token"
            if csrf:
                ok = ok and self.headers.get("X-CSRFToken") == "csrf-token" and bool(self.headers.get("Referer"))
            if not ok:
                self._send(401, {"msg": "missing token"})
            return ok

        def _body(self) -> bytes:
            return self.rfile.read(int(self.headers.get("Content-Length", 0)))

        def do_POST(self) -> None:
            if self._unavailable():
                return
            if self.path == "/api/v1/security/login":
                body = json.loads(self._body())
                if (body.get("username"), body.get("password")) != (state.username, state.password):
                    self._send(401, {"message": "Not authorized"})
                else:
                    self._send(200, {"access_token": "jwt-token"})
            elif self.path == "/api/v1/assets/import/":
                if not self._authorised(csrf=True):
                    return
                raw = b"Content-Type: " + self.headers["Content-Type"].encode() + b"\r\n\r\n" + self._body()
                message = BytesParser(policy=HTTP).parsebytes(raw)
                form = {part.get_param("name", header="content-disposition"): part for part in message.iter_parts()}
                received = {
                    name: part.get_payload(decode=True) if name == "bundle" else part.get_content()
                    for name, part in form.items()
                }
                state.imports.append(received)
                with zipfile.ZipFile(io.BytesIO(received["bundle"])) as bundle:
                    docs = {n: yaml.safe_load(bundle.read(n)) for n in bundle.namelist()}
                names = [doc["slice_name"] for n, doc in docs.items() if "/charts/" in n]
                state.charts = {name: number for number, name in enumerate(sorted(names), start=1)}
                state.dashboard_slugs = {doc["slug"] for n, doc in docs.items() if "/dashboards/" in n}
                self._send(200, {"message": "OK"})
            else:
                self._send(404, {"message": "Not found"})

        def do_GET(self) -> None:
            if self._unavailable() or not self._authorised():
                return
            if self.path == "/api/v1/security/csrf_token/":
                self._send(200, {"result": "csrf-token"})
            elif self.path.removeprefix("/api/v1/dashboard/") in state.dashboard_slugs:
                slug = self.path.removeprefix("/api/v1/dashboard/")
                self._send(200, {"result": {"id": DASHBOARD_ID, "slug": slug}})
            elif self.path == f"/api/v1/dashboard/{DASHBOARD_ID}/charts":
                self._send(200, {"result": [{"slice_name": n, "id": i} for n, i in state.charts.items()]})
            else:
                self._send(404, {"message": "Not found"})

    return Handler


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve(state: FakeSuperset, port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer(("127.0.0.1", port), handler(state))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


@contextmanager
def serving(state: FakeSuperset) -> Iterator[str]:
    """The stand-in on a free port for the duration of the block; yields its URL."""
    server = serve(state)
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()
