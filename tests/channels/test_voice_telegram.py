"""Voice over Telegram end to end, with the real models: a voice note arrives at the webhook, its
file is fetched through getFile from the fake Bot API, the flow's voice-to-text step transcribes
it, and the bot answers with the words, in writing and as a voice note (sendVoice, OGG/Opus)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from flows.document import parse_flow
from nodes.api import Services
from nodes.registry import Registry
from runtime.ai.speech import LocalSpeech
from runtime.api import create_app
from runtime.channels.secretbox import SecretBox
from runtime.channels.service import Channels
from runtime.channels.store import ChannelStore
from runtime.engine import Runtime
from runtime.media import LocalMedia
from tests.ai.test_speech import share_of_words_back
from tests.ai.test_speech_nodes import SENTENCE, voice_flow, with_speech
from tests.channels.conftest import SECRET, TOKEN, Clock, Rig, text_update
from tests.fakes.telegram import FakeTelegram


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> LocalSpeech:
    return LocalSpeech.for_data_folder(tmp_path_factory.mktemp("data"))


@dataclass
class Parts:
    engine: Engine
    builtins: Registry
    fake: FakeTelegram
    box: SecretBox
    speech: LocalSpeech
    folder: Path


@pytest.fixture
def parts(
    *, engine: Engine, builtins: Registry, fake: FakeTelegram, box: SecretBox, speech: LocalSpeech, tmp_path: Path
) -> Parts:
    return Parts(engine, builtins, fake, box, speech, tmp_path)


async def voice_rig(p: Parts, flow: str) -> AsyncIterator[Rig]:
    registry = with_speech(p.builtins)
    services = Services(speech=p.speech, media=LocalMedia.for_data_folder(p.folder))
    runtime = Runtime(p.engine, registry, services=services)
    runtime.flows.save_draft(parse_flow(flow))
    runtime.flows.publish("voice", registry)
    store = ChannelStore(p.engine, p.box)
    store.deploy("telegram", "mybot", "voice", 1, {"token": TOKEN, "secret_token": SECRET}, api_base=p.fake.url)
    clock = Clock()
    channels = Channels(runtime, store, pace={}, clock=clock)
    transport = httpx.ASGITransport(create_app(runtime, channels))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        try:
            yield Rig(runtime, store, channels, client, p.fake, clock)
        finally:
            await channels.stop()
            await runtime.shutdown()


def voice_update(update_id: int, file_id: str, duration: int = 4) -> dict[str, Any]:
    update = text_update(update_id, "")
    del update["message"]["text"]
    update["message"]["voice"] = {
        "file_id": file_id,
        "file_unique_id": "u" + file_id,
        "duration": duration,
        "mime_type": "audio/ogg",
    }
    return update


async def test_a_voice_note_is_transcribed_and_answered_with_a_voice_note(parts: Parts) -> None:
    fake, speech = parts.fake, parts.speech
    fake.files["voice-1"] = speech.synthesize_now(SENTENCE).audio
    flow = voice_flow({"prompt": "Send me a voice message.", "language": "en"})
    async for rig in voice_rig(parts, flow):
        await rig.post(text_update(1, "/start"))
        await rig.settle()
        assert fake.texts() == ["Send me a voice message."]
        answer = await rig.post(voice_update(2, "voice-1"))
        assert answer.status_code == 200 and answer.json()["new"] == 1
        await rig.settle()
        echoed, spoken = fake.sent[1], fake.sent[2]
        assert echoed["method"] == "sendMessage"
        assert share_of_words_back(SENTENCE, echoed["text"].removeprefix("You said: ")) >= 0.9, echoed["text"]
        assert spoken["method"] == "sendVoice" and spoken["caption"] == echoed["text"].removeprefix("You said: ")
        assert fake.voices and fake.voices[0][:4] == b"OggS"  # uploaded: Telegram cannot reach this server
        heard = await speech.transcribe(fake.voices[0], language="en")
        assert share_of_words_back(spoken["caption"], heard.text) >= 0.9, heard.text


async def test_a_voice_note_that_starts_the_conversation_is_its_answer(parts: Parts) -> None:
    fake, speech = parts.fake, parts.speech
    fake.files["voice-2"] = speech.synthesize_now(SENTENCE).audio
    flow = voice_flow({"prompt": "Send me a voice message.", "language": "en"})
    async for rig in voice_rig(parts, flow):
        await rig.post(voice_update(1, "voice-2"))
        await rig.settle()
        said = fake.texts()
        assert said[0] == "Send me a voice message."
        assert share_of_words_back(SENTENCE, said[1].removeprefix("You said: ")) >= 0.9, said


async def test_a_voice_note_telegram_no_longer_has_gets_a_sentence(parts: Parts) -> None:
    fake = parts.fake
    flow = voice_flow({"prompt": "Send me a voice message.", "language": "en", "retries": 0})
    async for rig in voice_rig(parts, flow):
        await rig.post(text_update(1, "/start"))
        await rig.post(voice_update(2, "gone"))
        await rig.settle()
        assert fake.texts() == [
            "Send me a voice message.",
            "That file could not be fetched from the chat app.",
            "Let us go on in writing.",
        ]


async def test_a_voice_note_that_is_not_audio_gets_a_sentence(parts: Parts) -> None:
    fake = parts.fake
    fake.files["junk"] = b"OggS but not really" * 10
    flow = voice_flow({"prompt": "Send me a voice message.", "language": "en"})
    async for rig in voice_rig(parts, flow):
        await rig.post(text_update(1, "/start"))
        await rig.post(voice_update(2, "junk"))
        await rig.settle()
        assert fake.texts()[1:] == ["That file is not a sound recording I can play.", "Send me a voice message."]
