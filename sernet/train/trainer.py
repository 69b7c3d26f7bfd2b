"""Training and evaluation of one run (paper §3.5 and §4.1), resumable after a kill.

``train(cfg, store, run_dir)`` builds the model (``sernet.model.build_sernet``), the loss
(``sernet.losses.make_loss``: focal or cross-entropy with label smoothing, optional class weights), AdamW
with warmup + cosine decay (:mod:`sernet.train.schedule`), and fits on the feature cache
(:mod:`sernet.train.batches`, SpecAugment on training batches) with early stopping on validation UAR.
After every epoch a checkpoint (model, optimizer and RNG-state variables, early-stopping state and history)
is written atomically into the run directory; ``train(..., resume=True)`` continues from it and ends with
the same weights and metrics as a run that was never interrupted (same seed, same machine). The best epoch's
weights are evaluated on the validation and test splits. Explained in chapters/05_training.py.
"""

from __future__ import annotations

import contextlib
import json
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sernet import progress
from sernet.analysis.metrics import evaluate_probabilities
from sernet.backend import backend_name, keras, silenced_stderr
from sernet.config import Config
from sernet.errors import SernetError
from sernet.labels import EMOTIONS, NUM_CLASSES
from sernet.train.augment import MaskSpec, training_model
from sernet.train.batches import FeatureBatches, split_batches
from sernet.train.run_dir import RunDir, atomic_write_text
from sernet.train.schedule import make_optimizer

TRAINER_VERSION = 2
"""Bumped when a change to training would change a run's result (part of cached run keys)."""


# ----------------------------------------------------------------------------------------------- devices
def gpu_available() -> bool:
    """Whether the active Keras backend sees a GPU."""
    name = backend_name()
    try:
        if name == "tensorflow":
            import tensorflow as tf

            return bool(tf.config.list_physical_devices("GPU"))
        if name == "jax":
            import jax

            return any(d.platform == "gpu" for d in jax.devices())
        if name == "torch":
            import torch

            return bool(torch.cuda.is_available())
    except Exception:  # noqa: BLE001 - a broken driver means "no GPU", not a crash
        return False
    return False


def set_precision(mode: str) -> str:
    """Set Keras' global dtype policy from ``train.mixed_precision`` and return its name.

    ``"auto"``: ``mixed_float16`` when a GPU is visible (``mixed_bfloat16`` on JAX), else ``float32``
    (never mixed precision on a CPU); ``"float32"``/``"off"``: float32; ``"mixed_float16"``/
    ``"mixed_bfloat16"``: forced.
    """
    k = keras()
    if mode == "auto":
        policy = ("mixed_bfloat16" if backend_name() == "jax" else "mixed_float16") if gpu_available() \
            else "float32"
    elif mode in ("off", "none", "float32"):
        policy = "float32"
    elif mode in ("mixed_float16", "mixed_bfloat16"):
        policy = mode
    else:
        raise SernetError(f"config train.mixed_precision={mode!r}: expected auto, float32, mixed_float16 or "
                          "mixed_bfloat16")
    k.mixed_precision.set_dtype_policy(policy)
    return policy


# ------------------------------------------------------------------------------------------------ state
@dataclass
class TrainState:
    """What a checkpoint holds besides the variables: where training stands."""

    epoch: int = 0  # epochs finished
    best_uar: float = -1.0
    best_epoch: int = 0
    wait: int = 0  # epochs since the best (early stopping)
    stopped: bool = False
    history: list[dict[str, float]] = field(default_factory=list)
    variables_file: str | None = None
    best_file: str | None = None

    @classmethod
    def read(cls, path: Path) -> TrainState:
        try:
            return cls(**json.loads(path.read_text()))
        except (OSError, ValueError, TypeError) as exc:
            raise SernetError(f"{path}: unreadable training checkpoint state ({exc}); delete the run's "
                              "checkpoint/ folder to start over") from None

    def write(self, path: Path) -> None:
        atomic_write_text(path, json.dumps(self.__dict__, indent=1))


