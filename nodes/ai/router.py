"""ai.router: send the user's message to the exit whose example phrases it means, offline.

By similarity (default): the message and every example phrase become sentence embeddings (the
built-in MiniLM model, no network); the exit with the closest example wins if it is close enough,
else the message leaves by `fallback`. By model: a language model picks the exit from the exits'
descriptions and examples.
"""

from __future__ import annotations

import re
from collections import OrderedDict
from typing import Literal

from pydantic import BaseModel, Field

from flows.models import VARIABLE_PATTERN
from nodes.ai.llm import MODEL_NAME, ChatRequest, ModelError
from nodes.api import Embedder, NodeContext, NodeType, Step
from nodes.registry import PORT_NAME

FALLBACK = "fallback"
RESERVED = (FALLBACK, "error")
_CACHE_SIZE = 64


class Route(BaseModel):
    """One exit and the phrases that mean it."""

    port: str = Field(pattern=PORT_NAME.pattern, max_length=40, title="Exit name", description="e.g. billing")
    description: str = Field("", max_length=300, title="What it is about", description="Helps when a model routes.")
    examples: list[str] = Field(
        min_length=1,
        max_length=50,
        title="Example phrases",
        description="A few ways people say it: “I was charged twice”, “refund please”.",
    )


class RouterSettings(BaseModel):
    """Settings of a step that routes a message by what it means."""

    text: str = Field("", max_length=2000, title="Text to route", description="Empty routes the user's last message.")
    routes: list[Route] = Field(min_length=1, max_length=30, title="Exits")
    method: Literal["similarity", "model"] = Field(
        "similarity",
        title="How to choose",
        description="Similarity works offline and instantly; a model reads descriptions but is slower.",
    )
    threshold: float = Field(
        0.5,
        ge=0.0,
        le=1.0,
        title="Least similarity",
        description="Below this the message leaves by “fallback” (0.5 suits short messages).",
    )
    model: str = Field("", pattern=r"^$|" + MODEL_NAME, title="Model (when a model chooses)")
    save_as: str = Field("route", pattern=VARIABLE_PATTERN, title="Save the chosen exit in variable")

    def problems(self) -> list[str]:
        out, seen = [], set()
        for route in self.routes:
            if route.port in RESERVED:
                out.append(f"“{route.port}” is reserved; choose another exit name.")
            elif route.port in seen:
                out.append(f"Two exits are called “{route.port}”.")
            seen.add(route.port)
            if not any(e.strip() for e in route.examples):
                out.append(f"Exit “{route.port}” needs at least one example phrase.")
        return out


class _ExampleVectors:
    """Embeddings of the example phrases, computed once per set of routes (they change only when
    the flow is edited), a few sets kept."""

    def __init__(self) -> None:
        self._kept: OrderedDict[tuple[int, tuple[tuple[str, tuple[str, ...]], ...]], list[tuple[str, list[float]]]] = (
            OrderedDict()
        )

    async def get(self, embedder: Embedder, routes: list[Route]) -> list[tuple[str, list[float]]]:
        key = (id(embedder), tuple((r.port, tuple(e for e in r.examples if e.strip())) for r in routes))
        found = self._kept.get(key)
        if found is None:
            pairs = [(port, example) for port, examples in key[1] for example in examples]
            vectors = await embedder.embed([e for _, e in pairs])
            found = [(port, vec) for (port, _), vec in zip(pairs, vectors, strict=True)]
            self._kept[key] = found
            if len(self._kept) > _CACHE_SIZE:
                self._kept.popitem(last=False)
        return found


_examples = _ExampleVectors()


def best_route(message: list[float], examples: list[tuple[str, list[float]]]) -> tuple[str, float]:
    """The exit with the most similar example, and that similarity (vectors are unit length)."""
    best, score = "", -1.0
    for port, vec in examples:
        similarity = sum(a * b for a, b in zip(message, vec, strict=True))
        if similarity > score:
            best, score = port, similarity
    return best, score


async def _by_similarity(ctx: NodeContext, settings: RouterSettings, text: str) -> tuple[str, float] | None:
    embedder = ctx.services.embedder
    if embedder is None:
        raise ModelError("No embedding model is set up on this server.")
    examples = await _examples.get(embedder, settings.routes)
    [vector] = await embedder.embed([text])
    port, score = best_route(vector, examples)
    return (port, score) if score >= settings.threshold else None


async def _by_model(ctx: NodeContext, settings: RouterSettings, text: str) -> tuple[str, float] | None:
    models = ctx.services.models
    if models is None:
        raise ModelError("No language models are set up on this server.")
    lines = [
        f"- {r.port}: {r.description or 'messages like'} (e.g. {'; '.join(r.examples[:5])})" for r in settings.routes
    ]
    system = (
        "Classify the user's message into exactly one category. Categories:\n"
        + "\n".join(lines)
        + f"\n- {FALLBACK}: none of these.\nAnswer with the category name only."
    )
    answer = await models.chat(
        ChatRequest(
            messages=[{"role": "system", "content": system}, {"role": "user", "content": text}],
            models=(settings.model,) if settings.model else (),
            temperature=0.0,
            max_tokens=10,
            flow_id=ctx.flow_id,
            node_id=ctx.node_id,
            conversation_id=ctx.conversation_id,
        )
    )
    words = re.findall(r"[a-z][a-z0-9_\-]*", answer.text.casefold())
    ports = {r.port for r in settings.routes}
    chosen = next((w for w in words if w in ports), None)
    return (chosen, 1.0) if chosen else None


async def run(ctx: NodeContext, settings: RouterSettings) -> Step:
    text = ctx.render(settings.text).strip() if settings.text else ""
    if not text and ctx.heard is not None:
        text = ctx.heard.text.strip()
    if not text:
        return Step.next(FALLBACK)
    try:
        if settings.method == "model":
            found = await _by_model(ctx, settings, text)
        else:
            found = await _by_similarity(ctx, settings, text)
    except ModelError as exc:
        ctx.vars["error"] = str(exc)
        return Step.next("error")
    if found is None:
        ctx.vars[settings.save_as] = FALLBACK
        return Step.next(FALLBACK)
    ctx.vars[settings.save_as] = found[0]
    ctx.vars[f"{settings.save_as}_score"] = round(found[1], 3)
    return Step.next(found[0])


NODE = NodeType(
    type="ai.router",
    version=1,
    title="AI router",
    category="AI",
    icon="alt_route",
    description="Sends the message to the exit whose example phrases it means (offline), or “fallback”.",
    settings=RouterSettings,
    run=run,
    outputs=lambda s: [r.port for r in s.routes] + [FALLBACK, "error"],
    summary=lambda s: (
        "Picks the exit whose topic fits the message best"
        + (" (asks the model)" if s.method == "model" else f" (at least {s.threshold:g} alike)")
    ),
    exits=lambda s: {**{r.port: r.port.replace("_", " ") for r in s.routes}, FALLBACK: "none fits"},
)
