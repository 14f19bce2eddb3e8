"""Voice in the test chat: a recording from the microphone goes through the voice-to-text step of
the draft, and the spoken reply plays in the chat (real models; the browser side is MediaRecorder,
which hands Python a data: URL, as here)."""

from __future__ import annotations

import base64
from pathlib import Path

from fastapi import Request
from nicegui import ui
from nicegui.testing.user import User

from builder.access import enter
from builder.chat_panel import ChatPanel
from builder.context import Builder
from flows.document import parse_flow
from runtime.ai.speech import LocalSpeech
from runtime.media import LocalMedia
from tests.ai.test_speech import share_of_words_back
from tests.ai.test_speech_nodes import SENTENCE, voice_flow, with_speech


async def test_a_recording_is_transcribed_and_the_spoken_reply_plays(
    user: User, builder: Builder, tmp_path: Path
) -> None:
    speech = LocalSpeech.for_data_folder(tmp_path)
    builder.runtime.services.speech = speech
    builder.runtime.services.media = LocalMedia.for_data_folder(tmp_path)
    builder.runtime.registry = with_speech(builder.registry)
    builder.flows.save_draft(parse_flow(voice_flow({"prompt": "Send me a voice message.", "language": "en"})))
    panels: list[ChatPanel] = []

    @ui.page("/chat")
    def page(request: Request) -> None:
        enter(builder, request)  # the signed-in tester, as every builder page has
        panels.append(ChatPanel(builder, "voice"))

    await user.open("/chat")
    await user.should_see("Send me a voice message.")
    user.find(marker="chat-mic")  # the microphone button is there
    recording = speech.synthesize_now(SENTENCE).audio
    url = "data:audio/ogg;base64," + base64.b64encode(recording).decode()
    await panels[0].say_voice({"url": url, "mime": "audio/ogg"})
    await user.should_see(marker="chat-user-voice")
    await user.should_see(marker="chat-bot-voice")
    said = [e.text for e in user.find(marker="chat-bot").elements if "You said" in getattr(e, "text", "")]
    assert said and share_of_words_back(SENTENCE, said[0].removeprefix("You said: ")) >= 0.9, said


async def test_a_refused_microphone_is_said(user: User, builder: Builder) -> None:
    panels: list[ChatPanel] = []

    @ui.page("/chat")
    def page(request: Request) -> None:
        enter(builder, request)  # the signed-in tester, as every builder page has
        panels.append(ChatPanel(builder, "nothing"))

    await user.open("/chat")
    await panels[0].say_voice({"error": "NotAllowedError"})
    await user.should_see("The microphone could not be used (NotAllowedError).")
