"""Prosodic and voice-quality features from Praat (through parselmouth), paper §3.1.3.

One ``parselmouth.Sound`` per utterance and three Praat analyses:

``To Pitch (ac)``
    Praat's standard pitch tracker, floor **60 Hz** and ceiling **600 Hz** (``FeatureConfig.pitch_floor_hz``
    / ``pitch_ceiling_hz``). Praat's defaults are 75–600 Hz, the usual single setting when speakers of both
    sexes are analysed together; 600 Hz covers raised, emotional female F0 (fear, surprise) well above the
    ≈ 255 Hz female mean. We lower the floor to 60 Hz because low male voices in sad or contempt speech
    fall to ≈ 65 Hz: with 75 Hz, Praat drops those frames as unvoiced and the F0 mean, range and std of
    6 % of the synthetic corpus's clean utterances miss their ground truth (1 % with 60 Hz; measured in
    ``tests/test_features_groundtruth.py``), for ≈ 18 % more pitch-analysis time (window 3/60 = 50 ms).
    The time step is the feature hop, so each Praat frame lies within half a hop of one of our frames.
    Praat's voicing decision (a Viterbi path over voiced/unvoiced candidates) decides ``voiced``.
``To PointProcess (cc)`` (Sound + Pitch)
    glottal pulses, for ``Get jitter (local)`` and ``Get shimmer (local)`` with Praat's standard
    voice-report arguments (period floor 0.1 ms, ceiling 20 ms, maximum period factor 1.3, maximum
    amplitude factor 1.6).
Harmonicity
    per frame from the same pitch analysis: Praat's ``Harmonicity`` object is defined as
    ``10 log10(r / (1 - r))`` of the normalised autocorrelation peak ``r`` at the pitch period, and the
    pitch object already holds that ``r`` (its *strength*). Reusing it saves a second correlation pass
    (``To Harmonicity (cc)`` costs several times the whole pitch analysis: see ``sernet bench features``).
    Utterance HNR is the mean over voiced frames, like Praat's ``Harmonicity: Get mean`` (which skips unvoiced frames).

Energy is the frame's mean-square amplitude in dB (``10 log10(mean y² + 1e-10)``, dB re full scale),
over the same centred 25 ms frames as the spectral features.

Frame-level outputs (7 columns, :data:`sernet.features.layout.PROSODY_FRAME_NAMES`) are all finite:
unvoiced frames have ``voiced = 0`` and 0 in every F0 and harmonicity column (never NaN). Utterance
descriptors that are undefined (no voiced frame, too few pulses for jitter) are 0, and
``voiced_fraction`` tells the model why.

Utterance descriptors (:data:`~sernet.features.layout.PROSODY_UTTERANCE_NAMES`), all over *voiced* frames
unless stated:

============================  ==========================================================================
``f0_mean_st``                mean F0 in semitones re 55 Hz (``12 log2(f0 / 55)``)
``f0_std_st``                 standard deviation of F0 (semitones)
``f0_range_st``               5th–95th percentile span of F0 (semitones; robust to single octave errors)
``f0_slope_st_per_s``         least-squares slope of F0 (semitones) over time (s)
``energy_mean_db``            mean frame energy over speech (non-pause) frames
``energy_std_db``             standard deviation of frame energy over speech frames
``energy_range_db``           5th–95th percentile span of frame energy over speech frames
``speaking_rate_syl_per_s``   syllable nuclei per second of speech (pauses excluded)
``jitter_local``              Praat ``Get jitter (local)`` (fraction, not %)
``shimmer_local``             Praat ``Get shimmer (local)`` (fraction)
``hnr_db``                    mean frame harmonicity over voiced frames (dB)
``voiced_fraction``           voiced frames / all frames
``pause_fraction``            pause frames / all frames
============================  ==========================================================================

Syllable nuclei follow de Jong & Wempe (2009): peaks of the smoothed energy track that are voiced, not in
a pause, and stand ``syllable_dip_db`` above the dips on either side (``scipy.signal.find_peaks``
prominence).

Explained in chapters/02_features.py.
"""

from __future__ import annotations

import numpy as np

from sernet.config import FeatureConfig
from sernet.features.layout import PROSODY_FRAME_NAMES, PROSODY_UTTERANCE_NAMES
from sernet.features.spectral import frame_times_s, n_frames

