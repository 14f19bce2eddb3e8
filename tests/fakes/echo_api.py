"""A tiny local web API for http.request tests, served on 127.0.0.1 from a thread.

Routes (any method):
- ``/json``: 200 with sample data and an echo of the request (method, query, headers, body).
- ``/flaky?fail=N``: 500 for the first N calls, then 200.
- ``/busy?retry_after=S``: 429 with ``Retry-After: S`` on the first call, then 200.
- ``/missing``: 404 with a JSON error.
- ``/slow?seconds=S``: answers 200 after S seconds (or at once when the server stops).
- ``/text``: 200 with plain text.
- ``/redirect?to=URL&status=302``: a redirect to URL (the outbound guard's tests).
- ``/hops?n=N``: redirects to ``/hops?n=N-1`` until N is 0, then 200.
- ``/big?bytes=N``: 200 with N bytes; ``&declared=0`` leaves Content-Length out (chunked).
- ``/gzip?bytes=N``: N zero bytes, gzip-compressed (a small answer that unpacks large).
- ``/trickle?bytes=N&gap=S``: N bytes, one every S seconds (a server that never quite stops).
- ``/cookie``: 200 that sets a cookie.
"""

from __future__ import annotations

import gzip
import json
import threading
from collections import Counter
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import parse_qs, urlsplit

SAMPLE = {"data": {"items": [{"name": "Ada", "tags": ["math", "code"]}, {"name": "Grace"}], "total": 2}}


@dataclass(frozen=True)
class Seen:
    """One request the fake received."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]  # lower-case names
    body: str


class EchoApi:
    """Start with `with EchoApi() as api:`; `api.url("/json")`, `api.calls["/flaky"]`, `api.seen`."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()
        self.seen: list[Seen] = []
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._server = _QuietServer(("127.0.0.1", 0), _handler_for(self))
        # A short poll interval so that stopping (once per test) is quick.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), name="echo-api", daemon=True)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.base_url + path

    def __enter__(self) -> EchoApi:
        self._thread.start()
        return self

    def __exit__(self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None) -> None:
        self._stopping.set()  # wake slow handlers so shutdown does not wait for them
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def _record(self, seen: Seen) -> int:
        with self._lock:
            self.seen.append(seen)
            self.calls[seen.path] += 1
            return self.calls[seen.path]

    def _answer(self, seen: Seen, count: int) -> tuple[int, dict[str, str], bytes]:
        q = {k: v[-1] for k, v in seen.query.items()}
        if seen.path == "/json":
            echo = {"method": seen.method, "query": seen.query, "headers": seen.headers, "body": seen.body}
            return _json(200, {**SAMPLE, "echo": echo})
        if seen.path == "/flaky":
            if count <= int(q.get("fail", "1")):
                return _json(500, {"error": "temporary failure", "call": count})
            return _json(200, {"ok": True, "call": count})
        if seen.path == "/busy":
            if count == 1:
                status, headers, body = _json(429, {"error": "slow down"})
                return status, {**headers, "Retry-After": q.get("retry_after", "1")}, body
            return _json(200, {"ok": True, "call": count})
        if seen.path == "/slow":
            self._stopping.wait(float(q.get("seconds", "2")))
            return _json(200, {"ok": True})
        if seen.path == "/text":
            return 200, {"Content-Type": "text/plain; charset=utf-8"}, b"hello there"
        if seen.path == "/redirect":
            return int(q.get("status", "302")), {"Location": q.get("to", "/json")}, b""
        if seen.path == "/hops":
            n = int(q.get("n", "0"))
            return (302, {"Location": f"/hops?n={n - 1}"}, b"") if n > 0 else _json(200, {"ok": True})
        if seen.path == "/big":
            return 200, {"Content-Type": "text/plain"}, b"x" * int(q.get("bytes", "0"))
        if seen.path == "/gzip":
            packed = gzip.compress(b"\0" * int(q.get("bytes", "0")))
            return 200, {"Content-Type": "text/plain", "Content-Encoding": "gzip"}, packed
        if seen.path == "/cookie":
            return 200, {"Content-Type": "text/plain", "Set-Cookie": "session=abc123; Path=/"}, b"ok"
        return _json(404, {"error": "not found"})


class _QuietServer(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        # A client that gave up (timeout tests) closes its socket before a slow answer is written.
        pass


def _json(status: int, data: Any) -> tuple[int, dict[str, str], bytes]:
    return status, {"Content-Type": "application/json"}, json.dumps(data).encode()


def _handler_for(api: EchoApi) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _handle(self) -> None:
            parts = urlsplit(self.path)
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length).decode() if length else ""
            headers = {k.lower(): v for k, v in self.headers.items()}
            seen = Seen(self.command, parts.path, parse_qs(parts.query), headers, body)
            count = api._record(seen)
            if seen.path == "/trickle":
                self._trickle(seen)
                return
            status, out_headers, payload = api._answer(seen, count)
            self.send_response(status)
            for name, value in out_headers.items():
                self.send_header(name, value)
            if seen.path == "/big" and seen.query.get("declared") == ["0"]:
                self.send_header("Transfer-Encoding", "chunked")
                self.end_headers()
                for start in range(0, len(payload), 65536):
                    part = payload[start : start + 65536]
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(part), part))
                self.wfile.write(b"0\r\n\r\n")
                return
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def _trickle(self, seen: Seen) -> None:
            q = {k: v[-1] for k, v in seen.query.items()}
            size, gap = int(q.get("bytes", "100")), float(q.get("gap", "0.05"))
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            for _ in range(size):
                if api._stopping.wait(gap):
                    return
                try:
                    self.wfile.write(b"x")
                    self.wfile.flush()
                except OSError:  # the client gave up: what the time-limit tests expect
                    return

        do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = _handle

        def log_message(self, format: str, *args: Any) -> None:  # keep test output quiet
            pass

    return Handler
