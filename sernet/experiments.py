"""Cached training runs and the grids of the paper's Table 4.3 (baselines) and Table 4.4 (ablations).

A run is identified by its config: :func:`run_path` hashes every section that decides the result (corpus,
features, model, training) with the code versions of the stages and the Keras backend, so Chapter 5's base
run is reused by Chapters 6 and 7 and by ``sernet reproduce`` whenever their configs agree, and a changed
config never reads back a stale run.

Examples
--------
>>> cfg = sernet.config.load()                                         # doctest: +SKIP
>>> grid = run_grid(cfg, ABLATIONS, seeds=cfg.train.ablation_seeds)     # doctest: +SKIP
>>> summarize(grid, reference="Full Model", paper_uar=sernet.paper.TABLE_4_4)   # doctest: +SKIP
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sernet import paper, progress, workspace
from sernet.config import Config, override

ABLATIONS: dict[str, dict[str, Any]] = {
    "Full Model": {},
    "w/o Multi-Scale Conv": {"model.multiscale": False},
    "w/o Attention Pooling": {"model.pooling": "mean"},
    "w/o Prosodic Features": {"model.use_prosody": False},
    "w/o Data Augmentation": {"train.augment": False},
    "w/o Focal Loss": {"train.loss": "ce"},
}
"""Table 4.4's rows as config overrides of the full model."""

BASELINES: dict[str, dict[str, Any]] = {
    "Baseline CNN": {"model.architecture": "cnn"},
    "LSTM": {"model.architecture": "lstm"},
    "CNN-LSTM": {"model.architecture": "cnn_lstm"},
    "SER-Net": {},
}
"""Table 4.3's rows (SER-Net Large left out of the smoke grid; see ``model.variant``)."""


def run_key(cfg: Config) -> str:
    """A 12-character key of everything that decides a run's result."""
    from sernet.backend import backend_name
    from sernet.data import synthetic
    from sernet.features import cache
    from sernet.train import TRAINER_VERSION

    payload = {s: cfg.to_dict()[s] for s in ("synth", "features", "model", "train")}
    payload.update(data_root=cfg.data_root, trainer=TRAINER_VERSION, features_version=cache.FEATURES_VERSION,
                   generator=synthetic.GENERATOR_VERSION, backend=backend_name())
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()[:12]


def run_path(cfg: Config) -> Path:
    """``$SERNET_HOME/runs/<architecture>-seed<seed>-<key>``."""
    return workspace.runs_dir(cfg) / f"{cfg.model.architecture}-seed{cfg.train.seed}-{run_key(cfg)}"


def run_or_load(cfg: Config, store=None, **train_kwargs):
    """Train the run of ``cfg`` under :func:`run_path` or load it when it has finished (resuming a killed one).

    Returns a :class:`sernet.train.TrainResult`.
    """
    from sernet.train import train

    store = store if store is not None else workspace.feature_store(cfg)
    return train(cfg, store, run_path(cfg), resume=True, **train_kwargs)


def run_grid(cfg: Config, variants: Mapping[str, Mapping[str, Any]], seeds: Sequence[int], *, store=None,
             split: str = "test", desc: str = "runs") -> pd.DataFrame:
    """Train (or load) every variant x seed and collect its ``split`` metrics.

    Parameters
    ----------
    cfg : Config
        The base config; each variant's overrides (``{"model.pooling": "mean"}``) are applied to it.
    variants : mapping
        Row name -> config overrides (e.g. :data:`ABLATIONS`, :data:`BASELINES`).
    seeds : sequence of int
        ``train.seed`` values; every variant runs once per seed.

    Returns
    -------
    pandas.DataFrame
        One row per run: ``variant``, ``seed``, ``UAR``, ``WAR``, ``macro_F1`` (in %, on ``split``),
        ``val_UAR``, ``best_epoch``, ``run``.
    """
    store = store if store is not None else workspace.feature_store(cfg)
    jobs = [(name, seed) for seed in seeds for name in variants]  # seed-major: a partial grid has all rows
    rows = []
    for name, seed in progress.bar(jobs, desc=desc, unit="run"):
        run_cfg = override(cfg, {**variants[name], "train.seed": int(seed)})
        result = run_or_load(run_cfg, store)
        m = result.metrics[split]
        rows.append({"variant": name, "seed": int(seed), "UAR": 100 * m["uar"], "WAR": 100 * m["war"],
                     "macro_F1": 100 * m["macro_f1"], "val_UAR": 100 * result.metrics["val"]["uar"],
                     "best_epoch": result.metrics["best_epoch"], "run": str(result.run_dir.path)})
    frame = pd.DataFrame(rows)
    frame["variant"] = pd.Categorical(frame["variant"], categories=list(variants), ordered=True)
    return frame.sort_values(["variant", "seed"]).reset_index(drop=True)


