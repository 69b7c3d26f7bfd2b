"""A deterministic synthetic emotional-speech corpus: a source–filter voice with known ground truth.

Every utterance is built from parts whose values are recorded, so features, attention and errors can be
checked against truth (no real corpus offers that). Explained in chapters/01_dataset_stats.py.

The voice
---------
* **Source.** A glottal flow-derivative pulse train (Rosenberg pulses, open phase 45 %, closing phase
  15 % of the period) placed at exact fractional times and evaluated analytically on the sample grid, so
  the period sequence is exactly known. Periods follow an F0 contour (speaker base F0 + emotion shift,
  declination/slope, Gaussian pitch accents on accented syllables, optional tremor, slow drift) and carry
  cycle-to-cycle jitter; pulse amplitudes follow the syllable energy envelope and carry shimmer.
* **Voice quality.** Aspiration noise (white, gated to the vowels) is mixed at an exact harmonics-to-noise
  ratio; a one-pole filter tilts the source spectrum (flatter = more high-frequency energy).
* **Filter.** Each syllable is an unvoiced fricative onset (band-passed noise) and a vowel: a cascade of
  five formant resonators (vowels /a e i o u ə/, scaled by the speaker's vocal-tract length).
* **Timing.** Syllables at a speaking rate, grouped into phrases separated by pauses; leading and
  trailing silence; energy envelope with louder accented syllables.
* **Channel.** Optional pink background noise at a recorded SNR; a -70 dBFS noise floor.

Emotions (:data:`EMOTION_CUES`) shift these parameters relative to the speaker's neutral voice with
overlapping distributions (directions from Juslin & Laukka 2003, Scherer 2003, Banse & Scherer 1996;
disgust, contempt and surprise are less studied and their rows are plausible choices). The paper's
confusions are built in: happy~surprise (high, rising, variable F0), sad~contempt (low arousal),
fear~surprise (high F0). Speakers differ more in base F0 than emotions shift it.

Ground truth (manifest columns)
-------------------------------
All values are measured from what was generated, not copied from targets:

``f0_mean_hz, f0_std_st, f0_range_st, f0_slope_st_per_s``
    The F0 contour the pulses follow (jitter excluded), sampled every ``cfg.features.hop_ms`` at frame
    times inside voiced spans (from the first to the last pulse of each vowel). ``f0_mean_hz`` is the mean
    in Hz; the others use semitones re 55 Hz (``12 * log2(f0 / 55)``): standard deviation, range = 95th
    minus 5th percentile, slope = least-squares line over time (st/s).
``jitter_local``
    Praat's definition on the generated pulses: mean absolute difference of consecutive periods divided
    by the mean period, over consecutive periods inside each vowel (the contour's own movement included;
    Praat's period range 0.1–20 ms and maximum period factor 1.3 applied).
``shimmer_local``
    The same on consecutive pulse amplitudes (source amplitudes, so the vowel envelope's ramps count;
    Praat's maximum amplitude factor 1.6 applied).
``hnr_db``
    10·log10 of the harmonic vs aspiration-noise energy in the vowels, both measured after the vocal-tract
    filter (exact by construction; Praat's cross-correlation HNR reads lower because jitter and shimmer
    also count as noise for it).
``rate_syl_per_s``
    Syllables per second of speech: number of syllables / (duration - all silence spans).
``tilt_db_per_oct``
    Least-squares slope of the voiced source's mean power density in the octave bands 250–500–1000–2000–
    4000 Hz (glottal pulses after the tilt filter, before the vocal tract), in dB per octave.
``level_dbfs``
    RMS of the speech (background noise excluded) over the non-silent samples, dB re full scale.
``snr_db``
    Speech power over the non-silent samples / background-noise power, in dB; empty = clean.
``silence_spans``, ``accent_times``
    JSON lists: ``[[start_s, end_s], ...]`` of leading/trailing silence and pauses, and the times (s) of
    pitch-accent peaks.
``blend_label, blend_weight``
    For ambiguous utterances, the second class mixed into the cue targets and its weight (else empty, 0).
``expressiveness``
    The speaker's scale on every emotion deviation (1 typical; atypical speakers ~0.45 or ~1.75).
``arousal, valence, dominance``
    Dimensional truth on MSP-Podcast's 1–7 scale (:func:`utterance_dimensions`): the class centroid
    (:data:`DIMENSION_CENTROIDS`, blended and scaled by expressiveness like the cues) plus linear functions
    of the utterance's own cue deviations (:data:`DIMENSION_LOADINGS`: arousal strongly, valence weakly)
    plus independent noise (:data:`DIMENSION_NOISE`). Cues and dimensions are jointly Gaussian within a
    class; Chapter 10 shows the mapping and why that reads as "dimensions drive cues" too.

Difficulty
----------
Intended: a simple classifier (standardise + logistic regression) on the ground-truth cues of unseen
speakers reaches a UAR well above chance (0.125) and well below 1, about 0.45–0.75. Measured (seed 0): 0.55
on raw cues and 0.63 on speaker-normalised cues for 3,000 utterances of 150 speakers; Chapter 1 measures it
on the configured corpus. ``cfg.synth.cue_spread`` scales every within-class spread (the difficulty knob).

Determinism: utterance ``i`` draws from ``SeedSequence(seed, spawn_key=(2, i))``, speaker ``k`` from
``spawn_key=(1, k)``, the corpus plan (labels, speakers, splits) from ``spawn_key=(0,)`` and the choice of
atypical speakers from ``spawn_key=(3,)`` and the dimensions' own noise from ``spawn_key=(4, i)``, so any
shard regenerates identically in any order on any number of workers.
"""

from __future__ import annotations

import functools
import json
import math
import multiprocessing
import os
import shutil
import signal as signal_module
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy import fft as sp_fft
from scipy import signal

from sernet.config import Config
from sernet.data.audio import write_wav
from sernet.data.manifest import DIMENSION_SCALE, DIMENSIONS, MANIFEST_NAME, SPLITS, write_manifest
from sernet.errors import ConfigError, SernetError
from sernet.labels import EMOTIONS
from sernet.progress import bar

GENERATOR_VERSION: int = 3
"""Bumped whenever the generated audio or ground truth changes (part of the corpus cache key).
3: arousal, valence and dominance columns (the audio, labels, speakers and splits of version 2 unchanged)."""

CORPUS_NAME = "synthetic"
CHUNK_SIZE = 64  # utterances per work unit / resume unit (fixed, so resuming never depends on workers)

