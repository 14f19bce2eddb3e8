import json
import time
from collections.abc import AsyncIterator, Iterator
from urllib.parse import quote

import pytest

from nodes.api import NodeContext, Services
from nodes.integrations.http_request import NODE, lookup, parse_path
from runtime.outbound.addresses import Allowance
from runtime.outbound.guard import Guard
from tests.fakes.echo_api import EchoApi
from tests.fakes.network import FixedResolver, NoNetwork

PRIVATE = "is on a private network, which flows may not reach."


@pytest.fixture
def api() -> Iterator[EchoApi]:
    with EchoApi() as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[Guard]:
    """The runtime's outbound guard, allowing 127.0.0.1 on purpose (the local test API listens there),
    so every request in these tests passes the same checks as on a running server."""
    guard = Guard(allow=Allowance.parse("127.0.0.1"))
    yield guard
    await guard.aclose()


@pytest.fixture
async def guard() -> AsyncIterator[Guard]:
    """The guard as a server has it by default: no private address allowed."""
    fresh = Guard()
    yield fresh
    await fresh.aclose()


def port_of(api: EchoApi) -> int:
    return int(api.base_url.rsplit(":", 1)[1])


async def call(client, settings: dict, vars: dict | None = None, secrets: dict | None = None):
    ctx = NodeContext(vars=dict(vars or {}), services=Services(http=client, secrets=secrets or {}))
    step = await NODE.run(ctx, NODE.parse({"retry_delay_seconds": 0, **settings}, 1))
    return step.port, ctx.vars


async def test_maps_parts_of_the_answer_into_variables(api, client):
    port, vars = await call(
        client,
        {
            "url": api.url("/json"),
            "response": [
                {"variable": "first", "path": "data.items[0].name"},
                {"variable": "last_tag", "path": "data.items[0].tags[-1]"},
                {"variable": "second", "path": "$.data.items.1.name"},
                {"variable": "total", "path": "data.total"},
                {"variable": "nothing", "path": "data.items[5].name"},
                {"variable": "everything", "path": ""},
            ],
            "save_status_as": "status",
        },
    )
    assert port == "out"
    assert vars["first"] == "Ada"
    assert vars["last_tag"] == "code"
    assert vars["second"] == "Grace"
    assert vars["total"] == 2
    assert vars["nothing"] is None
    assert vars["everything"]["data"]["total"] == 2
    assert vars["status"] == 200
    assert "http_error" not in vars


async def test_sends_filled_in_headers_query_and_json_body(api, client):
    port, vars = await call(
        client,
        {
            "method": "POST",
            "url": api.url("/json"),
            "headers": [{"name": "Authorization", "value": "Bearer {{ secrets.API_KEY }}"}],
            "query": [{"name": "q", "value": "{{ name }}"}],
            "body": '{"name": {{ name | tojson }}, "n": {{ n }}}',
            "save_body_as": "answer",
        },
        vars={"name": 'Ada "the first"', "n": 3, "http_error": "an older failure"},
        secrets={"API_KEY": "s3cret"},
    )
    assert port == "out"
    echo = vars["answer"]["echo"]
    assert echo["method"] == "POST"
    assert echo["query"] == {"q": ['Ada "the first"']}
    assert echo["headers"]["authorization"] == "Bearer s3cret"
    assert echo["headers"]["content-type"] == "application/json"
    assert json.loads(echo["body"]) == {"name": 'Ada "the first"', "n": 3}
    assert "http_error" not in vars  # a success clears an older failure


async def test_text_answers_can_be_kept_whole(api, client):
    port, vars = await call(client, {"url": api.url("/text"), "save_body_as": "answer"})
    assert (port, vars["answer"]) == ("out", "hello there")


async def test_mapping_from_a_text_answer_fails_with_a_sentence(api, client):
    port, vars = await call(client, {"url": api.url("/text"), "response": [{"variable": "x", "path": "a"}]})
    assert port == "error"
    assert "not JSON" in vars["http_error"]


async def test_retries_server_errors_until_it_works(api, client):
    port, vars = await call(
        client, {"url": api.url("/flaky?fail=2"), "retries": 3, "response": [{"variable": "call", "path": "call"}]}
    )
    assert port == "out"
    assert api.calls["/flaky"] == 3
    assert vars["call"] == 3


