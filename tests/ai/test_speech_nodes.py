"""The voice steps in a running flow, with the real models: a voice note (OGG from a messenger,
WebM from a browser) becomes text, the bot's answer becomes a voice reply served by the app, and
a file that cannot be heard gets a sentence and another try, then the “error” exit."""

from __future__ import annotations

import base64
import io
import json
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy.engine import Engine

from flows.document import parse_flow
from nodes.ai.speech import TO_SPEECH, TO_TEXT
from nodes.api import Inbound, Media, Outbound, Services
from nodes.registry import Registry
from runtime.ai.speech import LocalSpeech
from runtime.api import create_app
from runtime.engine import Runtime
from runtime.media import LocalMedia
from tests.ai.test_speech import share_of_words_back

SENTENCE = "Could you please tell me where my order is?"


def with_speech(builtins: Registry) -> Registry:
    nodes = {n.type: n for n in builtins}
    nodes.update({TO_TEXT.type: TO_TEXT, TO_SPEECH.type: TO_SPEECH})  # until the entry points list them
    return Registry.of(nodes.values())


def voice_flow(listen: dict[str, Any], *, first: dict[str, Any] | None = None) -> str:
    nodes = [
        {"id": "start", "type": "flow.start"},
        {"id": "listen", "type": "speech.to_text", "settings": listen},
        {"id": "echo", "type": "message.send", "settings": {"text": "You said: {{ transcript }}"}},
        {"id": "say", "type": "speech.to_speech", "settings": {"text": "{{ transcript }}"}},
        {"id": "sorry", "type": "message.send", "settings": {"text": "Let us go on in writing."}},
        {"id": "end", "type": "flow.end"},
    ]
    edges = [("listen", "out", "echo"), ("echo", "out", "say"), ("say", "out", "end"), ("say", "error", "end")]
    edges += [("listen", "error", "sorry"), ("sorry", "out", "end")]
    if first is not None:
        nodes.append(first)
        edges += [("start", "out", first["id"]), (first["id"], "valid", "listen"), (first["id"], "invalid", "end")]
    else:
        edges.append(("start", "out", "listen"))
    return json.dumps(
        {
            "schema_version": 1,
            "id": "voice",
            "name": "Voice",
            "start": "start",
            "nodes": nodes,
            "edges": [{"id": f"e{n}", "source": s, "source_port": p, "target": t} for n, (s, p, t) in enumerate(edges)],
        }
    )


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> LocalSpeech:
    return LocalSpeech.for_data_folder(tmp_path_factory.mktemp("data"))


@pytest.fixture(scope="module")
def recording(speech: LocalSpeech) -> bytes:
    return speech.synthesize_now(SENTENCE).audio


async def running(
    engine: Engine, builtins: Registry, flow: str, services: Services
) -> AsyncIterator[tuple[Runtime, str]]:
    registry = with_speech(builtins)
    runtime = Runtime(engine, registry, services=services)
    runtime.flows.save_draft(parse_flow(flow))
    runtime.flows.publish("voice", registry)
    await runtime.startup()
    try:
        cid, _ = await runtime.start("voice")
        yield runtime, cid
    finally:
        await runtime.shutdown()


@pytest.fixture
async def talk(
    engine: Engine, builtins: Registry, speech: LocalSpeech, tmp_path: Path
) -> AsyncIterator[tuple[Runtime, str]]:
    services = Services(speech=speech, media=LocalMedia.for_data_folder(tmp_path))
    flow = voice_flow({"prompt": "Send me a voice message.", "language": "en"})
    async for pair in running(engine, builtins, flow, services):
        yield pair


def voice(data: bytes, mime: str = "audio/ogg") -> Inbound:
    url = f"data:{mime};base64,{base64.b64encode(data).decode()}"
    return Inbound(media=Media(kind="audio", url=url, mime=mime))


def texts(messages: list[Outbound]) -> list[str]:
    return [m.text for m in messages]


async def test_a_voice_note_becomes_text_and_the_reply_is_spoken(
    talk: tuple[Runtime, str], recording: bytes, speech: LocalSpeech
) -> None:
    runtime, cid = talk
    replies = await runtime.send(cid, voice(recording))
    assert share_of_words_back(SENTENCE, replies[0].text.removeprefix("You said: ")) >= 0.9, replies[0].text
    state = runtime.store.load(cid)
    assert state is not None and state.vars["language"] == "en"
    spoken = replies[1]
    assert spoken.media is not None and spoken.media.kind == "audio" and spoken.media.mime == "audio/ogg"
    assert spoken.text == state.vars["transcript"]  # the words go with it, as a caption
    assert spoken.media.url.startswith("/media/") and (spoken.media.duration or 0) > 1.0
    app = create_app(runtime)
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app), base_url="http://t") as client:
        served = await client.get(spoken.media.url)
        assert served.status_code == 200 and served.headers["content-type"] == "audio/ogg"
        assert (await client.get("/media/..%2Fchatloom.db")).status_code == 404
        assert (await client.get("/media/" + "A" * 32 + ".ogg")).status_code == 404
    heard = await speech.transcribe(served.content, language="en")  # the spoken reply says the words
    assert share_of_words_back(state.vars["transcript"], heard.text) >= 0.9, heard.text