def _all_variables(model) -> list:
    """Every variable a resumed run needs: weights, non-trainable state (BatchNorm statistics, dropout
    seed-generator states) and the optimizer's (step counter, moments)."""
    return list(model.variables) + list(model.optimizer.variables)


def _save_variables(variables: list, path: Path) -> None:
    ops = keras().ops
    arrays = {f"v{i:05d}": ops.convert_to_numpy(v.value) for i, v in enumerate(variables)}
    tmp = path.with_name(f".{path.name}.tmp.npz")
    np.savez(tmp, **arrays)
    tmp.replace(path)


def _load_variables(variables: list, path: Path) -> None:
    with np.load(path) as f:
        if len(f.files) != len(variables):
            raise SernetError(f"{path}: checkpoint holds {len(f.files)} variables, the model has "
                              f"{len(variables)}; the config changed since it was written (delete the run)")
        for i, v in enumerate(variables):
            value = f[f"v{i:05d}"]
            if tuple(value.shape) != tuple(v.shape):
                raise SernetError(f"{path}: variable {v.path} has shape {tuple(v.shape)}, checkpoint "
                                  f"{tuple(value.shape)}; the config changed since it was written")
            v.assign(value)


# --------------------------------------------------------------------------------------------- callback
def _softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def predict_probabilities(model, dataset: FeatureBatches) -> np.ndarray:
    """Class probabilities [n, 8] of ``dataset`` (in its order) from a logits model."""
    logits = model.predict(dataset, verbose=0)
    return _softmax(np.asarray(logits, dtype=np.float64))


def _make_epoch_callback(k, *, val_ds: FeatureBatches, state: TrainState, run: RunDir, patience: int,
                         predict_model):
    val_labels = np.asarray(val_ds.labels[val_ds.order])

    class EpochEnd(k.callbacks.Callback):
        """Validation UAR, best-model tracking, early stopping and the checkpoint, in that order."""

        def on_epoch_end(self, epoch, logs=None):
            logs = logs if logs is not None else {}
            metrics = evaluate_probabilities(val_labels, predict_probabilities(predict_model, val_ds))
            logs.update(val_uar=metrics["uar"], val_war=metrics["war"], val_macro_f1=metrics["macro_f1"])
            optimizer = self.model.optimizer
            logs["lr"] = float(k.ops.convert_to_numpy(optimizer.learning_rate))
            state.history.append({"epoch": epoch + 1, **{name: float(v) for name, v in logs.items()}})
            state.epoch = epoch + 1
            ckpt = run.checkpoint
            ckpt.mkdir(parents=True, exist_ok=True)
            old = {state.variables_file, state.best_file}
            if metrics["uar"] > state.best_uar:
                state.best_uar, state.best_epoch, state.wait = metrics["uar"], epoch + 1, 0
                state.best_file = f"best-{epoch + 1:04d}.npz"
                _save_variables(list(self.model.variables), ckpt / state.best_file)
            else:
                state.wait += 1
            if state.wait >= patience:
                state.stopped = True
                self.model.stop_training = True
            state.variables_file = f"variables-{epoch + 1:04d}.npz"
            _save_variables(_all_variables(self.model), ckpt / state.variables_file)
            state.write(run.state_json)  # the commit point: from here on the new files are the checkpoint
            for name in old - {state.variables_file, state.best_file, None}:
                (ckpt / name).unlink(missing_ok=True)
            pd.DataFrame(state.history).to_csv(run.history_csv, index=False)

    return EpochEnd()


# -------------------------------------------------------------------------------------------- the result
@dataclass
class TrainResult:
    """A finished run: its directory, metrics (``{"val": ..., "test": ...}``) and history."""

    run_dir: RunDir
    metrics: dict[str, Any]
    history: pd.DataFrame

    @property
    def best_epoch(self) -> int:
        return int(self.metrics["best_epoch"])

    def load_model(self):
        """The best model (``model.keras``)."""
        return self.run_dir.load_model()

    @classmethod
    def load(cls, run_dir: str | Path | RunDir) -> TrainResult:
        run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
        return cls(run, run.read_metrics(), run.read_history())


