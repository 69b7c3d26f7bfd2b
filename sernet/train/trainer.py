"""Training and evaluation of one run (paper §3.5 and §4.1), resumable after a kill.

``train(cfg, store, run_dir)`` builds the model (``sernet.model.build_sernet``), the loss
(``sernet.losses.make_loss``: focal or cross-entropy with label smoothing, optional class weights), AdamW
with warmup + cosine decay (:mod:`sernet.train.schedule`), and fits on the feature cache
(:mod:`sernet.train.batches`, SpecAugment on training batches) with early stopping on validation UAR.
After every epoch a checkpoint (model, optimizer and RNG-state variables, early-stopping state and history)
is written atomically into the run directory; ``train(..., resume=True)`` continues from it and ends with
the same weights and metrics as a run that was never interrupted (same seed, same machine). The best epoch's
weights are evaluated on the validation and test splits. Explained in chapters/05_training.py.

The label set is the store's (``store.classes``: the prepared corpus's ``classes.txt``, the paper's 8 for the
synthetic corpus): the model head has ``len(classes)`` outputs, class weights, metrics and
``predictions.csv`` (``prob_<class>``) follow it, and ``config.json`` records it (``RunDir.read_classes``).

Fine-tuning (``train(..., init=RUN)``): the model starts from a finished run's weights, copied layer by layer
by name; the classification head (layer ``logits``) is copied only when the base run has the same label set,
else it starts fresh. ``norm="refit"`` (default) normalises with the new corpus's train-split statistics,
``"reuse"`` with the base run's. ``freeze_epochs=N`` trains only the head (layers :data:`HEAD_LAYERS`) for
the first N epochs, then everything, with a fresh optimizer (its warmup starts again). What was done is
written to ``config.json`` (``init``). :func:`evaluate_run_on` scores any run on any store over the classes
they share.
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
from sernet.analysis.dimensions import dimension_metrics
from sernet.analysis.metrics import evaluate_probabilities
from sernet.artifacts import atomic_write_bytes, atomic_write_text
from sernet.backend import backend_name, keras, silenced_stderr
from sernet.config import Config
from sernet.errors import SernetError
from sernet.labels import classes_of
from sernet.train.augment import MaskSpec, training_model
from sernet.train.batches import FeatureBatches, split_batches, store_dimensions
from sernet.train.run_dir import RunDir
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


def save_variables(variables: list, path: Path) -> None:
    """Write ``variables`` (in order) to the ``.npz`` checkpoint ``path`` atomically."""
    import io

    ops = keras().ops
    buf = io.BytesIO()
    np.savez(buf, **{f"v{i:05d}": ops.convert_to_numpy(v.value) for i, v in enumerate(variables)})
    atomic_write_bytes(path, buf.getvalue())


def load_variables(variables: list, path: Path, *, prefix_only: bool = False) -> None:
    """Assign ``variables`` from the checkpoint ``path`` written by :func:`save_variables`.

    ``prefix_only``: the checkpoint may hold more variables than ``variables`` (the first ones are read, e.g.
    a pre-training checkpoint's model variables without its optimizer's). Raises ``SernetError`` naming the
    file when the count or a shape does not match (the config changed since it was written).
    """
    with np.load(path) as f:
        if len(f.files) < len(variables) or (not prefix_only and len(f.files) != len(variables)):
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


def _predict(model, dataset):
    """``model.predict(dataset)``; a :class:`FeatureBatches` goes batch by batch through ``predict_on_batch``.

    The same compiled forward pass on the same batches (the outputs are identical), without ``predict``'s
    per-call set-up of a data pipeline, which cost about as much as the forward pass itself on a smoke
    validation split — and the trainer predicts the validation split after every epoch.
    """
    if not isinstance(dataset, FeatureBatches) or not hasattr(model, "predict_on_batch"):
        return model.predict(dataset, verbose=0)  # other data, or a duck-typed model with predict() only
    k = keras()
    outs = [model.predict_on_batch(dataset.inputs(b)) for b in range(len(dataset))]
    if not outs:
        return model.predict(dataset, verbose=0)
    return k.tree.map_structure(lambda *parts: np.concatenate([np.asarray(p) for p in parts]), *outs)


def predict_outputs(model, dataset: FeatureBatches) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(probabilities [n, n_classes], dimensions [n, 3])`` of ``dataset`` in its order; either is None when
    the model lacks that head (``model.tasks``, :mod:`sernet.model.dimensional_head`)."""
    from sernet.model.dimensional_head import split_outputs

    logits, dims = split_outputs(_predict(model, dataset))
    probs = None if logits is None else _softmax(np.asarray(logits, dtype=np.float64))
    return probs, None if dims is None else np.asarray(dims, dtype=np.float64)


