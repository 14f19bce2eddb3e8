"""The outbound guard, attacked: every way of writing a private or metadata address, names that
resolve to them, rebinding between the check and the connection, redirects to them, answers too
large or too slow, and a workspace's allowance staying in its workspace. Only local servers on
127.0.0.1 are contacted; where an attack needs another address, a fake transport records that the
guard never tried it."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import quote

import httpx
import pytest
from sqlalchemy.engine import Engine

from flows.document import flow_from_data
from nodes.api import HttpRefused
from nodes.registry import Registry
from runtime.engine import Runtime
from runtime.outbound.addresses import Allowance, AllowanceError, parse_rule, server_allowance
from runtime.outbound.guard import AnswerTooLarge, Guard, RedirectRefused
from runtime.workspace_outbound import WorkspaceOutbound
from runtime.workspaces import DEFAULT, Workspaces
from tests.fakes.echo_api import EchoApi
from tests.fakes.network import FixedResolver, NoNetwork

PRIVATE = "is on a private network, which flows may not reach."
METADATA = "is a cloud server's metadata service, which flows may not reach."

# (host as typed in a URL, what the sentence names, and whether it is a metadata service)
FORMS = [
    ("127.0.0.1", "127.0.0.1", False),
    ("localhost", "localhost", False),
    ("LOCALHOST.", "localhost.", False),
    ("app.localhost", "app.localhost", False),
    ("2130706433", "2130706433", False),
    ("0x7f000001", "0x7f000001", False),
    ("0177.0.0.1", "0177.0.0.1", False),
    ("127.1", "127.1", False),
    ("0.0.0.0", "0.0.0.0", False),
    ("0", "0", False),
    ("[::1]", "::1", False),
    ("[::ffff:127.0.0.1]", "::ffff:127.0.0.1", False),
    ("[::ffff:7f00:1]", "::ffff:7f00:1", False),
    ("[64:ff9b::7f00:1]", "64:ff9b::7f00:1", False),  # NAT64 carrying 127.0.0.1
    ("[2002:7f00:1::]", "2002:7f00:1::", False),  # 6to4 carrying 127.0.0.1
    ("[::]", "::", False),
    ("10.0.0.1", "10.0.0.1", False),
    ("172.16.0.1", "172.16.0.1", False),
    ("192.168.1.1", "192.168.1.1", False),
    ("[fc00::1]", "fc00::1", False),
    ("[fe80::1]", "fe80::1", False),
    ("224.0.0.1", "224.0.0.1", False),
    ("255.255.255.255", "255.255.255.255", False),
    ("169.254.169.254", "169.254.169.254", True),
    ("[fd00:ec2::254]", "fd00:ec2::254", True),
    ("100.100.100.200", "100.100.100.200", True),
    ("[::ffff:169.254.169.254]", "::ffff:169.254.169.254", True),
    ("metadata.google.internal", "metadata.google.internal", True),
    ("METADATA.Google.Internal.", "metadata.google.internal.", True),
    ("metadata", "metadata", True),
    ("instance-data", "instance-data", True),
]


@pytest.fixture
def api() -> Iterator[EchoApi]:
    with EchoApi() as server:
        yield server


@pytest.fixture
def other() -> Iterator[EchoApi]:
    with EchoApi() as server:
        yield server


def port(server: EchoApi) -> int:
    return int(server.base_url.rsplit(":", 1)[1])


@pytest.mark.parametrize(("host", "shown", "metadata"), FORMS)
async def test_every_form_of_a_private_address_is_refused_before_anything_is_sent(
    host: str, shown: str, metadata: bool
) -> None:
    resolver, transport = FixedResolver(), NoNetwork()
    guard = Guard(resolver=resolver, transport=transport)
    with pytest.raises((HttpRefused, httpx.InvalidURL)) as refused:
        await guard.request("GET", f"http://{host}/latest/meta-data/")
    if host == "0177.0.0.1" and isinstance(refused.value, httpx.InvalidURL):
        pass  # httpx itself refuses octal; were it to read it, the guard reads it as 127.0.0.1
    else:
        assert str(refused.value) == f"The address {shown} {METADATA if metadata else PRIVATE}"
    assert transport.sent == [] and resolver.asked == []  # numbers and known names are judged without DNS


async def test_a_public_name_goes_to_its_checked_address_with_its_name_kept_for_tls() -> None:
    resolver, transport = FixedResolver({"api.example": [["93.184.216.34", "2606:2800:220:1::"]]}), NoNetwork()
    answer = await Guard(resolver=resolver, transport=transport).request("GET", "https://api.example/v1?q=1")
    assert answer.text == "reached" and str(answer.url) == "https://api.example/v1?q=1"
    [sent] = transport.sent
    assert str(sent.url) == "https://93.184.216.34/v1?q=1"  # no second lookup left to the connection
    assert sent.headers["host"] == "api.example" and sent.extensions["sni_hostname"] == "api.example"


@pytest.mark.parametrize("host", ["8.8.8.8", "[2606:4700::1111]", "[::ffff:8.8.8.8]", "[64:ff9b::808:808]"])
async def test_public_addresses_in_any_form_are_reached(host: str) -> None:
    transport = NoNetwork()
    assert (await Guard(transport=transport).request("GET", f"http://{host}/")).text == "reached"
    assert len(transport.sent) == 1


@pytest.mark.parametrize(
    "host", ["127.0.0.1", "localhost", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0.0.0.0", "[::1]"]
)
async def test_a_local_server_is_not_reached_by_any_name_for_it(api: EchoApi, host: str) -> None:
    guard = Guard()  # the real transport: refused here, it would have reached the server
    with pytest.raises((HttpRefused, httpx.InvalidURL)):
        await guard.request("GET", f"http://{host}:{port(api)}/json")
    assert api.seen == []


@pytest.mark.parametrize(
    ("answer", "metadata"),
    [(["10.0.0.1"], False), (["127.0.0.1"], False), (["169.254.169.254"], True), (["fd00:ec2::254"], True),
     (["::ffff:10.1.2.3"], False), (["93.184.216.34", "192.168.0.7"], False)],
)  # fmt: skip
async def test_a_name_that_resolves_to_a_private_address_is_refused_without_showing_it(
    answer: list[str], metadata: bool
) -> None:
    resolver, transport = FixedResolver({"rebind.test": [answer]}), NoNetwork()
    guard = Guard(resolver=resolver, transport=transport)
    with pytest.raises(HttpRefused) as refused:
        await guard.request("GET", "https://rebind.test/")
    assert str(refused.value) == f"The address rebind.test {METADATA if metadata else PRIVATE}"
    assert not any(a in str(refused.value) for a in answer)  # the internal address stays unknown
    assert transport.sent == []


async def test_the_address_checked_is_the_address_connected_to(api: EchoApi) -> None:
    """DNS rebinding: the name answers the allowed address to the check and the metadata service
    to any later lookup. The request must reach the allowed server, by the one lookup."""
    resolver = FixedResolver({"rebind.test": [["127.0.0.1"], ["169.254.169.254"]]})
    guard = Guard(resolver=resolver, allow=Allowance.parse(f"127.0.0.1:{port(api)}"))
    response = await guard.request("GET", f"http://rebind.test:{port(api)}/json")
    assert response.status_code == 200 and response.json()["data"]["total"] == 2
    assert resolver.asked == ["rebind.test"]
    assert api.seen[-1].headers["host"] == f"rebind.test:{port(api)}"  # the name kept for the server
    assert str(response.url) == f"http://rebind.test:{port(api)}/json"
    with pytest.raises(HttpRefused, match=r"rebind\.test is a cloud server's metadata service"):
        await guard.request("GET", f"http://rebind.test:{port(api)}/json")  # the next lookup is checked too
    assert len(api.seen) == 1


@pytest.mark.parametrize(
    "target",
    [
        "http://127.0.0.1:{other}/json",
        "http://localhost:{other}/json",
        "http://localhost:{api}/json",  # localhost is also ::1, which is not allowed
        "http://[::1]:{api}/json",
        "http://2130706433:{other}/json",
        "http://169.254.169.254/latest/meta-data/",
        "http://metadata.google.internal/computeMetadata/v1/",
        "http://10.0.0.1/",
    ],
)
async def test_a_redirect_from_an_allowed_server_to_a_private_one_is_refused(
    api: EchoApi, other: EchoApi, target: str
) -> None:
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{port(api)}"))
    to = target.format(api=port(api), other=port(other))
    with pytest.raises(HttpRefused) as refused:
        await guard.request("GET", api.url(f"/redirect?to={quote(to, safe='')}"))
    assert "(where 127.0.0.1 redirected)" in str(refused.value)
    assert other.seen == [] and [s.path for s in api.seen] == ["/redirect"]


async def test_a_redirect_from_a_name_is_checked_like_the_name(api: EchoApi, other: EchoApi) -> None:
    resolver = FixedResolver({"crm.test": [["127.0.0.1"]]})
    guard = Guard(resolver=resolver, allow=Allowance.parse(f"crm.test:{port(api)}"))
    ok = await guard.request("GET", f"http://crm.test:{port(api)}/redirect?to=/json")  # same place: followed
    assert ok.status_code == 200 and str(ok.url) == f"http://crm.test:{port(api)}/json"
    to = quote(f"http://127.0.0.1:{port(other)}/json", safe="")
    with pytest.raises(HttpRefused, match=r"The address 127.0.0.1 \(where crm.test redirected\) is on a private"):
        await guard.request("GET", f"http://crm.test:{port(api)}/redirect?to={to}")
    assert other.seen == []


@pytest.mark.parametrize("to", ["file:///etc/passwd", "gopher://127.0.0.1:70/", "ftp://example.org/x"])
async def test_a_redirect_to_another_scheme_is_refused(api: EchoApi, to: str) -> None:
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{port(api)}"))
    with pytest.raises(RedirectRefused, match="does not start with http:// or https://"):
        await guard.request("GET", api.url(f"/redirect?to={quote(to, safe='')}"))


async def test_five_redirects_are_followed_and_the_sixth_is_not(api: EchoApi) -> None:
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{port(api)}"))
    assert (await guard.request("GET", api.url("/hops?n=5"))).json() == {"ok": True}
    with pytest.raises(RedirectRefused, match="redirected more than 5 times"):
        await guard.request("GET", api.url("/hops?n=6"))
    assert api.calls["/hops"] == 6 + 6  # the second request stopped after its sixth answer


async def test_credentials_do_not_follow_a_redirect_to_another_origin(api: EchoApi, other: EchoApi) -> None:
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{port(api)}, 127.0.0.1:{port(other)}"))
    secret = {"Authorization": "Bearer s3cret", "X-Api-Key": "k3y", "Accept": "application/json"}
    to = quote(other.url("/json"), safe="")
    answer = await guard.request("POST", api.url(f"/redirect?to={to}&status=307"), headers=secret, content=b"{}")
    echo = answer.json()["echo"]
    assert echo["method"] == "POST" and echo["body"] == "{}"  # 307 keeps the method and body
    assert "authorization" not in echo["headers"] and "x-api-key" not in echo["headers"]
    assert echo["headers"]["accept"] == "application/json"
    same = await guard.request("POST", api.url("/redirect?to=/json&status=303"), headers=secret, content=b"{}")
    assert same.json()["echo"]["method"] == "GET"  # 303: GET, without the body
    assert same.json()["echo"]["headers"]["authorization"] == "Bearer s3cret"  # same origin: kept


async def test_the_answer_is_capped_while_it_streams(api: EchoApi) -> None:
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{port(api)}"))
    with pytest.raises(AnswerTooLarge, match="larger than 5 MB, the most a flow may receive"):
        await guard.request("GET", api.url("/big?bytes=5000001"))  # refused by its Content-Length
    with pytest.raises(AnswerTooLarge, match="larger than 1 MB"):
        await guard.request("GET", api.url("/big?bytes=3000000&declared=0"), max_bytes=1_000_000)  # by counting
    with pytest.raises(AnswerTooLarge):
        await guard.request("GET", api.url("/gzip?bytes=20000000"))  # 20 KB on the wire, 20 MB unpacked
    small = await guard.request("GET", api.url("/gzip?bytes=1000"))
    assert small.content == b"\0" * 1000 and "content-encoding" not in small.headers
    bigger = await guard.request("GET", api.url("/big?bytes=6000000"), max_bytes=7_000_000)  # asked for per call
    assert len(bigger.content) == 6_000_000


async def test_the_whole_exchange_is_capped_in_time(api: EchoApi) -> None:
    """A server that sends a byte every 50 ms never trips a read timeout; the guard's total does."""
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{port(api)}"), timeout=0.5)
    with pytest.raises(httpx.TimeoutException, match=r"did not answer within 0\.5 seconds"):
        await guard.request("GET", api.url("/trickle?bytes=400&gap=0.05"))
    with pytest.raises(httpx.TimeoutException, match=r"within 0\.2 seconds"):
        await guard.request("GET", api.url("/trickle?bytes=400&gap=0.05"), timeout=0.2)  # a caller asks for less
    with pytest.raises(httpx.TimeoutException, match=r"within 0\.5 seconds"):
        await guard.request("GET", api.url("/trickle?bytes=400&gap=0.05"), timeout=30)  # never more