# ----------------------------------------------------------------------------------------------- train
def _tensorboard(k, run: RunDir) -> list:
    """Keras' TensorBoard callback when its writer is installed (it needs ``tensorflow`` and
    ``tensorboard``, also on the JAX/PyTorch backends); nothing otherwise, so a JAX-only install trains."""
    import importlib.util

    if importlib.util.find_spec("tensorflow") is None or importlib.util.find_spec("tensorboard") is None:
        return []
    with silenced_stderr():  # on JAX/PyTorch this imports TensorFlow, which logs to stderr
        return [k.callbacks.TensorBoard(log_dir=str(run.tensorboard), write_graph=False)]


def _scope(strategy):
    """The strategy's scope: a ``tf.distribute.Strategy`` or a ``keras.distribution.Distribution`` (both
    have ``.scope()``), or nothing."""
    if strategy is None:
        return contextlib.nullcontext()
    if not hasattr(strategy, "scope"):
        raise SernetError(f"train(strategy=...): {type(strategy).__name__} has no scope(); pass a "
                          "tf.distribute.Strategy or a keras.distribution.Distribution")
    return strategy.scope()


_COMPILED: dict[str, tuple[Any, Any, list[np.ndarray]]] = {}


def _compile_key(cfg: Config, counts: np.ndarray, steps_per_epoch: int, policy: str) -> str:
    """Everything the traced training step depends on (not the seed, ``augment`` or patience)."""
    tcfg = cfg.train.__dict__
    skip = {"seed", "augment", "early_stopping_patience", "ablation_seeds"}
    return json.dumps({"model": cfg.model.__dict__, "train": {k: v for k, v in tcfg.items() if k not in skip},
                       "max_length": cfg.features.max_length, "counts": counts.tolist(),
                       "steps": steps_per_epoch, "policy": policy, "backend": backend_name()},
                      sort_keys=True, default=str)


def _compiled_model(cfg: Config, counts: np.ndarray, steps_per_epoch: int, policy: str, strategy):
    """``(training_model, model)`` compiled and in the freshly initialised state of ``cfg.train.seed``.

    ``model`` is ``sernet.model.build_sernet(cfg)``; ``training_model`` puts the SpecAugment layer in front
    of it (same variables) and is what ``fit`` trains. Tracing a training step costs seconds on a CPU, more
    than a smoke run's epoch; runs that differ only in seed or augmentation (ablation seeds) reuse one
    compiled model of this process: the model is rebuilt (cheap, no tracing) under the seed and its initial
    values, and a fresh optimizer state, are assigned into the compiled one. The result equals a fresh
    build's (tests/test_train.py checks it).
    """
    from sernet import losses
    from sernet import model as model_lib

    k = keras()
    key = None if strategy is not None else _compile_key(cfg, counts, steps_per_epoch, policy)
    if key is not None and key in _COMPILED:
        train_model, model, optimizer_init = _COMPILED[key]
        fresh = model_lib.build_sernet(cfg)  # same global RNG draws as a first build after set_random_seed
        for target, source in zip(model.variables, fresh.variables, strict=True):
            target.assign(source.value)
        for target, value in zip(train_model.optimizer.variables, optimizer_init, strict=True):
            target.assign(value)
        return train_model, model
    with _scope(strategy):
        model = model_lib.build_sernet(cfg)
        train_model = training_model(model, MaskSpec.from_config(cfg.train))
        train_model.compile(optimizer=make_optimizer(cfg.train, steps_per_epoch),
                            loss=losses.make_loss(cfg.train, counts),
                            metrics=[k.metrics.CategoricalAccuracy(name="accuracy")])
        train_model.optimizer.build(train_model.trainable_variables)
    if key is not None:
        if len(_COMPILED) >= 16:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = (train_model, model,
                          [k.ops.convert_to_numpy(v.value) for v in train_model.optimizer.variables])
    return train_model, model