def predict_probabilities(model, dataset: FeatureBatches) -> np.ndarray:
    """Class probabilities [n, n_classes] of ``dataset`` (in its order) from a logits model.

    Raises
    ------
    SernetError
        The model has no classification head (``model.tasks = "dimensional"``).
    """
    probs, _ = predict_outputs(model, dataset)
    if probs is None:
        raise SernetError("the model has no classification head (model.tasks='dimensional'): no class "
                          "probabilities; use predict_outputs for its dimensions")
    return probs


def true_dimensions(store, rows: np.ndarray) -> np.ndarray | None:
    """The ratings [n, 3] of ``rows`` of ``store``, or None when its manifest carries none."""
    from sernet.data.manifest import DIMENSIONS

    if not all(c in store.index.columns for c in DIMENSIONS):
        return None
    return store_dimensions(store)[rows].astype(np.float64)


def split_scores(probs: np.ndarray | None, dims: np.ndarray | None, y_true: np.ndarray,
                 dims_true: np.ndarray | None, classes) -> dict[str, Any]:
    """The metrics of one split: class metrics when the model has classes, ``"dimensions"``
    (:func:`sernet.analysis.dimensions.dimension_metrics`) when it has dimensions and the data ratings."""
    out: dict[str, Any] = {} if probs is None else evaluate_probabilities(y_true, probs, classes)
    if dims is not None and dims_true is not None:
        out["dimensions"] = dimension_metrics(dims_true, dims)
    return out


def _make_epoch_callback(k, *, val_ds: FeatureBatches, state: TrainState, run: RunDir, patience: int,
                         predict_model, classes: tuple[str, ...] | None = None):
    val_labels = np.asarray(val_ds.labels[val_ds.order])
    val_dims = true_dimensions(val_ds.store, val_ds.order)

    class EpochEnd(k.callbacks.Callback):
        """Validation score (UAR; mean CCC for a dimensional-only model), best-model tracking, early stopping
        and the checkpoint, in that order."""

        def on_epoch_end(self, epoch, logs=None):
            logs = logs if logs is not None else {}
            probs, dims = predict_outputs(predict_model, val_ds)
            if probs is not None:
                metrics = evaluate_probabilities(val_labels, probs, classes)
                logs.update(val_uar=metrics["uar"], val_war=metrics["war"], val_macro_f1=metrics["macro_f1"])
            if dims is not None:
                dm = dimension_metrics(val_dims, dims)
                logs.update(val_ccc=dm["mean_ccc"], **{f"val_ccc_{d}": dm[d]["ccc"] for d in dm if d != "mean_ccc"})
                if probs is None:  # a dimensional-only model is selected on its mean CCC
                    metrics = {"uar": dm["mean_ccc"]}
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
                save_variables(list(self.model.variables), ckpt / state.best_file)
            else:
                state.wait += 1
            if state.wait >= patience:
                state.stopped = True
                self.model.stop_training = True
            state.variables_file = f"variables-{epoch + 1:04d}.npz"
            save_variables(_all_variables(self.model), ckpt / state.variables_file)
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


