"""The edge comparison of Chapter 12 (``sernet distill``): the cached distillation run, and parameters,
file size, batch-1 latency on one core and test UAR with intervals of teacher, distilled student, student
alone and their int8 LiteRT exports.

Distillation itself is :mod:`sernet.train.distill`; exports are :mod:`sernet.deploy.export`'s.
"""

from __future__ import annotations

import contextlib
import os
from pathlib import Path

import numpy as np
import pandas as pd

from sernet import artifacts, workspace
from sernet.config import Config
from sernet.labels import classes_of
from sernet.train.batches import FeatureBatches
from sernet.train.distill import DISTILL_VERSION, count_params, distill, student_config
from sernet.train.run_dir import RunDir
from sernet.train.trainer import TrainResult, with_norm_stats


def distill_run_path(cfg: Config, teacher_dir: str | Path) -> Path:
    """``$SERNET_HOME/runs/distill-seed<seed>-<key>`` (key: the student config, distill section, the teacher model's content)."""
    from sernet.analysis import runs

    teacher = RunDir(teacher_dir).model_file
    key = artifacts.key({"run": runs.run_key(student_config(cfg)), "distill": cfg.to_dict()["distill"],
                         "teacher_model_sha256": artifacts.file_sha256(teacher), "version": DISTILL_VERSION})
    return workspace.runs_dir(cfg) / f"distill-seed{cfg.train.seed}-{key}"



def run_or_load_distill(cfg: Config, teacher_dir: str | Path, store=None) -> TrainResult:
    """:func:`distill` under :func:`distill_run_path`, or the finished run loaded."""
    store = store if store is not None else workspace.feature_store(cfg)
    return distill(cfg, store, teacher_dir, distill_run_path(cfg, teacher_dir))


# -------------------------------------------------------------------------------------------- edge comparison
@contextlib.contextmanager
def one_core():
    """Run the block on one CPU core (process affinity) with single-threaded BLAS; restored afterwards."""
    from sernet.deploy.runners import single_threaded_blas

    allowed = os.sched_getaffinity(0) if hasattr(os, "sched_getaffinity") else None
    try:
        if allowed:
            os.sched_setaffinity(0, {min(allowed)})
        with single_threaded_blas():
            yield
    finally:
        if allowed:
            os.sched_setaffinity(0, allowed)


def eval_windows(store, cfg: Config) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """``(features, mask, labels, speakers)`` of the test split as the trainer evaluates it (centre crop,
    ``features.max_length`` frames, the store's normalisation)."""
    ds = FeatureBatches(store, store.split_indices("test"), batch_size=cfg.train.batch_size,
                        max_length=cfg.features.max_length, crop=cfg.features.eval_crop, shuffle=False,
                        seed=cfg.train.seed)
    feats, masks = [], []
    for b in range(len(ds)):
        inputs = ds.inputs(b)
        feats.append(inputs["features"])
        masks.append(inputs["mask"])
    rows = ds.order
    return (np.concatenate(feats), np.concatenate(masks), np.asarray(store.labels)[rows],
            np.asarray(store.speakers)[rows])


def export_int8(run_dir: str | Path, out_dir: str | Path) -> Path:
    """The run's model as a dynamic-range int8 LiteRT file (``sernet.deploy.export``), via a SavedModel."""
    from sernet.deploy import export

    run = RunDir(run_dir)
    cfg = run.read_config()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    saved = export.export_saved_model(run.load_model(), out / "saved_model", cfg.features.max_length)
    return export.convert_tflite(saved, out / "model_int8.tflite", "int8")


def student_verdict(cfg: Config, store, distilled_dir: str | Path, alone_dir: str | Path):
    """Distilled student minus student alone, test UAR in points: the paired speaker bootstrap of the two runs'
    test predictions (:func:`sernet.analysis.bootstrap.paired_difference`), as a
    :func:`~sernet.analysis.verdicts.difference_verdict` (one seed: the interval is over test speakers)."""
    from sernet.analysis.bootstrap import paired_difference
    from sernet.analysis.verdicts import difference_verdict

    classes = list(classes_of(store))
    labels = {}
    for name, run_dir in (("distilled", distilled_dir), ("alone", alone_dir)):
        p = RunDir(run_dir).read_predictions()
        p = p[p["split"] == "test"].sort_values("row")
        labels[name] = (np.array([classes.index(c) for c in p["true"]]),
                        np.array([classes.index(c) for c in p["predicted"]]), p["row"].to_numpy())
    (y_true, pred_distilled, rows), (_, pred_alone, rows_alone) = labels["distilled"], labels["alone"]
    if not np.array_equal(rows, rows_alone):
        raise ValueError(f"{distilled_dir} and {alone_dir} were not scored on the same test rows")
    a = cfg.analysis
    gain = paired_difference(y_true, pred_distilled, pred_alone, np.asarray(store.speakers)[rows],
                             n_classes=len(classes), n_resamples=a.bootstrap_resamples, confidence=a.confidence,
                             seed=a.bootstrap_seed).scaled(100)
    return difference_verdict("distilled student vs student alone", gain)