async def test_no_cookies_are_kept_between_requests(api: EchoApi) -> None:
    guard = Guard(allow=Allowance.parse(f"127.0.0.1:{port(api)}"))
    await guard.request("GET", api.url("/cookie"))
    echo = (await guard.request("GET", api.url("/json"))).json()["echo"]
    assert "cookie" not in echo["headers"]  # else one flow's session would ride along with another's


async def test_an_allowance_is_exact_about_ports_and_paths(api: EchoApi) -> None:
    own = Guard(allow=Allowance.own_route("127.0.0.1", port(api), "/demo/"))
    assert (await own.request("GET", api.url("/demo/orders/A1"))).status_code == 404  # reached: the fake's 404
    for path in ("/json", "/demo/../json", "/demo/%2e%2e/json", "/demo", "/demox/"):
        with pytest.raises(HttpRefused, match="private network"):
            await own.request("GET", api.url(path))
    assert [s.path for s in api.seen] == ["/demo/orders/A1"]


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("10.0.0.0/8", "10.0.0.0/8"),
        (" 192.168.1.20:8443 ", "192.168.1.20:8443"),
        ("10.1.2.3/16", "10.1.0.0/16"),
        ("[FD00::5]:443", "[fd00::5]:443"),
        ("fd00::/8", "fd00::/8"),
        ("CRM.Intranet.", "crm.intranet"),
        ("crm.intranet:8443", "crm.intranet:8443"),
        ("*.corp.example", "*.corp.example"),
    ],
)
def test_allowance_entries_are_read_and_stored_in_one_form(text: str, stored: str) -> None:
    assert str(parse_rule(text)) == stored
    assert str(parse_rule(stored)) == stored