def _compiled_model(cfg: Config, counts: np.ndarray, steps_per_epoch: int, policy: str, strategy, *,
                    reuse: bool = True):
    """``(training_model, model)`` compiled and in the freshly initialised state of ``cfg.train.seed``.

    ``model`` is ``sernet.model.build_sernet(cfg)``; ``training_model`` puts the SpecAugment layer in front
    of it (same variables) and is what ``fit`` trains. Tracing a training step costs seconds on a CPU, more
    than a smoke run's epoch; runs that differ only in seed or augmentation (ablation seeds) reuse one
    compiled model of this process: the model is rebuilt (cheap, no tracing) under the seed and its initial
    values, and a fresh optimizer state, are assigned into the compiled one. The result equals a fresh
    build's (tests/test_train.py checks it). The head has ``len(counts)`` outputs (the store's classes);
    ``reuse=False`` builds and compiles a model of its own (fine-tuning with a frozen encoder recompiles it).
    """
    from sernet import model as model_lib

    k = keras()
    n_classes = len(counts)
    key = None if strategy is not None or not reuse else _compile_key(cfg, counts, steps_per_epoch, policy)
    if key is not None and key in _COMPILED:
        train_model, model, optimizer_init = _COMPILED[key]
        fresh = model_lib.build_sernet(cfg, n_classes)  # same RNG draws as a first build after set_random_seed
        for target, source in zip(model.variables, fresh.variables, strict=True):
            target.assign(source.value)
        for target, value in zip(train_model.optimizer.variables, optimizer_init, strict=True):
            target.assign(value)
        return train_model, model
    with _scope(strategy):
        model = model_lib.build_sernet(cfg, n_classes)
        train_model = training_model(model, MaskSpec.from_config(cfg.train))
        _compile(train_model, cfg, counts, steps_per_epoch)
    if key is not None:
        if len(_COMPILED) >= 16:
            _COMPILED.pop(next(iter(_COMPILED)))
        _COMPILED[key] = (train_model, model,
                          [k.ops.convert_to_numpy(v.value) for v in train_model.optimizer.variables])
    return train_model, model


_JIT = {"auto": "auto", "on": True, "off": False}  # cfg.train.jit_compile -> Keras' compile(jit_compile=...)


def _compile(train_model, cfg: Config, counts: np.ndarray, steps_per_epoch: int) -> None:
    """Compile ``train_model`` with a fresh optimizer, the loss of ``cfg.train`` and accuracy; build the
    optimizer's variables for the currently trainable variables."""
    from sernet import losses

    k = keras()
    loss = losses.make_loss(cfg.train, counts, n_classes=len(counts))
    if cfg.model.tasks == "categorical":
        train_model.compile(optimizer=make_optimizer(cfg.train, steps_per_epoch), loss=loss,
                            metrics=[k.metrics.CategoricalAccuracy(name="accuracy")],
                            jit_compile=_JIT[cfg.train.jit_compile])
    else:  # dict outputs: CCC loss on "dimensions", the class loss on "logits" (multitask), task-weighted
        from sernet.model.dimensional_head import DIMENSIONS_OUTPUT, LOGITS, CCCLoss

        m = cfg.model
        loss_by_output = {DIMENSIONS_OUTPUT: CCCLoss(m.dimension_weights)}
        weights = {DIMENSIONS_OUTPUT: m.task_weights[1]}
        metrics = None
        if m.tasks == "multitask":
            loss_by_output[LOGITS], weights[LOGITS] = loss, m.task_weights[0]
            metrics = {LOGITS: [k.metrics.CategoricalAccuracy(name="accuracy")]}
        train_model.compile(optimizer=make_optimizer(cfg.train, steps_per_epoch), loss=loss_by_output,
                            loss_weights=weights, metrics=metrics, jit_compile=_JIT[cfg.train.jit_compile])
    train_model.optimizer.build(train_model.trainable_variables)


def clear_compiled_models() -> None:
    """Forget the compiled models kept for reuse (frees their memory)."""
    _COMPILED.clear()


def _class_counts(store, split: str = "train", n_classes: int | None = None) -> np.ndarray:
    """Utterances per class of ``split``, over the store's label set (``n_classes`` entries)."""
    labels = np.asarray(store.labels)[store.split_indices(split)]
    n = len(classes_of(store)) if n_classes is None else n_classes
    if labels.size and labels.max() >= n:
        raise SernetError(f"{getattr(store, 'path', 'feature store')}: class index {int(labels.max())} outside "
                          f"its {n} classes")
    return np.bincount(labels, minlength=n)


# ------------------------------------------------------------------------------------------ fine-tuning
HEAD_LAYERS: tuple[str, ...] = ("dense", "dropout", "logits", "dimension_units", "dimensions")
"""Layers after the temporal pooling: what trains while the encoder is frozen (``freeze_epochs``). Only
``logits`` depends on the label set; it is replaced when the base run's classes differ."""

NORM_MODES: tuple[str, ...] = ("refit", "reuse")


