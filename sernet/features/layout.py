"""The per-frame feature layout: what each column of a stored frame vector is.

The paper (§3.1) lists "a 180-dimensional feature vector per frame" made of 40 MFCCs + Δ + ΔΔ (120),
128 mel bands "compressed to 40 dimensions via learned projection", and prosodic items that are mostly
*utterance* statistics (F0 mean/std/range/slope, energy mean/std/range, speaking rate, jitter, shimmer,
HNR: 11 numbers). 120 + 40 + 11 = 171, not 180, and the projection is learned, so it cannot happen at
extraction time. Our reading, which gives exactly 180 after the model's projection:

========  =====  ==============================================  =========  ==============================
group     dims   source                                          level      broadcast rule
========  =====  ==============================================  =========  ==============================
mfcc      120    40 MFCC + Δ + ΔΔ (librosa, pre-emphasis 0.97)   frame      —
mel       128    log-mel, 128 bands (librosa)                    frame      model projects 128 → 40
prosody   7      F0 (st), voiced flag, ΔF0, F0 re utt. median,   frame      unvoiced frames: F0 terms 0,
                 energy (dB), Δenergy, harmonicity (dB)                     voiced flag 0 (never NaN)
prosody   13     F0 mean/std/range/slope, energy mean/std/       utterance  repeated on every frame
                 range, speaking rate, jitter, shimmer, HNR,
                 voiced fraction, pause fraction
========  =====  ==============================================  =========  ==============================

Stored: 120 + 128 + 20 = 268 columns. Model input after the learned mel projection: 120 + 40 + 20 = 180.
The 11 paper descriptors are all present; we add 7 frame-level and 2 utterance-level prosodic dims to
reach 20, so that the model sees prosody *over time* (attention needs it; paper §5.1).

Ablations drop groups by name (e.g. "w/o prosodic features" = drop ``prosody``); see :func:`group_slice`.
Explained in chapters/02_features.py.
"""

from __future__ import annotations

MFCC_NAMES: tuple[str, ...] = (
    tuple(f"mfcc_{i}" for i in range(40))
    + tuple(f"mfcc_d_{i}" for i in range(40))
    + tuple(f"mfcc_dd_{i}" for i in range(40))
)
MEL_NAMES: tuple[str, ...] = tuple(f"mel_{i}" for i in range(128))
PROSODY_FRAME_NAMES: tuple[str, ...] = (
    "f0_st",  # F0 in semitones re 55 Hz; 0 where unvoiced
    "voiced",  # 1 voiced, 0 unvoiced
    "f0_delta_st",  # frame-to-frame F0 change (st); 0 unless both frames voiced
    "f0_rel_st",  # F0 re the utterance's median voiced F0 (speaker-normalised); 0 where unvoiced
    "energy_db",  # frame intensity (dB)
    "energy_delta_db",  # frame-to-frame intensity change
    "harmonicity_db",  # Praat harmonicity (HNR per frame, dB); 0 where unvoiced
)
PROSODY_UTTERANCE_NAMES: tuple[str, ...] = (
    "f0_mean_st",
    "f0_std_st",
    "f0_range_st",
    "f0_slope_st_per_s",
    "energy_mean_db",
    "energy_std_db",
    "energy_range_db",
    "speaking_rate_syl_per_s",
    "jitter_local",
    "shimmer_local",
    "hnr_db",
    "voiced_fraction",
    "pause_fraction",
)
PROSODY_NAMES: tuple[str, ...] = PROSODY_FRAME_NAMES + PROSODY_UTTERANCE_NAMES

GROUPS: dict[str, tuple[str, ...]] = {"mfcc": MFCC_NAMES, "mel": MEL_NAMES, "prosody": PROSODY_NAMES}
"""Stored column groups, in storage order."""

FEATURE_NAMES: tuple[str, ...] = MFCC_NAMES + MEL_NAMES + PROSODY_NAMES
N_STORED: int = len(FEATURE_NAMES)  # 268
MEL_PROJECTION_DIM: int = 40
N_MODEL_INPUT: int = len(MFCC_NAMES) + MEL_PROJECTION_DIM + len(PROSODY_NAMES)  # 180


def group_slice(group: str) -> slice:
    """The column slice of ``group`` ("mfcc", "mel" or "prosody") in a stored frame vector."""
    start = 0
    for name, cols in GROUPS.items():
        if name == group:
            return slice(start, start + len(cols))
        start += len(cols)
    raise KeyError(f"unknown feature group {group!r}; expected one of {list(GROUPS)}")


def column(name: str) -> int:
    """The column index of a named feature, e.g. ``column("f0_st")``."""
    return FEATURE_NAMES.index(name)


def layout_table() -> list[dict[str, object]]:
    """The layout as rows (group, stored dims, model dims, level, first/last column) for display."""
    rows = []
    for group, cols in GROUPS.items():
        s = group_slice(group)
        if group == "prosody":
            for level, names in (("frame", PROSODY_FRAME_NAMES), ("utterance", PROSODY_UTTERANCE_NAMES)):
                first = column(names[0])
                rows.append(
                    {
                        "group": group,
                        "level": level,
                        "stored_dims": len(names),
                        "model_dims": len(names),
                        "columns": f"{first}:{first + len(names)}",
                        "names": ", ".join(names),
                    }
                )
            continue
        rows.append(
            {
                "group": group,
                "level": "frame",
                "stored_dims": len(cols),
                "model_dims": MEL_PROJECTION_DIM if group == "mel" else len(cols),
                "columns": f"{s.start}:{s.stop}",
                "names": f"{cols[0]} … {cols[-1]}",
            }
        )
    return rows


assert N_STORED == 268 and N_MODEL_INPUT == 180
