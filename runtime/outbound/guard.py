"""The HTTP client every request a flow or a plugin makes goes through (`Services.http`).

httpx would look a name up again when it connects, and a name can answer a public address to the
check and a private one to the connection (DNS rebinding). So the guard looks the name up once,
checks every address it has (runtime.outbound.addresses), and connects to the address it checked,
with the name kept in the Host header and for TLS (SNI and the certificate check). It follows
redirects itself, checking each hop the same way and dropping credentials when one leads to
another origin; caps what it reads, both every byte from the network (heads and interim answers
included, runtime.outbound.metered) and the body after decompression (so a small gzip cannot unpack
to gigabytes), and the whole exchange's time. Names are looked up on threads of the guard's own
(runtime.outbound.lookup). It keeps no cookies, since they would pass from one flow
or workspace to another, and no open connections, since a kept TLS connection to an address would
be reused for another name at that address without the certificate being checked for that name.
"""

from __future__ import annotations

import asyncio
import copy
import ipaddress
import logging
import zlib
from collections.abc import Awaitable, Callable, Sequence
from http.cookiejar import CookieJar, DefaultCookiePolicy
from typing import Any

import httpx

from nodes.api import HttpRefused
from runtime.outbound.addresses import (
    DEFAULT_PORTS,
    IP,
    LOOPBACK,
    LOOPBACK_NAMES,
    METADATA_NAMES,
    AddressRefused,
    Allowance,
    Kind,
    check,
    host_name,
    literal,
)
from runtime.outbound.lookup import resolve
from runtime.outbound.metered import AnswerTooLarge, Budget, MeteredTransport, metered

MAX_BYTES = 5_000_000
TIMEOUT = 60.0  # seconds for the whole exchange, redirects included; a caller may ask for less
MAX_REDIRECTS = 5
REDIRECTS = frozenset({301, 302, 303, 307, 308})
# What a request keeps when a redirect leads to another origin: nothing that may be a credential.
ACROSS_ORIGINS = frozenset({"accept", "accept-encoding", "accept-language", "user-agent", "content-type"})
BUILD_ARGUMENTS = frozenset(
    {"content", "data", "files", "json", "params", "headers", "cookies", "timeout", "extensions"}
)
Resolver = Callable[[str], Awaitable[Sequence[str]]]


class RedirectRefused(HttpRefused):
    """A redirect the guard does not follow: one too many, or to an address that is not http(s)."""