def clear_compiled_models() -> None:
    """Forget the compiled models kept for reuse (frees their memory)."""
    _COMPILED.clear()


def _class_counts(store, split: str = "train") -> np.ndarray:
    labels = np.asarray(store.labels)[store.split_indices(split)]
    return np.bincount(labels, minlength=NUM_CLASSES)


def train(cfg: Config, store, run_dir: str | Path, *, resume: bool = True, strategy=None,
          callbacks: tuple = (), verbose: int | None = None, workers: int = 1) -> TrainResult:
    """Train (or resume, or just load) the run of ``cfg`` on ``store`` in ``run_dir``.

    Parameters
    ----------
    cfg : Config
        The whole experiment; ``cfg.model`` picks the architecture/ablation, ``cfg.train`` the optimisation.
    store : sernet.features.cache.FeatureStore
        The corpus' feature cache (splits, labels, normalisation statistics).
    run_dir : path
        The run directory (created). A finished run is loaded, not retrained, when ``resume`` is True.
    resume : bool
        Continue from the last checkpoint in ``run_dir`` (default). False: start over (deletes it).
    strategy : tf.distribute.Strategy or keras.distribution.Distribution, optional
        Model and optimizer are created inside ``strategy.scope()`` (e.g. ``MirroredStrategy``). Default:
        the strategy of ``cfg.train.distribution`` (``sernet.distribute``; "none": one device). None:
        the strategy of ``cfg.train.distribution`` (``sernet.distribute``; none by default).
    callbacks : tuple of keras.callbacks.Callback
        Extra callbacks, run after the checkpoint of each epoch has been written.
    verbose : int, optional
        Keras' fit verbosity; default: a progress bar when progress is enabled (``sernet.progress``).
    workers : int
        Prefetching threads of the training batches (``keras.utils.PyDataset``).

    Returns
    -------
    TrainResult
    """
    if strategy is None and getattr(cfg.train, "distribution", "none") != "none":
        from sernet import distribute

        with distribute.distribution_scope(cfg) as configured:
            if configured is not None:
                return _train(cfg, store, run_dir, resume=resume, strategy=configured, callbacks=callbacks,
                              verbose=verbose, workers=workers)
    return _train(cfg, store, run_dir, resume=resume, strategy=strategy, callbacks=callbacks, verbose=verbose,
                  workers=workers)