GROUND_TRUTH_COLUMNS: tuple[str, ...] = (
    "f0_mean_hz",
    "f0_std_st",
    "f0_range_st",
    "f0_slope_st_per_s",
    "jitter_local",
    "shimmer_local",
    "hnr_db",
    "rate_syl_per_s",
    "snr_db",
    "silence_spans",
    "accent_times",
    "blend_label",
    "blend_weight",
    "expressiveness",
    "tilt_db_per_oct",
    "level_dbfs",
    "n_syllables",
)
MANIFEST_COLUMNS: tuple[str, ...] = (
    "path", "label", "speaker", "split", "duration_s", "sex", "corpus", *GROUND_TRUTH_COLUMNS,
    *DIMENSIONS, "index",
)
CUE_COLUMNS: tuple[str, ...] = (
    "f0_mean_hz", "f0_std_st", "f0_range_st", "f0_slope_st_per_s", "jitter_local", "shimmer_local",
    "hnr_db", "rate_syl_per_s", "tilt_db_per_oct", "level_dbfs",
)
"""The numeric ground-truth cues a classifier can use (Chapter 1 measures the corpus's difficulty on them)."""


@dataclass(frozen=True)
class EmotionCues:
    """How one emotion moves the voice away from the speaker's neutral (values at expressiveness 1).

    Additive fields are in the named unit; ``*_scale`` fields multiply (in log space, so a blend or an
    expressiveness factor interpolates geometrically).
    """

    f0_shift_st: float  # mean F0 level
    f0_range_scale: float  # pitch-accent size
    f0_slope_st_per_s: float  # added to the speaker's declination
    accent_peak: float  # where in the vowel the accent peaks (0 early/falling .. 1 late/rising)
    tremor_st: float  # F0 tremor depth (5-7 Hz)
    level_db: float  # intensity
    level_var_db: float  # syllable-to-syllable intensity variation (accent boost and spread)
    rate_scale: float  # speaking rate
    pause_scale: float  # pause frequency and length
    tilt_db_per_oct: float  # spectral tilt change (+ = flatter, more high-frequency energy)
    jitter_scale: float
    shimmer_scale: float
    hnr_db: float  # aspiration noise (- = breathier)


# Directions from shared/design/synthetic-voice.md (Juslin & Laukka 2003; Scherer 2003; Banse & Scherer 1996).
EMOTION_CUES: dict[str, EmotionCues] = {
    "angry": EmotionCues(3.0, 1.5, 0.5, 0.7, 0.0, 6.0, 4.0, 1.15, 0.8, 3.5, 1.3, 1.2, -2.0),
    "happy": EmotionCues(2.5, 1.6, 1.2, 0.7, 0.0, 3.0, 3.5, 1.1, 0.9, 2.0, 1.0, 1.0, 0.0),
    "sad": EmotionCues(-2.0, 0.55, -1.0, 0.3, 0.0, -6.0, 1.5, 0.78, 1.6, -4.0, 1.35, 1.3, -4.0),
    "neutral": EmotionCues(0.0, 1.0, 0.0, 0.5, 0.0, 0.0, 2.5, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0),
    "fear": EmotionCues(4.0, 0.9, 1.0, 0.7, 0.8, -1.0, 2.0, 1.15, 1.2, -1.5, 1.7, 1.4, -3.0),
    "disgust": EmotionCues(-1.5, 1.25, -1.0, 0.3, 0.0, 0.0, 2.5, 0.85, 1.25, 0.0, 1.3, 1.3, -3.0),
    "surprise": EmotionCues(4.0, 1.8, 2.5, 0.8, 0.0, 3.0, 3.5, 1.0, 1.0, 2.0, 1.0, 1.0, 0.0),
    "contempt": EmotionCues(-1.5, 0.65, -0.8, 0.3, 0.0, -3.0, 1.5, 0.85, 1.3, -2.5, 1.0, 1.0, -0.5),
}

# Within-class spread of each cue (multiplied by cfg.synth.cue_spread): comparable to class differences.
CUE_SPREAD = {
    "f0_shift_st": 1.5,
    "log_range": 0.3,
    "slope": 1.0,
    "level_db": 2.5,
    "log_rate": 0.1,
    "log_pause": 0.3,
    "tilt_db_per_oct": 1.5,
    "log_jitter": 0.25,
    "log_shimmer": 0.2,
    "hnr_db": 2.0,
}

# Dimensional truth (arousal, valence, dominance on MSP-Podcast's 1-7 rating scale, 4 = neutral): class
# centroids placed after the PAD ratings of emotion terms (Russell & Mehrabian 1977) and the circumplex
# (Russell 1980), with arousal ordered as this generator's own level / F0 / rate profiles order the classes
# (Juslin & Laukka 2003; Scherer 2003: vocal cues mark arousal far better than valence).
DIMENSION_CENTROIDS: dict[str, tuple[float, float, float]] = {  # (arousal, valence, dominance)
    "angry": (6.0, 2.5, 5.2),
    "happy": (5.4, 6.3, 5.0),
    "sad": (2.8, 2.3, 2.9),
    "neutral": (4.0, 4.0, 4.0),
    "fear": (5.6, 2.3, 2.7),
    "disgust": (4.2, 2.4, 4.6),
    "surprise": (5.6, 5.0, 3.7),
    "contempt": (3.4, 2.9, 5.0),
}
DIMENSION_NEUTRAL = 4.0  # the scale's midpoint: expressiveness scales a centroid's distance from it
# Within-class deviations: scale points per standard deviation of the utterance's own cue deviations
# (the standardised ``spread_draw`` values: F0 level, pitch range, intensity, speaking rate), plus
# independent noise (the part no cue carries). Arousal is mostly cued, valence barely, dominance partly.
DIMENSION_LOADINGS: dict[str, dict[str, float]] = {
    "arousal": {"f0_shift_st": 0.25, "log_range": 0.1, "level_db": 0.35, "log_rate": 0.2},
    "valence": {"f0_shift_st": 0.05, "log_range": 0.1, "level_db": 0.0, "log_rate": 0.0},
    "dominance": {"f0_shift_st": -0.1, "log_range": 0.0, "level_db": 0.25, "log_rate": 0.05},
}
DIMENSION_NOISE: dict[str, float] = {"arousal": 0.2, "valence": 0.6, "dominance": 0.4}


