"""Red-team findings against the outbound guard (runtime/outbound), written as an untrusted flow
author would attack it. Only servers this file starts on 127.0.0.1 are contacted; other addresses go
to a transport that records what reached it (tests/fakes/network.py).

The tests marked "finding" fail on the code they were written against and pass once the weakness is
fixed; the ones marked "held" are attacks the guard already stops, kept so they stay stopped."""

from __future__ import annotations

import asyncio
import socket
import threading
import zlib
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx
import pytest

from nodes.api import HttpRefused
from runtime.outbound.addresses import Allowance
from runtime.outbound.guard import AnswerTooLarge, Guard
from runtime.outbound.lookup import LOOKUP_THREADS
from tests.fakes.network import FixedResolver, NoNetwork

Answer = Callable[[asyncio.StreamWriter], Awaitable[None]]


class RawServer:
    """A server on 127.0.0.1 that reads one request's head and answers with whatever bytes a test
    writes (a misbehaving server, which http.server cannot be); counts the requests it read."""

    def __init__(self, answer: Answer) -> None:
        self.answer = answer
        self.requests = 0
        self.server: asyncio.Server | None = None

    @property
    def port(self) -> int:
        assert self.server is not None
        return int(self.server.sockets[0].getsockname()[1])

    def url(self, path: str = "/") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while (await reader.readline()) not in (b"\r\n", b""):
                pass
            self.requests += 1
            await self.answer(writer)
            await writer.drain()
        except (ConnectionError, asyncio.CancelledError):
            pass
        finally:
            writer.close()

    async def __aenter__(self) -> RawServer:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return self

    async def __aexit__(self, *exc: object) -> None:
        assert self.server is not None
        self.server.close()


@pytest.fixture
async def serve() -> AsyncIterator[Callable[[Answer], Awaitable[RawServer]]]:
    started: list[RawServer] = []

    async def start(answer: Answer) -> RawServer:
        server = await RawServer(answer).__aenter__()
        started.append(server)
        return server

    yield start
    for server in started:
        await server.__aexit__()


# --- finding: fec0::/10 (IPv6 site-local) is judged public -----------------------------------------


@pytest.mark.parametrize("host", ["[fec0::1]", "[FEC0::A:1]", "[fed0::10.0.0.1]", "[feff:ffff::1]"])
async def test_a_site_local_ipv6_address_is_refused(host: str) -> None:
    """fec0::/10 is IPv6's old site-local range (RFC 3879: deprecated, never global; older networks and
    Windows' well-known DNS fec0:0:0:ffff::1 still use it). Python 3.11's is_global says True and is
    not in its reserved list, so the guard sent the request."""
    transport = NoNetwork()
    with pytest.raises(HttpRefused, match="is on a private network"):
        await Guard(transport=transport).request("GET", f"http://{host}/")
    assert transport.sent == []


async def test_a_name_resolving_to_a_site_local_ipv6_address_is_refused() -> None:
    resolver, transport = FixedResolver({"intranet.test": [["fec0:0:0:ffff::1"]]}), NoNetwork()
    with pytest.raises(HttpRefused) as refused:
        await Guard(resolver=resolver, transport=transport).request("GET", "http://intranet.test/")
    assert "fec0" not in str(refused.value)  # the sentence names the host typed, not where it went
    assert transport.sent == []


# Ranges Python 3.11's is_global misjudges (or that newer Pythons judge differently), in every form.
# Marked "finding" where the guard sent the request before; the rest held and are kept so they stay held.
NEVER_GLOBAL = [
    "192.0.0.8",  # 192.0.0.0/24 is IETF protocol assignments; Python 3.11 calls .8 and up global
    "192.0.0.9",  # PCP anycast: the nearest NAT, i.e. the local network's router
    "192.0.0.171",
    "192.88.99.1",  # finding: 6to4 relay anycast (deprecated)
    "198.18.0.1",  # benchmarking
    "198.19.255.254",
    "0.1.2.3",  # "this network"
    "240.0.0.1",  # reserved
    "254.255.255.255",
    "255.255.255.255",
    "[2001:db8::1]",  # documentation
    "[64:ff9b:1::a00:1]",  # local-use NAT64
    "[2002::]",  # 6to4 carrying 0.0.0.0
    "[2002:808:808::]",  # finding: 6to4 is deprecated, refused whatever it carries
    "[3fff::1]",  # finding: documentation (RFC 9637)
    "[fec0::1]",
    "[::ffff:198.18.0.1]",
    "[::ffff:192.0.0.8]",
    "[64:ff9b::c000:8]",  # NAT64 carrying 192.0.0.8
    "[64:ff9b::f000:1]",  # NAT64 carrying 240.0.0.1
]


