"""Models and providers: configuration (page and models.toml), keys kept secret, calls through
litellm's real OpenAI client against a local fake, fallbacks, timeouts, records and feedback."""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

import pytest
from sqlalchemy.engine import Engine

from nodes.ai.llm import ChatRequest, ModelError
from runtime.ai.calls import CallLog, percentile
from runtime.ai.gateway import Models, redact
from runtime.ai.models import LOCAL, ModelConfigError, ModelStore, read_models_file
from runtime.channels.secretbox import SecretBox
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import running

KEY = "sk-test-0123456789abcdefSECRET"


@pytest.fixture
def box(tmp_path: Path) -> SecretBox:
    return SecretBox.for_data_folder(tmp_path)


def _openai(store: ModelStore, name: str, api_base: str, model: str = "gpt-4o-mini") -> None:
    store.save({"name": name, "provider": "openai", "model": model, "api_base": api_base, "api_key": KEY})


def test_the_built_in_model_is_the_default_until_another_is_chosen(engine: Engine, box: SecretBox) -> None:
    store = ModelStore(engine, box)
    assert [m.name for m in store.all()] == [LOCAL]
    assert store.default().name == LOCAL
    _openai(store, "fast", "http://127.0.0.1:9/v1")
    assert store.default().name == LOCAL
    store.set_default("fast")
    assert store.default().name == "fast"
    store.set_default(LOCAL)
    assert store.default().name == LOCAL


def test_keys_are_stored_encrypted_and_never_shown(engine: Engine, box: SecretBox, tmp_path: Path) -> None:
    store = ModelStore(engine, box)
    _openai(store, "fast", "http://127.0.0.1:9/v1")
    model = store.get("fast")
    assert model is not None and model.has_key
    assert KEY not in repr(model) and KEY not in str(model)
    if engine.dialect.name == "sqlite":
        raw = sqlite3.connect(tmp_path / "chatloom.db").execute("SELECT * FROM ai_models").fetchall()
        assert KEY not in repr(raw)
    # saving again without a key keeps the stored one
    store.save({"name": "fast", "provider": "openai", "model": "gpt-4o", "api_base": "http://127.0.0.1:9/v1"})
    again = store.get("fast")
    assert again is not None and again.model == "gpt-4o" and again.litellm_args()["api_key"] == KEY


@pytest.mark.parametrize(
    ("form", "says"),
    [
        ({"name": "x", "provider": "openai", "model": "gpt-4o-mini"}, "needs an API key"),
        ({"name": "x", "provider": "openai"}, "model id"),
        ({"name": "x", "provider": "azure", "model": "d", "api_key": "k"}, "server address"),
        ({"name": "x", "provider": "openai_compatible", "model": "m", "api_base": "ftp://h"}, "http://"),
        ({"name": "x y", "provider": "ollama", "model": "llama3"}, "Name"),
        ({"name": "x", "provider": "nope", "model": "m"}, "Provider"),
        ({"name": "local", "provider": "ollama", "model": "llama3"}, "built-in"),
    ],
)
def test_bad_model_settings_are_refused_with_a_sentence(engine: Engine, box: SecretBox, form: dict, says: str) -> None:
    store = ModelStore(engine, box)
    with pytest.raises(ModelConfigError, match=says):
        store.save(form)
    assert [m.name for m in store.all()] == [LOCAL]  # nothing half-saved


