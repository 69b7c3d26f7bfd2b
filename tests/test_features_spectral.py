"""Spectral features: shapes, frame alignment, and equality with an independent numpy/scipy reference."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
import scipy.fft
import scipy.signal

import sernet.config
from sernet.errors import ConfigError
from sernet.features import layout, spectral

FCFG = sernet.config.load("smoke").features


def _signal(seconds: float = 1.0, sr: int = 16000, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * 180 * t) + 0.2 * np.sin(2 * np.pi * 1250 * t * (1 + 0.1 * t))
    return (y + 0.05 * rng.standard_normal(len(t))).astype(np.float32)


def _slaney_mel_filterbank(sr: int, n_fft: int, n_mels: int, fmin: float, fmax: float) -> np.ndarray:
    """Slaney's Auditory Toolbox mel filterbank, written out (linear below 1 kHz, log above, area-normalised)."""
    f_sp, min_log_hz, logstep = 200.0 / 3, 1000.0, np.log(6.4) / 27.0
    min_log_mel = min_log_hz / f_sp

    def hz_to_mel(f):
        f = np.asarray(f, dtype=np.float64)
        return np.where(f >= min_log_hz, min_log_mel + np.log(np.maximum(f, 1e-12) / min_log_hz) / logstep, f / f_sp)

    def mel_to_hz(m):
        return np.where(m >= min_log_mel, min_log_hz * np.exp(logstep * (m - min_log_mel)), f_sp * m)

    edges = mel_to_hz(np.linspace(hz_to_mel(fmin), hz_to_mel(fmax), n_mels + 2))
    freqs = np.linspace(0, sr / 2, n_fft // 2 + 1)
    w = np.zeros((n_mels, len(freqs)))
    for i in range(n_mels):
        lower = (freqs - edges[i]) / (edges[i + 1] - edges[i])
        upper = (edges[i + 2] - freqs) / (edges[i + 2] - edges[i + 1])
        w[i] = np.maximum(0, np.minimum(lower, upper)) * 2.0 / (edges[i + 2] - edges[i])
    return w


def _reference_log_mel(y: np.ndarray, fcfg) -> np.ndarray:
    y = np.asarray(y, dtype=np.float64)
    y = np.concatenate([y[:1], y[1:] - fcfg.pre_emphasis * y[:-1]])
    n_fft, hop, win = fcfg.n_fft, fcfg.hop_length, fcfg.win_length
    window = np.zeros(n_fft)
    left = (n_fft - win) // 2
    window[left:left + win] = scipy.signal.get_window("hann", win, fftbins=True)
    yp = np.pad(y, n_fft // 2)
    t = 1 + len(y) // hop
    frames = np.stack([yp[k * hop:k * hop + n_fft] for k in range(t)])
    power = np.abs(np.fft.rfft(frames * window, axis=1)) ** 2
    mel = power @ _slaney_mel_filterbank(fcfg.sample_rate_hz, n_fft, fcfg.n_mels, fcfg.fmin_hz, fcfg.fmax_hz).T
    return 10 * np.log10(np.maximum(mel, 1e-10))


@pytest.mark.parametrize("hop_ms", [10.0, 32.0])
@pytest.mark.parametrize("n", [400, 401, 16000, 35_123])
def test_frame_count_is_one_plus_n_over_hop(hop_ms, n):
    fcfg = dataclasses.replace(FCFG, hop_ms=hop_ms)
    y = _signal(2.5)[:n]
    mfcc, mel = spectral.spectral_features(y, fcfg)
    t = 1 + n // fcfg.hop_length
    assert mfcc.shape == (t, len(layout.MFCC_NAMES)) and mel.shape == (t, len(layout.MEL_NAMES))
    assert spectral.n_frames(n, fcfg) == t
    assert mfcc.dtype == np.float32 and np.all(np.isfinite(mfcc)) and np.all(np.isfinite(mel))


@pytest.mark.parametrize("hop_ms", [10.0, 32.0])
def test_log_mel_and_mfcc_equal_independent_reference(hop_ms):
    fcfg = dataclasses.replace(FCFG, hop_ms=hop_ms)
    y = _signal(1.2)
    mfcc, mel = spectral.spectral_features(y, fcfg)
    ref_mel = _reference_log_mel(y, fcfg)
    np.testing.assert_allclose(mel, ref_mel, rtol=0, atol=2e-3)  # dB
    ref_mfcc = scipy.fft.dct(ref_mel, type=2, norm="ortho", axis=1)[:, : fcfg.n_mfcc]
    np.testing.assert_allclose(mfcc[:, : fcfg.n_mfcc], ref_mfcc, rtol=0, atol=2e-2)


def test_deltas_equal_regression_formula_inside_the_utterance():
    y = _signal(1.0)
    mfcc, _ = spectral.spectral_features(y, FCFG)
    c, d, dd = mfcc[:, :40].astype(np.float64), mfcc[:, 40:80], mfcc[:, 80:]
    n = np.arange(-4, 5)
    # least-squares slope and 2 x the quadratic coefficient of a polynomial fit over 9 frames
    slope_w = n / np.sum(n * n)
    quad_w = 2 * np.linalg.pinv(np.stack([np.ones(9), n, n * n], axis=1))[2]
    for t in range(4, len(c) - 4):
        np.testing.assert_allclose(d[t], slope_w @ c[t - 4:t + 5], atol=1e-3)
        np.testing.assert_allclose(dd[t], quad_w @ c[t - 4:t + 5], atol=1e-3)


def test_very_short_signal_still_gives_finite_deltas():
    y = _signal(0.05)  # 5 frames < the 9-frame delta window
    mfcc, _ = spectral.spectral_features(y, FCFG)
    assert mfcc.shape == (6, 120) and np.all(np.isfinite(mfcc))


def test_pre_emphasis_definition():
    y = np.array([1.0, 2.0, 3.0], dtype=np.float32)
    np.testing.assert_allclose(spectral.pre_emphasis(y, 0.97), [1.0, 2.0 - 0.97, 3.0 - 1.94], rtol=1e-6)


def test_window_longer_than_fft_is_a_config_error():
    fcfg = dataclasses.replace(FCFG, win_ms=40.0)  # 640 samples > n_fft 512
    with pytest.raises(ConfigError, match="n_fft"):
        spectral.spectral_features(_signal(0.5), fcfg)