@pytest.mark.parametrize("host", NEVER_GLOBAL)
async def test_ranges_python_calls_global_are_refused(host: str) -> None:
    transport = NoNetwork()
    with pytest.raises(HttpRefused, match=r"is on a private network, which flows may not reach\.$"):
        await Guard(transport=transport).request("GET", f"http://{host}/")
    assert transport.sent == []


@pytest.mark.parametrize("address", [h.strip("[]") for h in NEVER_GLOBAL] + ["fec0::1%eth0", "fec0::a:1"])
async def test_a_name_resolving_into_those_ranges_is_refused(address: str) -> None:
    resolver, transport = FixedResolver({"inside.test": [[address]]}), NoNetwork()
    with pytest.raises(HttpRefused) as refused:
        await Guard(resolver=resolver, transport=transport).request("GET", "http://inside.test/")
    assert str(refused.value) == "The address inside.test is on a private network, which flows may not reach."
    assert transport.sent == []


# --- finding: interim (1xx) answers are read without counting -----------------------------------


async def test_interim_answers_count_towards_the_size_cap(serve: Callable[[Answer], Awaitable[RawServer]]) -> None:
    """httpcore reads any number of `100 Continue` / `103 Early Hints` heads before the real one and
    the guard counts only the final body: a server can make it read (and parse) without end for the
    whole 60 s. Here 200 KB of interim heads pass a 100 KB cap."""

    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" * 8000)  # 200,000 bytes
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    server = await serve(answer)
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{server.port}"), timeout=10)
    with pytest.raises(HttpRefused):
        await guard.request("GET", server.url("/"), max_bytes=100_000)


async def test_interim_answers_end_in_the_size_cap_s_own_sentence(
    serve: Callable[[Answer], Awaitable[RawServer]],
) -> None:
    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 103 Early Hints\r\nLink: </a.css>; rel=preload\r\n\r\n" * 4000)  # 212,000 bytes
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    server = await serve(answer)
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{server.port}"), timeout=10)
    with pytest.raises(AnswerTooLarge) as refused:
        await guard.request("GET", server.url("/"), max_bytes=100_000)
    assert str(refused.value) == "The answer from 127.0.0.1 is larger than 100,000 bytes, the most a flow may receive."


async def test_an_endless_run_of_interim_answers_stops_at_the_head_limit(
    serve: Callable[[Answer], Awaitable[RawServer]],
) -> None:
    """With the default 5 MB cap, 100,000 interim heads (2.5 MB) would still be parsed one by one, a
    few seconds of CPU a request; what may come before an answer's head is complete is capped too."""
    written = 0

    async def answer(writer: asyncio.StreamWriter) -> None:
        nonlocal written
        for _ in range(1000):  # 25 MB at most; stops when the guard hangs up
            writer.write(b"HTTP/1.1 100 Continue\r\n\r\n" * 1000)
            await writer.drain()
            written += 25_000

    server = await serve(answer)
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{server.port}"), timeout=20)
    with pytest.raises(AnswerTooLarge) as refused:
        await guard.request("GET", server.url("/"))
    assert str(refused.value) == (
        "The answer from 127.0.0.1 starts with more than 131,072 bytes of headers, the most a flow may receive."
    )
    assert written < 5_000_000  # the guard hung up long before the size cap


async def test_heads_count_towards_one_cap_across_redirects(serve: Callable[[Answer], Awaitable[RawServer]]) -> None:
    """Each hop's head alone is well under the cap; the exchange as a whole is not."""
    server: RawServer

    async def answer(writer: asyncio.StreamWriter) -> None:
        if (server.requests - 1) % 5 < 4:  # four redirects, then the answer, for each exchange
            pad = b"X-Pad: " + b"a" * 30_000 + b"\r\n"
            writer.write(b"HTTP/1.1 302 Found\r\nLocation: /next\r\n" + pad + b"Content-Length: 0\r\n\r\n")
        else:
            writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    server = await serve(answer)
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{server.port}"))
    assert (await guard.request("GET", server.url("/"), max_bytes=200_000)).text == "ok"  # 120 KB of heads in all
    assert server.requests == 5
    with pytest.raises(AnswerTooLarge, match=r"larger than 100,000 bytes"):
        await guard.request("GET", server.url("/"), max_bytes=100_000)
    assert server.requests == 5 + 4  # the fourth hop's head went past the cap