async def test_gives_up_after_the_retries_allowed(api, client):
    port, vars = await call(client, {"url": api.url("/flaky?fail=99"), "retries": 2, "save_status_as": "status"})
    assert port == "error"
    assert api.calls["/flaky"] == 3
    assert vars["status"] == 500
    assert vars["http_error"] == (
        "The request to 127.0.0.1 failed after 3 tries: 127.0.0.1 answered with status 500 (Internal Server Error)."
    )


async def test_no_retries_by_default(api, client):
    port, _ = await call(client, {"url": api.url("/flaky?fail=1")})
    assert port == "error"
    assert api.calls["/flaky"] == 1


async def test_waits_as_asked_after_too_many_requests(api, client):
    started = time.monotonic()
    port, _ = await call(client, {"url": api.url("/busy?retry_after=1"), "retries": 1})
    assert port == "out"
    assert api.calls["/busy"] == 2
    assert time.monotonic() - started >= 1  # Retry-After was honoured (a lower bound, never flaky)


async def test_does_not_wait_minutes_for_a_busy_server(api, client):
    port, vars = await call(client, {"url": api.url("/busy?retry_after=3600"), "retries": 3})
    assert port == "error"
    assert api.calls["/busy"] == 1
    assert "429" in vars["http_error"] and "3600 seconds" in vars["http_error"]


async def test_no_retry_on_not_found(api, client):
    port, vars = await call(
        client, {"url": api.url("/missing"), "retries": 5, "save_status_as": "status", "save_body_as": "body"}
    )
    assert port == "error"
    assert api.calls["/missing"] == 1
    assert vars["status"] == 404
    assert vars["body"] == {"error": "not found"}  # an API's own error message is kept for the flow
    assert vars["http_error"] == "The request to 127.0.0.1 failed: 127.0.0.1 answered with status 404 (Not Found)."


async def test_timeout_leaves_by_error_and_is_retried(api, client):
    port, vars = await call(client, {"url": api.url("/slow?seconds=5"), "timeout_seconds": 0.3, "retries": 1})
    assert port == "error"
    assert api.calls["/slow"] == 2
    assert "did not answer within 0.3 seconds" in vars["http_error"]


async def test_unreachable_server(client):
    with EchoApi() as gone:
        url = gone.url("/json")
    port, vars = await call(client, {"url": url, "retries": 1})
    assert port == "error"
    assert vars["http_error"].startswith("The request to 127.0.0.1 failed after 2 tries: could not reach 127.0.0.1")


async def test_bad_address_or_body_fails_before_sending(api, client):
    port, vars = await call(client, {"url": "{{ link }}"}, vars={"link": "not a link"})
    assert port == "error" and "http://" in vars["http_error"]
    port, vars = await call(
        client, {"method": "POST", "url": api.url("/json"), "body": '{"name": {{ name }}}'}, vars={"name": "Ada"}
    )
    assert port == "error" and "not valid JSON" in vars["http_error"]
    assert api.calls["/json"] == 0


async def test_header_values_never_reach_the_logs(api, client, caplog):
    caplog.set_level("DEBUG")
    await call(
        client,
        {
            "url": api.url("/flaky?fail=9&key={{ secrets.K }}"),
            "retries": 1,
            "headers": [{"name": "X-Api-Key", "value": "{{ secrets.K }}"}],
        },
        secrets={"K": "top-secret-value"},
    )
    assert api.calls["/flaky"] == 2
    # httpx logs whole URLs at INFO on its own; the runtime must quiet it. Here: the node's lines.
    ours = [r.getMessage() for r in caplog.records if r.name.startswith("nodes")]
    assert ours  # failures are logged…
    assert not [line for line in ours if "top-secret-value" in line]  # …without header values or the query


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "localhost", "2130706433", "0x7f000001", "0177.0.0.1", "127.1", "0.0.0.0", "0",
     "[::1]", "[::ffff:127.0.0.1]", "LocalHost."],
)  # fmt: skip
async def test_no_way_of_writing_this_machine_s_address_reaches_it(api, guard, host):
    port, vars = await call(guard, {"url": f"http://{host}:{port_of(api)}/json", "retries": 2})
    assert port == "error"
    shown = host.strip("[]").lower()
    unreadable = f"The address for {host} is not valid."  # httpx itself refuses octal (0177.0.0.1)
    assert vars["http_error"] in (f"The address {shown} {PRIVATE}", unreadable if host.startswith("0177") else "")
    assert api.seen == []  # the local server saw nothing, not even a retry


