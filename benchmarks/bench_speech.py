"""Speech offline: real-time factors (seconds of work per second of audio; under 1 is faster than
real time) of Whisper tiny.en and base (multilingual) on one CPU thread, and of piper's voice."""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from runtime.ai.speech import LocalSpeech

TEXT = (
    "Thank you for calling. Your order left our warehouse this morning and should reach you on Thursday. "
    "If you are not at home, the driver will leave it with a neighbour or at the nearest pick-up point."
)


def main(text: str = TEXT, repeats: int = 3, threads: int = 1) -> dict[str, float]:
    """Each figure is the best of `repeats` runs, models already loaded (first use is not counted)."""
    with tempfile.TemporaryDirectory() as folder:
        speech = LocalSpeech.for_data_folder(Path(folder), cpu_threads=threads)
        spoken = speech.synthesize_now(text)  # loads the voice
        tts = min(_timed(lambda: speech.synthesize_now(text)) for _ in range(repeats))
        speech.transcribe_now(spoken.audio, language="en")  # loads tiny.en
        english = min(_timed(lambda: speech.transcribe_now(spoken.audio, language="en")) for _ in range(repeats))
        speech.transcribe_now(spoken.audio)  # joins and loads base
        multi = min(_timed(lambda: speech.transcribe_now(spoken.audio)) for _ in range(repeats))
    return {
        "audio_s": spoken.duration,
        "tiny_en_rtf": english / spoken.duration,
        "base_rtf": multi / spoken.duration,
        "piper_rtf": tts / spoken.duration,
    }


def _timed(work: object) -> float:
    began = time.perf_counter()
    work()  # type: ignore[operator]
    return time.perf_counter() - began


if __name__ == "__main__":
    print(main())
