"""The guard's network connections: every byte an exchange reads counts against its size cap.

Counting the body is not enough: before httpcore hands a body over it reads each answer's head, and
before that any number of interim answers (`100 Continue`, `103 Early Hints`), which a server can
send without end. Each interim head costs far more to parse than its few bytes, and the parsing of
one read holds the event loop. So the guard's connections read through a stream that counts every
byte (heads, interim answers, bodies, every redirect's hop) against the exchange's budget, reads
in small pieces until an answer's head is complete, and allows at most HEAD_LIMIT bytes until then.

The budget belongs to the exchange that opened the connection: the guard keeps no connection open
for another (max_keepalive_connections=0), and a connection opened outside an exchange is refused.
"""

from __future__ import annotations

import ssl
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass

import httpcore
import httpx

from nodes.api import HttpRefused

# What may come before an answer's head is complete: its interim answers and its head. h11 allows one
# head 100 KiB; the rest leaves room for the body bytes that arrive in the same read.
HEAD_LIMIT = 128 * 1024
# Read at most this much at a time until the head is complete: a read full of interim heads is parsed
# without a pause, so a smaller read keeps each pause of the event loop to a few milliseconds.
HEAD_READ = 8 * 1024


def _size(limit: int) -> str:
    return f"{limit / 1_000_000:g} MB" if limit >= 1_000_000 else f"{limit:,} bytes"


class AnswerTooLarge(HttpRefused):
    """The answer is larger than the guard reads."""

    def __init__(self, host: str, limit: int, what: str = "") -> None:
        self.limit = limit
        what = what or f"is larger than {_size(limit)}"
        super().__init__(f"The answer from {host} {what}, the most a flow may receive.")


class HeadTooLarge(AnswerTooLarge):
    """More came before the answer's head was complete (interim answers, the head) than a real server sends."""

    def __init__(self, host: str) -> None:
        super().__init__(host, HEAD_LIMIT, f"starts with more than {_size(HEAD_LIMIT)} of headers")


@dataclass(slots=True)
class Budget:
    """What one exchange may still read: `limit` bytes in all, and HEAD_LIMIT of them before each
    answer's head is complete. `host` is the name the refusal names (the current hop's)."""

    limit: int
    host: str
    used: int = 0
    head: int | None = 0  # bytes read for the current answer's head; None once it is complete

    def answer(self, host: str) -> None:
        """A new answer (a redirect's next hop) is about to be read."""
        self.host, self.head = host, 0

    def headed(self) -> None:
        """The current answer's head is complete: what follows is its body."""
        self.head = None

    def take(self, size: int) -> None:
        self.used += size
        if self.used > self.limit:
            raise AnswerTooLarge(self.host, self.limit)
        if self.head is not None:
            self.head += size
            if self.head > HEAD_LIMIT:
                raise HeadTooLarge(self.host)


_current: ContextVar[Budget | None] = ContextVar("outbound_budget", default=None)


@contextmanager
def metered(budget: Budget) -> Iterator[Budget]:
    """Connections opened inside (in this task) count what they read against `budget`."""
    token = _current.set(budget)
    try:
        yield budget
    finally:
        _current.reset(token)


class _Stream(httpcore.AsyncNetworkStream):
    def __init__(self, inner: httpcore.AsyncNetworkStream, budget: Budget) -> None:
        self.inner, self.budget = inner, budget

    async def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        if self.budget.head is not None:
            max_bytes = min(max_bytes, HEAD_READ)
        data = await self.inner.read(max_bytes, timeout)
        self.budget.take(len(data))
        return data

    async def write(self, buffer: bytes, timeout: float | None = None) -> None:
        await self.inner.write(buffer, timeout)

    async def aclose(self) -> None:
        await self.inner.aclose()

    async def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.AsyncNetworkStream:
        return _Stream(await self.inner.start_tls(ssl_context, server_hostname, timeout), self.budget)

    def get_extra_info(self, info: str) -> object:
        return self.inner.get_extra_info(info)


class _Backend(httpcore.AsyncNetworkBackend):
    def __init__(self) -> None:
        self.inner = httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        budget = _current.get()
        if budget is None:  # nothing would count what it reads
            raise RuntimeError("The outbound guard opens connections only inside an exchange it meters.")
        return _Stream(await self.inner.connect_tcp(host, port, timeout, local_address, socket_options), budget)

    async def connect_unix_socket(
        self, path: str, timeout: float | None = None, socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None
    ) -> httpcore.AsyncNetworkStream:
        raise RuntimeError("The outbound guard does not open local sockets.")

    async def sleep(self, seconds: float) -> None:
        await self.inner.sleep(seconds)


class MeteredTransport(httpx.AsyncHTTPTransport):
    """httpx's own transport (request conversion, error mapping), over a connection pool whose
    connections read through the metered stream; no proxy from the environment."""

    def __init__(self, limits: httpx.Limits) -> None:
        super().__init__(trust_env=False, limits=limits)
        # httpx takes no network backend, so its pool is replaced by one with the same settings and ours.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(trust_env=False),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_Backend(),
        )
