"""ai.llm: ask a language model, send or keep its answer.

The model is one of those configured on the Models page (or in `models.toml`), tried in order with
its fallbacks; empty means the workspace default, which is the built-in local model until someone
chooses another. The call itself goes through `ctx.services.models`, which records tokens, cost,
latency and outcome for every attempt.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, Field

from flows.models import VARIABLE_PATTERN
from nodes.api import NodeContext, NodeType, Outbound, Step

MODEL_NAME = r"^[A-Za-z0-9][A-Za-z0-9._:/@-]{0,99}$"


class ModelError(Exception):
    """No configured model could answer; the message says why in a sentence a builder understands."""


@dataclass(frozen=True, slots=True)
class ChatRequest:
    """One question to a language model, with where it comes from (for the call records)."""

    messages: list[dict[str, str]]  # {"role": "system"|"user"|"assistant", "content": ...}
    models: tuple[str, ...] = ()  # names to try in order; empty: the workspace default
    temperature: float = 0.7
    max_tokens: int = 256
    json: bool = False  # ask for one JSON object
    timeout: float = 30.0  # seconds for each model tried
    flow_id: str = ""
    node_id: str = ""
    conversation_id: str = ""


@dataclass(frozen=True, slots=True)
class ChatAnswer:
    """What the model said, which model said it, and the record of that call (for feedback)."""

    text: str
    model: str
    call_id: str
    tokens_in: int = 0
    tokens_out: int = 0
    failed: tuple[str, ...] = field(default=())  # models that were tried first and failed


class LanguageModels(Protocol):
    """The configured models, as nodes see them."""

    async def chat(self, request: ChatRequest) -> ChatAnswer:
        """The first answer among `request.models` (then the default); ModelError when none answers."""
        ...


class JsonField(BaseModel):
    """One value to take from the model's JSON answer."""

    key: str = Field(min_length=1, max_length=100, title="Key in the answer", description="e.g. city")
    save_as: str = Field(pattern=VARIABLE_PATTERN, title="Save in variable")


class LlmSettings(BaseModel):
    """Settings of a step that asks a language model."""

    model: str = Field(
        "",
        pattern=r"^$|" + MODEL_NAME,
        title="Model",
        description="A model's name from the Models page; empty uses the workspace default.",
    )
    fallbacks: list[Annotated[str, Field(pattern=MODEL_NAME)]] = Field(
        default_factory=list,
        max_length=5,
        title="Fallback models",
        description="Tried in this order when the model fails or is too slow.",
    )
    system: str = Field(
        "You are a helpful assistant. Answer briefly.",
        max_length=8000,
        title="Instructions (system prompt)",
        description="How the model should behave. Variables work here: {{ name }}.",
    )
    prompt: str = Field(
        "",
        max_length=8000,
        title="Prompt",
        description="What to ask; empty sends the user's last message. Variables work here.",
    )
    history: int = Field(
        6,
        ge=0,
        le=50,
        title="Earlier messages to include",
        description="How many earlier messages of the conversation the model sees (0: none).",
    )
    include_profile: bool = Field(
        False,
        title="Include what we know about the user",
        description="Adds the user's profile (name, preferences remembered) to the instructions.",
    )
    user_language: bool = Field(
        True,
        title="Answer in the user's language",
        description="Uses the language variable when the flow has one.",
    )
    temperature: float = Field(0.7, ge=0.0, le=2.0, title="Temperature", description="0 is steady, 1 is inventive.")
    max_tokens: int = Field(256, ge=1, le=8192, title="Longest answer (tokens)")
    output: Literal["text", "json"] = Field(
        "text",
        title="Answer format",
        description="JSON: the model answers with an object whose values go into variables.",
    )
    json_fields: list[JsonField] = Field(default_factory=list, max_length=30, title="Values from the JSON answer")
    save_as: str = Field(
        "answer", pattern=VARIABLE_PATTERN, title="Save the answer in variable", description="The whole answer as text."
    )
    send: bool = Field(True, title="Send the answer to the user", description="Off: only keep it in the variable.")
    timeout: float = Field(30.0, gt=0, le=600, title="Time limit per model (seconds)")

    def problems(self) -> list[str]:
        if self.output == "text" and self.json_fields:
            return ["Values from a JSON answer need the answer format JSON."]
        return []


