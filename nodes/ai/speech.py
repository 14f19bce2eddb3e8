"""speech.to_text and speech.to_speech: voice notes in, voice replies out, offline.

The speech service (`Services.speech`, the `SpeechService` contract below) does the work: Whisper
for speech-to-text, piper or espeak-ng for text-to-speech (see runtime/ai/speech.py). The files
themselves go through `Services.media`: a voice note a user sent is read from wherever the channel
keeps it, a spoken reply is saved and sent as an audio message with its words as the caption.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Protocol

from pydantic import BaseModel, Field

from flows.models import VARIABLE_PATTERN
from nodes.api import Inbound, Media, MediaError, NodeContext, NodeType, Outbound, Step

log = logging.getLogger(__name__)
MAX_AUDIO_BYTES = 20_000_000  # Telegram's bots may download files up to 20 MB
LANGUAGE_PATTERN = r"^(auto|[a-z]{2,3})$"
NOT_SET_UP = "Sorry, I cannot listen to voice messages here."
UNHEARD = "Sorry, I could not listen to that voice message."
NO_WORDS = "I could not make out any words in that voice message."
SEND_VOICE = "Please send a voice message, or type your answer."


@dataclass(frozen=True, slots=True)
class Heard:
    """What speech-to-text made of a recording."""

    text: str
    language: str  # two-letter code, e.g. "en"
    duration: float  # seconds of audio


@dataclass(frozen=True, slots=True)
class Spoken:
    """A recording text-to-speech made."""

    audio: bytes
    mime: str  # "audio/ogg" (Opus): what Telegram and WhatsApp play as a voice note, and browsers too
    duration: float  # seconds


class SpeechError(Exception):
    """A recording that cannot be transcribed, or a text that cannot be spoken; the message is a
    sentence the person in the chat can act on ("That file is not a sound recording.")."""


class SpeechService(Protocol):
    """Speech-to-text and text-to-speech, as the runtime provides them to nodes."""

    async def transcribe(self, audio: bytes, *, language: str | None = None) -> Heard:
        """The words in a recording (any common format); `language` is a hint, None to detect it.
        Raises SpeechError with a sentence for a person."""
        ...

    async def synthesize(self, text: str, *, language: str = "en", voice: str = "") -> Spoken:
        """`text` spoken in `language`; `voice` picks another voice (empty: the default one).
        Raises SpeechError with a sentence for a person."""
        ...


def is_audio(media: Media | None) -> bool:
    """A voice note or audio clip (browsers label a recording with no picture as audio/webm)."""
    return media is not None and (media.kind == "audio" or media.mime.startswith("audio/"))


# speech.to_text


class ToTextSettings(BaseModel):
    """Settings of a step that turns a voice message into text."""

    prompt: str = Field(
        "",
        max_length=4096,
        title="Question",
        description="What the bot says to ask for a voice message. Leave empty when the person has just "
        "sent one (it is used at once).",
        json_schema_extra={"shown_in_chat": True},  # the builder previews it as a chat bubble
    )
    save_as: str = Field(
        "transcript",
        pattern=VARIABLE_PATTERN,
        title="Save the words in variable",
        description="Gets the text of the voice message (or what the person typed instead).",
    )
    language_as: str = Field(
        "language",
        pattern=rf"^$|{VARIABLE_PATTERN}",
        title="Save the language in variable",
        description="Gets the two-letter code of the language spoken, such as en or fr. Leave empty to not keep it.",
    )
    language: str = Field(
        "auto",
        pattern=LANGUAGE_PATTERN,
        title="Language spoken",
        description="auto finds it out; a two-letter code (en, fr, es …) is faster and surer. "
        "en uses a small English-only model.",
    )
    retries: int = Field(
        1,
        ge=0,
        le=5,
        title="Ask again after a message that could not be understood",
        description="How many times to ask again before leaving by the “error” exit.",
    )


async def to_text(ctx: NodeContext, settings: ToTextSettings) -> Step:
    if ctx.first_visit:
        heard = ctx.heard
        if heard is not None and is_audio(heard.media):  # the voice note that led here
            return await _listen(ctx, settings, heard)
        return _ask(ctx, settings)
    inbound = ctx.inbound
    if inbound is None:  # woken by a timer this node never sets
        return _ask(ctx, settings)
    if is_audio(inbound.media):
        return await _listen(ctx, settings, inbound)
    typed = inbound.answer.strip()
    if typed and inbound.media is None:
        ctx.vars[settings.save_as] = typed
        return Step.next("out")
    return _again(ctx, settings, SEND_VOICE)


def _ask(ctx: NodeContext, settings: ToTextSettings, *before: Outbound) -> Step:
    question = (Outbound(ctx.render(settings.prompt)),) if settings.prompt else ()
    return Step.ask(*before, *question)


def _again(ctx: NodeContext, settings: ToTextSettings, reason: str) -> Step:
    """Say what went wrong; ask again, or leave by "error" once the retries are used up."""
    tries = ctx.memory.get("tries", 0) + 1
    ctx.memory["tries"] = tries
    if tries > settings.retries:
        return Step.next("error", Outbound(reason))
    return _ask(ctx, settings, Outbound(reason))


async def _listen(ctx: NodeContext, settings: ToTextSettings, inbound: Inbound) -> Step:
    speech, files = ctx.services.speech, ctx.services.media
    assert inbound.media is not None
    if speech is None or files is None:
        ctx.log.warning("speech.to_text %s: no speech service or media files configured", ctx.node_id)
        return Step.next("error", Outbound(NOT_SET_UP))
    try:
        audio = await files.read(inbound.media, limit=MAX_AUDIO_BYTES)
        heard = await speech.transcribe(audio, language=None if settings.language == "auto" else settings.language)
    except (MediaError, SpeechError) as exc:
        return _again(ctx, settings, str(exc))
    except Exception:  # a broken model or library must not end the conversation
        ctx.log.exception("speech.to_text %s failed in conversation %s", ctx.node_id, ctx.conversation_id)
        return Step.next("error", Outbound(UNHEARD))
    if not heard.text.strip():
        return _again(ctx, settings, NO_WORDS)
    ctx.vars[settings.save_as] = heard.text.strip()
    if settings.language_as:
        ctx.vars[settings.language_as] = heard.language
    return Step.next("out")


TO_TEXT = NodeType(
    type="speech.to_text",
    version=1,
    title="Voice to text",
    category="AI",
    icon="mic",
    description="Turns a voice message into text (offline, with Whisper). A typed answer is taken as it is.",
    settings=ToTextSettings,
    run=to_text,
    outputs=("out", "error"),
    waits=True,
    summary=lambda s: f"voice → {s.save_as}",
)


# speech.to_speech


class ToSpeechSettings(BaseModel):
    """Settings of a step that says a text out loud, as a voice message."""

    text: str = Field(
        min_length=1,
        max_length=2000,
        title="Text to say",
        description="What the bot says out loud. {{ name }} inserts a variable.",
    )
    language: str = Field(
        "",
        pattern=r"^$|^[a-z]{2,3}$",
        title="Language",
        description="A two-letter code such as en or fr. Leave empty to use the “language” variable "
        "(a voice-to-text step sets it), else English.",
    )
    voice: str = Field(
        "",
        pattern=r"^$|^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
        title="Voice",
        description="Leave empty for the default voice of the language. A voice name the server offers "
        "(its administrator adds piper voices); espeak uses espeak-ng.",
    )
    caption: bool = Field(
        True,
        title="Also show the words",
        description="Send the text with the voice message (channels that cannot play audio show only the text).",
    )


async def to_speech(ctx: NodeContext, settings: ToSpeechSettings) -> Step:
    text = ctx.render(settings.text).strip()
    if not text:
        ctx.log.warning("speech.to_speech %s: the text is empty", ctx.node_id)
        return Step.next("error")
    language = settings.language or str(ctx.vars.get("language") or "en")
    speech, files = ctx.services.speech, ctx.services.media
    if speech is None or files is None:
        ctx.log.warning("speech.to_speech %s: no speech service or media files configured", ctx.node_id)
        return Step.next("error", Outbound(text))
    try:
        spoken = await speech.synthesize(text, language=language, voice=settings.voice)
        media = await files.save(
            spoken.audio, kind="audio", mime=spoken.mime, name="reply.ogg", duration=spoken.duration
        )
    except (SpeechError, MediaError) as exc:
        ctx.log.warning("speech.to_speech %s: %s", ctx.node_id, exc)
        return Step.next("error", Outbound(text))  # the words still reach the person
    except Exception:
        ctx.log.exception("speech.to_speech %s failed in conversation %s", ctx.node_id, ctx.conversation_id)
        return Step.next("error", Outbound(text))
    return Step.next("out", Outbound(text if settings.caption else "", media=media))


TO_SPEECH = NodeType(
    type="speech.to_speech",
    version=1,
    title="Say out loud",
    category="AI",
    icon="record_voice_over",
    description="Sends a text as a voice message (offline: piper for English, espeak-ng for other languages).",
    settings=ToSpeechSettings,
    run=to_speech,
    outputs=("out", "error"),
    summary=lambda s: f"🔊 {s.text[:60]}",
)