@dataclass
class InitPlan:
    """How a fine-tuned run starts from its base run (written to ``config.json`` as ``init``)."""

    run: str
    base_classes: tuple[str, ...]
    classes: tuple[str, ...]
    norm: str
    freeze_epochs: int

    @property
    def head(self) -> str:
        """``"copied"`` when the label sets are equal (same names, same order), else ``"replaced"``."""
        return "copied" if self.base_classes == self.classes else "replaced"

    def describe(self) -> str:
        """Three lines for a user: the base run and head, the normalisation, the freezing."""
        head = ("head copied (same classes)" if self.head == "copied" else
                f"head replaced: {len(self.base_classes)} classes ({', '.join(self.base_classes)}) -> "
                f"{len(self.classes)} ({', '.join(self.classes)}); encoder weights copied by layer name")
        norm = ("normalisation: reused from the base run (its train-split mean/std)" if self.norm == "reuse"
                else "normalisation: refit on this corpus's train split")
        freeze = (f"encoder frozen for the first {self.freeze_epochs} epoch(s), then all layers train"
                  if self.freeze_epochs else "all layers train from the first epoch")
        return f"initialised from {self.run}: {head}\n{norm}\n{freeze}"

    def to_dict(self) -> dict[str, Any]:
        return {"run": self.run, "base_classes": list(self.base_classes), "head": self.head, "norm": self.norm,
                "freeze_epochs": self.freeze_epochs}


def plan_init(init: str | Path, store, *, norm: str = "refit", freeze_epochs: int = 0) -> InitPlan:
    """Check a fine-tuning request and say what it will do (see :class:`InitPlan`).

    Raises
    ------
    SernetError
        ``init`` is not a finished run, ``norm`` is not one of :data:`NORM_MODES`, or ``freeze_epochs`` < 0.
    """
    if norm not in NORM_MODES:
        raise SernetError(f"--norm {norm!r}: expected one of {', '.join(NORM_MODES)}")
    if freeze_epochs < 0:
        raise SernetError(f"--freeze-epochs {freeze_epochs}: must be 0 or more")
    base = RunDir(init)
    if not base.complete:
        raise SernetError(f"{base.path}: not a finished run (no model.keras/metrics.json); cannot start from it")
    return InitPlan(str(base.path), base.read_classes(), classes_of(store), norm, int(freeze_epochs))


def with_norm_stats(store, mean: np.ndarray, std: np.ndarray):
    """A copy of ``store`` that normalises with ``mean``/``std`` (frames and labels shared)."""
    import copy
    import dataclasses

    mean, std = np.asarray(mean, np.float32), np.asarray(std, np.float32)
    if dataclasses.is_dataclass(store):
        return dataclasses.replace(store, norm_mean=mean, norm_std=std)
    view = copy.copy(store)
    view.norm_mean, view.norm_std = mean, std
    return view


def copy_weights_by_name(source, target, *, skip: tuple[str, ...] = ()) -> list[str]:
    """Assign the weights of every layer of ``source`` to the layer of the same name in ``target``.

    Layers in ``skip`` keep their values. Returns the names of the layers copied.

    Raises
    ------
    SernetError
        A weighted layer of ``target`` (not skipped) that ``source`` lacks or holds with other shapes: the
        two models are not the same architecture.
    """
    by_name = {layer.name: layer for layer in source.layers}
    copied, problems = [], []
    for layer in target.layers:
        if layer.name in skip or not layer.weights:
            continue
        other = by_name.get(layer.name)
        if other is None:
            problems.append(f"{layer.name} (missing in the base model)")
            continue
        shapes = [tuple(w.shape) for w in layer.weights]
        if shapes != [tuple(w.shape) for w in other.weights]:
            problems.append(f"{layer.name} (shapes {shapes} vs {[tuple(w.shape) for w in other.weights]})")
            continue
        layer.set_weights(other.get_weights())
        copied.append(layer.name)
    if problems:
        raise SernetError("the base run's model does not match this config's model: "
                          f"{'; '.join(problems[:5])}; use the base run's model settings")
    return copied


def _set_encoder_trainable(model, trainable: bool) -> None:
    for layer in model.layers:
        if layer.name not in HEAD_LAYERS:
            layer.trainable = trainable


def _load_model_variables(model, path: Path) -> None:
    """Load only the model's variables (the leading entries) of a checkpoint (optimizer state dropped)."""
    variables = list(model.variables)
    with np.load(path) as f:
        if len(f.files) < len(variables):
            raise SernetError(f"{path}: checkpoint holds {len(f.files)} variables, the model has {len(variables)}")
        for i, v in enumerate(variables):
            v.assign(f[f"v{i:05d}"])