async def test_an_answer_within_the_cap_is_read_whole(serve: Callable[[Answer], Awaitable[RawServer]]) -> None:
    body = bytes(range(256)) * 350  # 89,600 bytes, read in many pieces

    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n" % len(body) + body)

    server = await serve(answer)
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{server.port}"))
    assert (await guard.request("GET", server.url("/"), max_bytes=100_000)).content == body


# --- finding: lookups run on the event loop's shared thread pool ---------------------------------

SLOW = "never-answers.test"


class StuckDns:
    """socket.getaddrinfo, except that SLOW hangs (as a name whose DNS never answers does) until
    released; counts the lookups of SLOW that started and the most that ran at once."""

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.real, self.loop = socket.getaddrinfo, loop
        self.gate, self.lock = threading.Event(), threading.Lock()
        self.started = self.running = self.most = 0
        self.first = asyncio.Event()

    def __call__(self, host: object, *args: object, **kwargs: object) -> object:
        if host != SLOW:
            return self.real(host, *args, **kwargs)  # type: ignore[arg-type]
        with self.lock:
            self.started += 1
            self.running += 1
            self.most = max(self.most, self.running)
        self.loop.call_soon_threadsafe(self.first.set)
        self.gate.wait()
        with self.lock:
            self.running -= 1
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 0))]


async def test_names_that_never_resolve_leave_the_shared_thread_pool_free(monkeypatch: pytest.MonkeyPatch) -> None:
    """The guard's default resolver, with the system's lookup hanging: 64 such requests (more than
    asyncio's default pool has threads) must not keep asyncio.to_thread work from running."""
    dns = StuckDns(asyncio.get_running_loop())
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    transport = NoNetwork()
    guard = Guard(transport=transport)
    flood = [asyncio.create_task(guard.request("GET", f"http://{SLOW}/")) for _ in range(64)]
    await dns.first.wait()
    order: list[str] = []
    other = asyncio.create_task(asyncio.to_thread(order.append, "other work ran"))
    try:
        await asyncio.wait({other}, timeout=10)  # a bound only, so a starved pool fails below instead of hanging
    finally:
        order.append("lookups released")
        dns.gate.set()
    await other
    answers = await asyncio.gather(*flood)
    assert order == ["other work ran", "lookups released"]
    assert dns.most <= LOOKUP_THREADS  # the flood waited for the guard's own few threads
    assert [a.text for a in answers] == ["reached"] * 64 and len(transport.sent) == 64  # then all went on


async def test_a_lookup_whose_request_gave_up_is_never_started(monkeypatch: pytest.MonkeyPatch) -> None:
    dns = StuckDns(asyncio.get_running_loop())
    monkeypatch.setattr(socket, "getaddrinfo", dns)
    guard = Guard(transport=NoNetwork(), timeout=0.2)
    try:
        tries = await asyncio.gather(
            *(guard.request("GET", f"http://{SLOW}/") for _ in range(3 * LOOKUP_THREADS)), return_exceptions=True
        )
        assert all(isinstance(t, httpx.TimeoutException) for t in tries)
    finally:
        dns.gate.set()
    follow = await guard.request("GET", f"http://{SLOW}/")  # queued behind nothing: the dropped ones never ran
    assert follow.text == "reached"
    assert dns.started == LOOKUP_THREADS + 1


# --- held -----------------------------------------------------------------------------------------