def utterance_dimensions(label: str, other: str | None, weight: float, expressiveness: float,
                         cue_z: dict[str, float], rng: np.random.Generator) -> dict[str, float]:
    """Arousal, valence and dominance of one utterance (1-7), jointly Gaussian with its cue deviations.

    ``centroid = neutral + expressiveness · (blend of the class centroids − neutral)``; each dimension adds
    ``Σ_k loading_k · z_k`` over the utterance's standardised cue deviations ``cue_z`` and independent
    noise drawn from ``rng`` (a stream of its own, so the audio's draws are untouched), then is clipped to
    the scale.

    Examples
    --------
    >>> d = utterance_dimensions("angry", None, 0.0, 1.0, {}, np.random.default_rng(0))
    >>> sorted(d), all(1 <= v <= 7 for v in d.values())
    (['arousal', 'dominance', 'valence'], True)
    """
    a = np.asarray(DIMENSION_CENTROIDS[label])
    b = np.asarray(DIMENSION_CENTROIDS[other]) if other else a
    centroid = DIMENSION_NEUTRAL + expressiveness * ((1 - weight) * a + weight * b - DIMENSION_NEUTRAL)
    out = {}
    for d, name in enumerate(DIMENSIONS):
        cued = sum(w * cue_z.get(k, 0.0) for k, w in DIMENSION_LOADINGS[name].items())
        value = centroid[d] + cued + rng.normal(0.0, DIMENSION_NOISE[name])
        out[name] = float(np.clip(value, *DIMENSION_SCALE))
    return out


# Vowel formants F1-F4 (Hz) of an adult male (Peterson & Barney 1952 averages); F5 fixed.
VOWELS: dict[str, tuple[float, ...]] = {
    "a": (730.0, 1090.0, 2440.0, 3400.0),
    "e": (530.0, 1840.0, 2480.0, 3500.0),
    "i": (270.0, 2290.0, 3010.0, 3700.0),
    "o": (570.0, 840.0, 2410.0, 3400.0),
    "u": (300.0, 870.0, 2240.0, 3300.0),
    "@": (500.0, 1500.0, 2500.0, 3500.0),
}
F5_HZ = 4500.0
FORMANT_BANDWIDTHS_HZ = (80.0, 100.0, 150.0, 200.0, 250.0)
SPEAKER_F0_HZ = {"m": (85.0, 140.0), "f": (165.0, 255.0)}
SPEAKER_VTL_SCALE = {"m": 1.0, "f": 1.17}  # formant scale (shorter vocal tract: higher formants)
F0_LIMITS_HZ = (60.0, 500.0)
ST_REF_HZ = 55.0
OPEN_PHASE, CLOSING_PHASE = 0.45, 0.15  # Rosenberg pulse, fractions of the period
TILT_BANDS_HZ = (250.0, 500.0, 1000.0, 2000.0, 4000.0)
NOISE_FLOOR_DBFS = -70.0
EDGE_SILENCE_S = (0.05, 0.15)
PAUSE_RATE_PER_S = 0.3  # neutral pauses per second of utterance
PAUSE_S = (0.12, 0.3)
CONSONANT_S = (0.03, 0.06)
FRICATIVE_BAND_HZ = (2500.0, 6500.0)
TAIL_S = 0.025  # vocal-tract ringing kept after each vowel
ACCENT_PROBABILITY = 0.35
ATYPICAL_EXPRESSIVENESS = ((0.3, 0.6), (1.5, 2.0))  # shrunken / exaggerated ranges
TYPICAL_EXPRESSIVENESS = (0.75, 1.25)  # clip range of the typical speakers' 1 ± 0.1
PEAK_LIMIT = 0.95
ENVELOPE_EDGE, ENVELOPE_ATTACK_S, ENVELOPE_RELEASE_S = 0.3, 0.03, 0.04  # voicing starts/ends at 30 %
PRAAT_PERIOD_RANGE_S = (1e-4, 0.02)
PRAAT_MAX_PERIOD_FACTOR, PRAAT_MAX_AMPLITUDE_FACTOR = 1.3, 1.6


# --------------------------------------------------------------------------------------------------------
# Corpus plan: labels, speakers and splits (cheap, whole corpus at once)
# --------------------------------------------------------------------------------------------------------
def _rng(seed: int, *key: int) -> np.random.Generator:
    return np.random.default_rng(np.random.SeedSequence(seed, spawn_key=tuple(key)))


def _largest_remainder(total: int, weights: np.ndarray) -> np.ndarray:
    """Integer counts summing to ``total`` proportional to ``weights`` (Hamilton's method)."""
    w = np.asarray(weights, dtype=float)
    exact = total * w / w.sum()
    counts = np.floor(exact).astype(int)
    order = np.argsort(-(exact - counts), kind="stable")
    counts[order[: total - counts.sum()]] += 1
    return counts


def _check_config(cfg: Config) -> None:
    s = cfg.synth
    problems = []
    if s.n_utterances < 1:
        problems.append(f"n_utterances={s.n_utterances} must be >= 1")
    if s.n_speakers < len(SPLITS):
        problems.append(f"n_speakers={s.n_speakers} must be >= {len(SPLITS)} (one per split)")
    if len(s.class_weights) != len(EMOTIONS) or min(s.class_weights) < 0 or sum(s.class_weights) <= 0:
        problems.append(f"class_weights needs {len(EMOTIONS)} non-negative weights, got {s.class_weights}")
    if not 0 < s.min_duration_s <= s.max_duration_s:
        problems.append(f"durations need 0 < min_duration_s <= max_duration_s, got {s.min_duration_s}, "
                        f"{s.max_duration_s}")
    if len(s.split_fractions) != len(SPLITS) or min(s.split_fractions) < 0:
        problems.append(f"split_fractions needs {len(SPLITS)} non-negative values, got {s.split_fractions}")
    if problems:
        raise ConfigError("synth config: " + "; ".join(problems))


@functools.lru_cache(maxsize=8)
def _plan(cfg_synth) -> pd.DataFrame:
    s = cfg_synth
    rng = _rng(s.seed, 0)
    spk_order = rng.permutation(s.n_speakers)
    spk_counts = _largest_remainder(s.n_speakers, np.asarray(s.split_fractions))
    spk_counts = np.maximum(spk_counts, 1)
    spk_counts[0] = s.n_speakers - spk_counts[1:].sum()
    utt_counts = _largest_remainder(s.n_utterances, np.asarray(s.split_fractions))
    rows_label, rows_spk, rows_split = [], [], []
    spk_start = 0
    for split, n_spk, n_utt in zip(SPLITS, spk_counts, utt_counts, strict=True):
        speakers = spk_order[spk_start: spk_start + n_spk]
        spk_start += n_spk
        counts = _largest_remainder(int(n_utt), np.asarray(s.class_weights))
        labels = rng.permutation(np.repeat(np.arange(len(EMOTIONS)), counts))
        rows_label.append(labels)
        rows_spk.append(speakers[np.arange(n_utt) % n_spk])
        rows_split.append(np.full(n_utt, SPLITS.index(split)))
    order = rng.permutation(s.n_utterances)
    label = np.concatenate(rows_label)[order]
    spk = np.concatenate(rows_spk)[order]
    split = np.concatenate(rows_split)[order]
    return pd.DataFrame({"label": label, "speaker": spk, "split": split})


