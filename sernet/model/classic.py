"""The classic baseline of Table 4.3: openSMILE eGeMAPS functionals into a class-balanced RBF SVM.

This is what a practitioner tries before any neural network: 88 hand-designed utterance functionals
(:mod:`sernet.features.egemaps`), z-scored on the training split (``StandardScaler``), into
``sklearn.svm.SVC(kernel="rbf", class_weight="balanced")``. It uses the same feature store, the same
speaker-independent splits and the same run-directory format as the neural models
(:func:`sernet.train.train`), so every table, bootstrap and verdict treats it like any other run.

Model selection
    Every ``(C, gamma)`` of ``cfg.classic.c_grid`` x ``cfg.classic.gamma_grid`` is fitted on the train
    split and scored by UAR on the validation split; the best (the first in grid order on a tie) is kept.
    The test split is scored once, by the chosen model.
Probabilities
    The SVM's one-vs-rest decision values, softmaxed at one temperature fitted on out-of-fold decisions of
    the train split (``CalibratedClassifierCV(method="temperature", ensemble=False)``, folds shuffled by
    ``train.seed``). The temperature rescales every class alike, so the predicted class (the argmax) is the
    SVM's one-vs-rest decision (scikit-learn's pairwise votes, ties broken by confidence) and does not
    depend on the seed; only the probability values do.

A finished run directory (``metrics.json`` is written last) is loaded, not refitted::

    <run>/config.json        the Config, with the opensmile and scikit-learn versions
    <run>/history.csv        the selection grid: C, gamma, val_uar, val_war, val_macro_f1, fit_s
    <run>/model.joblib       the fitted pipeline (scaler + calibrated SVM), :func:`load_svm`
    <run>/predictions.csv    id, row, split, true, predicted, prob_<emotion> (the trainer's format)
    <run>/metrics.json       {"val": ..., "test": ..., "svm": {...}, best_epoch, epochs_run, ...}
"""

from __future__ import annotations

import io
import json
import shutil
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sernet.analysis.metrics import evaluate_predictions, evaluate_probabilities
from sernet.artifacts import atomic_write_bytes, atomic_write_text
from sernet.config import Config
from sernet.errors import ConfigError, SernetError
from sernet.features import egemaps
from sernet.labels import NUM_CLASSES
from sernet.train.run_dir import RunDir
from sernet.train.trainer import TrainResult, predictions_frame

CLASSIC_VERSION: int = 1
"""Bumped when a change here would change a run's result."""

MODEL_FILE = "model.joblib"
HISTORY_COLUMNS = ("C", "gamma", "val_uar", "val_war", "val_macro_f1", "fit_s")


def _class_weight(ccfg) -> str | None:
    if ccfg.class_weight == "balanced":
        return "balanced"
    if ccfg.class_weight == "none":
        return None
    raise ConfigError(f"config classic.class_weight={ccfg.class_weight!r}: expected 'balanced' or 'none'")


def make_pipeline(C: float, gamma: float, class_weight: str | None = "balanced"):
    """``StandardScaler`` + ``SVC(kernel="rbf")``: the uncalibrated classifier of one grid point."""
    from sklearn.pipeline import make_pipeline as sk_pipeline
    from sklearn.preprocessing import StandardScaler
    from sklearn.svm import SVC

    return sk_pipeline(StandardScaler(), SVC(kernel="rbf", C=float(C), gamma=float(gamma),
                                              class_weight=class_weight, decision_function_shape="ovr"))


def _full_probabilities(classes: np.ndarray, probs: np.ndarray) -> np.ndarray:
    """[n, NUM_CLASSES] probabilities from the columns of the classes the model saw in training."""
    out = np.zeros((len(probs), NUM_CLASSES), dtype=np.float64)
    out[:, np.asarray(classes, dtype=int)] = probs
    return out


def predict_probabilities(model, X: np.ndarray) -> np.ndarray:
    """Class probabilities [n, 8] of a fitted :func:`load_svm` model (classes absent in training: 0)."""
    return _full_probabilities(model.classes_, model.predict_proba(X))