@pytest.mark.parametrize(
    ("link", "sentence"),
    [
        ("http://169.254.169.254/latest/meta-data/iam/", "169.254.169.254 is a cloud server's metadata service"),
        ("http://[fd00:ec2::254]/latest/", "fd00:ec2::254 is a cloud server's metadata service"),
        ("http://100.100.100.200/latest/meta-data/", "100.100.100.200 is a cloud server's metadata service"),
        ("http://metadata.google.internal/computeMetadata/v1/", "metadata.google.internal is a cloud server's"),
        ("https://10.0.0.1/admin", f"10.0.0.1 {PRIVATE}"),
        ("http://rebind.test/", f"rebind.test {PRIVATE}"),
    ],
)
async def test_an_address_from_the_user_s_message_cannot_reach_inside(link, sentence):
    resolver, transport = FixedResolver({"rebind.test": [["10.20.30.40"]]}), NoNetwork()
    port, vars = await call(Guard(resolver=resolver, transport=transport), {"url": "{{ link }}"}, vars={"link": link})
    assert port == "error"
    assert vars["http_error"].startswith(f"The address {sentence}")
    assert "10.20.30.40" not in vars["http_error"]  # what a name resolved to is never told
    assert transport.sent == []


async def test_a_redirect_to_another_local_port_is_refused(api):
    with EchoApi() as other:
        narrow = Guard(allow=Allowance.parse(f"127.0.0.1:{port_of(api)}"))  # exactly one server allowed
        to = quote(f"http://localhost:{port_of(other)}/json", safe="")
        port, vars = await call(narrow, {"url": api.url(f"/redirect?to={to}")})
        assert port == "error"
        assert vars["http_error"] == f"The address localhost (where 127.0.0.1 redirected) {PRIVATE}"
        assert other.seen == []


async def test_an_answer_too_large_ends_in_a_sentence(api, client):
    port, vars = await call(client, {"url": api.url("/big?bytes=6000000"), "retries": 3})
    assert port == "error"
    assert vars["http_error"] == "The answer from 127.0.0.1 is larger than 5 MB, the most a flow may receive."
    assert api.calls["/big"] == 1  # not retried: it would be as large again


async def test_the_flow_s_workspace_allowance_is_used_when_the_runtime_has_one(api, guard):
    asked = []

    def http_for(flow_id):
        asked.append(flow_id)
        return guard.scoped(Allowance.parse(f"127.0.0.1:{port_of(api)}"))

    ctx = NodeContext(flow_id="sub", bot="acme-bot", services=Services(http=guard, http_for=http_for))
    step = await NODE.run(ctx, NODE.parse({"url": api.url("/json")}, 1))
    assert step.port == "out" and asked == ["acme-bot"]  # the flow the conversation started on


async def test_without_an_http_client_it_says_so():
    with pytest.raises(RuntimeError, match="HTTP client"):
        await NODE.run(NodeContext(), NODE.parse({"url": "https://example.com"}, 1))


@pytest.mark.parametrize(
    ("path", "parts"),
    [
        ("", ()),
        ("data", ("data",)),
        ("data.items[0].name", ("data", "items", 0, "name")),
        ("[2][-1]", (2, -1)),
        ("$.a.b", ("a", "b")),
        ("first-name.x", ("first-name", "x")),
    ],
)
def test_paths(path, parts):
    assert parse_path(path) == parts


@pytest.mark.parametrize("path", ["a..b", "a.", "a[x]", "a[0", "a]", ".a.b["])
def test_bad_paths_are_reported(path):
    with pytest.raises(ValueError):
        parse_path(path)
    assert NODE.inspect({"url": "https://x.org", "response": [{"variable": "v", "path": path}]}, 1).errors


def test_lookup_never_runs_code():
    data = {"a": [{"b": 1}]}
    assert lookup(data, parse_path("a[0].b")) == 1
    assert lookup(data, parse_path("a[0].__class__")) is None
    assert lookup(data, parse_path("a.__len__")) is None


def test_limits_and_ports():
    assert NODE.inspect({"url": "https://x.org"}, 1).outputs == ["out", "error"]
    assert NODE.inspect({"url": "https://x.org", "timeout_seconds": 61}, 1).errors
    assert NODE.inspect({"url": "https://x.org", "retries": 6}, 1).errors
    assert NODE.inspect({"url": "https://x.org", "retry_delay_seconds": -1}, 1).errors
    assert NODE.parse({"url": "https://x.org"}, 1).timeout_seconds == 10
