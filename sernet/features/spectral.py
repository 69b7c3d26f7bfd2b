"""Spectral frame features: 40 MFCCs + Δ + ΔΔ (120 dims) and a 128-band log-mel spectrogram (paper §3.1).

Both come from one short-time Fourier transform of the pre-emphasised signal (librosa):

- pre-emphasis ``y[n] - 0.97 y[n-1]`` (``FeatureConfig.pre_emphasis``);
- Hann window of ``win_ms`` (25 ms = 400 samples at 16 kHz), zero-padded to ``n_fft`` (512), hop ``hop_ms``;
- frames are *centred*: frame ``k`` is centred on sample ``k * hop`` (the signal is zero-padded by
  ``n_fft // 2`` at both ends), so an utterance of ``n`` samples has ``T = 1 + n // hop`` frames — the same
  frame centres the prosodic tracks use (:mod:`sernet.features.prosody`);
- power spectrum → 128 Slaney mel bands (``fmin_hz``..``fmax_hz``) → dB (``10 log10(max(S, 1e-10))``, no
  per-utterance ``top_db`` clipping, so a frame's value does not depend on the rest of the utterance);
- MFCC = orthonormal DCT-II of the 128 log-mel bands, first 40 coefficients (``librosa.feature.mfcc``);
- Δ and ΔΔ: Savitzky–Golay derivatives over 9 frames (``librosa.feature.delta``; edges by polynomial
  interpolation, or by edge repetition when the utterance has fewer than 9 frames).

The paper "compresses" the 128 bands to 40 by a *learned* projection: that is a model layer
(``ModelConfig.mel_projection_dim``), so the cache stores all 128 bands.

Explained in chapters/02_features.py.
"""

from __future__ import annotations

import functools
import warnings

import numpy as np

from sernet.config import FeatureConfig
from sernet.errors import ConfigError

AMIN = 1e-10  # power floor before the logarithm (-100 dB)
DELTA_WIDTH = 9  # frames in the Δ/ΔΔ regression window (HTK/Kaldi practice)


def _librosa():
    """``librosa``, imported without the "IProgress not found" warning tqdm.auto prints in notebooks
    (librosa imports pooch, which imports tqdm.auto, when a feature function is first used)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="IProgress not found")
        import librosa
        import librosa.util.files  # noqa: F401  (the import that pulls in pooch -> tqdm.auto)
    return librosa


def pre_emphasis(y: np.ndarray, coef: float) -> np.ndarray:
    """First-order high-pass ``y[n] - coef * y[n-1]`` (``y[0]`` kept), as float32.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
    coef : float
        0.97 in the paper.
    """
    y = np.asarray(y, dtype=np.float32)
    out = np.empty_like(y)
    if y.size:
        out[0] = y[0]
        out[1:] = y[1:] - np.float32(coef) * y[:-1]
    return out


def n_frames(n_samples: int, fcfg: FeatureConfig) -> int:
    """Number of centred frames of an ``n_samples``-long signal: ``1 + n_samples // hop_length``."""
    return 1 + int(n_samples) // fcfg.hop_length


def frame_times_s(n: int, fcfg: FeatureConfig) -> np.ndarray:
    """Centre time (seconds) of each of the ``n`` frames: ``k * hop / sample_rate``."""
    return np.arange(n) * fcfg.hop_length / fcfg.sample_rate_hz


def _check(fcfg: FeatureConfig) -> None:
    if fcfg.win_length > fcfg.n_fft:
        raise ConfigError(
            f"features.win_ms={fcfg.win_ms} gives {fcfg.win_length} samples > features.n_fft={fcfg.n_fft}; "
            "raise n_fft"
        )
    if fcfg.hop_length < 1:
        raise ConfigError(f"features.hop_ms={fcfg.hop_ms} is below one sample")


def log_mel_spectrogram(y: np.ndarray, fcfg: FeatureConfig) -> np.ndarray:
    """Log-mel spectrogram of the pre-emphasised signal, time first.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio at ``fcfg.sample_rate_hz``.
    fcfg : FeatureConfig

    Returns
    -------
    np.ndarray [shape=(1 + n // hop, n_mels), dtype=float32]
        Power in dB (floor -100 dB).
    """
    librosa = _librosa()
    _check(fcfg)
    with warnings.catch_warnings():  # a signal shorter than n_fft is fine: it is zero-padded (centred frames)
        warnings.filterwarnings("ignore", message=r"n_fft=\d+ is too large", category=UserWarning)
        s = _melspectrogram(y, fcfg)
    return librosa.power_to_db(s, ref=1.0, amin=AMIN, top_db=None).T.astype(np.float32)


@functools.lru_cache(maxsize=8)
def _mel_basis(sample_rate_hz: int, n_fft: int, n_mels: int, fmin_hz: float, fmax_hz: float) -> np.ndarray:
    """Slaney mel filterbank [n_mels, 1 + n_fft // 2] (built once per setting, not once per utterance)."""
    return _librosa().filters.mel(sr=sample_rate_hz, n_fft=n_fft, n_mels=n_mels, fmin=fmin_hz, fmax=fmax_hz,
                                  htk=False, norm="slaney")


def _melspectrogram(y: np.ndarray, fcfg: FeatureConfig) -> np.ndarray:
    """Mel power spectrogram [n_mels, T]: what ``librosa.feature.melspectrogram`` computes, filterbank cached."""
    stft = _librosa().stft(pre_emphasis(y, fcfg.pre_emphasis), n_fft=fcfg.n_fft, hop_length=fcfg.hop_length,
                           win_length=fcfg.win_length, window="hann", center=True, pad_mode="constant")
    power = stft.real**2 + stft.imag**2
    return _mel_basis(fcfg.sample_rate_hz, fcfg.n_fft, fcfg.n_mels, fcfg.fmin_hz, fcfg.fmax_hz) @ power


def mfcc_from_log_mel(log_mel: np.ndarray, fcfg: FeatureConfig) -> np.ndarray:
    """40 MFCCs + Δ + ΔΔ from a time-first log-mel spectrogram.

    Returns
    -------
    np.ndarray [shape=(T, 3 * n_mfcc), dtype=float32]
        Columns: ``mfcc_0..39``, ``mfcc_d_0..39``, ``mfcc_dd_0..39``.
    """
    librosa = _librosa()
    c = librosa.feature.mfcc(S=log_mel.T, n_mfcc=fcfg.n_mfcc, dct_type=2, norm="ortho")
    t = c.shape[1]
    mode = "interp" if t >= DELTA_WIDTH else "nearest"
    d = librosa.feature.delta(c, width=DELTA_WIDTH, order=1, mode=mode)
    dd = librosa.feature.delta(c, width=DELTA_WIDTH, order=2, mode=mode)
    return np.concatenate([c, d, dd], axis=0).T.astype(np.float32)


def spectral_features(y: np.ndarray, fcfg: FeatureConfig) -> tuple[np.ndarray, np.ndarray]:
    """MFCC block [T, 120] and log-mel block [T, 128] of ``y`` (one STFT for both).

    Examples
    --------
    >>> import numpy as np, librosa, sernet
    >>> fcfg = sernet.config.load("smoke").features
    >>> y = librosa.tone(220, sr=16000, duration=1.0)
    >>> mfcc, mel = spectral_features(y, fcfg)
    >>> mfcc.shape, mel.shape
    ((101, 120), (101, 128))
    """
    log_mel = log_mel_spectrogram(y, fcfg)
    return mfcc_from_log_mel(log_mel, fcfg), log_mel