def corpus_plan(cfg: Config) -> pd.DataFrame:
    """Label, speaker and split of every utterance index, before any audio is made.

    Splits are speaker-independent (speakers divided ``cfg.synth.split_fractions``), utterances per split
    follow the same fractions, and class counts inside each split follow ``cfg.synth.class_weights``
    exactly (largest-remainder rounding), like the paper's Table 2.2.

    Returns
    -------
    pd.DataFrame
        Index = utterance index; columns ``label`` (str), ``speaker`` (str), ``split`` (str).
    """
    _check_config(cfg)
    p = _plan(cfg.synth)
    return pd.DataFrame(
        {
            "label": np.asarray(EMOTIONS)[p["label"].to_numpy()],
            "speaker": [_speaker_id(k) for k in p["speaker"]],
            "split": np.asarray(SPLITS)[p["split"].to_numpy()],
        }
    )


def _speaker_id(k: int) -> str:
    return f"spk{int(k):04d}"


@dataclass(frozen=True)
class Speaker:
    """One synthetic speaker's neutral voice."""

    id: str
    sex: str
    f0_hz: float
    vtl_scale: float
    rate_syl_per_s: float
    accent_st: float
    declination_st_per_s: float
    jitter: float
    shimmer: float
    hnr_db: float
    tilt_db_per_oct: float
    level_dbfs: float
    expressiveness: float


@functools.lru_cache(maxsize=8)
def _atypical(seed: int, n_speakers: int, fraction: float) -> dict[int, int]:
    """Exactly round(fraction * n_speakers) atypical speakers -> 0 (shrunken) or 1 (exaggerated), alternating."""
    chosen = _rng(seed, 3).permutation(n_speakers)[: int(round(fraction * n_speakers))]
    return {int(k): i % 2 for i, k in enumerate(chosen)}


@functools.lru_cache(maxsize=4096)
def speaker(k: int, seed: int, n_speakers: int, atypical_fraction: float) -> Speaker:
    """Speaker ``k`` of a corpus of ``n_speakers`` with ``seed`` (deterministic).

    Exactly ``round(atypical_fraction * n_speakers)`` speakers are atypical, half with a shrunken and half
    with an exaggerated expressiveness (:data:`ATYPICAL_EXPRESSIVENESS`); the others have 1 ± 0.1.
    """
    rng = _rng(seed, 1, k)
    sex = "f" if rng.random() < 0.5 else "m"
    lo, hi = SPEAKER_F0_HZ[sex]
    f0 = float(np.exp(rng.uniform(np.log(lo), np.log(hi))))
    kind = _atypical(seed, n_speakers, atypical_fraction).get(k)
    if kind is not None:
        expressiveness = float(rng.uniform(*ATYPICAL_EXPRESSIVENESS[kind]))
    else:
        expressiveness = float(np.clip(rng.normal(1.0, 0.1), TYPICAL_EXPRESSIVENESS[0], TYPICAL_EXPRESSIVENESS[1]))
    return Speaker(
        id=_speaker_id(k),
        sex=sex,
        f0_hz=f0,
        vtl_scale=float(SPEAKER_VTL_SCALE[sex] * rng.normal(1.0, 0.04)),
        rate_syl_per_s=float(4.5 * np.exp(rng.normal(0, 0.1))),
        accent_st=float(2.5 * np.exp(rng.normal(0, 0.15))),
        declination_st_per_s=float(rng.normal(-1.5, 0.4)),
        jitter=float(0.006 * np.exp(rng.normal(0, 0.25))),
        shimmer=float(0.04 * np.exp(rng.normal(0, 0.2))),
        hnr_db=float(rng.normal(20.0, 2.0)),
        tilt_db_per_oct=float(rng.normal(0.0, 1.0)),
        level_dbfs=float(rng.normal(-26.0, 2.0)),
        expressiveness=expressiveness,
    )


# --------------------------------------------------------------------------------------------------------
# One utterance
# --------------------------------------------------------------------------------------------------------
def _mix_cues(label: str, other: str | None, weight: float, e: float) -> dict[str, float]:
    """The emotion's deviations (blended with ``other`` at ``weight``), scaled by expressiveness ``e``.

    Returns additive deviations; scale fields are returned as logs.
    """
    out = {}
    for name in EmotionCues.__dataclass_fields__:
        a = getattr(EMOTION_CUES[label], name)
        b = getattr(EMOTION_CUES[other], name) if other else a
        if name.endswith("_scale"):
            out[name] = e * ((1 - weight) * math.log(a) + weight * math.log(b))
        elif name == "accent_peak":
            out[name] = (1 - weight) * a + weight * b
        else:
            out[name] = e * ((1 - weight) * a + weight * b)
    return out


@functools.lru_cache(maxsize=8)
def _tilt_curve(fs: int) -> tuple[np.ndarray, np.ndarray]:
    """Octave-band slope (dB/oct) of the tilt filter for a grid of its coefficient c (monotonic)."""
    cs = np.linspace(-0.9, 0.9, 181)
    slopes = []
    for c in cs:
        f = np.linspace(TILT_BANDS_HZ[0], TILT_BANDS_HZ[-1], 2000)
        _, h = signal.freqz(*_tilt_filter(c), worN=f, fs=fs)
        slopes.append(_band_slope(f, np.abs(h) ** 2))
    slopes = np.asarray(slopes)
    order = np.argsort(slopes)
    return slopes[order], cs[order]


def _tilt_filter(c: float) -> tuple[list[float], list[float]]:
    """(b, a) of the source tilt filter: one pole at c (> 0, steeper) or one zero at -c (< 0, flatter)."""
    return ([1.0], [1.0, -c]) if c >= 0 else ([1.0, c], [1.0])


def _band_slope(freqs: np.ndarray, power: np.ndarray) -> float:
    """Least-squares slope (dB per octave) of the mean power density in the octave bands."""
    means = []
    for lo, hi in zip(TILT_BANDS_HZ[:-1], TILT_BANDS_HZ[1:], strict=True):
        sel = (freqs >= lo) & (freqs < hi)
        means.append(10 * np.log10(np.mean(power[sel]) + 1e-30))
    return float(np.polyfit(np.arange(len(means)), means, 1)[0])


def _resonators(formants: np.ndarray, fs: int) -> np.ndarray:
    """A cascade of unit-DC-gain two-pole resonators as second-order sections."""
    sos = np.zeros((len(formants), 6))
    for i, (f, bw) in enumerate(zip(formants, FORMANT_BANDWIDTHS_HZ, strict=True)):
        r = math.exp(-math.pi * bw / fs)
        a1, a2 = -2 * r * math.cos(2 * math.pi * f / fs), r * r
        sos[i] = (1 + a1 + a2, 0.0, 0.0, 1.0, a1, a2)
    return sos