def _logits(runner, features: np.ndarray, mask: np.ndarray, batch: int) -> np.ndarray:
    return np.concatenate([runner.logits(features[i:i + batch], mask[i:i + batch])
                           for i in range(0, len(features), batch)])


def edge_table(cfg: Config, store, models: dict[str, str | Path], out_dir: str | Path) -> pd.DataFrame:
    """Parameters, file size, batch-1 latency on one core and test UAR (speaker-bootstrap interval) of each
    run in ``models`` and of its int8 LiteRT export.

    Parameters
    ----------
    cfg : Config
        ``analysis`` (confidence, resamples, seed) and ``deploy`` (latency warmup and repeats).
    store : FeatureStore
        The labelled corpus; each model is scored on its test split with its own run's normalisation.
    models : dict
        Display name -> run directory.
    out_dir : path
        Where the int8 exports are written (one folder per model).

    Returns
    -------
    pandas.DataFrame
        One row per (model, format): ``model``, ``format`` ("keras" / "litert_int8"), ``params``,
        ``size_mb``, ``latency_ms`` (batch-1 p50 on one core), ``uar``, ``uar_low``, ``uar_high``,
        ``agreement`` (share of test windows with the Keras model's label).
    """
    from sernet.analysis.bootstrap import metric_interval
    from sernet.bench.latency import time_calls
    from sernet.deploy.export import size_mb
    from sernet.deploy.runners import KerasRunner, LiteRTRunner

    a, d = cfg.analysis, cfg.deploy
    rows = []
    for name, run_dir in models.items():
        run = RunDir(run_dir)
        rcfg = run.read_config()
        feats, mask, y, speakers = eval_windows(with_norm_stats(store, *run.read_norm_stats()), rcfg)
        model = run.load_model()
        tflite = export_int8(run.path, Path(out_dir) / Path(run.path).name)
        runners = {"keras": (KerasRunner(model, rcfg.features.max_length), size_mb(run.model_file)),
                   "litert_int8": (LiteRTRunner(tflite, num_threads=1), size_mb(tflite))}
        reference = None
        for fmt, (runner, size) in runners.items():
            logits = _logits(runner, feats, mask, rcfg.train.batch_size)
            pred = logits.argmax(axis=1)
            reference = pred if reference is None else reference
            ci = metric_interval(y, pred, speakers, metric="uar", n_classes=len(classes_of(store)),
                                 n_resamples=a.bootstrap_resamples, confidence=a.confidence, seed=a.bootstrap_seed)
            one = (feats[:1], mask[:1])
            with one_core():
                lat = time_calls(lambda r=runner, o=one: r.logits(*o), d.bench_warmup, d.bench_repeats)
            rows.append({"model": name, "format": fmt, "params": count_params(model), "size_mb": size,
                         "latency_ms": lat["p50_ms"], "uar": ci.estimate, "uar_low": ci.low, "uar_high": ci.high,
                         "agreement": float(np.mean(pred == reference))})
    return pd.DataFrame(rows)


def plot_pareto(table: pd.DataFrame, *, chance: float, ax=None):
    """The accuracy-vs-latency figure of an :func:`edge_table`: test UAR (%) with its interval against batch-1
    latency on one core (log scale), one colour per model, open markers for Keras and filled for the int8
    files, marker area growing with the file size; ``chance`` (UAR, 0-1) as a line. Returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(7, 4.2))
    palette = ("tab:blue", "tab:green", "tab:orange", "tab:red", "tab:purple")
    colours = dict(zip(table["model"].unique(), palette, strict=False))
    for _, r in table.iterrows():
        ax.errorbar(r["latency_ms"], 100 * r["uar"],
                    yerr=[[100 * (r["uar"] - r["uar_low"])], [100 * (r["uar_high"] - r["uar"])]],
                    marker="o" if r["format"] == "keras" else "s", ms=4 + 40 * np.sqrt(r["size_mb"]),
                    mfc="none" if r["format"] == "keras" else colours[r["model"]], color=colours[r["model"]],
                    capsize=3, ls="none", label=f"{r['model']} ({r['format']})")
    ax.axhline(100 * chance, color="grey", ls=":", label="chance")
    ax.set(xscale="log", xlabel="batch-1 latency on one core, p50 (ms, log scale)", ylabel="test UAR (%)",
           title="accuracy vs latency (marker area ~ file size)")
    ax.legend(fontsize=7, loc="lower right", markerscale=0.4)
    return ax