@pytest.mark.parametrize(
    ("text", "why"),
    [
        ("", "Write an address"),
        ("169.254.169.254", "metadata service; it can never be allowed"),
        ("metadata.google.internal", "metadata service; it can never be allowed"),
        ("0.0.0.0", "never be allowed"),
        ("224.0.0.0/4", "never be allowed"),
        ("http://10.0.0.5/", "without http://"),
        ("2130706433", "not an address or a host name"),
        ("crm.intranet:99999", "not a port"),
        ("crm intranet", "not an address or a host name"),
        ("user@crm.intranet", "without http://"),
    ],
)
def test_an_entry_that_cannot_be_used_is_refused_with_a_sentence(text: str, why: str) -> None:
    with pytest.raises(AllowanceError, match=why):
        parse_rule(text)


def test_the_server_wide_allowance_comes_from_the_environment() -> None:
    allow = server_allowance({"CHATLOOM_OUTBOUND_ALLOW": "10.0.0.0/8, crm.intranet:8443"})
    assert [str(r) for r in allow.rules] == ["10.0.0.0/8", "crm.intranet:8443"]
    assert server_allowance({}).rules == ()
    with pytest.raises(AllowanceError, match=r"^CHATLOOM_OUTBOUND_ALLOW: 169\.254\.169\.254 is a cloud"):
        server_allowance({"CHATLOOM_OUTBOUND_ALLOW": "10.0.0.0/8 169.254.169.254"})