def _rosenberg_derivative(tau: np.ndarray, period: np.ndarray) -> np.ndarray:
    """Glottal flow derivative of a Rosenberg pulse at times ``tau`` after its start (normalised so the
    closing peak is -pi/2 for every period)."""
    tp, tn = OPEN_PHASE * period, CLOSING_PHASE * period
    out = np.zeros_like(tau)
    rise = (tau >= 0) & (tau <= tp)
    fall = (tau > tp) & (tau <= tp + tn)
    out[rise] = (tn / (2 * tp) * np.pi * np.sin(np.pi * tau / tp))[rise]
    out[fall] = (-np.pi / 2 * np.sin(np.pi * (tau - tp) / (2 * tn)))[fall]
    return out


@dataclass(frozen=True)
class UtteranceDetails:
    """Everything :func:`synthesize_details` knows about one utterance, beyond the manifest row."""

    y: np.ndarray  # float32 waveform
    params: dict  # the manifest row (without ``path``)
    frame_times_s: np.ndarray  # voiced frame times used for the F0 ground truth
    frame_f0_hz: np.ndarray  # the F0 contour at those frames
    vowel_spans_s: np.ndarray  # [n_syllables, 2] start/end of each vowel (voiced part)
    syllable_starts_s: np.ndarray  # start of each syllable (its unvoiced onset)
    pulse_times_s: np.ndarray  # glottal pulse onsets
    clean: np.ndarray  # the speech before background noise and floor (float64, same scale as y)


def synthesize_utterance(index: int, cfg: Config) -> tuple[np.ndarray, dict]:
    """Synthesize utterance ``index`` of the corpus described by ``cfg``.

    Parameters
    ----------
    index : int
        Utterance index in ``[0, cfg.synth.n_utterances)``; the result depends only on
        ``(cfg.synth, cfg.features.sample_rate_hz, index)``.
    cfg : Config
        Uses ``cfg.synth`` and ``cfg.features.sample_rate_hz`` (and ``hop_ms`` for the F0 frames).

    Returns
    -------
    y : np.ndarray [shape=(n,), dtype=float32]
        The waveform at ``cfg.features.sample_rate_hz``.
    params : dict
        ``label, speaker, split, duration_s, sex, corpus``, every ground-truth column (see the module
        docstring for the exact definitions) and ``index``.

    Examples
    --------
    >>> import sernet
    >>> cfg = sernet.config.load("smoke")
    >>> y, p = synthesize_utterance(0, cfg)
    >>> y.dtype, round(len(y) / cfg.features.sample_rate_hz, 3) == round(p["duration_s"], 3)
    (dtype('float32'), True)
    """
    d = synthesize_details(index, cfg)
    return d.y, d.params


