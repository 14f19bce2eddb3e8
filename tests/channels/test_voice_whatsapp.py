"""Voice over WhatsApp end to end, with the real models: a voice note arrives at the signed webhook,
its media is read in the Cloud API's two steps from the fake Graph API, the flow's voice-to-text
step transcribes it, and the bot answers with the words, in writing and as a voice note (its OGG/Opus
file uploaded to WhatsApp and sent by media id)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
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
from tests.channels.conftest import Clock
from tests.channels.test_whatsapp import APP_SECRET, CREDS, PHONE, TOKEN, incoming
from tests.fakes.meta import signature
from tests.fakes.server import running
from tests.fakes.whatsapp import FakeWhatsApp

FLOW = voice_flow({"prompt": "Send me a voice message.", "language": "en"})


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> LocalSpeech:
    return LocalSpeech.for_data_folder(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def recording(speech: LocalSpeech) -> bytes:
    """The sentence said by piper, as OGG/Opus: what a WhatsApp voice note is."""
    return speech.synthesize_now(SENTENCE).audio


@pytest.fixture
def wa() -> Iterator[FakeWhatsApp]:
    with running(FakeWhatsApp(TOKEN, PHONE)) as f:
        yield f


@dataclass
class VoiceRig:
    channels: Channels
    client: httpx.AsyncClient
    fake: FakeWhatsApp

    async def post(self, body: dict[str, Any]) -> httpx.Response:
        raw = json.dumps(body).encode()
        headers = {**signature(APP_SECRET, raw), "content-type": "application/json"}
        return await self.client.post("/hooks/whatsapp/shop", content=raw, headers=headers)

    async def settle(self) -> None:
        await self.channels.handle_inbox()
        await self.channels.deliver()


@dataclass
class Parts:
    engine: Engine
    builtins: Registry
    box: SecretBox
    speech: LocalSpeech
    folder: Path
    fake: FakeWhatsApp


@pytest.fixture
def parts(
    *, engine: Engine, builtins: Registry, box: SecretBox, speech: LocalSpeech, tmp_path: Path, wa: FakeWhatsApp
) -> Parts:
    return Parts(engine, builtins, box, speech, tmp_path, wa)


async def voice_rig(p: Parts, flow: str) -> AsyncIterator[VoiceRig]:
    registry = with_speech(p.builtins)
    services = Services(speech=p.speech, media=LocalMedia.for_data_folder(p.folder))
    runtime = Runtime(p.engine, registry, services=services)
    runtime.flows.save_draft(parse_flow(flow))
    runtime.flows.publish("voice", registry)
    store = ChannelStore(p.engine, p.box)
    store.deploy("whatsapp", "shop", "voice", 1, CREDS, api_base=p.fake.url)
    channels = Channels(runtime, store, pace={}, clock=Clock())
    transport = httpx.ASGITransport(create_app(runtime, channels))
    async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
        try:
            yield VoiceRig(channels, client, p.fake)
        finally:
            await channels.stop()
            await runtime.shutdown()


@pytest.fixture
async def rig(parts: Parts) -> AsyncIterator[VoiceRig]:
    async for r in voice_rig(parts, FLOW):
        yield r


def text(wamid: str, body: str) -> dict[str, Any]:
    return incoming(wamid, {"type": "text", "text": {"body": body}})


def voice_note(wamid: str, media_id: str) -> dict[str, Any]:
    audio = {"id": media_id, "mime_type": "audio/ogg; codecs=opus", "sha256": "x", "voice": True}
    return incoming(wamid, {"type": "audio", "audio": audio})


async def test_a_voice_note_is_transcribed_and_answered_with_a_voice_note(
    rig: VoiceRig, speech: LocalSpeech, recording: bytes
) -> None:
    fake = rig.fake
    fake.add_media("1043987654321", recording)
    await rig.post(text("wamid.1", "hi"))
    await rig.settle()
    assert fake.texts() == ["Send me a voice message."]
    answer = await rig.post(voice_note("wamid.2", "1043987654321"))
    assert answer.status_code == 200 and answer.json()["new"] == 1
    await rig.settle()
    assert fake.downloads == ["1043987654321"]  # both steps, with the token
    echoed, spoken, caption = fake.sent[1:4]
    heard = echoed["text"]["body"].removeprefix("You said: ")
    assert share_of_words_back(SENTENCE, heard) >= 0.9, heard
    assert len(fake.uploads) == 1  # uploaded: WhatsApp cannot reach this server
    upload = fake.uploads[0]
    assert upload["type"] == "audio/ogg" and upload["data"][:4] == b"OggS"
    assert spoken["type"] == "audio" and spoken["audio"]["id"] == upload["id"] and "link" not in spoken["audio"]
    assert spoken["audio"].get("voice") is True and spoken["to"] == "16505551234"
    assert caption["text"]["body"] == heard  # WhatsApp audio has no caption: the words follow it
    back = await speech.transcribe(upload["data"], language="en")
    assert share_of_words_back(heard, back.text) >= 0.9, back.text


async def test_a_voice_note_that_starts_the_conversation_is_its_answer(rig: VoiceRig, recording: bytes) -> None:
    rig.fake.add_media("1043987654322", recording)
    await rig.post(voice_note("wamid.1", "1043987654322"))
    await rig.settle()
    said = rig.fake.texts()
    assert said[0] == "Send me a voice message."
    assert share_of_words_back(SENTENCE, said[1].removeprefix("You said: ")) >= 0.9, said


async def test_a_voice_note_whatsapp_no_longer_has_gets_a_sentence(parts: Parts) -> None:
    wa = parts.fake
    flow = voice_flow({"prompt": "Send me a voice message.", "language": "en", "retries": 0})
    async for rig in voice_rig(parts, flow):
        await rig.post(text("wamid.1", "hi"))
        await rig.post(voice_note("wamid.2", "1043987650000"))  # expired: never held by the fake
        await rig.settle()
        assert wa.texts() == [
            "Send me a voice message.",
            "That file is no longer on WhatsApp; please send it again.",
            "Let us go on in writing.",
        ]
        assert rig.channels.store.dead_letters() == []


async def test_a_file_too_big_or_gone_is_a_media_error_without_the_token(rig: VoiceRig, recording: bytes) -> None:
    from nodes.api import Media, MediaError

    rig.fake.add_media("1043987654323", recording)
    found = rig.channels.adapter("whatsapp", "shop")
    assert found is not None
    fetch = found[1].fetch  # type: ignore[attr-defined]
    note = Media(kind="audio", url="whatsapp-media:shop/1043987654323", mime="audio/ogg")
    assert await fetch(note) == recording
    with pytest.raises(MediaError, match="too big"):
        await fetch(note, limit=1000)
    rig.fake.media.clear()
    with pytest.raises(MediaError) as gone:
        await fetch(note)
    assert "no longer on WhatsApp" in str(gone.value) and TOKEN not in str(gone.value)


async def test_other_audio_is_sent_by_its_address(rig: VoiceRig) -> None:
    from nodes.api import Media, Outbound

    found = rig.channels.adapter("whatsapp", "shop")
    assert found is not None
    song = Media(kind="audio", url="https://example.com/song.mp3", mime="audio/mpeg")
    await found[1].send("16505551234", Outbound(media=song))
    assert rig.fake.sent[-1]["audio"] == {"link": "https://example.com/song.mp3"} and rig.fake.uploads == []