async def test_a_metadata_service_stays_refused_inside_an_allowed_range() -> None:
    transport = NoNetwork()
    guard = Guard(allow=Allowance.parse("100.64.0.0/10, 169.254.0.0/16"), transport=transport)  # e.g. Tailscale
    assert (await guard.request("GET", "http://100.101.1.1/")).text == "reached"  # the fake transport answered
    for address in ("100.100.100.200", "169.254.169.254", "169.254.170.2"):
        with pytest.raises(HttpRefused, match="metadata service"):
            await guard.request("GET", f"http://{address}/")
    assert [r.url.host for r in transport.sent] == ["100.101.1.1"]


def _flow(flow_id: str, url: str) -> dict:
    return {
        "id": flow_id,
        "name": flow_id,
        "start": "s",
        "nodes": [
            {"id": "s", "type": "flow.start"},
            {"id": "call", "type": "http.request", "settings": {"url": url, "save_status_as": "status"}},
            {"id": "ok", "type": "flow.end", "settings": {"message": "Reached: {{ status }}."}},
            {"id": "no", "type": "flow.end", "settings": {"message": "{{ http_error }}"}},
        ],
        "edges": [
            {"id": "a", "source": "s", "target": "call"},
            {"id": "b", "source": "call", "source_port": "out", "target": "ok"},
            {"id": "c", "source": "call", "source_port": "error", "target": "no"},
        ],
    }