async def build_messages(ctx: NodeContext, settings: LlmSettings) -> list[dict[str, str]]:
    """System prompt (with the profile and language when asked), earlier messages, then the prompt."""
    system = ctx.render(settings.system).strip()
    services = ctx.services
    if settings.include_profile and services.memory is not None:
        profile = await services.memory.profile(ctx.bot, ctx.user)
        if profile:
            known = "; ".join(f"{k}: {v}" for k, v in sorted(profile.items()))
            system = f"{system}\n\nWhat you know about the user: {known}".strip()
    language = ctx.vars.get("language")
    if settings.user_language and isinstance(language, str) and language and language != "en":
        system = f"{system}\n\nAnswer in the user's language (ISO code {language}).".strip()
    if settings.output == "json":
        keys = ", ".join(f.key for f in settings.json_fields)
        system = f"{system}\n\nAnswer with one JSON object only" + (f", with the keys {keys}." if keys else ".")
    messages: list[dict[str, str]] = [{"role": "system", "content": system}] if system else []
    if settings.history and services.transcript is not None:
        earlier = await services.transcript(ctx.conversation_id, settings.history)
        this_turn = [("user", ctx.heard.text)] if ctx.heard is not None and ctx.heard.text else []
        this_turn += [("assistant", m.text) for _, m in ctx.said if m.text]
        lines = [*earlier, *this_turn][-settings.history :]
        messages += [{"role": role, "content": text} for role, text in lines]
    prompt = ctx.render(settings.prompt).strip() if settings.prompt else ""
    if not prompt:
        prompt = ctx.heard.text if ctx.heard is not None and ctx.heard.text else ""
        if messages and messages[-1]["role"] == "user" and messages[-1]["content"] == prompt:
            return messages  # the user's message is the last line of the history already
    if not prompt:
        prompt = "Hello"
    messages.append({"role": "user", "content": prompt})
    return messages


def parse_json_answer(text: str) -> dict[str, Any]:
    """The first JSON object in a model's answer (models like to wrap it in prose or ``` fences)."""
    start = text.find("{")
    while start != -1:
        try:
            value, _ = json.JSONDecoder().raw_decode(text[start:])
        except ValueError:
            start = text.find("{", start + 1)
            continue
        if isinstance(value, dict):
            return value
        start = text.find("{", start + 1)
    raise ValueError("The model did not answer with a JSON object.")


async def run(ctx: NodeContext, settings: LlmSettings) -> Step:
    models = ctx.services.models
    if models is None:
        ctx.vars["error"] = "No language models are set up on this server."
        return Step.next("error")
    request = ChatRequest(
        messages=await build_messages(ctx, settings),
        models=tuple(m for m in (settings.model, *settings.fallbacks) if m),
        temperature=settings.temperature,
        max_tokens=settings.max_tokens,
        json=settings.output == "json",
        timeout=settings.timeout,
        flow_id=ctx.flow_id,
        node_id=ctx.node_id,
        conversation_id=ctx.conversation_id,
    )
    try:
        answer = await models.chat(request)
    except ModelError as exc:
        ctx.vars["error"] = str(exc)
        return Step.next("error")
    text = answer.text.strip()
    ctx.vars[settings.save_as] = text
    if settings.output == "json":
        try:
            data = parse_json_answer(text)
        except ValueError as exc:
            ctx.vars["error"] = str(exc)
            return Step.next("error")
        for item in settings.json_fields:
            ctx.vars[item.save_as] = data.get(item.key)
        return Step.next("out")
    if settings.send and text:
        return Step.next("out", Outbound(text=text, feedback=answer.call_id))
    return Step.next("out")


def _summary(s: LlmSettings) -> str:
    model = s.model or "default model"
    return f"{model}: {(s.prompt or 'the user’s message')[:50]} → {s.save_as}"


NODE = NodeType(
    type="ai.llm",
    version=1,
    title="Ask AI",
    category="AI",
    icon="auto_awesome",
    description="Asks a language model (built in and offline, or OpenAI, Anthropic…); sends or keeps the answer.",
    settings=LlmSettings,
    run=run,
    outputs=("out", "error"),
    summary=_summary,
    implicit=lambda s: ("language",) if s.user_language else (),
)