def test_models_toml_for_headless_servers(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        'default = "claude"\n\n[[models]]\nname = "claude"\nprovider = "anthropic"\n'
        'model = "claude-3-5-haiku-latest"\napi_key_env = "MY_ANTHROPIC_KEY"\n\n'
        '[[models]]\nname = "llama"\nprovider = "ollama"\nmodel = "llama3.2"\n'
    )
    monkeypatch.setenv("MY_ANTHROPIC_KEY", KEY)
    models, default = read_models_file(path)
    assert default == "claude" and [m.name for m in models] == ["claude", "llama"]
    assert (
        models[0].litellm_args()["api_key"] == KEY and models[0].litellm_model() == "anthropic/claude-3-5-haiku-latest"
    )
    assert models[1].litellm_args()["api_base"] == "http://127.0.0.1:11434"
    path.write_text('[[models]]\nname = "x"\nprovider = "openai"\nmodel = "m"\napi_key = "sk-123"\n')
    with pytest.raises(ModelConfigError, match="must not hold API keys"):
        read_models_file(path)
    path.write_text("[[models]\nname=")
    with pytest.raises(ModelConfigError, match="not valid TOML"):
        read_models_file(path)


def test_a_file_model_is_the_default_and_cannot_be_changed_on_the_page(
    engine: Engine, box: SecretBox, tmp_path: Path
) -> None:
    path = tmp_path / "models.toml"
    path.write_text('default = "llama"\n[[models]]\nname = "llama"\nprovider = "ollama"\nmodel = "llama3.2"\n')
    store = ModelStore(engine, box, path)
    assert store.default().name == "llama" and store.default().source == "file"
    with pytest.raises(ModelConfigError, match=r"models\.toml"):
        store.save({"name": "llama", "provider": "ollama", "model": "other"})


def _request(*models: str, timeout: float = 10.0) -> ChatRequest:
    return ChatRequest(
        messages=[{"role": "user", "content": "Say hi"}],
        models=models,
        timeout=timeout,
        flow_id="f",
        node_id="n",
        conversation_id="c",
    )


async def test_a_call_is_recorded_with_tokens_and_cost(engine: Engine, box: SecretBox) -> None:
    store, calls = ModelStore(engine, box), CallLog(engine)
    with running(FakeOpenAI(("answer", "Hi there, friend."))) as fake:
        _openai(store, "fast", fake.api_base)
        answer = await Models(store, calls).chat(_request("fast"))
    assert answer.text == "Hi there, friend." and answer.model == "fast"
    body, auth = fake.seen[0]
    assert body["messages"] == [{"role": "user", "content": "Say hi"}] and auth == f"Bearer {KEY}"
    row = calls.get(answer.call_id)
    assert row is not None and row.outcome == "ok" and row.provider == "openai"
    assert (row.tokens_in, row.tokens_out) == (2, 3) and row.cost > 0  # gpt-4o-mini's price, from litellm's table
    assert (row.flow_id, row.node_id, row.conversation_id) == ("f", "n", "c")


async def test_fallbacks_are_tried_in_order_and_each_attempt_is_recorded(engine: Engine, box: SecretBox) -> None:
    store, calls = ModelStore(engine, box), CallLog(engine)
    with running(FakeOpenAI(("fail", 500, "overloaded"), ("answer", "from the second"))) as fake:
        _openai(store, "first", fake.api_base)
        _openai(store, "second", fake.api_base)
        answer = await Models(store, calls).chat(_request("missing", "first", "second"))
    assert answer.text == "from the second" and answer.failed == ("missing", "first")
    outcomes = sorted((r.model, r.outcome) for r in calls.recent())
    assert outcomes == [("first", "error"), ("second", "ok")]


async def test_a_slow_model_times_out_and_the_next_answers(engine: Engine, box: SecretBox) -> None:
    store, calls = ModelStore(engine, box), CallLog(engine)
    with running(FakeOpenAI(("slow", 3), ("answer", "quick"))) as fake:
        _openai(store, "slow", fake.api_base)
        _openai(store, "quick", fake.api_base)
        answer = await Models(store, calls).chat(_request("slow", "quick", timeout=1.0))
    assert answer.text == "quick"
    assert {r.model: r.outcome for r in calls.recent()} == {"slow": "timeout", "quick": "ok"}


