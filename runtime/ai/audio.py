"""Sound files in and out with PyAV (FFmpeg's libraries inside a wheel; no system ffmpeg): voice
notes of any common kind (OGG/Opus from Telegram and WhatsApp, WebM from browsers, MP3, WAV, M4A)
decoded to 16 kHz mono for Whisper, and speech encoded to OGG/Opus, the voice-note format.
PyAV and numpy are imported inside the functions: starting the app does not pay for them."""

from __future__ import annotations

import io
from typing import Any

from nodes.ai.speech import SpeechError

WHISPER_RATE = 16_000
OPUS_RATE = 48_000
NOT_AUDIO = "That file is not a sound recording I can play."
EMPTY = "That voice message is empty."


def decode(data: bytes, *, max_seconds: float, rate: int = WHISPER_RATE) -> Any:
    """The recording as mono float32 samples at `rate` (a numpy array). SpeechError when it is
    empty, not audio, or longer than `max_seconds` (decoding stops there: a long file costs no
    more memory than the limit)."""
    if not data:
        raise SpeechError(EMPTY)
    import av
    import numpy as np

    limit = int(max_seconds * rate)
    parts: list[Any] = []
    count = 0
    try:
        with av.open(io.BytesIO(data), mode="r", metadata_errors="ignore") as container:
            if not container.streams.audio:
                raise SpeechError(NOT_AUDIO)
            stream = container.streams.audio[0]
            resampler = av.AudioResampler(format="s16", layout="mono", rate=rate)
            for frame in container.decode(stream):
                for out in resampler.resample(frame):
                    samples = out.to_ndarray().reshape(-1)
                    parts.append(samples)
                    count += len(samples)
                if count > limit:
                    raise SpeechError(
                        f"That voice message is too long: at most {_minutes(max_seconds)} can be transcribed."
                    )
            for out in resampler.resample(None):
                parts.append(out.to_ndarray().reshape(-1))
    except av.FFmpegError:
        raise SpeechError(NOT_AUDIO) from None
    if not parts:
        raise SpeechError(EMPTY)
    return np.concatenate(parts).astype(np.float32) / 32768.0


def encode_opus(samples: Any, rate: int) -> bytes:
    """Mono int16 samples (a numpy array) as an OGG/Opus file."""
    import av
    import numpy as np

    out = io.BytesIO()
    with av.open(out, mode="w", format="ogg") as container:
        stream = container.add_stream("libopus", rate=OPUS_RATE, layout="mono")
        stream.bit_rate = 32_000  # plenty for speech
        frame = av.AudioFrame.from_ndarray(
            np.asarray(samples, dtype=np.int16).reshape(1, -1), format="s16", layout="mono"
        )
        frame.sample_rate = rate
        resampler = av.AudioResampler(format="s16", layout="mono", rate=OPUS_RATE)
        for part in [*resampler.resample(frame), *resampler.resample(None)]:
            for packet in stream.encode(part):
                container.mux(packet)
        for packet in stream.encode(None):
            container.mux(packet)
    return out.getvalue()


def read_wav(data: bytes) -> tuple[Any, int]:
    """The samples (mono int16) and sample rate of a WAV file made by piper or espeak-ng."""
    import wave

    import numpy as np

    with wave.open(io.BytesIO(data)) as w:
        rate, channels, width = w.getframerate(), w.getnchannels(), w.getsampwidth()
        raw = w.readframes(w.getnframes())
    if width != 2:
        raise SpeechError("The voice made sound in a format I cannot use.")
    samples = np.frombuffer(raw, dtype=np.int16)
    if channels > 1:
        samples = samples.reshape(-1, channels).mean(axis=1).astype(np.int16)
    return samples, rate


def _minutes(seconds: float) -> str:
    if seconds >= 120:
        return f"{seconds / 60:g} minutes"
    return f"{seconds:g} seconds"