def load_svm(run_dir: str | Path | RunDir):
    """The fitted pipeline of a finished SVM run (``model.joblib``)."""
    import joblib

    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    path = run.path / MODEL_FILE
    if not path.exists():
        raise SernetError(f"{path}: no SVM model; the run has not finished (fit it first)")
    return joblib.load(path)


def is_complete(run_dir: str | Path | RunDir) -> bool:
    """True once an SVM run has written its model and, last, its metrics."""
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    return run.metrics_json.exists() and (run.path / MODEL_FILE).exists()


def select_hyperparameters(X_train: np.ndarray, y_train: np.ndarray, X_val: np.ndarray, y_val: np.ndarray,
                           ccfg) -> tuple[dict[str, float], pd.DataFrame]:
    """Fit every ``(C, gamma)`` of the grid on train, score UAR on val; return the best and the grid table.

    The validation prediction of a grid point is the argmax of its one-vs-rest decision values, which is
    also the argmax of the calibrated probabilities of the final model (one temperature for all classes).
    """
    if not ccfg.c_grid or not ccfg.gamma_grid:
        raise ConfigError("config classic.c_grid and classic.gamma_grid must each hold at least one value")
    class_weight = _class_weight(ccfg)
    rows = []
    for C in ccfg.c_grid:
        for gamma in ccfg.gamma_grid:
            t0 = time.perf_counter()
            model = make_pipeline(C, gamma, class_weight).fit(X_train, y_train)
            fit_s = time.perf_counter() - t0
            decision = np.asarray(model.decision_function(X_val)).reshape(len(X_val), -1)
            if decision.shape[1] == 1:  # two classes: sklearn returns one column (> 0: the second class)
                decision = np.hstack([-decision, decision])
            pred = np.asarray(model.classes_)[decision.argmax(axis=1)]
            m = evaluate_predictions(y_val, pred, n_classes=NUM_CLASSES)
            rows.append({"C": float(C), "gamma": float(gamma), "val_uar": m["uar"], "val_war": m["war"],
                         "val_macro_f1": m["macro_f1"], "fit_s": fit_s})
    grid = pd.DataFrame(rows, columns=list(HISTORY_COLUMNS))
    best = grid.iloc[int(np.argmax(grid["val_uar"].to_numpy()))]  # argmax: the first of equal maxima
    return {"C": float(best["C"]), "gamma": float(best["gamma"]), "val_uar": float(best["val_uar"])}, grid


def fit_calibrated(X_train: np.ndarray, y_train: np.ndarray, C: float, gamma: float, ccfg, seed: int):
    """The chosen SVM refitted on train with temperature-scaled probabilities (see the module docstring)."""
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.model_selection import StratifiedKFold

    counts = np.bincount(np.unique(y_train, return_inverse=True)[1])
    folds = int(min(ccfg.calibration_folds, counts.min()))
    if folds < 2:
        raise SernetError(f"calibrating the SVM needs at least 2 training utterances of every class present; "
                          f"the train split has a class with {int(counts.min())}")
    cv = StratifiedKFold(n_splits=folds, shuffle=True, random_state=int(seed))
    model = CalibratedClassifierCV(make_pipeline(C, gamma, _class_weight(ccfg)), method="temperature", cv=cv,
                                   ensemble=False)
    return model.fit(X_train, y_train)


