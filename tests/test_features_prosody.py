"""Prosodic features on signals whose answer is known: tones, chirps, modulated tones, noise, silence."""

from __future__ import annotations

import dataclasses

import librosa
import numpy as np
import pytest

import sernet.config
from sernet.errors import AudioError
from sernet.features import extract_frame_features, layout, utterance_descriptors
from sernet.features.prosody import prosodic_features

FCFG = sernet.config.load("smoke").features
SR = FCFG.sample_rate_hz
F0 = layout.PROSODY_FRAME_NAMES.index("f0_st")
VOICED = layout.PROSODY_FRAME_NAMES.index("voiced")


def _voice(f0_hz: np.ndarray) -> np.ndarray:
    """A harmonic-rich 'voice' following the per-sample F0 track ``f0_hz``."""
    phase = 2 * np.pi * np.cumsum(f0_hz) / SR
    return (0.3 * np.sin(phase) + 0.15 * np.sin(2 * phase) + 0.08 * np.sin(3 * phase)).astype(np.float32)


@pytest.mark.parametrize("hop_ms", [10.0, 32.0])
@pytest.mark.parametrize("f0", [90.0, 220.0, 400.0])
def test_tone_f0_within_2_hz(f0, hop_ms):
    fcfg = dataclasses.replace(FCFG, hop_ms=hop_ms)
    y = _voice(np.full(SR, f0))
    frames, d = prosodic_features(y, fcfg)
    assert frames.shape == (1 + len(y) // fcfg.hop_length, 7)
    assert abs(d["f0_mean_hz"] - f0) < 2.0
    assert d["voiced_fraction"] > 0.85
    assert d["f0_std_st"] < 0.05 and d["hnr_db"] > 20


def test_exponential_chirp_slope_in_semitones_per_second():
    y = librosa.chirp(fmin=110, fmax=220, sr=SR, duration=1.0, linear=False).astype(np.float32)  # 12 st in 1 s
    d = utterance_descriptors(y * 0.5, FCFG)
    assert d["f0_slope_st_per_s"] == pytest.approx(12.0, rel=0.05)
    # 5th..95th percentile span of a uniform sweep over the voiced part
    assert d["f0_range_st"] == pytest.approx(0.9 * 12.0 * d["voiced_fraction"], abs=0.3)


def test_unvoiced_frames_are_zero_never_nan():
    rng = np.random.default_rng(0)
    y = np.concatenate([_voice(np.full(SR // 2, 150.0)), 0.1 * rng.standard_normal(SR // 2).astype(np.float32)])
    x = extract_frame_features(y, FCFG)
    assert np.all(np.isfinite(x))
    p = x[:, layout.group_slice("prosody")]
    unvoiced = p[:, VOICED] == 0
    assert unvoiced[len(p) // 2 + 5:].mean() > 0.9  # the noise half
    for name in ("f0_st", "f0_delta_st", "f0_rel_st", "harmonicity_db"):
        assert np.all(p[unvoiced, layout.PROSODY_FRAME_NAMES.index(name)] == 0)


def test_pause_fraction_and_silence_energy():
    y = np.concatenate([np.zeros(SR // 2, np.float32), _voice(np.full(SR, 150.0)), np.zeros(SR // 2, np.float32)])
    frames, d = prosodic_features(y, FCFG)
    assert d["pause_fraction"] == pytest.approx(0.5, abs=0.05)
    energy = frames[:, layout.PROSODY_FRAME_NAMES.index("energy_db")]
    assert energy[5] < -90 and energy[len(energy) // 2] > -20


def test_syllable_nuclei_count_of_a_modulated_voice():
    t = np.arange(2 * SR) / SR
    y = _voice(np.full(len(t), 140.0)) * (0.55 - 0.45 * np.cos(2 * np.pi * 4.0 * t)).astype(np.float32)
    d = utterance_descriptors(y, FCFG)
    assert d["n_syllables"] in (7, 8, 9)  # 8 bursts in 2 s
    assert d["speaking_rate_syl_per_s"] == pytest.approx(4.0, rel=0.15)


def test_shorter_than_praat_window_is_all_unvoiced_and_finite():
    y = _voice(np.full(int(0.03 * SR), 150.0))  # 30 ms: above the 25 ms minimum, below Praat's 40 ms window
    x = extract_frame_features(y, FCFG)
    d = utterance_descriptors(y, FCFG)
    assert np.all(np.isfinite(x)) and all(np.isfinite(v) for v in d.values())
    assert d["voiced_fraction"] == 0.0 and d["f0_mean_st"] == 0.0


def test_broadcast_utterance_columns_equal_descriptors():
    y = _voice(150.0 * 2 ** (np.linspace(0, 3, SR) / 12))
    x = extract_frame_features(y, FCFG)
    d = utterance_descriptors(y, FCFG)
    for name in layout.PROSODY_UTTERANCE_NAMES:
        col = x[:, layout.column(name)]
        assert np.all(col == col[0])
        np.testing.assert_allclose(col[0], d[name], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("y", "problem"),
    [
        (np.zeros(0, np.float32), "empty"),
        (np.zeros(SR, np.float32), "silent"),
        (np.full(SR, np.nan, np.float32), "non_finite"),
        (np.ones(100, np.float32) * 0.1, "too_short"),
        (np.zeros((SR, 2), np.float32), "not_mono"),
    ],
)
def test_bad_arrays_raise_audio_error(y, problem):
    with pytest.raises(AudioError) as err:
        extract_frame_features(y, FCFG)
    assert err.value.problem == problem
