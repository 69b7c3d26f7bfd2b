"""Audio of requests: uploaded files (any format libsndfile reads) and streamed PCM chunks, as mono float32
at the model's rate, with the repairs made on the way named.

Nothing here opens a path: uploads are decoded from their bytes in memory (``io.BytesIO``), so no request
can make the server read a file of its own.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from typing import Literal

import numpy as np
import soundfile as sf

from sernet.data.audio import clipped_fraction, validate_audio
from sernet.errors import AudioError, SernetError

Encoding = Literal["pcm16", "float32"]
ENCODINGS: tuple[str, ...] = ("pcm16", "float32")
PCM16_SCALE = 32768.0  # int16 full scale
BUFFER_REPR = re.compile(r"<_io\.BytesIO object at 0x[0-9a-fA-F]+>")  # libsndfile names the buffer


class TooLarge(SernetError):
    """An upload or a stream over the configured size or duration (HTTP 413, WebSocket close 1009)."""


@dataclass(frozen=True)
class DecodedAudio:
    """An upload as the model needs it: ``y`` mono float32 at ``sample_rate_hz``, ``repairs`` made."""

    y: np.ndarray
    sample_rate_hz: int
    repairs: tuple[str, ...]


def decode_upload(data: bytes, source: str, sample_rate_hz: int, max_duration_s: float) -> DecodedAudio:
    """Decode an uploaded audio file from its bytes.

    Multi-channel audio is averaged to mono and other rates are resampled (soxr, as
    :func:`sernet.data.audio.read_audio`); both are listed in ``repairs``, as is clipping (kept: not an error).

    Parameters
    ----------
    data : bytes
        The file's bytes (WAV, FLAC, OGG, ... : what libsndfile reads).
    source : str
        Names the request in error messages.
    sample_rate_hz : int
        The model's rate.
    max_duration_s : float
        Longer audio raises :class:`TooLarge` before it is decoded.

    Returns
    -------
    DecodedAudio

    Raises
    ------
    AudioError
        ``empty`` (no bytes), ``unreadable`` (not audio libsndfile knows) and every problem of
        :func:`sernet.data.audio.validate_audio` except ``silent``/``constant``, which the predictor reports as
        no speech.
    TooLarge
        Audio longer than ``max_duration_s``.

    Examples
    --------
    >>> buf = io.BytesIO()
    >>> sf.write(buf, np.zeros((800, 2), np.float32) + 0.1, 8000, format="WAV")
    >>> audio = decode_upload(buf.getvalue(), "<upload>", 16000, 60.0)
    >>> audio.y.shape, audio.repairs
    ((1600,), ('averaged 2 channels to mono', 'resampled 8000 Hz to 16000 Hz'))
    """
    if not data:
        raise AudioError(source, "empty", "0 bytes")
    try:
        with sf.SoundFile(io.BytesIO(data)) as f:
            sr, channels, frames = int(f.samplerate), int(f.channels), int(f.frames)
            if sr <= 0:
                raise AudioError(source, "unreadable", f"sample rate {sr} Hz")
            if frames / sr > max_duration_s:
                raise TooLarge(f"{source}: {frames / sr:.1f} s of audio, over the {max_duration_s:g} s limit")
            y = f.read(dtype="float32", always_2d=True)
    except (AudioError, TooLarge):
        raise
    except Exception as exc:  # libsndfile's own error text names the problem
        text = BUFFER_REPR.sub("the upload", str(exc).strip()) or type(exc).__name__
        raise AudioError(source, "unreadable", text) from None
    repairs = []
    if channels > 1:
        y = y.mean(axis=1)
        repairs.append(f"averaged {channels} channels to mono")
    else:
        y = y[:, 0]
    if not np.all(np.isfinite(y)):
        validate_audio(y, sample_rate_hz=sr, source=source)  # raises non_finite, naming the count
    if sr != sample_rate_hz and y.size:
        import librosa

        y = librosa.resample(y, orig_sr=sr, target_sr=sample_rate_hz, res_type="soxr_hq")
        repairs.append(f"resampled {sr} Hz to {sample_rate_hz} Hz")
    y = np.ascontiguousarray(y, dtype=np.float32)
    clipped = clipped_fraction(y) if y.size else 0.0
    if clipped > 0:
        repairs.append(f"{clipped:.1%} of samples clipped (kept as they are)")
    return DecodedAudio(y, sample_rate_hz, tuple(repairs))


def decode_chunk(data: bytes, encoding: str, source: str = "<stream>") -> np.ndarray:
    """One streamed chunk as float32: little-endian 16-bit PCM (scaled by 1/32768) or float32 samples.

    Raises
    ------
    AudioError
        ``unreadable`` when the byte count is not a whole number of samples, ``non_finite`` for NaN/Inf.

    Examples
    --------
    >>> decode_chunk(np.array([16384, -32768], "<i2").tobytes(), "pcm16").tolist()
    [0.5, -1.0]
    """
    width = 2 if encoding == "pcm16" else 4
    if len(data) % width:
        raise AudioError(source, "unreadable", f"{len(data)} bytes is not a whole number of {encoding} samples")
    if encoding == "pcm16":
        y = np.frombuffer(data, dtype="<i2").astype(np.float32) / PCM16_SCALE
    else:
        y = np.frombuffer(data, dtype="<f4").astype(np.float32)
    if not np.all(np.isfinite(y)):
        raise AudioError(source, "non_finite", f"{int(np.size(y) - np.count_nonzero(np.isfinite(y)))} NaN/Inf "
                         "samples in a chunk")
    return y


class StreamResampler:
    """Resample a stream chunk by chunk (``soxr.ResampleStream``: the same output however it is chunked)."""

    def __init__(self, in_rate: int, out_rate: int) -> None:
        self.identity = in_rate == out_rate
        if not self.identity:
            import soxr

            self._stream = soxr.ResampleStream(in_rate, out_rate, 1, dtype="float32", quality="HQ")

    def __call__(self, y: np.ndarray, last: bool = False) -> np.ndarray:
        if self.identity:
            return y
        return np.asarray(self._stream.resample_chunk(y, last=last), dtype=np.float32)
