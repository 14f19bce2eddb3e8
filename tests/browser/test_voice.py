"""The microphone in the test chat, in a real browser: Chromium's fake microphone plays a sentence
piper spoke, the page records it (MediaRecorder, WebM/Opus), the server's Whisper transcribes it,
and the flow answers with the words."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import wave
from pathlib import Path
from typing import Any

import pytest

from benchmarks.bench_canvas import sign_in
from tests.browser.conftest import ARTIFACTS, CHROMIUM

SENTENCE = "Please book a table for two people tomorrow evening."
FLOW = {
    "schema_version": 1,
    "id": "voice",
    "name": "Voice",
    "start": "start",
    "nodes": [
        {"id": "start", "type": "flow.start"},
        {"id": "hear", "type": "speech.to_text", "settings": {"prompt": "Say something.", "language": "en"}},
        {"id": "echo", "type": "message.send", "settings": {"text": "You said: {{ transcript }}"}},
    ],
    "edges": [
        {"id": "a", "source": "start", "source_port": "out", "target": "hear"},
        {"id": "b", "source": "hear", "source_port": "out", "target": "echo"},
    ],
}


def _microphone_file(folder: Path) -> Path:
    """The sentence as a 16-bit WAV file, what Chromium's fake microphone plays (in a loop)."""
    from runtime.ai import audio
    from runtime.ai.speech import LocalSpeech

    speech = LocalSpeech.for_data_folder(folder)
    samples = audio.decode(speech.synthesize_now(SENTENCE).audio, max_seconds=30)
    path = folder / "microphone.wav"
    with wave.open(str(path), "wb") as w:
        w.setnchannels(1)
        w.setsampwidth(2)
        w.setframerate(audio.WHISPER_RATE)
        silence = bytes(2 * audio.WHISPER_RATE)  # a second between repeats
        w.writeframes(silence + (samples * 32767).clip(-32768, 32767).astype("<i2").tobytes() + silence)
    return path


def test_the_microphone_sends_speech_through_the_speech_step(
    server: str, tmp_path: Path, request: pytest.FixtureRequest
) -> None:
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (.ci/run installs it)")
    flow = tmp_path / "voice.json"
    flow.write_text(json.dumps(FLOW))
    subprocess.run(
        [sys.executable, "-m", "chatloom", "import", str(flow)],
        env={"CHATLOOM_DATA": str(tmp_path / "data"), "PATH": "/usr/bin:/bin"},
        check=True,
        capture_output=True,
        timeout=120,
    )
    microphone = _microphone_file(tmp_path)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(
            executable_path=str(CHROMIUM),
            headless=True,
            args=[
                "--disable-gpu",
                "--use-fake-ui-for-media-stream",  # the microphone is allowed without asking
                "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={microphone}",
            ],
        )
        page: Any = browser.new_page(viewport={"width": 1400, "height": 900})
        try:
            sign_in(page, server)
            page.goto(f"{server}/flows/voice")
            page.get_by_role("button", name="Test chat").click()
            page.get_by_text("Say something.").last.wait_for()
            page.locator("button:has(i:text-is('mic'))").click()
            page.wait_for_timeout(4500)  # the sentence and a second of silence, at least once
            page.locator("button:has(i:text-is('stop'))").click()
            answer = page.locator(".bg-gray-100", has_text="You said:").last  # the chat, not the canvas card
            answer.wait_for(timeout=60_000)
            said = set(re.findall(r"[a-z]+", answer.inner_text().lower().removeprefix("you said:")))
            words = re.findall(r"[a-z]+", SENTENCE.lower())
            assert sum(w in said for w in words) >= 0.8 * len(words), said  # through a browser's Opus and Whisper
        except Exception:
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / f"{request.node.name}.png"), full_page=True)
            raise
        finally:
            browser.close()
