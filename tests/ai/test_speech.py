"""Speech offline with the real models: sentences spoken by piper and espeak-ng come back from
Whisper (tiny.en, and the multilingual base joined from its two packages), and recordings that
cannot be transcribed are refused with a sentence a person understands."""

from __future__ import annotations

import difflib
import os
import re
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from nodes.ai.speech import SpeechError
from runtime.ai import audio
from runtime.ai.speech import LocalSpeech, SpeechUnavailable

SENTENCES = [
    "Hello, I would like to book a table for tomorrow evening.",
    "Could you please tell me where my order is?",
    "The weather is lovely today, so we are going to the beach.",
]
espeak = pytest.mark.skipif(shutil.which("espeak-ng") is None, reason="the espeak-ng command is not installed")


def words(text: str) -> list[str]:
    return re.findall(r"[a-z0-9']+", text.lower())


def share_of_words_back(said: str, heard: str) -> float:
    """How many of the words said came back, in order (1.0: all of them)."""
    expected, got = words(said), words(heard)
    matched = sum(block.size for block in difflib.SequenceMatcher(a=expected, b=got).get_matching_blocks())
    return matched / len(expected)


@pytest.fixture(scope="module")
def speech(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalSpeech]:
    yield LocalSpeech.for_data_folder(tmp_path_factory.mktemp("data"))


def test_word_share_measures_what_came_back() -> None:
    assert share_of_words_back("book a table for tomorrow", "Book a table for tomorrow.") == 1.0
    assert share_of_words_back("book a table for tomorrow", "look at the cable") < 0.5


@pytest.mark.parametrize("sentence", SENTENCES)
def test_piper_speech_comes_back_from_whisper_tiny_en(speech: LocalSpeech, sentence: str) -> None:
    spoken = speech.synthesize_now(sentence, language="en")
    assert spoken.mime == "audio/ogg" and spoken.audio[:4] == b"OggS" and 1.0 < spoken.duration < 10.0
    heard = speech.transcribe_now(spoken.audio, language="en")
    assert heard.language == "en" and abs(heard.duration - spoken.duration) < 0.2
    assert share_of_words_back(sentence, heard.text) >= 0.9, heard.text


@espeak
@pytest.mark.parametrize("sentence", SENTENCES[:2])
def test_espeak_speech_comes_back_from_whisper_tiny_en(speech: LocalSpeech, sentence: str) -> None:
    spoken = speech.synthesize_now(sentence, language="en", voice="espeak")
    heard = speech.transcribe_now(spoken.audio, language="en")
    assert share_of_words_back(sentence, heard.text) >= 0.9, heard.text


def test_the_multilingual_model_finds_the_language_itself(speech: LocalSpeech) -> None:
    spoken = speech.synthesize_now(SENTENCES[1], language="en")
    heard = speech.transcribe_now(spoken.audio)  # no hint: Whisper base, joined into the data folder
    assert heard.language == "en"
    assert share_of_words_back(SENTENCES[1], heard.text) >= 0.9, heard.text
    assert speech.data_folder is not None
    joined = speech.data_folder / "models" / "whisper-base" / "model.bin"
    assert joined.stat().st_size == 2 * 72_608_766  # both halves, once


@espeak
def test_other_languages_are_spoken_by_espeak(speech: LocalSpeech) -> None:
    spoken = speech.synthesize_now("Bonjour, comment allez-vous ?", language="fr")
    assert spoken.audio[:4] == b"OggS" and spoken.duration > 0.5
    with pytest.raises(SpeechError, match="no voice for the language “zz”"):
        speech.synthesize_now("Hello", language="zz")


async def test_the_async_calls_run_off_the_event_loop(speech: LocalSpeech) -> None:
    spoken = await speech.synthesize("Good morning, everyone.")
    heard = await speech.transcribe(spoken.audio, language="en")
    assert share_of_words_back("Good morning, everyone.", heard.text) >= 0.9, heard.text


def test_a_file_that_is_not_audio_is_refused_in_words(speech: LocalSpeech) -> None:
    with pytest.raises(SpeechError, match="not a sound recording"):
        speech.transcribe_now(b"%PDF-1.4 this is a document, not a voice note" * 20)


def test_an_empty_file_is_refused_in_words(speech: LocalSpeech) -> None:
    with pytest.raises(SpeechError, match="empty"):
        speech.transcribe_now(b"")


def test_a_recording_over_the_limit_is_refused_in_words(tmp_path: Path) -> None:
    short = LocalSpeech.for_data_folder(tmp_path, max_seconds=1.0)
    spoken = short.synthesize_now(SENTENCES[0])
    with pytest.raises(SpeechError, match="too long: at most 1 seconds"):
        short.transcribe_now(spoken.audio, language="en")


def test_silence_gives_no_words(speech: LocalSpeech) -> None:
    import numpy as np

    silence = audio.encode_opus(np.zeros(16_000, dtype=np.int16), 16_000)
    heard = speech.transcribe_now(silence, language="en")
    assert heard.text.strip() == "" or len(words(heard.text)) <= 2  # Whisper may say "you" to silence


def test_too_much_text_to_say_is_refused(speech: LocalSpeech) -> None:
    with pytest.raises(SpeechError, match="too long to say"):
        speech.synthesize_now("word " * 1000)


def test_a_missing_model_or_voice_is_named(tmp_path: Path) -> None:
    broken = LocalSpeech.for_data_folder(tmp_path, english_model=str(tmp_path / "nowhere"))
    spoken = broken.synthesize_now("Hello there.")
    with pytest.raises(SpeechUnavailable, match="could not be loaded"):
        broken.transcribe_now(spoken.audio, language="en")
    with pytest.raises(SpeechUnavailable, match="no voice called"):  # a flow names voices, never paths
        broken.synthesize_now("Hello", voice=str(tmp_path / "missing.onnx"))
    configured = LocalSpeech.for_data_folder(tmp_path, voices={"anna": str(tmp_path / "missing.onnx")})
    with pytest.raises(SpeechUnavailable, match="not on the server"):
        configured.synthesize_now("Hello", voice="anna")


def test_espeak_reads_the_text_never_options_or_files(tmp_path: Path) -> None:
    """Words that look like espeak-ng's options (-f FILE reads a file aloud) are spoken as words."""
    if shutil.which("espeak-ng") is None:
        pytest.skip("espeak-ng is not installed")
    secret = Path("/tmp") / f"cl{os.getpid()}"  # a short path: spoken out letter by letter, it is quick
    secret.write_text("the launch code is banana")
    try:
        speech = LocalSpeech.for_data_folder(tmp_path)
        spoken = speech.synthesize_now(f"-f{secret}", voice="espeak")
        heard = speech.transcribe_now(spoken.audio, language="en").text.lower()
    finally:
        secret.unlink()
    assert "banana" not in heard and "launch" not in heard
    with pytest.raises(SpeechError, match="not a language code"):
        speech.synthesize_now("hello", language="en --stdout")


def test_openai_whisper_is_used_only_when_installed(tmp_path: Path) -> None:
    chosen = LocalSpeech.for_data_folder(tmp_path, engine="openai-whisper")
    spoken = chosen.synthesize_now("Hello there.")
    try:
        import whisper  # noqa: F401
    except ImportError:
        with pytest.raises(SpeechUnavailable, match="openai-whisper is not installed"):
            chosen.transcribe_now(spoken.audio, language="en")
    else:
        with pytest.raises(SpeechUnavailable, match="checkpoint"):
            chosen.transcribe_now(spoken.audio, language="en")