def synthesize_details(index: int, cfg: Config) -> UtteranceDetails:
    """:func:`synthesize_utterance` plus frame-level truth (F0 contour, vowel spans, pulses, clean speech).

    For plots and tests; the waveform and parameters are identical to :func:`synthesize_utterance`'s.
    """
    _check_config(cfg)
    s = cfg.synth
    if not 0 <= index < s.n_utterances:
        raise ConfigError(f"utterance index {index} outside [0, {s.n_utterances}) (synth.n_utterances)")
    fs = int(cfg.features.sample_rate_hz)
    plan = _plan(s)
    label = EMOTIONS[int(plan["label"].iat[index])]
    split = SPLITS[int(plan["split"].iat[index])]
    spk = speaker(int(plan["speaker"].iat[index]), s.seed, s.n_speakers, s.atypical_speaker_fraction)
    rng = _rng(s.seed, 2, index)
    spread = float(s.cue_spread)

    # -- what this utterance expresses ------------------------------------------------------------------
    other, weight = None, 0.0
    if rng.random() < s.blend_fraction:
        choices = [e for e in EMOTIONS if e != label]
        other = choices[int(rng.integers(len(choices)))]
        weight = float(rng.uniform(0.25, 0.5))
    cue = _mix_cues(label, other, weight, spk.expressiveness)

    cue_z: dict[str, float] = {}  # standardised cue deviations (the dimensions follow them)

    def spread_draw(name: str) -> float:
        value = float(rng.normal(0.0, CUE_SPREAD[name] * spread))
        cue_z[name] = value / (CUE_SPREAD[name] * spread) if spread > 0 else 0.0
        return value

    f0_shift = cue["f0_shift_st"] + spread_draw("f0_shift_st")
    accent_st = spk.accent_st * math.exp(cue["f0_range_scale"] + spread_draw("log_range"))
    slope = spk.declination_st_per_s + cue["f0_slope_st_per_s"] + spread_draw("slope")
    level_target = spk.level_dbfs + cue["level_db"] + spread_draw("level_db")
    rate = float(np.clip(spk.rate_syl_per_s * math.exp(cue["rate_scale"] + spread_draw("log_rate")), 2.0, 7.0))
    pause_scale = math.exp(cue["pause_scale"] + spread_draw("log_pause"))
    tilt_delta = spk.tilt_db_per_oct + cue["tilt_db_per_oct"] + spread_draw("tilt_db_per_oct")
    jitter_target = float(np.clip(spk.jitter * math.exp(cue["jitter_scale"] + spread_draw("log_jitter")),
                                  0.001, 0.05))
    shimmer_target = float(np.clip(spk.shimmer * math.exp(cue["shimmer_scale"] + spread_draw("log_shimmer")),
                                   0.005, 0.2))
    hnr_target = float(np.clip(spk.hnr_db + cue["hnr_db"] + spread_draw("hnr_db"), 3.0, 35.0))
    level_var = max(cue["level_var_db"], 0.5)  # dB: accent boost, and twice the syllable spread
    tremor = cue["tremor_st"]

    # -- timing: silences, pauses, syllables ------------------------------------------------------------
    duration = float(rng.uniform(s.min_duration_s, s.max_duration_s))
    n = int(round(duration * fs))
    duration = n / fs
    lead, trail = rng.uniform(*EDGE_SILENCE_S, size=2)
    n_pauses = int(rng.poisson(PAUSE_RATE_PER_S * pause_scale * duration))
    pauses = rng.uniform(*PAUSE_S, size=n_pauses) * min(pause_scale, 2.0)
    while n_pauses and pauses.sum() > 0.3 * duration:
        n_pauses -= 1
        pauses = pauses[:n_pauses]
    speech = duration - lead - trail - pauses.sum()
    n_syl = max(2, int(round(speech * rate)))
    n_pauses = min(n_pauses, n_syl - 1)
    pauses = pauses[:n_pauses]
    speech = duration - lead - trail - pauses.sum()
    syl_dur = rng.uniform(0.7, 1.3, size=n_syl)
    syl_dur *= speech / syl_dur.sum()
    pause_after = np.zeros(n_syl)
    if n_pauses:
        where = np.sort(rng.choice(np.arange(n_syl - 1), size=n_pauses, replace=False))
        pause_after[where] = pauses
    starts = lead + np.concatenate([[0.0], np.cumsum(syl_dur + pause_after)[:-1]])
    cons = np.clip(rng.uniform(0.2, 0.35, size=n_syl) * syl_dur, CONSONANT_S[0], CONSONANT_S[1])
    cons = np.minimum(cons, syl_dur - 0.05)
    v_start, v_end = starts + cons, starts + syl_dur
    silence = [[0.0, float(lead)]]
    silence += [[float(v_end[i]), float(v_end[i] + pause_after[i])] for i in np.flatnonzero(pause_after)]
    silence.append([float(duration - trail), float(duration)])
    rate_realised = n_syl / (duration - sum(b - a for a, b in silence))

    # -- F0 contour ----------------------------------------------------------------------------------------
    accented = rng.random(n_syl) < ACCENT_PROBABILITY
    if not accented.any():
        accented[int(rng.integers(n_syl))] = True
    peak_pos = np.clip(cue["accent_peak"] + rng.normal(0, 0.1, size=n_syl), 0.1, 0.9)
    accent_t = (v_start + peak_pos * (v_end - v_start))[accented]
    accent_amp = accent_st * rng.uniform(0.7, 1.3, size=accented.sum())
    accent_w = 0.35 * syl_dur[accented]
    base_st = 12 * math.log2(spk.f0_hz / ST_REF_HZ) + f0_shift
    t_mid = 0.5 * (lead + duration - trail)
    drift = rng.uniform(0.1, 0.25, size=2), rng.uniform(0, 2 * np.pi, size=2), rng.normal(0, 0.3, size=2)
    tremor_hz, tremor_phase = rng.uniform(5.0, 7.0), rng.uniform(0, 2 * np.pi)
    lo_st, hi_st = (12 * math.log2(f / ST_REF_HZ) for f in F0_LIMITS_HZ)

    def f0_st(t: np.ndarray) -> np.ndarray:
        st = base_st + slope * (t - t_mid)
        st = st + (accent_amp * np.exp(-0.5 * ((t[:, None] - accent_t) / accent_w) ** 2)).sum(axis=1)
        st = st + tremor * np.sin(2 * np.pi * tremor_hz * t + tremor_phase)
        st = st + (drift[2] * np.sin(2 * np.pi * drift[0] * t[:, None] + drift[1])).sum(axis=1)
        return np.clip(st, lo_st, hi_st)

    # -- energy envelope (per syllable peak, ramps) and pulses -------------------------------------------
    syl_db = rng.normal(0.0, 0.5 * level_var, size=n_syl) + np.where(accented, level_var, 0.0)
    syl_amp = 10 ** (syl_db / 20)
    sigma_j = jitter_target * math.sqrt(math.pi) / 2
    sigma_s = shimmer_target * math.sqrt(math.pi) / 2
    pulse_t, pulse_T, pulse_A, pulse_v = [], [], [], []
    voiced_frames: list[np.ndarray] = []
    hop = cfg.features.hop_ms / 1000.0
    grid_dt = 0.0005  # the contour is smooth: pulses read it from a 0.5 ms grid (linear interpolation)
    grid_hz = (ST_REF_HZ * 2 ** (f0_st(np.arange(int(duration / grid_dt) + 2) * grid_dt) / 12)).tolist()
    for i in range(n_syl):
        t = v_start[i]
        ts = []
        while t < v_end[i]:
            ts.append(t)
            k, frac = divmod(t / grid_dt, 1.0)
            k = int(k)
            t += 1.0 / (grid_hz[k] + frac * (grid_hz[k + 1] - grid_hz[k]))
        ts = np.asarray(ts)
        if ts.size < 3:
            continue
        T = np.diff(np.append(ts, t)) * (1 + sigma_j * rng.standard_normal(ts.size))
        T = np.maximum(T, 0.5 / F0_LIMITS_HZ[1])
        ts = v_start[i] + np.concatenate([[0.0], np.cumsum(T)[:-1]])
        keep = ts + T <= v_end[i] + 0.5 * T
        ts, T = ts[keep], T[keep]
        ramp = _vowel_envelope(ts, v_start[i], v_end[i])
        A = syl_amp[i] * ramp * np.maximum(1 + sigma_s * rng.standard_normal(ts.size), 0.1)
        pulse_t.append(ts)
        pulse_T.append(T)
        pulse_A.append(A)
        pulse_v.append(np.full(ts.size, i))
        fr = np.arange(math.ceil(ts[0] / hop), math.floor(ts[-1] / hop) + 1) * hop
        voiced_frames.append(fr)
    pt, pT, pA, pv = (np.concatenate(x) for x in (pulse_t, pulse_T, pulse_A, pulse_v))

    # -- realised ground truth from the pulses -----------------------------------------------------------
    jitter_real, shimmer_real = _praat_local_perturbation(pT, pA, pv)
    frames = np.concatenate(voiced_frames)
    st_frames = f0_st(frames)
    f0_hz_frames = ST_REF_HZ * 2 ** (st_frames / 12)
    p5, p95 = np.percentile(st_frames, [5, 95])

    # -- render the source ------------------------------------------------------------------------------
    length = int(math.ceil((OPEN_PHASE + CLOSING_PHASE) * pT.max() * fs)) + 2
    first = np.ceil(pt * fs).astype(np.int64)
    idx = first[:, None] + np.arange(length)[None, :]
    tau = idx / fs - pt[:, None]
    vals = _rosenberg_derivative(tau, pT[:, None]) * pA[:, None]
    ok = idx < n
    harmonic = np.bincount(idx[ok], weights=vals[ok], minlength=n)[:n]
    tilt_slopes, c_grid = _tilt_curve(fs)
    # The base source's own tilt is fixed; the one-pole filter adds tilt_delta.
    c = float(np.interp(tilt_delta, tilt_slopes, c_grid))
    harmonic = signal.lfilter(*_tilt_filter(c), harmonic)
    n_fft = sp_fft.next_fast_len(n, real=True)
    spec = np.abs(sp_fft.rfft(harmonic, n_fft)) ** 2
    tilt_real = _band_slope(np.fft.rfftfreq(n_fft, 1 / fs), spec)

    voiced_mask = np.zeros(n, dtype=bool)
    env = np.zeros(n)
    for i in range(n_syl):
        a, b = int(round(v_start[i] * fs)), int(round(v_end[i] * fs))
        voiced_mask[a:b] = True
        env[a:b] = syl_amp[i] * _vowel_envelope(np.arange(a, b) / fs, v_start[i], v_end[i])
    aspiration = rng.standard_normal(n) * env

    # -- vocal tract: one formant cascade per vowel -------------------------------------------------------
    vowels = list(VOWELS)
    h_out = np.zeros(n)
    a_out = np.zeros(n)
    tail = int(TAIL_S * fs)
    nyq_guard = 0.45 * fs
    for i in range(n_syl):
        formants = np.array([*VOWELS[vowels[int(rng.integers(len(vowels)))]], F5_HZ]) * spk.vtl_scale
        formants = np.minimum(formants * np.exp(rng.normal(0, 0.05, size=formants.size)), nyq_guard)
        sos = _resonators(formants, fs)
        a, b = int(math.floor(v_start[i] * fs)), min(n, int(math.ceil(v_end[i] * fs)) + tail)
        out = signal.sosfilt(sos, np.stack([harmonic[a:b], aspiration[a:b]]), axis=-1)
        h_out[a:b] += out[0]
        a_out[a:b] += out[1]
    e_h = float(np.sum(h_out[voiced_mask] ** 2))
    e_a = float(np.sum(a_out[voiced_mask] ** 2))
    gain = math.sqrt(e_h / (e_a * 10 ** (hnr_target / 10)))
    hnr_real = 10 * math.log10(e_h / (gain**2 * e_a))

    # -- consonants: band-passed noise bursts ------------------------------------------------------------
    cons_src = np.zeros(n)
    for i in range(n_syl):
        a, b = int(round(starts[i] * fs)), int(round(v_start[i] * fs))
        if b > a:
            w = np.sin(np.linspace(0, np.pi, b - a)) ** 2
            cons_src[a:b] = rng.standard_normal(b - a) * w * syl_amp[i]
    consonants = signal.sosfilt(_fricative_filter(fs), cons_src)
    speech_sig = h_out + gain * a_out
    v_rms = math.sqrt(np.mean(speech_sig[voiced_mask] ** 2))
    c_rms = math.sqrt(np.mean(consonants[consonants != 0] ** 2)) if np.any(consonants) else 1.0
    speech_sig = speech_sig + consonants * (0.25 * v_rms / c_rms)

    # -- level, background noise, floor -------------------------------------------------------------------
    active = np.ones(n, dtype=bool)
    for a_s, b_s in silence:
        active[int(round(a_s * fs)): int(round(b_s * fs))] = False
    speech_sig *= 10 ** (level_target / 20) / math.sqrt(np.mean(speech_sig[active] ** 2))
    snr = math.nan
    noise = np.zeros(n)
    if rng.random() < s.noise_fraction:
        snr = float(rng.uniform(*s.snr_db_range))
        noise = _pink_noise(rng, n, fs)
        p_speech = np.mean(speech_sig[active] ** 2)
        noise *= math.sqrt(p_speech / (np.mean(noise**2) * 10 ** (snr / 10)))
    floor = rng.standard_normal(n) * 10 ** (NOISE_FLOOR_DBFS / 20)
    y = speech_sig + noise + floor
    peak = float(np.max(np.abs(y)))
    if peak > PEAK_LIMIT:
        scale = PEAK_LIMIT / peak
        y *= scale
        speech_sig *= scale
    level_real = 10 * math.log10(np.mean(speech_sig[active] ** 2))
    dims = utterance_dimensions(label, other, weight, spk.expressiveness, cue_z, _rng(s.seed, 4, index))

    params = {
        "label": label,
        "speaker": spk.id,
        "split": split,
        "duration_s": duration,
        "sex": spk.sex,
        "corpus": CORPUS_NAME,
        "f0_mean_hz": float(np.mean(f0_hz_frames)),
        "f0_std_st": float(np.std(st_frames)),
        "f0_range_st": float(p95 - p5),
        "f0_slope_st_per_s": float(np.polyfit(frames, st_frames, 1)[0]),
        "jitter_local": jitter_real,
        "shimmer_local": shimmer_real,
        "hnr_db": hnr_real,
        "rate_syl_per_s": rate_realised,
        "snr_db": snr,
        "silence_spans": json.dumps([[round(a, 4), round(b, 4)] for a, b in silence]),
        "accent_times": json.dumps([round(float(t), 4) for t in accent_t]),
        "blend_label": other or "",
        "blend_weight": weight,
        "expressiveness": spk.expressiveness,
        "tilt_db_per_oct": tilt_real,
        "level_dbfs": level_real,
        "n_syllables": n_syl,
        **dims,
        "index": index,
    }
    return UtteranceDetails(
        y=y.astype(np.float32),
        params=params,
        frame_times_s=frames,
        frame_f0_hz=f0_hz_frames,
        vowel_spans_s=np.stack([v_start, v_end], axis=1),
        syllable_starts_s=starts,
        pulse_times_s=pt,
        clean=speech_sig,
    )


