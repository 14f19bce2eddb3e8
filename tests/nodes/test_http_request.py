import json
import time
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from nodes.api import NodeContext, Services
from nodes.integrations.http_request import NODE, lookup, parse_path
from tests.fakes.echo_api import EchoApi


@pytest.fixture
def api() -> Iterator[EchoApi]:
    with EchoApi() as server:
        yield server


@pytest.fixture
async def client() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient() as c:
        yield c


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