# spellings not in tests/runtime/test_outbound.py's FORMS
SPELLINGS = [
    "[fe80::1%25lo]",  # a scope id (zone) on link-local
    "[::1%25lo]",
    "[::ffff:127.0.0.1%25eth0]",
    "[::127.0.0.1]",  # IPv4-compatible (deprecated ::/96)
    "[::ffff:0:127.0.0.1]",  # IPv4-translated (SIIT)
    "[0:0:0:0:0:ffff:7f00:1]",
    "[2001:0:4136:e378:8000:63bf:80ff:fffe]",  # Teredo
    "[64:ff9b::a9fe:a9fe]",  # NAT64 carrying the metadata address
    "[2002:a9fe:a9fe::]",  # 6to4 carrying the metadata address
    "[100::1]",  # discard-only
    "127.0.0.1..",
    "0.0.0.0.",
    "0x7f.1",
    "017700000001",
    "127.0.1",
    "evil.example@127.0.0.1",  # userinfo
    "evil.example:80@127.0.0.1",
    "127\u30020\u30020\u30021",  # ideographic full stops: IDNA reads them as dots
    "LocalHost.LocalDomain.",
    "METADATA.",
    "instance-data.",
]


@pytest.mark.parametrize("host", SPELLINGS)
async def test_more_spellings_of_private_addresses_reach_nothing(host: str) -> None:
    resolver, transport = FixedResolver(), NoNetwork()
    with pytest.raises((HttpRefused, httpx.InvalidURL)):
        await Guard(resolver=resolver, transport=transport).request("GET", f"http://{host}/latest/meta-data/")
    assert transport.sent == [] and resolver.asked == []


@pytest.mark.parametrize("host", ["%31%32%37.0.0.1", "127.0.0.1%00", "%20127.0.0.1"])
async def test_percent_encoded_hosts_are_names_and_a_name_s_addresses_are_checked(host: str) -> None:
    """httpx keeps %-escapes in the host: it is looked up as a name, and whatever that gives is checked."""
    resolver, transport = FixedResolver({}), NoNetwork()
    resolver.answers = {name: [["127.0.0.1"]] for name in (host, host.replace(" ", "%20"))}
    with pytest.raises((HttpRefused, httpx.InvalidURL, httpx.ConnectError)) as refused:
        await Guard(resolver=resolver, transport=transport).request("GET", f"http://{host}/")
    assert "127.0.0.1" not in str(refused.value) or "127.0.0.1" in host
    assert transport.sent == []


async def test_a_server_that_never_answers_is_stopped_by_the_total(
    serve: Callable[[Answer], Awaitable[RawServer]],
) -> None:
    async def answer(writer: asyncio.StreamWriter) -> None:
        await asyncio.sleep(30)  # accepts, reads the request, never writes a status line

    server = await serve(answer)
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{server.port}"), timeout=0.3)
    with pytest.raises(httpx.TimeoutException, match=r"did not answer within 0\.3 seconds"):
        await guard.request("GET", server.url("/"))
    assert server.requests == 1


async def test_a_header_that_trickles_is_stopped_by_the_total(
    serve: Callable[[Answer], Awaitable[RawServer]],
) -> None:
    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\n")
        for _ in range(200):
            writer.write(b"X-Slow: 1\r\n")
            await writer.drain()
            await asyncio.sleep(0.02)

    server = await serve(answer)
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{server.port}"), timeout=0.3)
    with pytest.raises(httpx.TimeoutException):
        await guard.request("GET", server.url("/"))


async def test_a_raw_deflate_bomb_is_capped_after_unpacking(serve: Callable[[Answer], Awaitable[RawServer]]) -> None:
    """`deflate` without its zlib header takes the guard's fallback path; 50 MB packed into ~50 KB."""
    packer = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    body = packer.compress(b"\0" * 50_000_000) + packer.flush()

    async def answer(writer: asyncio.StreamWriter) -> None:
        head = b"HTTP/1.1 200 OK\r\nContent-Encoding: deflate\r\nContent-Length: %d\r\n\r\n" % len(body)
        writer.write(head + body)

    server = await serve(answer)
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{server.port}"))
    with pytest.raises(AnswerTooLarge):
        await guard.request("GET", server.url("/"))


@pytest.mark.parametrize("encoding", ["br", "zstd", "gzip, gzip", "compress"])
async def test_an_encoding_the_guard_cannot_bound_is_refused(
    serve: Callable[[Answer], Awaitable[RawServer]], encoding: str
) -> None:
    async def answer(writer: asyncio.StreamWriter) -> None:
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Encoding: %s\r\nContent-Length: 3\r\n\r\nabc" % encoding.encode())

    server = await serve(answer)
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{server.port}"))
    with pytest.raises(HttpRefused, match="compressed in a form that cannot be read"):
        await guard.request("GET", server.url("/"))
