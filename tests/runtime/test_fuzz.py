"""The HTTP API fuzzed from its own OpenAPI schema (schemathesis), bounded: whatever is sent, no
answer is a 500, and no route answers without the right credentials."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from cryptography.fernet import Fernet
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from sqlalchemy.engine import Engine

from flows.document import flow_from_data
from nodes.registry import Registry
from runtime.api import create_app
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from runtime.channels.store import ChannelStore
from runtime.engine import Runtime
from tests.access import api_headers
from tests.runtime.test_access import FLOW

EXAMPLES = 20  # per operation: bounded, so the suite stays quick
OPEN = {"/health", "/ready"}
VIEWER_MAY = {("GET", "/api/flows"), ("GET", "/api/me"), ("GET", "/api/bots/{flow_id}/knowledge")}


@pytest.fixture
def fuzzed(engine: Engine, builtins: Registry) -> Iterator[tuple[Any, dict[str, str], dict[str, str]]]:
    """The app without its lifespan: schemathesis calls it from its own event loops."""
    runtime = Runtime(engine, builtins)
    runtime.flows.save_draft(flow_from_data(FLOW))
    runtime.flows.publish("hello", builtins)
    app = create_app(runtime, Channels(runtime, ChannelStore(engine, SecretBox(Fernet.generate_key()))))
    yield app, api_headers(app), api_headers(app, role="viewer")


def test_no_input_makes_a_500_and_nothing_answers_without_credentials(
    fuzzed: tuple[Any, dict[str, str], dict[str, str]],
) -> None:
    app, owner, viewer = fuzzed
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=owner)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= 13

    def fuzz(case: Any) -> None:
        response = case.call(headers=owner)
        case.validate_response(response, checks=[not_a_server_error])
        if case.operation.path in OPEN:
            return
        anonymous = case.call(headers={"authorization": ""})
        assert anonymous.status_code == 401, (case.method, case.formatted_path, anonymous.text)
        seen = case.call(headers=viewer)  # a viewer's token holds one right: flows.read
        if (case.method, case.operation.path) not in VIEWER_MAY:
            assert seen.status_code == 403, (case.method, case.formatted_path, seen.status_code, seen.text)

    bounded = settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=True)
    for operation in operations:

        @bounded
        @given(case=operation.as_strategy())
        def each(case: Any) -> None:
            fuzz(case)

        each()