def train(cfg: Config, store, run_dir: str | Path, *, resume: bool = True, strategy=None,
          callbacks: tuple = (), verbose: int | None = None, workers: int = 1,
          init: str | Path | None = None, norm: str = "refit", freeze_epochs: int = 0) -> TrainResult:
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
    init : path, optional
        A finished run to fine-tune from (see the module docstring; :func:`plan_init` says what happens).
    norm : {"refit", "reuse"}
        With ``init``: normalise with this store's train-split statistics (refit) or the base run's (reuse).
    freeze_epochs : int
        With ``init``: epochs at the start during which only :data:`HEAD_LAYERS` train.

    Returns
    -------
    TrainResult
    """
    if strategy is None and getattr(cfg.train, "distribution", "none") != "none":
        from sernet import distribute

        with distribute.distribution_scope(cfg) as configured:
            if configured is not None:
                return _train(cfg, store, run_dir, resume=resume, strategy=configured, callbacks=callbacks,
                              verbose=verbose, workers=workers, init=init, norm=norm,
                              freeze_epochs=freeze_epochs)
    return _train(cfg, store, run_dir, resume=resume, strategy=strategy, callbacks=callbacks, verbose=verbose,
                  workers=workers, init=init, norm=norm, freeze_epochs=freeze_epochs)


def _train(cfg: Config, store, run_dir: str | Path, *, resume: bool, strategy, callbacks: tuple,
           verbose: int | None, workers: int, init: str | Path | None = None, norm: str = "refit",
           freeze_epochs: int = 0) -> TrainResult:
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
                             verbose=verbose, workers=workers, init=init, norm=norm, freeze_epochs=freeze_epochs)
    plan = plan_init(init, store, norm=norm, freeze_epochs=freeze_epochs) if init is not None else None
    if plan is not None and plan.norm == "reuse":
        store = with_norm_stats(store, *RunDir(plan.run).read_norm_stats())
    if not resume and run.path.exists():
        shutil.rmtree(run.path)
    run.path.mkdir(parents=True, exist_ok=True)
    from sernet import losses

    classes = classes_of(store)
    policy = set_precision(tcfg.mixed_precision)
    k.utils.set_random_seed(tcfg.seed)
    state = TrainState.read(run.state_json) if run.state_json.exists() else TrainState()
    counts = _class_counts(store, n_classes=len(classes))
    if counts.sum() == 0 or len(store.split_indices("val")) == 0:
        raise SernetError(f"{getattr(store, 'path', 'feature store')}: training needs non-empty train and val "
                          "splits")
    sample_weights = None
    if tcfg.class_weighting != "none":
        sample_weights = np.asarray(losses.class_weights(counts, tcfg.class_weighting), dtype=np.float32)
    extra = {} if plan is None else {"init": plan.to_dict()}
    run.write_config(cfg, backend=backend_name(), dtype_policy=policy, trainer_version=TRAINER_VERSION,
                     feature_store=str(getattr(store, "path", "")), classes=list(classes), **extra)
    run.write_norm_stats(store.norm_mean, store.norm_std)

    train_ds = split_batches(store, "train", cfg, training=True, epoch=state.epoch,
                             sample_weights=sample_weights, workers=workers)
    val_ds = split_batches(store, "val", cfg, training=False)
    frozen_until = min(plan.freeze_epochs, tcfg.epochs) if plan is not None else 0
    train_model, model = _compiled_model(cfg, counts, len(train_ds), policy, strategy,
                                         reuse=frozen_until == 0)
    if plan is not None and not state.variables_file:  # a fresh start: the base run's weights
        base = RunDir(plan.run).load_model()
        skip = ("logits",) if plan.head == "replaced" else ()
        base_layers = {layer.name for layer in base.layers}
        skip += tuple(n for n in ("logits", "dimension_units") if n not in base_layers)  # heads it lacks
        copy_weights_by_name(base, model, skip=skip)
    freeze = state.epoch < frozen_until
    if freeze:
        _set_encoder_trainable(model, False)
        with _scope(strategy):
            _compile(train_model, cfg, counts, len(train_ds))
    if state.variables_file:
        if frozen_until and state.epoch == frozen_until:  # last frozen epoch: the optimizer starts over
            _load_model_variables(model, run.checkpoint / state.variables_file)
        else:
            load_variables(_all_variables(train_model), run.checkpoint / state.variables_file)

    if not state.stopped and state.epoch < tcfg.epochs:
        epoch_end = _make_epoch_callback(k, val_ds=val_ds, state=state, run=run,
                                         patience=tcfg.early_stopping_patience, predict_model=model,
                                         classes=classes)
        board = _tensorboard(k, run)
        if verbose is None:
            verbose = 1 if progress.enabled() else 0
        # TensorFlow logs one-off C++ notices (e.g. oneDNN kernel fallbacks) to the stderr descriptor while
        # the first steps run; they are noise to users and break notebook replays. Keras' own progress bar
        # writes to stdout and stays visible.
        with silenced_stderr():
            if freeze:  # head only, then every layer with a fresh optimizer
                train_model.fit(train_ds, epochs=frozen_until, initial_epoch=state.epoch, shuffle=False,
                                verbose=verbose, callbacks=[epoch_end, *board, *callbacks])
                _set_encoder_trainable(model, True)
                with _scope(strategy):
                    _compile(train_model, cfg, counts, len(train_ds))
            if not state.stopped and state.epoch < tcfg.epochs:
                if freeze:  # the batches a run resumed at this epoch sees (each fit advances the epoch once more)
                    train_ds.set_epoch(state.epoch)
                train_model.fit(train_ds, epochs=tcfg.epochs, initial_epoch=state.epoch, shuffle=False,
                                verbose=verbose, callbacks=[epoch_end, *board, *callbacks])
    if state.best_file is None:
        raise SernetError(f"{run.state_json}: no epoch finished; nothing to evaluate")
    load_variables(list(train_model.variables), run.checkpoint / state.best_file)
    metrics = _evaluate_and_save(model, store, cfg, run, state)
    return TrainResult(run, metrics, pd.DataFrame(state.history))


def _evaluate_and_save(model, store, cfg: Config, run: RunDir, state: TrainState) -> dict[str, Any]:
    classes = classes_of(store)
    metrics: dict[str, Any] = {}
    frames = []
    for split in ("val", "test"):
        if len(store.split_indices(split)) == 0:
            continue
        ds = split_batches(store, split, cfg, training=False)
        probs, dims = predict_outputs(model, ds)
        rows = ds.order
        y = np.asarray(store.labels)[rows]
        dims_true = true_dimensions(store, rows)
        metrics[split] = split_scores(probs, dims, y, dims_true, classes)
        frames.append(predictions_frame(store, rows, split, y, probs, classes, dims_true=dims_true,
                                        dims_pred=dims))
    metrics.update(best_epoch=state.best_epoch, epochs_run=state.epoch, stopped_early=state.stopped,
                   best_val_uar=state.best_uar)
    if cfg.model.tasks != "categorical":
        metrics.update(tasks=cfg.model.tasks, selected_on="val_uar" if cfg.model.tasks == "multitask"
                       else "val_mean_ccc (in best_val_uar)")
    pd.concat(frames, ignore_index=True).to_csv(run.predictions_csv, index=False)
    model.save(run.model_file)
    atomic_write_text(run.metrics_json, json.dumps(metrics, indent=2))  # written last: marks completion
    return metrics


def predictions_frame(store, rows: np.ndarray, split: str, y_true: np.ndarray, probs: np.ndarray | None,
                      classes: tuple[str, ...] | None = None, *, dims_true: np.ndarray | None = None,
                      dims_pred: np.ndarray | None = None) -> pd.DataFrame:
    """``predictions.csv`` rows: id, split, true, predicted (class names), prob_<class> for each of
    ``classes`` (default: the store's label set); with a dimensional head also ``true_<dim>`` (the ratings,
    when the data has them) and ``pred_<dim>`` for arousal, valence, dominance. ``probs`` None (a
    dimensional-only model): no ``predicted`` / ``prob_`` columns."""
    classes = classes_of(store) if classes is None else tuple(classes)
    index = store.index
    id_col = "id" if "id" in index.columns else "path"
    frame = pd.DataFrame({
        "id": index[id_col].to_numpy()[rows],
        "row": rows,
        "split": split,
        "true": [classes[i] for i in y_true],
    })
    if probs is not None:
        frame["predicted"] = [classes[i] for i in probs.argmax(axis=1)]
        for c, name in enumerate(classes):
            frame[f"prob_{name}"] = probs[:, c]
    if dims_pred is not None:
        from sernet.data.manifest import DIMENSIONS

        for d, name in enumerate(DIMENSIONS):
            if dims_true is not None:
                frame[f"true_{name}"] = dims_true[:, d]
            frame[f"pred_{name}"] = dims_pred[:, d]
    return frame


def evaluate_run(run_dir: str | Path, store, *, splits: tuple[str, ...] = ("val", "test")) -> dict[str, Any]:
    """Re-evaluate a finished run's best model on ``store`` (its config's crops and batch size).

    A store with another label set than the run's is scored over the shared classes
    (:func:`evaluate_run_on`, with the store's own normalisation; each split's ``classes`` names them).
    """
    run = RunDir(run_dir)
    classes = run.read_classes()
    if classes_of(store) != classes:
        shared = evaluate_run_on(run, store, splits=splits, norm="data")
        return {split: shared[split] for split in splits}
    cfg = run.read_config()
    model = run.load_model()
    out = {}
    for split in splits:
        ds = split_batches(store, split, cfg, training=False)
        probs, dims = predict_outputs(model, ds)
        out[split] = split_scores(probs, dims, np.asarray(store.labels)[ds.order],
                                  true_dimensions(store, ds.order), classes)
    return out


def evaluate_run_on(run_dir: str | Path, store, *, splits: tuple[str, ...] = ("test",), norm: str = "run"
                    ) -> dict[str, Any]:
    """Score a finished run on any feature store over the classes both have.

    The shared classes are the run's classes (in its output order) that ``store`` declares and that occur in
    the splits scored. Each of their utterances is decided as the most probable shared class; the metrics
    are over the shared classes only.

    Parameters
    ----------
    run_dir : path or RunDir
    store : FeatureStore
        Any corpus's feature cache (extracted with the run's feature recipe).
    splits : tuple of str
        Splits of ``store`` to score; each must hold utterances of the shared classes.
    norm : {"run", "data"}
        Normalise with the run's statistics (default: what the model was trained with) or the store's own.

    Returns
    -------
    dict
        split -> metrics (:func:`sernet.analysis.metrics.evaluate_predictions` format over the shared
        classes), plus ``shared_classes``, ``run_classes``, ``data_classes`` and ``normalisation``.

    Raises
    ------
    SernetError
        Fewer than 2 shared classes (the message names both label sets), an empty split, or an unknown
        ``norm``.
    """
    from sernet.analysis.metrics import evaluate_predictions

    if norm not in ("run", "data"):
        raise SernetError(f"norm={norm!r}: expected 'run' or 'data'")
    run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
    cfg = run.read_config()
    run_classes = run.read_classes()
    data_classes = classes_of(store)
    labels = np.asarray(store.labels)
    present = {data_classes[i] for s in splits for i in labels[store.split_indices(s)]}
    shared = tuple(c for c in run_classes if c in data_classes and c in present)
    if len(shared) < 2:
        raise SernetError(f"{run.path} and {getattr(store, 'path', 'the store')} share {len(shared)} class(es) "
                          f"{list(shared)} in split(s) {list(splits)}; need at least 2 (run: {list(run_classes)}, "
                          f"data: {sorted(present)})")
    if norm == "run":
        store = with_norm_stats(store, *run.read_norm_stats())
    model = run.load_model()
    columns = [run_classes.index(c) for c in shared]
    to_shared = {data_classes.index(c): i for i, c in enumerate(shared)}
    out: dict[str, Any] = {}
    for split in splits:
        rows = np.array([i for i in store.split_indices(split) if int(labels[i]) in to_shared], dtype=np.int64)
        if rows.size == 0:
            raise SernetError(f"{getattr(store, 'path', 'the store')}: no {split!r} utterances of {list(shared)}")
        ds = FeatureBatches(store, rows, batch_size=cfg.train.batch_size, max_length=cfg.features.max_length,
                            crop=cfg.features.eval_crop, shuffle=False, seed=cfg.train.seed)
        probs = predict_probabilities(model, ds)[:, columns]
        y_true = np.array([to_shared[int(labels[i])] for i in ds.order])
        out[split] = evaluate_predictions(y_true, probs.argmax(axis=1), n_classes=len(shared), classes=shared)
    out.update(shared_classes=list(shared), run_classes=list(run_classes), data_classes=list(data_classes),
               normalisation=norm)
    return out