class Guard:
    """An HttpClient (nodes.api) that reaches public addresses and the private ones `allow` names."""

    def __init__(
        self,
        *,
        allow: Allowance | None = None,
        resolver: Resolver = resolve,
        max_bytes: int = MAX_BYTES,
        timeout: float = TIMEOUT,
        max_redirects: int = MAX_REDIRECTS,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        """`resolver`: name → addresses (tests hand in their own); `max_bytes`: the most an answer
        may hold unless a request asks otherwise; `timeout`: the most a whole exchange may take (a
        request may ask for less); `transport`: for tests."""
        self.allow = allow or Allowance()
        self.resolver = resolver
        self.max_bytes, self.timeout, self.max_redirects = max_bytes, timeout, max_redirects
        self._connections = _Connections(transport, timeout)

    def scoped(self, extra: Allowance) -> Guard:
        """The same guard (and connections) that also allows `extra`: a workspace's entries."""
        twin = copy.copy(self)
        twin.allow = self.allow + extra
        return twin

    async def aclose(self) -> None:
        await self._connections.close()

    async def request(self, method: str, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        """Like httpx's `request`, plus `max_bytes`; the answer is read whole (at most `max_bytes`).
        HttpRefused (with a sentence) when the address or an answer is refused."""
        limit = int(kwargs.pop("max_bytes", None) or self.max_bytes)
        follow = bool(kwargs.pop("follow_redirects", True))
        auth = kwargs.pop("auth", None)
        unknown = set(kwargs) - BUILD_ARGUMENTS
        if unknown:
            raise TypeError(f"The outbound guard does not take {', '.join(sorted(unknown))}.")
        total = self._total(kwargs.get("timeout"))
        client = self._connections.get()
        request = client.build_request(method, url, **kwargs)
        try:
            with metered(Budget(limit, request.url.host)) as budget:
                async with asyncio.timeout(total):
                    return await self._exchange(client, request, auth, follow, budget)
        except TimeoutError:
            raise httpx.TimeoutException(
                f"{request.url.host} did not answer within {total:g} seconds.", request=request
            ) from None

    async def get(self, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        return await self.request("GET", url, **kwargs)

    async def post(self, url: str | httpx.URL, **kwargs: Any) -> httpx.Response:
        return await self.request("POST", url, **kwargs)

    def _total(self, given: Any) -> float:
        if isinstance(given, int | float) and given > 0:
            return min(float(given), self.timeout)
        if isinstance(given, httpx.Timeout):
            parts = [t for t in (given.connect, given.read, given.write, given.pool) if t]
            return min(max(parts, default=self.timeout), self.timeout)
        return self.timeout

    async def _exchange(
        self, client: httpx.AsyncClient, request: httpx.Request, auth: Any, follow: bool, budget: Budget
    ) -> httpx.Response:
        via = ""
        for hop in range(self.max_redirects + 1):
            response = await self._send(client, request, auth, via, budget)
            if not (follow and response.status_code in REDIRECTS and "location" in response.headers):
                return await _read(request, response, budget.limit)
            await response.aclose()
            via = request.url.host
            if hop == self.max_redirects:
                raise RedirectRefused(f"{via} redirected more than {self.max_redirects} times.")
            request, same = _redirected(request, response)
            auth = auth if same else None
        raise AssertionError("unreachable")  # the loop returns or raises

    async def _send(
        self, client: httpx.AsyncClient, request: httpx.Request, auth: Any, via: str, budget: Budget
    ) -> httpx.Response:
        """Check the request's address, then send it to the address checked (the next one when a
        connection fails)."""
        url = request.url
        shown = url.host
        if url.scheme not in DEFAULT_PORTS:
            if via:
                raise RedirectRefused(f"{via} redirected to an address that does not start with http:// or https://.")
            raise HttpRefused("The address does not start with http:// or https://.")
        name = host_name(url.raw_host.decode("ascii"))
        if not name:
            raise AddressRefused(shown or "(none)", Kind.PRIVATE, via)
        port = url.port or DEFAULT_PORTS[url.scheme]
        if name in METADATA_NAMES:  # refused before any lookup: the name alone says where it goes
            raise AddressRefused(shown, Kind.METADATA, via)
        addresses = await self._addresses(name, request)
        check(shown, name, addresses, port=port, path=url.path, allow=self.allow, via=via)
        failed: httpx.ConnectError | None = None
        for ip in addresses:
            budget.answer(shown)
            try:
                response = await client.send(_pinned(request, ip, name), auth=auth, stream=True)
            except httpx.ConnectError as exc:
                failed = exc
                continue
            budget.headed()
            return response
        assert failed is not None
        raise httpx.ConnectError(f"Could not connect to {shown}.", request=request) from None

    async def _addresses(self, name: str, request: httpx.Request) -> list[IP]:
        number = literal(name)
        if number is not None:
            return [number]
        if name in LOOPBACK_NAMES or name.endswith(".localhost"):
            return list(LOOPBACK)
        try:
            found = await self.resolver(name)
        except OSError:
            raise httpx.ConnectError(f"The name {request.url.host} could not be found.", request=request) from None
        addresses = []
        for text in found:
            try:
                addresses.append(ipaddress.ip_address(text))
            except ValueError:
                continue
        if not addresses:
            raise httpx.ConnectError(f"The name {request.url.host} could not be found.", request=request)
        return addresses


def _pinned(request: httpx.Request, ip: IP, name: str) -> httpx.Request:
    """The request sent to `ip` itself, with the name in the Host header (already set from the
    name) and, over https, in TLS's SNI and certificate check."""
    extensions = dict(request.extensions)
    if request.url.scheme == "https" and literal(name) is None:
        extensions["sni_hostname"] = name
    url = request.url.copy_with(host=str(ip))
    return httpx.Request(request.method, url, headers=request.headers, stream=request.stream, extensions=extensions)


def _origin(url: httpx.URL) -> tuple[str, str, int]:
    return url.scheme, host_name(url.raw_host.decode("ascii")), url.port or DEFAULT_PORTS.get(url.scheme, 0)


def _redirected(request: httpx.Request, response: httpx.Response) -> tuple[httpx.Request, bool]:
    """The next request, as browsers make it, and whether it stays on the same origin."""
    try:
        url = request.url.join(response.headers["location"])
    except httpx.InvalidURL:
        raise RedirectRefused(f"{request.url.host} redirected to an address that is not valid.") from None
    method = request.method
    if (response.status_code == 303 and method != "HEAD") or (response.status_code in (301, 302) and method == "POST"):
        method = "GET"
    same = _origin(url) == _origin(request.url)
    headers = httpx.Headers(
        [
            (k, v)
            for k, v in request.headers.multi_items()
            if k.lower() not in ("host", "content-length", "transfer-encoding")
            and (same or k.lower() in ACROSS_ORIGINS)
        ]
    )
    content = b""
    if method == request.method:
        try:
            content = request.content
        except httpx.RequestNotRead:
            raise RedirectRefused(f"{request.url.host} redirected a request that cannot be sent again.") from None
    else:
        headers.pop("content-type", None)
    extensions = {k: v for k, v in request.extensions.items() if k != "sni_hostname"}
    return httpx.Request(method, url, headers=headers, content=content or None, extensions=extensions), same


async def _read(request: httpx.Request, response: httpx.Response, limit: int) -> httpx.Response:
    """The answer read whole, at most `limit` bytes after decompression, as a plain httpx.Response
    (addressed by name, not by the address connected to)."""
    host = request.url.host
    try:
        declared = response.headers.get("content-length", "")
        if declared.isdigit() and int(declared) > limit and request.method != "HEAD":
            raise AnswerTooLarge(host, limit)
        body = _Body(response.headers.get("content-encoding", ""), limit, host)
        async for chunk in response.aiter_raw():
            body.feed(chunk)
        content = body.finish()
    finally:
        await response.aclose()
    headers = [
        (k, v)
        for k, v in response.headers.multi_items()
        if k.lower() not in ("content-encoding", "content-length", "transfer-encoding")
    ]
    extensions = {k: v for k, v in response.extensions.items() if k in ("http_version", "reason_phrase")}
    return httpx.Response(
        response.status_code, headers=headers, content=content, request=request, extensions=extensions
    )


class _Body:
    """Collects an answer's bytes, decompressing gzip and deflate, refusing it past the limit."""

    def __init__(self, encoding: str, limit: int, host: str) -> None:
        self.encoding = encoding.strip().lower()
        self.limit, self.host = limit, host
        self.raw = self.size = 0
        self.parts: list[bytes] = []
        if self.encoding in ("", "identity"):
            self.inflater = None
        elif self.encoding in ("gzip", "x-gzip", "deflate"):
            self.inflater = zlib.decompressobj(zlib.MAX_WBITS | 32)  # gzip or zlib, by its header
        else:  # the guard asks for gzip or deflate only; anything else it cannot unpack safely
            raise HttpRefused(f"The answer from {host} is compressed in a form that cannot be read ({self.encoding}).")

    def feed(self, data: bytes) -> None:
        self.raw += len(data)
        if self.raw > self.limit:
            raise AnswerTooLarge(self.host, self.limit)
        if self.inflater is None:
            self._keep(data)
            return
        while data:
            try:
                out = self.inflater.decompress(data, self.limit - self.size + 1)
            except zlib.error:
                if self.encoding == "deflate" and self.size == 0 and self.inflater.eof is False:
                    self.inflater, self.encoding = zlib.decompressobj(-zlib.MAX_WBITS), "raw deflate"
                    continue  # some servers send deflate without its zlib header
                raise HttpRefused(f"The answer from {self.host} is damaged: it cannot be decompressed.") from None
            self._keep(out)
            data = self.inflater.unconsumed_tail

    def finish(self) -> bytes:
        if self.inflater is not None:
            self._keep(self.inflater.flush(self.limit - self.size + 1))
        return b"".join(self.parts)

    def _keep(self, data: bytes) -> None:
        self.size += len(data)
        if self.size > self.limit:
            raise AnswerTooLarge(self.host, self.limit)
        self.parts.append(data)


class _Connections:
    """One httpx client, made on first use, shared by a guard and its scoped copies."""

    def __init__(self, transport: httpx.AsyncBaseTransport | None, timeout: float) -> None:
        self.transport, self.timeout = transport, timeout
        self.client: httpx.AsyncClient | None = None

    def get(self) -> httpx.AsyncClient:
        if self.client is None:
            logging.getLogger("httpx").setLevel(logging.WARNING)  # it logs whole URLs at INFO: they may hold keys
            limits = httpx.Limits(max_keepalive_connections=0)
            self.client = httpx.AsyncClient(
                transport=self.transport or MeteredTransport(limits),
                follow_redirects=False,
                trust_env=False,  # the guard decides where requests go, not a proxy from the environment
                cookies=CookieJar(policy=DefaultCookiePolicy(allowed_domains=[])),  # keeps none
                headers={"user-agent": "Chatloom", "accept-encoding": "gzip, deflate"},
                limits=limits,
                timeout=self.timeout,
            )
        return self.client

    async def close(self) -> None:
        if self.client is not None:
            await self.client.aclose()
            self.client = None