def _vowel_envelope(t: np.ndarray, start: float, end: float) -> np.ndarray:
    """Vowel energy envelope: from ENVELOPE_EDGE up to 1 with raised-cosine ramps (attack, release)."""
    att = np.clip((t - start) / ENVELOPE_ATTACK_S, 0, 1)
    rel = np.clip((end - t) / ENVELOPE_RELEASE_S, 0, 1)
    ramp = np.sin(0.5 * np.pi * np.minimum(att, rel)) ** 2
    inside = (t >= start) & (t < end)
    return np.where(inside, ENVELOPE_EDGE + (1 - ENVELOPE_EDGE) * ramp, 0.0)


def _praat_local_perturbation(periods: np.ndarray, amps: np.ndarray, vowel: np.ndarray) -> tuple[float, float]:
    """Jitter (local) and shimmer (local) with Praat's rules on consecutive pulses of the same vowel.

    Praat (``To PointProcess (periodic, cc)`` → ``Get jitter (local)``/``Get shimmer (local)`` with
    period floor 0.1 ms, ceiling 20 ms, maximum period factor 1.3, maximum amplitude factor 1.6) skips
    pairs that differ by more than those factors; the same pairs are skipped here.
    """
    ok_t = (periods >= PRAAT_PERIOD_RANGE_S[0]) & (periods <= PRAAT_PERIOD_RANGE_S[1])
    same = (vowel[1:] == vowel[:-1]) & ok_t[1:] & ok_t[:-1]
    t_ratio = np.maximum(periods[1:], periods[:-1]) / np.minimum(periods[1:], periods[:-1])
    a_ratio = np.maximum(amps[1:], amps[:-1]) / np.minimum(amps[1:], amps[:-1])
    pj = same & (t_ratio <= PRAAT_MAX_PERIOD_FACTOR)
    ps = same & (a_ratio <= PRAAT_MAX_AMPLITUDE_FACTOR)
    jitter = float(np.mean(np.abs(np.diff(periods))[pj]) / np.mean(periods[ok_t])) if pj.any() else 0.0
    shimmer = float(np.mean(np.abs(np.diff(amps))[ps]) / np.mean(amps)) if ps.any() else 0.0
    return jitter, shimmer