def _train(cfg: Config, store, run_dir: str | Path, *, resume: bool, strategy, callbacks: tuple,
           verbose: int | None, workers: int) -> TrainResult:
    k = keras()
    tcfg = cfg.train
    run = RunDir(run_dir)
    if resume and run.complete:
        return TrainResult.load(run)
    if strategy is None and tcfg.distribution != "none":  # multi-device from the config (sernet.distribute)
        from sernet import distribute

        with distribute.distribution_scope(cfg) as configured:
            if configured is not None:
                return train(cfg, store, run_dir, resume=resume, strategy=configured, callbacks=callbacks,
                             verbose=verbose, workers=workers)
    if not resume and run.path.exists():
        shutil.rmtree(run.path)
    run.path.mkdir(parents=True, exist_ok=True)
    from sernet import losses

    policy = set_precision(tcfg.mixed_precision)
    k.utils.set_random_seed(tcfg.seed)
    state = TrainState.read(run.state_json) if run.state_json.exists() else TrainState()
    counts = _class_counts(store)
    if counts.sum() == 0 or len(store.split_indices("val")) == 0:
        raise SernetError(f"{getattr(store, 'path', 'feature store')}: training needs non-empty train and val "
                          "splits")
    sample_weights = None
    if tcfg.class_weighting != "none":
        sample_weights = np.asarray(losses.class_weights(counts, tcfg.class_weighting), dtype=np.float32)
    run.write_config(cfg, backend=backend_name(), dtype_policy=policy, trainer_version=TRAINER_VERSION,
                     feature_store=str(getattr(store, "path", "")))
    run.write_norm_stats(store.norm_mean, store.norm_std)

    train_ds = split_batches(store, "train", cfg, training=True, epoch=state.epoch,
                             sample_weights=sample_weights, workers=workers)
    val_ds = split_batches(store, "val", cfg, training=False)
    train_model, model = _compiled_model(cfg, counts, len(train_ds), policy, strategy)
    if state.variables_file:
        _load_variables(_all_variables(train_model), run.checkpoint / state.variables_file)

    if not state.stopped and state.epoch < tcfg.epochs:
        epoch_end = _make_epoch_callback(k, val_ds=val_ds, state=state, run=run,
                                         patience=tcfg.early_stopping_patience, predict_model=model)
        board = _tensorboard(k, run)
        if verbose is None:
            verbose = 1 if progress.enabled() else 0
        # TensorFlow logs one-off C++ notices (e.g. oneDNN kernel fallbacks) to the stderr descriptor while
        # the first steps run; they are noise to users and break notebook replays. Keras' own progress bar
        # writes to stdout and stays visible.
        with silenced_stderr():
            train_model.fit(train_ds, epochs=tcfg.epochs, initial_epoch=state.epoch, shuffle=False,
                            verbose=verbose, callbacks=[epoch_end, *board, *callbacks])
    if state.best_file is None:
        raise SernetError(f"{run.state_json}: no epoch finished; nothing to evaluate")
    _load_variables(list(train_model.variables), run.checkpoint / state.best_file)
    metrics = _evaluate_and_save(model, store, cfg, run, state)
    return TrainResult(run, metrics, pd.DataFrame(state.history))


def _evaluate_and_save(model, store, cfg: Config, run: RunDir, state: TrainState) -> dict[str, Any]:
    metrics: dict[str, Any] = {}
    frames = []
    for split in ("val", "test"):
        if len(store.split_indices(split)) == 0:
            continue
        ds = split_batches(store, split, cfg, training=False)
        probs = predict_probabilities(model, ds)
        rows = ds.order
        y = np.asarray(store.labels)[rows]
        metrics[split] = evaluate_probabilities(y, probs)
        frames.append(predictions_frame(store, rows, split, y, probs))
    metrics.update(best_epoch=state.best_epoch, epochs_run=state.epoch, stopped_early=state.stopped,
                   best_val_uar=state.best_uar)
    pd.concat(frames, ignore_index=True).to_csv(run.predictions_csv, index=False)
    model.save(run.model_file)
    atomic_write_text(run.metrics_json, json.dumps(metrics, indent=2))  # written last: marks completion
    return metrics


def predictions_frame(store, rows: np.ndarray, split: str, y_true: np.ndarray, probs: np.ndarray
                      ) -> pd.DataFrame:
    """``predictions.csv`` rows: id, split, true, predicted (class names), prob_<emotion>."""
    index = store.index
    id_col = "id" if "id" in index.columns else "path"
    frame = pd.DataFrame({
        "id": index[id_col].to_numpy()[rows],
        "row": rows,
        "split": split,
        "true": [EMOTIONS[i] for i in y_true],
        "predicted": [EMOTIONS[i] for i in probs.argmax(axis=1)],
    })
    for c, name in enumerate(EMOTIONS):
        frame[f"prob_{name}"] = probs[:, c]
    return frame


def evaluate_run(run_dir: str | Path, store, *, splits: tuple[str, ...] = ("val", "test")) -> dict[str, Any]:
    """Re-evaluate a finished run's best model on ``store`` (its config's crops and batch size)."""
    run = RunDir(run_dir)
    cfg = run.read_config()
    model = run.load_model()
    out = {}
    for split in splits:
        ds = split_batches(store, split, cfg, training=False)
        out[split] = evaluate_probabilities(np.asarray(store.labels)[ds.order], predict_probabilities(model, ds))
    return out