def train_egemaps_svm(cfg: Config, store, run_dir: str | Path, *, resume: bool = True,
                      workers: int | None = None) -> TrainResult:
    """Fit (or load) the eGeMAPS + RBF-SVM run of ``cfg`` on ``store`` in ``run_dir``.

    Parameters
    ----------
    cfg : Config
        ``cfg.classic`` (feature set, grids, class weighting, calibration folds); ``cfg.train.seed`` shuffles
        the calibration folds only; ``cfg.features.sample_rate_hz`` and ``cfg.home`` (the functionals cache).
    store : sernet.features.cache.FeatureStore
        The corpus' feature store: its ``index`` (the ``path`` column locates the audio), ``labels`` and
        ``split_indices``, so the splits and rows are the neural models'.
    run_dir : path
        The run directory (created). A finished run is loaded, not refitted, when ``resume`` is True.
    resume : bool
        False: delete ``run_dir`` and start over.
    workers : int, optional
        openSMILE extraction threads (:func:`sernet.features.egemaps.egemaps_functionals`).

    Returns
    -------
    sernet.train.TrainResult
        ``metrics`` has ``val`` and ``test`` (:func:`sernet.analysis.metrics.evaluate_predictions` format),
        ``best_epoch`` = ``epochs_run`` = 0 (no epochs), ``stopped_early`` False, ``best_val_uar`` (the
        selection's) and ``svm`` (C, gamma, temperature, feature set, timings); ``history`` is the grid.
        ``result.load_model()`` does not apply (no Keras model): use :func:`load_svm`.

    Raises
    ------
    SernetError
        If the train or val split is empty, or a class has a single training utterance.
    AudioError
        If an utterance's audio cannot be read (see :func:`sernet.features.egemaps.egemaps_functionals`).
    """
    import joblib
    import sklearn

    ccfg = cfg.classic
    run = RunDir(run_dir)
    if resume and is_complete(run):
        return TrainResult.load(run)
    if not resume and run.path.exists():
        shutil.rmtree(run.path)
    run.path.mkdir(parents=True, exist_ok=True)
    _class_weight(ccfg)  # a bad value fails before the extraction
    train_rows, val_rows = store.split_indices("train"), store.split_indices("val")
    if len(train_rows) == 0 or len(val_rows) == 0:
        raise SernetError(f"{getattr(store, 'path', 'feature store')}: the SVM needs non-empty train and val "
                          "splits")
    run.write_config(cfg, trainer="egemaps_svm", classic_version=CLASSIC_VERSION,
                     opensmile_version=egemaps.opensmile_version(), sklearn_version=sklearn.__version__,
                     feature_store=str(getattr(store, "path", "")))

    t0 = time.perf_counter()
    X = egemaps.egemaps_functionals(store.index, feature_set=ccfg.feature_set,
                                    sample_rate_hz=cfg.features.sample_rate_hz, home=cfg.home, workers=workers)
    extract_s = time.perf_counter() - t0
    y = np.asarray(store.labels, dtype=int)

    t0 = time.perf_counter()
    best, grid = select_hyperparameters(X[train_rows], y[train_rows], X[val_rows], y[val_rows], ccfg)
    select_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model = fit_calibrated(X[train_rows], y[train_rows], best["C"], best["gamma"], ccfg, cfg.train.seed)
    calibrate_s = time.perf_counter() - t0

    metrics: dict[str, Any] = {}
    frames = []
    for split in ("val", "test"):
        rows = store.split_indices(split)
        if len(rows) == 0:
            continue
        probs = predict_probabilities(model, X[rows])
        metrics[split] = evaluate_probabilities(y[rows], probs)
        frames.append(predictions_frame(store, rows, split, y[rows], probs))
    calibrator = model.calibrated_classifiers_[0].calibrators[0]
    temperature = getattr(calibrator, "beta_", None)
    metrics.update(best_epoch=0, epochs_run=0, stopped_early=False, best_val_uar=best["val_uar"],
                   svm={"C": best["C"], "gamma": best["gamma"], "feature_set": ccfg.feature_set,
                        "n_features": int(X.shape[1]), "n_support": int(model.calibrated_classifiers_[0]
                                                                           .estimator[-1].n_support_.sum()),
                        "inverse_temperature": None if temperature is None else float(temperature),
                        "extract_s": extract_s, "select_s": select_s, "calibrate_s": calibrate_s})
    atomic_write_text(run.history_csv, grid.to_csv(index=False, lineterminator="\n"))
    atomic_write_text(run.predictions_csv, pd.concat(frames, ignore_index=True).to_csv(index=False,
                                                                                      lineterminator="\n"))
    buf = io.BytesIO()
    joblib.dump(model, buf)
    atomic_write_bytes(run.path / MODEL_FILE, buf.getvalue())
    atomic_write_text(run.metrics_json, json.dumps(metrics, indent=2))  # written last: marks completion
    return TrainResult(run, metrics, grid)