async def test_a_rejected_key_never_reaches_errors_records_or_logs(
    engine: Engine, box: SecretBox, caplog: pytest.LogCaptureFixture
) -> None:
    store, calls = ModelStore(engine, box), CallLog(engine)
    caplog.set_level(logging.DEBUG)
    with running(FakeOpenAI(("fail", 401, f"Incorrect API key provided: {KEY}"))) as fake:
        _openai(store, "fast", fake.api_base)
        with pytest.raises(ModelError) as err:
            await Models(store, calls).chat(_request("fast"))
    assert "AuthenticationError" in str(err.value) and KEY not in str(err.value)
    [row] = calls.recent()
    assert row.outcome == "error" and KEY not in row.error
    assert KEY not in caplog.text and KEY[:12] not in caplog.text


def test_redaction_of_key_like_strings() -> None:
    assert "sk-abc" not in redact("bad key sk-abcdef123456789 given")
    assert "AIzaSy" not in redact("key=AIzaSyA1234567890abcdefghijkl")
    assert redact("x" * 1000).startswith("xxx") and len(redact("x" * 1000)) <= 280


async def test_feedback_and_figures_per_model(engine: Engine, box: SecretBox) -> None:
    store, calls = ModelStore(engine, box), CallLog(engine)
    with running(FakeOpenAI(("answer", "a"), ("answer", "b"), ("fail", 400, "bad request"))) as fake:
        _openai(store, "fast", fake.api_base)
        models = Models(store, calls)
        first = await models.chat(_request("fast"))
        second = await models.chat(_request("fast"))
        with pytest.raises(ModelError):
            await models.chat(_request("fast"))
    assert calls.rate(first.call_id, 1) and calls.rate(second.call_id, -1)
    assert not calls.rate("no-such-call", 1)
    with pytest.raises(ValueError, match="thumbs"):
        calls.rate(first.call_id, 5)
    [fig] = calls.figures()
    assert (fig.model, fig.calls, fig.thumbs_up, fig.thumbs_down) == ("fast", 3, 1, 1)
    assert fig.error_rate == pytest.approx(1 / 3) and fig.tokens_out == 2 and fig.p95_ms >= fig.p50_ms > 0


def test_percentiles() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == 50 and percentile(values, 0.95) == 95 and percentile([], 0.5) == 0


def test_a_stored_key_is_not_sent_to_a_new_address(engine: Engine, box: SecretBox) -> None:
    store = ModelStore(engine, box)
    _openai(store, "fast", "https://api.openai.com/v1")
    with pytest.raises(ModelConfigError, match="needs an API key"):
        store.save(
            {"name": "fast", "provider": "openai", "model": "gpt-4o-mini", "api_base": "https://evil.example/v1"}
        )
    moved = {"name": "fast", "provider": "openai_compatible", "model": "m", "api_base": "https://evil.example/v1"}
    store.save(moved)
    model = store.get("fast")
    assert model is not None and not model.has_key and model.litellm_args()["api_key"] == "none"


async def test_an_empty_answer_moves_on_to_the_next_model(engine: Engine, box: SecretBox) -> None:
    store, calls = ModelStore(engine, box), CallLog(engine)
    with running(FakeOpenAI(("answer", "  "), ("answer", "something"))) as fake:
        _openai(store, "mute", fake.api_base)
        _openai(store, "talker", fake.api_base)
        answer = await Models(store, calls).chat(_request("mute", "talker"))
    assert answer.text == "something" and answer.failed == ("mute",)
    assert {r.model: (r.outcome, r.error) for r in calls.recent()}["mute"] == (
        "error",
        "ValueError: the model answered nothing",
    )


async def test_a_broken_models_file_is_a_model_error(engine: Engine, box: SecretBox, tmp_path: Path) -> None:
    (tmp_path / "models.toml").write_text("[[models]\n")
    with pytest.raises(ModelError, match=r"The models cannot be read: models\.toml is not valid TOML"):
        await Models(ModelStore(engine, box, tmp_path / "models.toml"), CallLog(engine)).chat(_request())
