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

import pandas as pd

from sernet import progress, workspace
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
