"""Serving a fake platform on 127.0.0.1 for the duration of a test."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, Protocol, TypeVar

import uvicorn


class Fake(Protocol):
    url: str

    def app(self) -> Any: ...


F = TypeVar("F", bound=Fake)


@contextmanager
def running(fake: F) -> Iterator[F]:
    """Serve the fake on a free port of 127.0.0.1 in a thread, for the duration."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(fake.app(), host="127.0.0.1", port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the fake {type(fake).__name__} did not start")
        time.sleep(0.02)
    fake.url = f"http://127.0.0.1:{port}"
    try:
        yield fake
    finally:
        server.should_exit = True
        thread.join(timeout=5)