async def test_a_browser_recording_in_webm_is_understood(talk: tuple[Runtime, str], recording: bytes) -> None:
    import av

    webm = io.BytesIO()  # what MediaRecorder makes: Opus in WebM
    with av.open(io.BytesIO(recording)) as source, av.open(webm, "w", format="webm") as target:
        stream = target.add_stream("libopus", rate=48_000, layout="mono")
        for frame in source.decode(audio=0):
            frame.pts = None
            for packet in stream.encode(frame):
                target.mux(packet)
        for packet in stream.encode(None):
            target.mux(packet)
    runtime, cid = talk
    replies = await runtime.send(cid, voice(webm.getvalue(), "audio/webm;codecs=opus"))
    assert share_of_words_back(SENTENCE, replies[0].text.removeprefix("You said: ")) >= 0.9, replies[0].text


async def test_a_typed_answer_is_taken_as_it_is(talk: tuple[Runtime, str]) -> None:
    runtime, cid = talk
    replies = await runtime.send(cid, Inbound("I cannot talk right now"))
    assert texts(replies)[0] == "You said: I cannot talk right now"


async def test_a_file_that_is_not_audio_is_asked_again_then_leaves_by_error(talk: tuple[Runtime, str]) -> None:
    runtime, cid = talk
    replies = await runtime.send(cid, voice(b"this is a text file, not a voice note" * 50))
    assert texts(replies) == ["That file is not a sound recording I can play.", "Send me a voice message."]
    replies = await runtime.send(cid, voice(b""))
    assert texts(replies) == ["That voice message is empty.", "Let us go on in writing."]
    state = runtime.store.load(cid)
    assert state is not None and state.status == "ended" and "transcript" not in state.vars


async def test_a_photo_instead_of_a_voice_note_is_asked_again(talk: tuple[Runtime, str]) -> None:
    runtime, cid = talk
    replies = await runtime.send(cid, Inbound(media=Media(kind="image", url="data:image/png;base64,AAAA")))
    assert texts(replies) == ["Please send a voice message, or type your answer.", "Send me a voice message."]


async def test_a_recording_over_the_limit_is_refused_in_words(
    engine: Engine, builtins: Registry, recording: bytes, tmp_path: Path
) -> None:
    short = LocalSpeech.for_data_folder(tmp_path, max_seconds=1.0)
    services = Services(speech=short, media=LocalMedia.for_data_folder(tmp_path))
    async for runtime, cid in running(engine, builtins, voice_flow({"language": "en", "retries": 0}), services):
        replies = await runtime.send(cid, voice(recording))
        assert texts(replies) == [
            "That voice message is too long: at most 1 seconds can be transcribed.",
            "Let us go on in writing.",
        ]


async def test_without_a_speech_service_the_flow_goes_on_by_error(
    engine: Engine, builtins: Registry, recording: bytes
) -> None:
    async for runtime, cid in running(engine, builtins, voice_flow({"language": "en"}), Services()):
        replies = await runtime.send(cid, voice(recording))
        assert texts(replies) == ["Sorry, I cannot listen to voice messages here.", "Let us go on in writing."]


async def test_a_voice_note_that_led_to_the_step_is_transcribed_at_once(
    engine: Engine, builtins: Registry, speech: LocalSpeech, recording: bytes, tmp_path: Path
) -> None:
    first = {"id": "file", "type": "input.file", "settings": {"prompt": "Send a note.", "save_as": "note"}}
    services = Services(speech=speech, media=LocalMedia.for_data_folder(tmp_path))
    flow = voice_flow({"language": "en"}, first=first)
    async for runtime, cid in running(engine, builtins, flow, services):
        replies = await runtime.send(cid, voice(recording))
        assert share_of_words_back(SENTENCE, replies[0].text.removeprefix("You said: ")) >= 0.9, replies[0].text


async def test_without_speech_the_words_are_still_said_in_writing(engine: Engine, builtins: Registry) -> None:
    async for runtime, cid in running(engine, builtins, voice_flow({"language": "en"}), Services()):
        replies = await runtime.send(cid, Inbound("hello"))
        assert texts(replies) == ["You said: hello", "hello"] and replies[1].media is None
