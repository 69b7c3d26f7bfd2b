"""The extractor against the synthetic generator's ground truth (sernet.data.synthetic).

The generator records what it *realised* (not its targets): the F0 contour the glottal pulses follow, the
pulses' period and amplitude perturbation, the harmonic/aspiration energy ratio, syllables per second of
speech. Tolerances, measured on clean utterances (no background noise) of the smoke corpus:

==================  ==================================================================================
descriptor          tolerance (why)
==================  ==================================================================================
f0_mean_hz          ≥ 90 % of utterances within 2 %, all within 10 % (Praat octave errors are rare)
f0_std_st           ≥ 90 % within 0.25 st
f0_range_st         ≥ 90 % within 0.6 st (5th–95th percentile span on both sides)
f0_slope_st_per_s   ≥ 90 % within 0.3 st/s
speaking rate       ≥ 90 % within 10 % (syllable nuclei from energy peaks, pauses from energy)
jitter_local        all within 1 percentage point, median error ≤ 0.4 points: Praat reads pulses off
                    the filtered, noisy waveform; its per-utterance values barely rank like the truth
shimmer_local       median error ≤ 0.04; rank correlation ≥ 0.3 (Praat measures waveform peak amplitudes
                    after the vocal tract, the generator source amplitudes)
hnr_db              Praat reads 1–8 dB lower (median); rank correlation ≥ 0.5: jitter, shimmer and the
                    moving F0 also count as "noise" for a correlation-based HNR
==================  ==================================================================================
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy.stats import spearmanr

import sernet.config

synthetic = pytest.importorskip("sernet.data.synthetic")

N_UTTERANCES = 60


@pytest.fixture(scope="module")
def measured() -> pd.DataFrame:
    from sernet.features import utterance_descriptors

    # The utterances these tolerances were validated on: 1.5-3 s long (Praat's jitter needs enough periods;
    # the smoke corpus now also has 1.0 s utterances, whose jitter estimate is noisier).
    cfg = sernet.config.override(sernet.config.load("smoke"), {
        "synth.n_utterances": 640, "synth.n_speakers": 40, "synth.split_fractions": (0.8, 0.1, 0.1),
        "synth.min_duration_s": 1.5})
    rows = []
    for i in range(N_UTTERANCES):
        y, truth = synthetic.synthesize_utterance(i, cfg)
        snr = pd.to_numeric(pd.Series([truth.get("snr_db")]), errors="coerce").iloc[0]
        if np.isfinite(snr):
            continue  # noisy utterances: Praat's voice-quality measures then describe the noise too
        d = utterance_descriptors(y, cfg.features)
        rows.append({**{f"true_{k}": float(truth[k]) for k in synthetic.CUE_COLUMNS if k in truth},
                     **{f"ours_{k}": v for k, v in d.items()}})
    df = pd.DataFrame(rows)
    assert len(df) >= 30
    return df


def _within(df, true, ours, tol, rel=False):
    err = (df[ours] - df[true]).abs()
    if rel:
        err = err / df[true].abs()
    return float((err <= tol).mean())


def test_f0_mean(measured):
    assert _within(measured, "true_f0_mean_hz", "ours_f0_mean_hz", 0.02, rel=True) >= 0.9
    assert _within(measured, "true_f0_mean_hz", "ours_f0_mean_hz", 0.10, rel=True) == 1.0


@pytest.mark.parametrize(
    ("true", "ours", "tol"),
    [("f0_std_st", "f0_std_st", 0.25), ("f0_range_st", "f0_range_st", 0.6),
     ("f0_slope_st_per_s", "f0_slope_st_per_s", 0.3)],
)
def test_f0_shape_descriptors(measured, true, ours, tol):
    assert _within(measured, f"true_{true}", f"ours_{ours}", tol) >= 0.9


def test_speaking_rate(measured):
    assert _within(measured, "true_rate_syl_per_s", "ours_speaking_rate_syl_per_s", 0.10, rel=True) >= 0.9


def test_jitter(measured):
    err = (measured["ours_jitter_local"] - measured["true_jitter_local"]).abs()
    assert err.max() <= 0.01 and err.median() <= 0.004


def test_shimmer(measured):
    err = (measured["ours_shimmer_local"] - measured["true_shimmer_local"]).abs()
    assert err.median() <= 0.04
    assert spearmanr(measured["true_shimmer_local"], measured["ours_shimmer_local"])[0] >= 0.3


def test_hnr(measured):
    bias = float((measured["ours_hnr_db"] - measured["true_hnr_db"]).median())
    assert -8.0 <= bias <= -1.0
    assert spearmanr(measured["true_hnr_db"], measured["ours_hnr_db"])[0] >= 0.5