def summarize(grid: pd.DataFrame, *, reference: str, paper_uar: Mapping[str, float] | None = None,
              metric: str = "UAR", noise_z: float = 2.0) -> pd.DataFrame:
    """Mean ± std over seeds, the delta to ``reference`` with its standard error, and the paper beside it.

    The verdict compares our delta with the paper's: ``within noise`` when
    ``|delta| < noise_z x se`` (se: Welch standard error of the difference of the two means over seeds),
    otherwise ``same sign as paper`` or ``opposite sign``.

    Returns
    -------
    pandas.DataFrame
        Index: variant; columns ``seeds``, ``mean``, ``std``, ``delta``, ``delta_se``, ``paper``,
        ``paper_delta``, ``verdict`` (metric in %).
    """
    stats = grid.groupby("variant", observed=True)[metric].agg(["count", "mean", "std"])
    stats["std"] = stats["std"].fillna(0.0)
    ref = stats.loc[reference]
    paper_uar = dict(paper_uar or {})
    rows = []
    for name, s in stats.iterrows():
        delta = s["mean"] - ref["mean"]
        se = float(np.sqrt(s["std"] ** 2 / s["count"] + ref["std"] ** 2 / ref["count"]))
        p = paper_uar.get(name, np.nan)
        p_ref = paper_uar.get(reference, np.nan)
        p_delta = p - p_ref
        if name == reference:
            verdict = "reference"
        elif s["count"] < 2 or ref["count"] < 2:
            verdict = "one seed: no noise estimate"
        elif abs(delta) < noise_z * se or se == 0 and delta == 0:
            verdict = "within noise"
        elif np.isnan(p_delta):
            verdict = "no paper value"
        else:
            verdict = "same sign as paper" if np.sign(delta) == np.sign(p_delta) else "opposite sign"
        rows.append({"variant": name, "seeds": int(s["count"]), "mean": s["mean"], "std": s["std"],
                     "delta": delta if name != reference else np.nan,
                     "delta_se": se if name != reference else np.nan,
                     "paper": p, "paper_delta": p_delta if name != reference else np.nan, "verdict": verdict})
    return pd.DataFrame(rows).set_index("variant")


def summarize_table_4_3(grid: pd.DataFrame) -> pd.DataFrame:
    """Table 4.3 over seeds: mean ± std of UAR / WAR / macro-F1 per model, the paper's values beside."""
    agg = grid.groupby("variant", observed=True)[["UAR", "WAR", "macro_F1"]].agg(["mean", "std"])
    rows = []
    for name, r in agg.iterrows():
        ref = paper.TABLE_4_3.get(name, (np.nan,) * 3)
        row: dict[str, Any] = {"model": name}
        for i, col in enumerate(("UAR", "WAR", "macro_F1")):
            row[col] = r[(col, "mean")]
            row[f"{col}_std"] = 0.0 if np.isnan(r[(col, "std")]) else r[(col, "std")]
            row[f"paper_{col}"] = ref[i]
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def mean_pm_std(summary: pd.DataFrame, *, decimals: int = 1) -> pd.Series:
    """``"mean ± std"`` strings of a :func:`summarize` table, for display."""
    return summary.apply(lambda r: f"{r['mean']:.{decimals}f} ± {r['std']:.{decimals}f}", axis=1)


def synthetic_causes(index: pd.DataFrame) -> pd.DataFrame:
    """The paper's §5.3 error causes as known facts of synthetic utterances (boolean columns).

    ``ambiguous``: drawn from a blend of two classes (``blend_label``); ``atypical speaker``: expressiveness
    outside the typical speakers' range; ``background noise``: noise added (``snr_db`` set); ``short``:
    among the shortest quarter of the corpus (``duration_s``). A cause whose ground-truth column the
    manifest lacks (a real corpus) is left out; ``short`` is always available.
    """
    from sernet.data.synthetic import TYPICAL_EXPRESSIVENESS

    causes = {}
    if "blend_label" in index:
        causes["ambiguous"] = index["blend_label"].fillna("").astype(str).str.len() > 0
    if "expressiveness" in index:
        expr = index["expressiveness"].astype(float)
        causes["atypical speaker"] = (expr < TYPICAL_EXPRESSIVENESS[0]) | (expr > TYPICAL_EXPRESSIVENESS[1])
    if "snr_db" in index:
        causes["background noise"] = pd.to_numeric(index["snr_db"], errors="coerce").notna()
    duration = index["duration_s"].astype(float)
    causes["short"] = duration <= duration.quantile(0.25)
    return pd.DataFrame(causes, index=index.index)


def errors_by_cause(predictions: pd.DataFrame, causes: pd.DataFrame) -> pd.DataFrame:
    """Error rate of utterances with and without each cause, and each cause's share of all errors.

    Parameters
    ----------
    predictions : DataFrame
        ``predictions.csv`` rows (``row``: store row, ``true``, ``predicted``).
    causes : DataFrame
        Boolean cause columns indexed by store row (:func:`synthetic_causes`).

    Returns
    -------
    pandas.DataFrame
        Index: cause; ``n`` (utterances with it), ``error_rate`` and ``error_rate_without`` (%), ``share_of_errors``
        (% of all errors that carry the cause; an error may carry several, so shares need not add to 100)
        and ``paper_share`` (§5.3).
    """
    wrong = (predictions["true"] != predictions["predicted"]).to_numpy()
    c = causes.loc[predictions["row"].to_numpy()].to_numpy(dtype=bool)
    paper_names = {"ambiguous": "Ambiguous Utterances", "atypical speaker": "Speaker Variability",
                   "background noise": "Background Noise", "short": "Short Utterances"}
    rows = []
    for j, name in enumerate(causes.columns):
        has = c[:, j]
        rows.append({"cause": name, "n": int(has.sum()),
                     "error_rate": 100 * wrong[has].mean() if has.any() else np.nan,
                     "error_rate_without": 100 * wrong[~has].mean() if (~has).any() else np.nan,
                     "share_of_errors": 100 * (wrong & has).sum() / max(1, wrong.sum()),
                     "paper_share": paper.ERROR_CATEGORIES_5_3.get(paper_names.get(name, ""), np.nan)})
    rows.append({"cause": "none of these", "n": int((~c.any(1)).sum()),
                 "error_rate": 100 * wrong[~c.any(1)].mean() if (~c.any(1)).any() else np.nan,
                 "error_rate_without": np.nan,
                 "share_of_errors": 100 * (wrong & ~c.any(1)).sum() / max(1, wrong.sum()), "paper_share": np.nan})
    return pd.DataFrame(rows).set_index("cause")


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