F0_REFERENCE_HZ = 55.0  # semitone reference (A1), below every voice: st values are positive
ENERGY_FLOOR = 1e-10  # mean-square floor (-100 dBFS)
RANGE_PERCENTILES = (5.0, 95.0)
# Praat voice-report standard arguments for jitter and shimmer.
PERIOD_FLOOR_S = 0.0001
PERIOD_CEILING_S = 0.02
MAX_PERIOD_FACTOR = 1.3
MAX_AMPLITUDE_FACTOR = 1.6
HARMONICITY_R_CLIP = (1e-4, 1.0 - 1e-4)  # keeps 10 log10(r / (1 - r)) within ±40 dB


def hz_to_st(f0_hz: np.ndarray) -> np.ndarray:
    """Semitones re 55 Hz: ``12 log2(f0 / 55)``."""
    return 12.0 * np.log2(np.asarray(f0_hz, dtype=np.float64) / F0_REFERENCE_HZ)


def frame_energy_db(y: np.ndarray, fcfg: FeatureConfig) -> np.ndarray:
    """Mean-square energy (dB re full scale) of centred ``win_ms`` frames, ``T = 1 + n // hop`` values."""
    win = fcfg.win_length
    hop = fcfg.hop_length
    t = n_frames(len(y), fcfg)
    yp = np.pad(np.asarray(y, dtype=np.float64), (win // 2, win // 2 + hop))
    c = np.concatenate([[0.0], np.cumsum(yp * yp)])
    starts = np.arange(t) * hop
    ms = (c[starts + win] - c[starts]) / win
    return 10.0 * np.log10(np.maximum(ms, ENERGY_FLOOR))


def _praat_tracks(y: np.ndarray, fcfg: FeatureConfig, times: np.ndarray):
    """F0 (Hz, 0 unvoiced), autocorrelation strength per our frame, and the Praat objects (or None)."""
    import parselmouth

    sound = parselmouth.Sound(np.asarray(y, dtype=np.float64), sampling_frequency=float(fcfg.sample_rate_hz))
    t = len(times)
    try:
        pitch = sound.to_pitch_ac(
            time_step=fcfg.hop_ms / 1000.0,
            pitch_floor=fcfg.pitch_floor_hz,
            pitch_ceiling=fcfg.pitch_ceiling_hz,
        )
    except parselmouth.PraatError:  # shorter than Praat's analysis window: no voicing decision possible
        return np.zeros(t), np.zeros(t), sound, None
    sel = pitch.selected_array
    freq = np.nan_to_num(sel["frequency"], nan=0.0)
    strength = np.nan_to_num(sel["strength"], nan=0.0)
    j = np.rint((times - pitch.x1) / pitch.dx).astype(np.int64)
    inside = (j >= 0) & (j < pitch.n_frames)
    jj = np.clip(j, 0, max(pitch.n_frames - 1, 0))
    f0 = np.where(inside, freq[jj], 0.0) if pitch.n_frames else np.zeros(t)
    r = np.where(inside, strength[jj], 0.0) if pitch.n_frames else np.zeros(t)
    return f0, r, sound, pitch


def _jitter_shimmer(sound, pitch) -> tuple[float, float]:
    from parselmouth.praat import call

    if pitch is None or pitch.count_voiced_frames() == 0:
        return 0.0, 0.0
    try:
        pulses = call([sound, pitch], "To PointProcess (cc)")
        jitter = call(pulses, "Get jitter (local)", 0.0, 0.0, PERIOD_FLOOR_S, PERIOD_CEILING_S, MAX_PERIOD_FACTOR)
        shimmer = call([sound, pulses], "Get shimmer (local)", 0.0, 0.0, PERIOD_FLOOR_S, PERIOD_CEILING_S,
                       MAX_PERIOD_FACTOR, MAX_AMPLITUDE_FACTOR)
    except Exception:  # Praat raises on degenerate pulse trains; undefined -> 0 (see module docstring)
        return 0.0, 0.0
    return float(np.nan_to_num(jitter)), float(np.nan_to_num(shimmer))


def _span(x: np.ndarray) -> float:
    lo, hi = np.percentile(x, RANGE_PERCENTILES)
    return float(hi - lo)


def syllable_nuclei(energy_db: np.ndarray, voiced: np.ndarray, speech: np.ndarray,
                    fcfg: FeatureConfig) -> np.ndarray:
    """Frame indices of syllable nuclei: voiced, non-pause peaks of the smoothed energy track."""
    from scipy.signal import find_peaks

    n = max(1, int(round(fcfg.syllable_smooth_ms / fcfg.hop_ms)))
    if n > 1:
        w = np.hanning(n + 2)[1:-1]
        smooth = np.convolve(np.pad(energy_db, (n // 2, n - 1 - n // 2), mode="edge"), w / w.sum(), "valid")
    else:
        smooth = energy_db
    peaks, _ = find_peaks(smooth, prominence=fcfg.syllable_dip_db)
    return peaks[voiced[peaks] & speech[peaks]]


def prosodic_features(y: np.ndarray, fcfg: FeatureConfig) -> tuple[np.ndarray, dict[str, float]]:
    """Frame-level prosodic tracks and utterance descriptors of ``y``.

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio at ``fcfg.sample_rate_hz`` (validated by the caller).
    fcfg : FeatureConfig

    Returns
    -------
    frames : np.ndarray [shape=(1 + n // hop, 7), dtype=float32]
        Columns :data:`~sernet.features.layout.PROSODY_FRAME_NAMES`, all finite.
    descriptors : dict
        The 13 :data:`~sernet.features.layout.PROSODY_UTTERANCE_NAMES` plus ``f0_mean_hz`` (mean voiced F0
        in Hz, for comparison with corpus metadata) and ``n_syllables``; all finite.

    Examples
    --------
    >>> import numpy as np, librosa, sernet
    >>> fcfg = sernet.config.load("smoke").features
    >>> frames, d = prosodic_features(librosa.tone(220, sr=16000, duration=1.0), fcfg)
    >>> frames.shape, round(d["f0_mean_hz"])
    ((101, 7), 220)
    """
    t = n_frames(len(y), fcfg)
    times = frame_times_s(t, fcfg)
    f0_hz, strength, sound, pitch = _praat_tracks(y, fcfg, times)
    voiced = f0_hz > 0
    f0_st = np.zeros(t)
    f0_st[voiced] = hz_to_st(f0_hz[voiced])
    both = np.zeros(t, dtype=bool)
    both[1:] = voiced[1:] & voiced[:-1]
    f0_delta = np.zeros(t)
    f0_delta[1:] = np.where(both[1:], f0_st[1:] - f0_st[:-1], 0.0)
    f0_rel = np.zeros(t)
    if voiced.any():
        f0_rel[voiced] = f0_st[voiced] - np.median(f0_st[voiced])
    energy = frame_energy_db(y, fcfg)
    energy_delta = np.zeros(t)
    energy_delta[1:] = np.diff(energy)
    r = np.clip(strength, *HARMONICITY_R_CLIP)
    harmonicity = np.where(voiced, 10.0 * np.log10(r / (1.0 - r)), 0.0)
    frames = np.stack([f0_st, voiced.astype(np.float64), f0_delta, f0_rel, energy, energy_delta, harmonicity],
                      axis=1).astype(np.float32)
    assert frames.shape[1] == len(PROSODY_FRAME_NAMES)

    speech = energy > np.percentile(energy, 99.0) - fcfg.silence_threshold_db
    d: dict[str, float] = dict.fromkeys(PROSODY_UTTERANCE_NAMES, 0.0)
    d["f0_mean_hz"] = 0.0
    if voiced.any():
        fv = f0_st[voiced]
        d["f0_mean_st"] = float(fv.mean())
        d["f0_mean_hz"] = float(f0_hz[voiced].mean())
        d["f0_std_st"] = float(fv.std())
        d["f0_range_st"] = _span(fv)
        if voiced.sum() >= 2:
            d["f0_slope_st_per_s"] = float(np.polyfit(times[voiced], fv, 1)[0])
        d["hnr_db"] = float(harmonicity[voiced].mean())
    es = energy[speech]
    d["energy_mean_db"] = float(es.mean())
    d["energy_std_db"] = float(es.std())
    d["energy_range_db"] = _span(es)
    nuclei = syllable_nuclei(energy, voiced, speech, fcfg)
    speech_s = speech.sum() * fcfg.hop_ms / 1000.0
    d["n_syllables"] = float(len(nuclei))
    d["speaking_rate_syl_per_s"] = float(len(nuclei) / speech_s) if speech_s > 0 else 0.0
    d["jitter_local"], d["shimmer_local"] = _jitter_shimmer(sound, pitch)
    d["voiced_fraction"] = float(voiced.mean())
    d["pause_fraction"] = float(1.0 - speech.mean())
    return frames, d
