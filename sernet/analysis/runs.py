"""Cached training runs and the grids of the paper's Table 4.3 (baselines) and Table 4.4 (ablations).

A run is identified by content (:mod:`sernet.artifacts`): :func:`run_path` hashes the data (the manifest's
content and the extraction recipe), the label set, every config section that decides the result (features,
model, training) with the code versions of the stages and the Keras backend, so Chapter 5's base
run is reused by Chapters 6 and 7 and by ``sernet reproduce`` whenever their configs agree, and a changed
config never reads back a stale run.

Examples
--------
>>> cfg = sernet.config.load()                                         # doctest: +SKIP
>>> grid = run_grid(cfg, ABLATIONS, seeds=cfg.train.ablation_seeds)     # doctest: +SKIP
>>> ablations.summarize(grid, reference="Full Model", paper_uar=sernet.paper.TABLE_4_4)   # doctest: +SKIP
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from sernet import artifacts, progress, workspace
from sernet.config import Config, override
from sernet.errors import SernetError

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


def code_versions(cfg: Config) -> dict[str, int]:
    """The code versions a run's result depends on: trainer and feature code, and the generator when the data
    is the synthetic corpus."""
    from sernet.features import cache
    from sernet.train import TRAINER_VERSION

    versions = {"trainer": TRAINER_VERSION, "features": cache.FEATURES_VERSION}
    if cfg.data_root is None:
        from sernet.data import synthetic

        versions["generator"] = synthetic.GENERATOR_VERSION
    return versions


def run_identity(cfg: Config, store=None, classes: Sequence[str] | None = None) -> dict[str, Any]:
    """Everything that decides the result of the run of ``cfg`` (:func:`sernet.artifacts.run_identity`).

    Parameters
    ----------
    cfg : Config
    store : FeatureStore, optional
        The data the run trains on (its ``identity()`` and ``classes``). Default: the configured corpus
        (``cfg.data_root`` or the synthetic corpus, generated on first use), identified by its manifest's
        content without extracting features.
    classes : sequence of str, optional
        The label set (default: the store's, else the corpus's ``classes.txt``).
    """
    from sernet.backend import backend_name

    if store is not None:
        from sernet.labels import classes_of

        data = store.identity()
        classes = tuple(classes if classes is not None else classes_of(store))
    else:
        from sernet.labels import corpus_classes

        manifest = workspace.corpus_manifest(cfg)
        data = workspace.data_identity(cfg, manifest)
        classes = tuple(classes if classes is not None else corpus_classes(manifest))
    return artifacts.run_identity(cfg, data, classes, code_versions(cfg), backend_name())


def run_key(cfg: Config, store=None) -> str:
    """A 12-character key of :func:`run_identity` (content of the data, config, code versions, backend)."""
    return artifacts.key(run_identity(cfg, store))


def run_path(cfg: Config, store=None) -> Path:
    """``$SERNET_HOME/runs/<architecture>-seed<seed>-<key>`` (see :func:`run_key`)."""
    return _path_of(cfg, run_identity(cfg, store))


def _path_of(cfg: Config, identity: Mapping[str, Any]) -> Path:
    return workspace.runs_dir(cfg) / f"{cfg.model.architecture}-seed{cfg.train.seed}-{artifacts.key(identity)}"


def run_or_load(cfg: Config, store=None, **train_kwargs):
    """Train the run of ``cfg`` under :func:`run_path` or load it when it has finished (resuming a killed one).

    The run directory records its :func:`run_identity` (``identity.json``) and it is checked before a resume
    or a read-back (:class:`sernet.artifacts.StaleArtifactError` otherwise).
    ``model.architecture = "egemaps_svm"`` fits the classic baseline (:mod:`sernet.model.classic`) instead.
    Returns a :class:`sernet.train.TrainResult`.
    """
    store = store if store is not None else workspace.feature_store(cfg)
    identity = run_identity(cfg, store)
    path = _path_of(cfg, identity)
    with artifacts.locked(path):  # a run asked for by two processes at once is trained once
        artifacts.claim(path, identity, what="run")
        if cfg.model.architecture == "egemaps_svm":
            from sernet.model.classic import train_egemaps_svm

            return train_egemaps_svm(cfg, store, path)
        from sernet.train import train

        return train(cfg, store, path, resume=True, **train_kwargs)


def load_finished(cfg: Config, store=None):
    """The finished run of ``cfg`` (a :class:`sernet.train.TrainResult`), without training.

    Raises
    ------
    SernetError
        If the run has not finished (names its directory), e.g. a shard of the grid has not run yet.
    StaleArtifactError
        If the directory holds a run of another identity.
    """
    from sernet.train import TrainResult
    from sernet.train.run_dir import RunDir

    identity = run_identity(cfg, store)
    run = RunDir(_path_of(cfg, identity))
    if cfg.model.architecture == "egemaps_svm":
        from sernet.model.classic import is_complete

        done = is_complete(run)
    else:
        done = run.complete
    if not done:
        raise SernetError(f"{run.path}: run of {cfg.model.architecture} seed {cfg.train.seed} has not finished; "
                          "run its shard (sernet study --shard i/N) or the grid first")
    artifacts.claim(run.path, identity, what="run")
    return TrainResult.load(run)


def parse_shard(text: str | None) -> tuple[int, int] | None:
    """``"2/8"`` -> ``(2, 8)`` (shards count from 1, as Slurm array indices usually do); None stays None."""
    if text is None or text == "":
        return None
    try:
        i, n = (int(v) for v in str(text).split("/"))
    except ValueError:
        raise SernetError(f"--shard {text!r}: expected I/N with whole numbers, e.g. 3/8") from None
    if not 1 <= i <= n:
        raise SernetError(f"--shard {text!r}: I must be between 1 and N")
    return i, n


def grid_configs(cfg: Config, variants: Mapping[str, Mapping[str, Any]], seeds: Sequence[int]
                 ) -> list[tuple[str, int, Config]]:
    """``(variant, seed, config)`` of every run of a grid, seed-major (a partial grid has every variant)."""
    return [(name, int(seed), override(cfg, {**variants[name], "train.seed": int(seed)}))
            for seed in seeds for name in variants]


def take_shard(jobs: Sequence[Any], shard: tuple[int, int] | None) -> list[Any]:
    """The jobs of shard ``(i, n)``: every n-th job starting at the i-th (all jobs when ``shard`` is None)."""
    if shard is None:
        return list(jobs)
    i, n = shard
    return list(jobs)[i - 1::n]


def _worker_init() -> None:
    """A grid worker process: one compute thread (workers share the cores), quiet descriptors."""
    for name in ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS", "OMP_NUM_THREADS"):
        os.environ[name] = "1"
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)
    progress.set_enabled(False)


def _run_job(job: tuple[str, Config, str | None]) -> str:
    """One job of :func:`execute`, in this process or a worker."""
    kind, cfg, store_path = job
    if kind == "cross":
        from sernet.analysis.cross_corpus import cross_corpus_matrix

        cross_corpus_matrix(cfg)
        return "cross"
    return str(run_or_load(cfg, None if store_path is None else _open_store(store_path)).run_dir.path)


def execute(jobs: Sequence[tuple[str, Config, str | None]], *, workers: int = 1, desc: str = "runs") -> None:
    """Run training jobs (``("grid", cfg, store_path)`` or ``("cross", cfg, None)``), finished ones skipped.

    ``workers > 1`` trains in that many spawned processes with one compute thread each: on a small CPU two
    single-threaded trainings finish sooner than two after another on both cores (small models do not keep
    two threads busy). A run's numbers depend on its thread count in the last bits only; verdicts compare
    them through intervals, never exactly.
    """
    jobs = list(jobs)
    if workers <= 1 or len(jobs) <= 1:
        for job in progress.bar(jobs, desc=desc, unit="run"):
            _run_job(job)
        return
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init) as pool:
        for _ in progress.bar(pool.map(_run_job, jobs), total=len(jobs), desc=desc, unit="run"):
            pass


def _store_path(store) -> str | None:
    """The folder a worker process can reopen ``store`` from (None: an in-memory or stand-in store)."""
    from sernet.features.cache import FeatureStore

    path = getattr(store, "path", None)
    return str(path) if isinstance(store, FeatureStore) and path and Path(path).is_dir() else None


def _open_store(path: str):
    from sernet.features.cache import FeatureStore

    return FeatureStore.open(path)


def grid_row(name: str, seed: int, result, split: str = "test") -> dict[str, Any]:
    """One row of a grid table from a finished run."""
    m = result.metrics[split]
    return {"variant": name, "seed": int(seed), "UAR": 100 * m["uar"], "WAR": 100 * m["war"],
            "macro_F1": 100 * m["macro_f1"], "val_UAR": 100 * result.metrics["val"]["uar"],
            "best_epoch": result.metrics["best_epoch"], "epochs_run": result.metrics["epochs_run"],
            "run": str(result.run_dir.path)}


def run_grid(cfg: Config, variants: Mapping[str, Mapping[str, Any]], seeds: Sequence[int], *, store=None,
             split: str = "test", desc: str = "runs", workers: int | None = None,
             shard: tuple[int, int] | None = None) -> pd.DataFrame:
    """Train (or load) every variant x seed and collect its ``split`` metrics.

    Parameters
    ----------
    cfg : Config
        The base config; each variant's overrides (``{"model.pooling": "mean"}``) are applied to it.
    variants : mapping
        Row name -> config overrides (e.g. :data:`ABLATIONS`, :data:`BASELINES`).
    seeds : sequence of int
        ``train.seed`` values; every variant runs once per seed.
    workers : int, optional
        Training processes (default ``cfg.train.grid_workers``); see :func:`execute`.
    shard : (i, n), optional
        Train only shard ``i`` of ``n`` (:func:`take_shard`) and return its rows: one Slurm-array task each,
        then a call without ``shard`` (every run finished) collects the whole grid.

    Returns
    -------
    pandas.DataFrame
        One row per run: ``variant``, ``seed``, ``UAR``, ``WAR``, ``macro_F1`` (in %, on ``split``),
        ``val_UAR``, ``best_epoch``, ``epochs_run``, ``run``.
    """
    store = store if store is not None else workspace.feature_store(cfg)
    jobs = take_shard(grid_configs(cfg, variants, seeds), shard)
    store_path = _store_path(store)
    pending = [(n, s, c) for n, s, c in jobs if not (run_path(c) / "metrics.json").exists()]
    n_workers = cfg.train.grid_workers if workers is None else workers
    if store_path is None or n_workers <= 1:
        for _name, _seed, run_cfg in progress.bar(pending, desc=desc, unit="run"):
            run_or_load(run_cfg, store)
    else:
        execute([("grid", c, store_path) for _, _, c in pending], workers=n_workers, desc=desc)
    rows = [grid_row(name, seed, run_or_load(run_cfg, store), split) for name, seed, run_cfg in jobs]
    frame = pd.DataFrame(rows)
    frame["variant"] = pd.Categorical(frame["variant"], categories=list(variants), ordered=True)
    return frame.sort_values(["variant", "seed"]).reset_index(drop=True)