async def test_the_runtime_s_own_client_is_the_guard(engine: Engine, builtins: Registry, api: EchoApi) -> None:
    runtime = Runtime(engine, builtins)
    try:
        runtime.flows.save_draft(flow_from_data(_flow("probe", api.url("/json"))))
        runtime.flows.publish("probe", builtins)
        _, said = await runtime.start("probe", user_id="u")
    finally:
        await runtime.shutdown()
    assert said[-1].text == f"The address 127.0.0.1 {PRIVATE}"
    assert api.seen == []


async def test_a_workspace_s_allowance_reaches_its_own_flows_only(
    engine: Engine, builtins: Registry, api: EchoApi
) -> None:
    spaces, stored = Workspaces(engine), WorkspaceOutbound(engine)
    acme = spaces.create("Acme")
    runtime = Runtime(engine, builtins)
    try:
        for flow_id, place in (("acme-bot", acme.id), ("other-bot", DEFAULT)):
            runtime.flows.save_draft(flow_from_data(_flow(flow_id, api.url("/json"))))
            runtime.flows.publish(flow_id, builtins)
            spaces.place(flow_id, place)
        assert stored.allow(acme.id, f"127.0.0.1:{port(api)}") == f"127.0.0.1:{port(api)}"
        _, said = await runtime.start("acme-bot", user_id="u")
        assert said[-1].text == "Reached: 200."
        _, said = await runtime.start("other-bot", user_id="u")
        assert said[-1].text == f"The address 127.0.0.1 {PRIVATE}"  # another workspace's entry is not its own
        assert len(api.seen) == 1
        assert stored.remove(acme.id, f"127.0.0.1:{port(api)}")
        _, said = await runtime.start("acme-bot", user_id="u")
        assert said[-1].text == f"The address 127.0.0.1 {PRIVATE}"  # a removed entry stops at once
        assert len(api.seen) == 1
    finally:
        await runtime.shutdown()


def test_a_workspace_keeps_a_short_list_of_entries_it_may_have(engine: Engine) -> None:
    stored = WorkspaceOutbound(engine)
    with pytest.raises(AllowanceError, match="metadata service"):
        stored.allow(DEFAULT, "169.254.169.254")
    assert stored.allow(DEFAULT, "10.0.0.0/8") == stored.allow(DEFAULT, "10.0.0.0/8 ".strip())
    assert stored.entries(DEFAULT) == ["10.0.0.0/8"]
    from runtime.workspaces import WorkspaceError

    with pytest.raises(WorkspaceError):
        stored.allow("nowhere", "10.0.0.0/8")
