"""Reading and validating audio: every waveform that enters sernet passes :func:`validate_audio`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import soundfile as sf

from sernet.errors import AudioError

MIN_DURATION_S = 0.025  # one 25 ms analysis window
SILENCE_PEAK = 1e-4  # peak |x| below this (-80 dBFS) counts as silent
CLIP_LEVEL = 0.999


def read_audio(
    path: str | Path,
    *,
    sample_rate_hz: int = 16000,
    resample: bool = False,
    check: bool = True,
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

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        Multi-channel files are averaged to mono (a documented repair, not an error).

    Raises
    ------
    AudioError
        ``missing``, ``unreadable``, ``wrong_sample_rate`` and every problem of :func:`validate_audio`.
    """
    path = Path(path)
    if not path.exists():
        raise AudioError(path, "missing", "no such file")
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
    ``too_short`` (under one 25 ms window) or ``silent`` (peak below -80 dBFS). Clipping is not an error:
    see :func:`clipped_fraction`.
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
    return y


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
