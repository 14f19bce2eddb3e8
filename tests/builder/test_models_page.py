"""The AI models page: add a provider's model (its key stored encrypted, never shown again), choose
the default, try a model, read the per-model figures; and thumbs up/down in the test chat."""

from __future__ import annotations

from pathlib import Path

from nicegui.testing.user import User
from sqlalchemy import select

from builder.context import Builder
from runtime.ai.models import TABLE
from runtime.ai.setup import attach_ai
from tests.fakes.openai import FakeOpenAI
from tests.fakes.server import running

KEY = "sk-page-0123456789SECRET"


async def test_add_a_model_choose_it_and_see_how_it_did(user: User, builder: Builder, tmp_path: Path) -> None:
    ai = attach_ai(builder.runtime, tmp_path)
    await user.open("/models")
    await user.should_see(marker="default-local")
    await user.should_see("No calls yet.")
    with running(FakeOpenAI(("answer", "Hello there, nice to meet!"))) as fake:
        user.find(marker="name").type("fast")
        user.find(marker="model").type("gpt-4o-mini")
        user.find(marker="api-base").type(fake.api_base)
        user.find(marker="save").click()
        await user.should_see("OpenAI needs an API key.")
        assert [m.name for m in ai.store.all()] == ["local"]  # nothing half-saved
        user.find(marker="api-key").type(KEY)
        user.find(marker="save").click()
        await user.should_see(marker="model-fast")
        await user.should_see("this page, key stored")
        assert KEY not in str(user.find(marker="api-key").elements.pop().value)  # not kept in the page
        with builder.runtime.engine.connect() as conn:
            assert KEY not in str(conn.execute(select(TABLE)).all())  # encrypted at rest
        user.find(marker="make-default-fast").click()
        await user.should_see(marker="default-fast")
        assert ai.store.default().name == "fast"
        user.find(marker="try-fast").click()
        await user.should_see(marker="try-answer")
        with user.scope(marker="try-answer"):  # in a dialog beside the question, not a passing toast
            await user.should_see("Hello there, nice to meet!", retries=300)  # litellm's first import: seconds
            await user.should_see("Answered in")
    await user.should_see(marker="figures-table")
    [figures] = ai.calls.figures()
    assert figures.model == "fast" and figures.calls == 1 and figures.cost > 0
    user.find(marker="remove-fast").click()
    await user.should_not_see(marker="model-fast")
    assert ai.store.default().name == "local"


async def test_a_broken_models_toml_is_explained(user: User, builder: Builder, tmp_path: Path) -> None:
    (tmp_path / "models.toml").write_text("[[models]\n")
    attach_ai(builder.runtime, tmp_path)
    await user.open("/models")
    await user.should_see("models.toml is not valid TOML")


async def test_without_ai_the_page_says_so(user: User) -> None:
    await user.open("/models")
    await user.should_see("AI models are not set up on this server.")


async def test_thumbs_in_the_test_chat_count_on_the_models_page(user: User, builder: Builder, tmp_path: Path) -> None:
    from flows.document import parse_flow
    from tests.ai.test_llm_node import _flow
    from tests.builder.test_chat_panel import chat_page

    ai = attach_ai(builder.runtime, tmp_path)
    builder.flows.save_draft(parse_flow(_flow({"history": 0})))
    with running(FakeOpenAI(("answer", "We open at nine."))) as fake:
        ai.store.save({"name": "m", "provider": "openai_compatible", "model": "x", "api_base": fake.api_base})
        ai.store.set_default("m")
        chat_page(builder, "ai", [])
        await user.open("/chat")
        await user.should_see("What can I do for you?")
        user.find(marker="chat-input").type("When do you open?").trigger("keydown.enter")
        await user.should_see("We open at nine.", retries=300)
        user.find(marker="thumbs-up").click()
        await user.should_see(marker="rated")
    [figures] = ai.calls.figures()
    assert (figures.model, figures.thumbs_up, figures.thumbs_down) == ("m", 1, 0)
