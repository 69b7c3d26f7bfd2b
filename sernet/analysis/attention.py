"""Where the temporal attention goes (the paper's §5.1), measured against the synthetic ground truth."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from sernet.config import Config


def attention_frames(model, store, cfg: Config, rows: Sequence[int]) -> list[dict[str, Any]]:
    """Per utterance: the model's temporal attention over its evaluation window, with ground truth.

    Each item holds ``row``, ``times`` (s, frame times in the utterance), ``weights`` (attention, real
    frames only), ``silence`` (frame inside a recorded silence span), ``voiced``, ``abs_df0`` (|ΔF0|,
    semitones per frame), ``energy_db`` and ``near_accent`` (within
    ``features.win_ms`` of a recorded pitch-accent peak). Needs the synthetic manifest's ground truth.
    """
    from sernet.features.layout import column
    from sernet.model import attention_weights
    from sernet.train.batches import FeatureBatches

    hop_s = cfg.features.hop_ms / 1000.0
    tol_s = cfg.features.win_ms / 1000.0
    ds = FeatureBatches(store, rows, batch_size=cfg.train.batch_size, max_length=cfg.features.max_length,
                        crop=cfg.features.eval_crop, shuffle=False, seed=cfg.train.seed)
    out = []
    for b in range(len(ds)):
        inputs = ds.inputs(b)
        alpha = attention_weights(model, inputs)
        for j, row in enumerate(ds.batch_indices(b)):
            raw = np.asarray(store.frames(int(row)), dtype=np.float32)
            n_real = int(inputs["mask"][j].sum())
            start = max(0, (len(raw) - cfg.features.max_length) // 2) if cfg.features.eval_crop == "center" \
                else 0
            frames = raw[start:start + n_real]
            times = (start + np.arange(n_real)) * hop_s
            meta = store.index.iloc[int(row)]
            spans = json.loads(meta["silence_spans"]) if isinstance(meta["silence_spans"], str) else []
            accents = json.loads(meta["accent_times"]) if isinstance(meta["accent_times"], str) else []
            silence = np.zeros(n_real, bool)
            for a, e in spans:
                silence |= (times >= a) & (times < e)
            near = np.zeros(n_real, bool)
            for a in accents:
                near |= np.abs(times - a) <= tol_s
            out.append({"row": int(row), "label": meta["label"], "times": times,
                        "weights": alpha[j, :n_real].astype(float), "silence": silence,
                        "voiced": frames[:, column("voiced")] > 0.5,
                        "abs_df0": np.abs(frames[:, column("f0_delta_st")]),
                        "f0_st": frames[:, column("f0_st")], "energy_db": frames[:, column("energy_db")],
                        "near_accent": near})
    return out


def attention_checks(items: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """The paper's §5.1 claims, measured per utterance on :func:`attention_frames` output.

    Columns: ``silence_share`` (fraction of frames in silence), ``silence_mass`` (attention on them),
    ``silence_ratio`` (mass / share: < 1 means less attention than uniform), ``rho_abs_df0`` (Spearman
    correlation of attention with |ΔF0| over voiced frames), ``rho_energy`` (with frame energy, all frames),
    ``accent_ratio`` (mean attention near accent peaks / mean attention elsewhere).
    """
    from scipy.stats import spearmanr

    def rho(a, b):
        if len(a) < 3 or np.std(a) == 0 or np.std(b) == 0:
            return np.nan
        return float(spearmanr(a, b).statistic)

    rows = []
    for it in items:
        w, sil, voiced = it["weights"], it["silence"], it["voiced"]
        share = float(sil.mean())
        mass = float(w[sil].sum()) if sil.any() else np.nan
        near = it["near_accent"]
        rows.append({
            "row": it["row"], "label": it["label"], "silence_share": share, "silence_mass": mass,
            "silence_ratio": mass / share if share > 0 else np.nan,
            "rho_abs_df0": rho(w[voiced], it["abs_df0"][voiced]),
            "rho_energy": rho(w, it["energy_db"]),
            "accent_ratio": float(w[near].mean() / w[~near].mean()) if near.any() and (~near).any() else np.nan,
        })
    return pd.DataFrame(rows)


def attention_claims(checks: pd.DataFrame, *, alpha: float = 0.05) -> pd.DataFrame:
    """One row per §5.1 claim: the median measure, the share of utterances in the claimed direction, a
    two-sided sign test over utterances and the verdict (``holds`` when the direction is the claimed one and
    p < ``alpha``; ``opposite`` when significant the other way; else ``not shown``)."""
    from scipy.stats import binomtest

    claims = [
        ("reduced attention on silence", "silence_ratio", 1.0, "below"),
        ("higher attention during pitch movement", "rho_abs_df0", 0.0, "above"),
        ("attention follows energy (stressed syllables)", "rho_energy", 0.0, "above"),
        ("peak attention near pitch accents", "accent_ratio", 1.0, "above"),
    ]
    rows = []
    for claim, col, null, direction in claims:
        v = checks[col].dropna().to_numpy()
        v = v[v != null]
        hits = int((v < null).sum() if direction == "below" else (v > null).sum())
        p = float(binomtest(hits, len(v)).pvalue) if len(v) else np.nan
        share = hits / len(v) if len(v) else np.nan
        if len(v) and p < alpha:
            verdict = "holds" if share > 0.5 else "opposite"
        else:
            verdict = "not shown"
        rows.append({"claim": claim, "measure": col, "null": null, "median": float(np.median(v)) if len(v)
                     else np.nan, "utterances": len(v), "share_in_direction": share, "p_sign_test": p,
                     "verdict": verdict})
    return pd.DataFrame(rows).set_index("claim")
