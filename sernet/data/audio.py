"""Reading and validating audio: every waveform that enters sernet passes :func:`validate_audio`."""

from __future__ import annotations

import struct
from pathlib import Path

import numpy as np
import soundfile as sf

from sernet.errors import AudioError

MIN_DURATION_S = 0.025  # one 25 ms analysis window
SILENCE_PEAK = 1e-4  # peak |x| below this (-80 dBFS) counts as silent
CLIP_LEVEL = 0.999
NO_SPEECH_PROBLEMS: tuple[str, ...] = ("silent", "constant")
"""Problems of :func:`validate_audio` that mean "no signal at all" (an inference front end may report them as
no speech instead of an error)."""


def read_audio(
    path: str | Path,
    *,
    sample_rate_hz: int = 16000,
    resample: bool = False,
    check: bool = True,
    allow_truncated: bool = False,
) -> np.ndarray:
    """Read ``path`` as mono float32 at ``sample_rate_hz``.

    Parameters
    ----------
    path : str or Path
        Any format libsndfile reads (WAV, FLAC, OGG, ...).
    sample_rate_hz : int
        Required rate. A file at another rate raises ``AudioError("wrong_sample_rate")`` unless
        ``resample=True`` (corpus preparers resample on the fly with ``soxr`` through librosa).
    resample : bool
        Resample other rates instead of failing.
    check : bool
        Run :func:`validate_audio` on the result.
    allow_truncated : bool
        Read a WAV file whose data chunk is shorter than its header declares (a file cut short by an
        interrupted copy, download or recording) as far as it goes, instead of raising
        ``AudioError("truncated")``. The missing tail is not invented.

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        Multi-channel files are averaged to mono (a documented repair, not an error).

    Raises
    ------
    AudioError
        ``missing``, ``unreadable``, ``truncated`` (see :func:`wav_truncation`), ``wrong_sample_rate`` and
        every problem of :func:`validate_audio`.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(path, "missing", "no such file")
    if not allow_truncated:
        cut = wav_truncation(path)
        if cut is not None:
            raise AudioError(path, "truncated", cut)
    try:
        y, sr = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as exc:  # libsndfile raises LibsndfileError / RuntimeError with its own text
        raise AudioError(path, "unreadable", str(exc).strip() or type(exc).__name__) from None
    y = y.mean(axis=1) if y.shape[1] > 1 else y[:, 0]
    if sr != sample_rate_hz:
        if not resample:
            raise AudioError(path, "wrong_sample_rate", f"{sr} Hz, expected {sample_rate_hz} Hz")
        if y.size:
            import librosa

            y = librosa.resample(y, orig_sr=sr, target_sr=sample_rate_hz, res_type="soxr_hq")
    y = np.ascontiguousarray(y, dtype=np.float32)
    if check:
        validate_audio(y, sample_rate_hz=sample_rate_hz, source=path)
    return y


def validate_audio(y: np.ndarray, *, sample_rate_hz: int = 16000, source: str | Path = "<array>") -> np.ndarray:
    """Check that ``y`` is usable speech input; return it unchanged.

    Raises ``AudioError`` with problem ``not_mono`` (ndim != 1), ``empty``, ``non_finite`` (NaN/Inf),
    ``too_short`` (under one 25 ms window), ``silent`` (peak below -80 dBFS) or ``constant`` (a DC level
    and nothing else: the signal minus its mean peaks below -80 dBFS). A DC offset on a real signal is not
    an error (the features do not see it: pre-emphasis and the spectra remove it), nor is clipping: see
    :func:`clipped_fraction`.
    """
    y = np.asarray(y)
    if y.ndim != 1:
        raise AudioError(source, "not_mono", f"array of shape {y.shape}; average channels first")
    if y.size == 0:
        raise AudioError(source, "empty", "0 samples")
    if not np.all(np.isfinite(y)):
        n_bad = int(np.size(y) - np.count_nonzero(np.isfinite(y)))
        raise AudioError(source, "non_finite", f"{n_bad} NaN/Inf samples")
    if y.size < MIN_DURATION_S * sample_rate_hz:
        raise AudioError(source, "too_short", f"{y.size / sample_rate_hz * 1000:.1f} ms < one 25 ms window")
    peak = float(np.max(np.abs(y)))
    if peak < SILENCE_PEAK:
        raise AudioError(source, "silent", f"peak {peak:.2e} below -80 dBFS")
    offset = float(np.mean(y, dtype=np.float64))
    swing = float(np.max(np.abs(y.astype(np.float64) - offset)))
    if swing < SILENCE_PEAK:
        raise AudioError(source, "constant", f"a DC level of {offset:+.3g} with no signal: peak around it "
                         f"{swing:.2e}, below -80 dBFS")
    return y


_RIFF_SIZE_UNKNOWN = (0, 0xFFFFFFFF)  # placeholders of streamed (unfinished) or RF64 headers: not a size


def wav_truncation(path: str | Path) -> str | None:
    """Why the WAV file ``path`` is cut short, or None when it is complete (or not a RIFF WAV).

    A WAV header declares the byte length of its ``data`` chunk; a file cut short (an interrupted copy,
    download or recording) holds fewer bytes. libsndfile reads such a file without complaint, as far as it
    goes, so the shortfall would otherwise pass unnoticed. Headers with an unknown length (0 or
    0xFFFFFFFF, written by streaming recorders and RF64) are not judged.

    Returns
    -------
    str or None
        E.g. ``"data chunk holds 15978 of the 32000 bytes its header declares: 0.499 s of 1.000 s, the
        file was cut short"``.
    """
    try:
        with open(path, "rb") as f:
            head = f.read(12)
            if len(head) < 12 or head[8:12] != b"WAVE" or head[:4] not in (b"RIFF", b"RIFX"):
                return None
            endian = "<" if head[:4] == b"RIFF" else ">"
            size = f.seek(0, 2)
            pos, byte_rate = 12, 0
            while pos + 8 <= size:
                f.seek(pos)
                chunk_id, chunk_size = struct.unpack(endian + "4sI", f.read(8))
                if chunk_id == b"fmt " and chunk_size >= 16:
                    byte_rate = struct.unpack(endian + "HHII", f.read(12))[3]
                if chunk_id == b"data":
                    present = size - (pos + 8)
                    if chunk_size in _RIFF_SIZE_UNKNOWN or present >= chunk_size:
                        return None
                    detail = f"data chunk holds {present} of the {chunk_size} bytes its header declares"
                    if byte_rate:
                        detail += f": {present / byte_rate:.3f} s of {chunk_size / byte_rate:.3f} s"
                    return detail + ", the file was cut short"
                pos += 8 + chunk_size + (chunk_size & 1)  # chunks are padded to an even length
    except (OSError, struct.error):
        return None  # unreadable: libsndfile names the problem
    return None


def clipped_fraction(y: np.ndarray) -> float:
    """Fraction of samples at full scale (|x| >= 0.999): recorded as a warning, never fixed."""
    return float(np.mean(np.abs(y) >= CLIP_LEVEL)) if y.size else 0.0


def write_wav(path: str | Path, y: np.ndarray, sample_rate_hz: int = 16000) -> None:
    """Write 16-bit PCM mono WAV atomically (a partial file never appears under ``path``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(path.name + ".partial")
    sf.write(str(tmp), np.asarray(y, dtype=np.float32), sample_rate_hz, subtype="PCM_16", format="WAV")
    tmp.replace(path)