@functools.lru_cache(maxsize=4)
def _fricative_filter(fs: int) -> np.ndarray:
    """Band-pass (2.5–6.5 kHz) shaping the fricative onsets."""
    return signal.butter(2, FRICATIVE_BAND_HZ, btype="bandpass", fs=fs, output="sos")


def _pink_noise(rng: np.random.Generator, n: int, fs: int) -> np.ndarray:
    """1/f (pink) noise, unit variance."""
    n_fft = sp_fft.next_fast_len(n, real=True)
    spec = sp_fft.rfft(rng.standard_normal(n_fft))
    f = np.fft.rfftfreq(n_fft, 1 / fs)
    spec /= np.sqrt(np.maximum(f, 20.0))
    x = sp_fft.irfft(spec, n_fft)[:n]
    return x / x.std()


# --------------------------------------------------------------------------------------------------------
# The corpus on disk
# --------------------------------------------------------------------------------------------------------
def wav_relpath(index: int) -> str:
    """Where utterance ``index`` lives inside the corpus folder (1,000 files per sub-folder)."""
    return f"wavs/{index // 1000:03d}/utt{index:06d}.wav"


def _part_path(out_dir: Path, start: int) -> Path:
    return out_dir / ".parts" / f"rows-{start:06d}.json"


def _chunk_done(out_dir: Path, start: int, stop: int) -> bool:
    return _part_path(out_dir, start).is_file() and all(
        (out_dir / wav_relpath(i)).is_file() for i in range(start, stop)
    )


def _run_chunk(job: tuple[str, Config, int, int]) -> int:
    """Synthesize utterances ``start..stop-1``: write missing WAVs, then the chunk's rows (atomically)."""
    out, cfg, start, stop = job
    out_dir = Path(out)
    part = _part_path(out_dir, start)
    fs = cfg.features.sample_rate_hz
    if part.is_file():  # rows known: only WAVs deleted after the chunk finished need re-rendering
        for i in range(start, stop):
            wav = out_dir / wav_relpath(i)
            if not wav.is_file():
                write_wav(wav, synthesize_utterance(i, cfg)[0], fs)
        return stop - start
    rows = []
    for i in range(start, stop):
        y, params = synthesize_utterance(i, cfg)
        wav = out_dir / wav_relpath(i)
        if not wav.is_file():  # written atomically, so an existing file is complete (and identical)
            write_wav(wav, y, fs)
        rows.append({"path": wav_relpath(i), **params})
    tmp = part.with_name(part.name + ".partial")
    tmp.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(json.dumps(rows))
    tmp.replace(part)
    return stop - start


def _ignore_sigint() -> None:
    """Workers leave Ctrl-C to the parent, which stops the pool and reports once."""
    signal_module.signal(signal_module.SIGINT, signal_module.SIG_IGN)


def default_workers() -> int:
    """Worker processes used when none are given: every CPU this process may use (at most 8)."""
    try:
        n = len(os.sched_getaffinity(0))
    except AttributeError:  # not on Linux
        n = os.cpu_count() or 1
    return max(1, min(n, 8))


def generate_corpus(out_dir: str | Path, cfg: Config, *, workers: int | None = None) -> Path:
    """Write the synthetic corpus of ``cfg.synth`` to ``out_dir``; return its manifest path.

    Layout: ``out_dir/wavs/NNN/uttIIIIII.wav`` (16-bit PCM mono at ``cfg.features.sample_rate_hz``) and
    ``out_dir/manifest.csv`` (columns :data:`MANIFEST_COLUMNS`), written last.

    Parameters
    ----------
    out_dir : str or Path
        Target folder (created).
    cfg : Config
        ``cfg.synth`` decides the content; ``cfg.features.sample_rate_hz`` the rate.
    workers : int, optional
        Worker processes (default :func:`default_workers`); ``1`` runs in this process. The output is
        byte-identical for any value.

    Returns
    -------
    Path
        ``out_dir/manifest.csv``.

    Notes
    -----
    Idempotent: returns at once when the manifest exists. Resumable: work is done in fixed chunks of
    :data:`CHUNK_SIZE` utterances whose rows are kept in ``out_dir/.parts`` until the manifest is written;
    after an interrupt, finished chunks are skipped and existing WAVs are not rewritten. Memory stays
    bounded (one chunk of rows per worker; the manifest is assembled from the chunk files at the end).

    Raises
    ------
    ConfigError
        Invalid ``cfg.synth`` values.
    """
    _check_config(cfg)
    out_dir = Path(out_dir)
    manifest = out_dir / MANIFEST_NAME
    if manifest.is_file():
        return manifest
    (out_dir / ".parts").mkdir(parents=True, exist_ok=True)
    n = cfg.synth.n_utterances
    chunks = [(start, min(start + CHUNK_SIZE, n)) for start in range(0, n, CHUNK_SIZE)]
    todo = [(str(out_dir), cfg, a, b) for a, b in chunks if not _chunk_done(out_dir, a, b)]
    done = n - sum(b - a for _, _, a, b in todo)
    workers = default_workers() if workers is None else max(1, int(workers))
    workers = min(workers, len(todo))
    _plan(cfg.synth)  # computed once here, inherited by forked workers
    with bar(total=n, desc="synth", unit="utt", initial=done) as progress:
        if workers <= 1:
            for job in todo:
                progress.update(_run_chunk(job))
        else:
            with multiprocessing.get_context().Pool(workers, initializer=_ignore_sigint) as pool:
                for count in pool.imap_unordered(_run_chunk, todo):
                    progress.update(count)
    rows = []
    for a, _ in chunks:
        part = _part_path(out_dir, a)
        if not part.is_file():
            raise SernetError(f"{part}: missing after generation (was the folder modified meanwhile?)")
        rows.extend(json.loads(part.read_text()))
    df = pd.DataFrame(rows, columns=list(MANIFEST_COLUMNS))
    write_manifest(df, manifest)
    shutil.rmtree(out_dir / ".parts", ignore_errors=True)
    return manifest
