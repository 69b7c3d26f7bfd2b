"""Self-supervised pre-training of the SER-Net encoder by masked-frame reconstruction, and the
label-efficiency curve of fine-tuning it (``sernet pretrain``; explained in chapters/11_self_supervised.py).

The objective follows Mockingjay (Liu et al., ICASSP 2020) and TERA (Liu et al., IEEE/ACM TASLP 2021):

* **time masking**: spans of ``pretrain.time_mask_span`` consecutive frames, about
  ``pretrain.time_mask_fraction`` of each utterance's real frames, are set to 0 (the training mean after
  normalisation);
* **channel masking**: one block of consecutive feature columns, of width uniform in
  ``[0, pretrain.channel_mask_max]``, is set to 0 in every frame of the utterance;
* the encoder (the model's frame front end, multi-scale convolution, projection, residual blocks and
  self-attention: every layer of :func:`sernet.model.build_sernet` up to ``self_attention``) followed by one
  linear layer (``reconstruction``) predicts the uncorrupted normalised frames, and the loss is the L1 error
  on the masked cells of real frames only (:func:`masked_l1`): unmasked cells and padding add nothing.

The masks are drawn with NumPy from ``(seed, epoch, batch)`` like the training batches' crops
(:mod:`sernet.train.batches`), and after every epoch the model and optimizer variables are written
atomically to the run's ``checkpoint/`` folder: a resumed pre-training ends with exactly the weights of an
uninterrupted one (same machine). The finished run directory holds ``model.keras``, a whole SER-Net
classifier whose encoder layers carry the pre-trained weights (pooling, dense and logits layers at their
initial values), ``config.json`` (``kind: "pretrain"``, the store's label set), ``norm_stats.npz``,
``history.csv`` and ``metrics.json`` (held-out reconstruction error): exactly what ``sernet train --init
RUN`` (:func:`sernet.train.trainer.plan_init`) starts a fine-tuning from.

Labels are never read: any feature store works (the synthetic corpus, or ``sernet pretrain --data
PREPARED`` for a user's recordings). :func:`label_fraction_store` keeps a class-stratified fraction of the
train split's labels; :func:`sernet.analysis.self_supervised.label_efficiency` trains from scratch and fine-tunes the
pre-trained encoder on each fraction and seed.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sernet import artifacts
from sernet.artifacts import atomic_write_text
from sernet.backend import backend_name, keras, silenced_stderr
from sernet.config import Config
from sernet.errors import ConfigError, SernetError
from sernet.features import layout
from sernet.train.batches import FeatureBatches
from sernet.train.run_dir import RunDir
from sernet.train.schedule import make_optimizer
from sernet.train.trainer import TrainState, load_variables, save_variables, set_precision

PRETRAIN_VERSION = 1
"""Bumped when a change to pre-training would change its result (part of the run key)."""

ENCODER_OUTPUT = "self_attention"
"""The last encoder layer of SER-Net: its output frames feed the reconstruction head."""

RECONSTRUCTION_LAYER = "reconstruction"


# ------------------------------------------------------------------------------------------------- objective
def masked_l1(target, prediction, weights):
    """Mean absolute error over the cells where ``weights`` is 1 (``keras.ops``; any backend or NumPy input).

    Parameters
    ----------
    target, prediction : array [shape=(batch, frames, dims)]
        The uncorrupted normalised frames and the model's reconstruction.
    weights : array [shape=(batch, frames, dims)]
        1 on masked cells of real frames, 0 elsewhere (unmasked cells and padding), see
        :func:`loss_weights`.

    Returns
    -------
    scalar tensor
        ``sum(w * |prediction - target|) / max(sum(w), 1)``: 0 when nothing is masked.

    Examples
    --------
    >>> t = np.zeros((1, 2, 2)); p = np.array([[[1.0, 5.0], [2.0, 9.0]]]); w = np.array([[[1, 0], [1, 0]]])
    >>> float(masked_l1(t, p, w))
    1.5
    """
    ops = keras().ops
    t = ops.cast(target, "float32")
    p = ops.cast(prediction, "float32")
    w = ops.cast(weights, "float32")
    return ops.sum(w * ops.abs(p - t)) / ops.maximum(ops.sum(w), 1.0)


def reconstruction_loss(y_true, y_pred):
    """The Keras loss of pre-training: ``y_true`` packs the target and the weights along the last axis
    (``[..., :dims]`` target, ``[..., dims:]`` weights), ``y_pred`` is the reconstruction [B, T, dims]."""
    dims = y_pred.shape[-1]
    return masked_l1(y_true[..., :dims], y_pred, y_true[..., dims:])


def draw_masks(real: np.ndarray, n_dims: int, pcfg, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The time and channel masks of one batch (Mockingjay time spans, one TERA channel block per utterance).

    Parameters
    ----------
    real : np.ndarray [shape=(batch, frames)]
        1 for real frames (first), 0 for padding.
    n_dims : int
        Feature columns.
    pcfg : sernet.config.PretrainConfig
        ``time_mask_fraction``, ``time_mask_span``, ``channel_mask_max``.
    rng : np.random.Generator

    Returns
    -------
    time_masked : np.ndarray [bool, shape=(batch, frames)]
        Masked frames (always real frames).
    channel_masked : np.ndarray [bool, shape=(batch, dims)]
        Masked columns.
    """
    batch, frames = real.shape
    time_masked = np.zeros((batch, frames), bool)
    channel_masked = np.zeros((batch, n_dims), bool)
    lengths = real.sum(axis=1).astype(int)
    span = int(pcfg.time_mask_span)
    for b, length in enumerate(lengths):
        if length > 0 and pcfg.time_mask_fraction > 0:
            n_spans = max(1, int(round(pcfg.time_mask_fraction * length / span)))
            starts = rng.integers(0, max(1, length - span + 1), size=n_spans)
            for s in starts:
                time_masked[b, s:min(s + span, length)] = True
        width = int(rng.integers(0, min(pcfg.channel_mask_max, n_dims) + 1))
        start = int(rng.integers(0, n_dims - width + 1))
        channel_masked[b, start:start + width] = True
    return time_masked, channel_masked


def loss_weights(real: np.ndarray, time_masked: np.ndarray, channel_masked: np.ndarray) -> np.ndarray:
    """float32 [B, T, F]: 1 where a real frame's cell is masked in time or channel, else 0."""
    masked = time_masked[:, :, None] | channel_masked[:, None, :]
    return (masked & (real[:, :, None] > 0)).astype(np.float32)


def corrupt(features: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """``features`` with every weighted (masked) cell set to 0, the training mean after normalisation."""
    return (features * (1.0 - weights)).astype(np.float32)


class MaskedFrameBatches(FeatureBatches):
    """Pre-training batches: ``({"features": corrupted, "mask": mask}, concat(target, weights))``.

    The order and crops are those of :class:`~sernet.train.batches.FeatureBatches` (seed, epoch, batch); the
    masks are drawn from ``(seed, epoch, batch, 1)``. Labels are never read.
    """

    def __init__(self, store, indices, *, pcfg, batch_size: int, max_length: int, crop: str, shuffle: bool,
                 seed: int, epoch: int = 0) -> None:
        self.pcfg = pcfg
        super().__init__(store, indices, batch_size=batch_size, max_length=max_length, crop=crop,
                         shuffle=shuffle, seed=seed, epoch=epoch, n_classes=1)

    def masked_batch(self, b: int) -> tuple[dict[str, np.ndarray], np.ndarray, np.ndarray]:
        """``(inputs, target, weights)`` of batch ``b`` of the current epoch."""
        inputs = self.inputs(b)
        target, real = inputs["features"], inputs["mask"]
        rng = np.random.default_rng([self.seed, self.epoch, b, 1])
        time_masked, channel_masked = draw_masks(real, target.shape[-1], self.pcfg, rng)
        weights = loss_weights(real, time_masked, channel_masked)
        return {"features": corrupt(target, weights), "mask": real}, target, weights

    def __getitem__(self, b: int):
        if b >= self.num_batches:
            raise IndexError(f"batch {b} of {self.num_batches}")
        inputs, target, weights = self.masked_batch(b)
        return inputs, np.concatenate([target, weights], axis=-1)


# --------------------------------------------------------------------------------------------------- models
def pretraining_model(cfg: Config, n_classes: int | None = None):
    """``(pretrain_model, classifier)`` sharing the encoder's variables.

    ``classifier`` is :func:`sernet.model.build_sernet` of ``cfg``; ``pretrain_model`` maps the same inputs
    through its layers up to ``self_attention`` and a linear ``reconstruction`` layer to [B, T, 268].

    Raises
    ------
    ConfigError
        ``cfg.model.architecture`` is not ``"sernet"`` (the baselines have no self-attention encoder).
    """
    from sernet.model import build_sernet
    from sernet.model.builder import model_inputs

    if cfg.model.architecture != "sernet":
        raise ConfigError(f"model.architecture={cfg.model.architecture!r}: pre-training needs the SER-Net "
                          "encoder (model.architecture=sernet)")
    k = keras()
    classifier = build_sernet(cfg, n_classes)
    encoder = k.Model(classifier.input, classifier.get_layer(ENCODER_OUTPUT).output, name="encoder")
    inputs = model_inputs()
    h = encoder(inputs)
    out = k.layers.Dense(layout.N_STORED, name=RECONSTRUCTION_LAYER, dtype="float32")(h)
    return k.Model(inputs, out, name="masked_reconstruction"), classifier


# ---------------------------------------------------------------------------------------------- the runs
def pretrain_key(cfg: Config, store=None) -> str:
    """A 12-character key (:func:`sernet.artifacts.key`) of everything that decides a pre-training's result: the
    data by content (``store.identity()``), the features/model/pretrain settings, code versions, backend."""
    from sernet.features import cache

    d = cfg.to_dict()
    payload = {"features": d["features"], "model": d["model"], "pretrain": d["pretrain"], "seed": cfg.train.seed,
               "mixed_precision": cfg.train.mixed_precision, "weight_decay": cfg.train.weight_decay,
               "min_learning_rate": cfg.train.min_learning_rate, "data_root": cfg.data_root,
               "synth": d["synth"], "store": store.identity() if hasattr(store, "identity") else None,
               "version": PRETRAIN_VERSION, "features_version": cache.FEATURES_VERSION, "backend": backend_name()}
    return artifacts.key(payload)


@dataclass
class PretrainResult:
    """A finished pre-training: its run directory (loadable as ``--init``), metrics and history."""

    run_dir: RunDir
    metrics: dict[str, Any]
    history: pd.DataFrame

    @classmethod
    def load(cls, run_dir: str | Path | RunDir) -> PretrainResult:
        run = run_dir if isinstance(run_dir, RunDir) else RunDir(run_dir)
        return cls(run, run.read_metrics(), run.read_history())


def _batches(store, split: str, cfg: Config, *, training: bool, epoch: int = 0) -> MaskedFrameBatches:
    return MaskedFrameBatches(store, store.split_indices(split), pcfg=cfg.pretrain, batch_size=cfg.pretrain.batch_size,
                              max_length=cfg.features.max_length,
                              crop=cfg.features.train_crop if training else cfg.features.eval_crop,
                              shuffle=training, seed=cfg.train.seed, epoch=epoch)


def reconstruction_error(pretrain_model, batches: MaskedFrameBatches) -> dict[str, float]:
    """Masked L1 of ``pretrain_model`` on ``batches`` and of the trivial reconstruction 0 (the training mean),
    pooled over all masked cells."""
    err = base = cells = 0.0
    for b in range(len(batches)):
        inputs, target, weights = batches.masked_batch(b)
        pred = np.asarray(keras().ops.convert_to_numpy(pretrain_model(inputs, training=False)))
        err += float((weights * np.abs(pred - target)).sum())
        base += float((weights * np.abs(target)).sum())
        cells += float(weights.sum())
    cells = max(cells, 1.0)
    return {"masked_l1": err / cells, "mean_baseline_l1": base / cells, "masked_cells": int(cells)}


_COMPILED: dict[str, tuple[Any, Any, list[np.ndarray]]] = {}


def _compiled(cfg: Config, n_classes: int, steps_per_epoch: int, policy: str):
    """``(pretrain_model, classifier)`` compiled, in the freshly initialised state of ``cfg.train.seed``.

    Tracing the training step costs seconds on a CPU; pre-trainings of this process with the same model,
    schedule and batch shapes (other seeds, a resumed run) reuse one compiled model: a fresh build under the
    seed (cheap, no tracing) has its values assigned into it, and the optimizer state is reset to its
    initial values, which equals a fresh build (``tests/test_pretrain.py`` resumes through this path).
    """
    k = keras()
    key = json.dumps({"model": cfg.model.__dict__, "pretrain": cfg.pretrain.__dict__,
                      "train": {f: getattr(cfg.train, f) for f in ("weight_decay", "min_learning_rate")},
                      "max_length": cfg.features.max_length, "classes": n_classes, "steps": steps_per_epoch,
                      "policy": policy, "backend": backend_name()}, sort_keys=True, default=str)
    fresh, classifier = pretraining_model(cfg, n_classes)
    if key in _COMPILED:
        model, cached_classifier, optimizer_init = _COMPILED[key]
        for target, source in zip(model.variables, fresh.variables, strict=True):
            target.assign(source.value)
        for target, source in zip(cached_classifier.variables, classifier.variables, strict=True):
            target.assign(source.value)  # the head layers too (pooling, dense, logits: fresh under this seed)
        for target, value in zip(model.optimizer.variables, optimizer_init, strict=True):
            target.assign(value)
        return model, cached_classifier
    pcfg = cfg.pretrain
    schedule_cfg = dataclasses.replace(cfg.train, epochs=pcfg.epochs, learning_rate=pcfg.learning_rate,
                                       warmup_steps=pcfg.warmup_steps)
    fresh.compile(optimizer=make_optimizer(schedule_cfg, steps_per_epoch), loss=reconstruction_loss)
    fresh.optimizer.build(fresh.trainable_variables)
    if len(_COMPILED) >= 4:
        _COMPILED.pop(next(iter(_COMPILED)))
    _COMPILED[key] = (fresh, classifier, [k.ops.convert_to_numpy(v.value) for v in fresh.optimizer.variables])
    return fresh, classifier


def pretrain(cfg: Config, store, run_dir: str | Path, *, resume: bool = True, callbacks: tuple = (),
             verbose: int = 0) -> PretrainResult:
    """Pre-train the encoder of ``cfg.model`` on ``store``'s train split (labels ignored), resumably.

    Parameters
    ----------
    cfg : Config
        ``cfg.pretrain`` (epochs, batch size, rate, masks), ``cfg.model`` (the encoder), ``cfg.train.seed``.
    store : FeatureStore
        Any feature store; its train split is pre-trained on, its val split scores the reconstruction.
    run_dir : path
        The run directory (see the module docstring). A finished one is loaded, not retrained.
    resume : bool
        Continue from the last epoch's checkpoint (default); False starts over (deletes ``run_dir``).
    callbacks : tuple of keras.callbacks.Callback
        Run after each epoch's checkpoint is written (tests interrupt a run with one).
    verbose : int
        Keras' fit verbosity.

    Returns
    -------
    PretrainResult

    Raises
    ------
    SernetError
        An empty train split, or a checkpoint that does not match the config.
    ConfigError
        A model that is not SER-Net.

    Examples
    --------
    >>> result = pretrain(cfg, store, "runs/pretrained")                      # doctest: +SKIP
    >>> sernet.train.train(cfg, store, "runs/ft", init=result.run_dir.path)   # doctest: +SKIP
    """
    import shutil

    k = keras()
    pcfg = cfg.pretrain
    run = RunDir(run_dir)
    if resume and run.complete:
        return PretrainResult.load(run)
    if not resume and run.path.exists():
        shutil.rmtree(run.path)
    if len(store.split_indices("train")) == 0:
        raise SernetError(f"{getattr(store, 'path', None) or 'feature store'}: no train split to pre-train on")
    run.path.mkdir(parents=True, exist_ok=True)
    policy = set_precision(cfg.train.mixed_precision)
    k.utils.set_random_seed(cfg.train.seed)
    state = TrainState.read(run.state_json) if run.state_json.exists() else TrainState()
    classes = tuple(store.classes)
    run.write_config(cfg, kind="pretrain", backend=backend_name(), dtype_policy=policy,
                     pretrain_version=PRETRAIN_VERSION, feature_store=str(getattr(store, "path", "") or ""),
                     classes=list(classes))
    run.write_norm_stats(store.norm_mean, store.norm_std)
    train_ds = _batches(store, "train", cfg, training=True, epoch=state.epoch)
    model, classifier = _compiled(cfg, len(classes), len(train_ds), policy)
    variables = list(model.variables) + list(model.optimizer.variables)
    if state.variables_file:
        load_variables(variables, run.checkpoint / state.variables_file)

    class Checkpoint(k.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            state.history.append({"epoch": epoch + 1, **{n: float(v) for n, v in (logs or {}).items()}})
            state.epoch = epoch + 1
            old = state.variables_file
            state.variables_file = f"variables-{epoch + 1:04d}.npz"
            save_variables(variables, run.checkpoint / state.variables_file)
            state.write(run.state_json)  # the commit point
            if old and old != state.variables_file:
                (run.checkpoint / old).unlink(missing_ok=True)
            atomic_write_text(run.history_csv, pd.DataFrame(state.history).to_csv(index=False))

    if state.epoch < pcfg.epochs:
        with silenced_stderr():
            model.fit(train_ds, epochs=pcfg.epochs, initial_epoch=state.epoch, shuffle=False, verbose=verbose,
                      callbacks=[Checkpoint(), *callbacks])
    if state.epoch < pcfg.epochs:  # stopped by a callback: resumable, not finished
        return PretrainResult(run, {}, pd.DataFrame(state.history))
    metrics: dict[str, Any] = {"kind": "pretrain", "epochs_run": state.epoch,
                               "train_utterances": int(len(store.split_indices("train"))),
                               "final_loss": state.history[-1].get("loss") if state.history else None}
    if len(store.split_indices("val")):
        metrics["val"] = reconstruction_error(model, _batches(store, "val", cfg, training=False))
    classifier.save(run.model_file)
    atomic_write_text(run.metrics_json, json.dumps(metrics, indent=2))  # written last: marks completion
    return PretrainResult(run, metrics, pd.DataFrame(state.history))


def load_pretraining_model(run_dir: str | Path):
    """The finished pre-training's reconstruction model (encoder + ``reconstruction`` head), for plots."""
    run = RunDir(run_dir)
    state = TrainState.read(run.state_json)
    model, _ = pretraining_model(run.read_config(), len(run.read_classes()))
    load_variables(list(model.variables), run.checkpoint / state.variables_file, prefix_only=True)
    return model


# ------------------------------------------------------------------------------------------ label efficiency
def label_fraction_store(store, fraction: float, seed: int):
    """A copy of ``store`` whose train split keeps a class-stratified ``fraction`` of its utterances.

    Per class, ``max(1, round(fraction * n_class))`` train utterances are drawn (``default_rng(seed)``); the
    others move to split ``"unlabelled"`` (the trainer never reads it). Val and test are unchanged, and so is
    the normalisation (fitted on all train frames: no labels are needed for it).

    Raises
    ------
    SernetError
        ``fraction`` outside (0, 1].
    """
    if not 0 < fraction <= 1:
        raise SernetError(f"label fraction {fraction}: expected a value in (0, 1]")
    train = store.split_indices("train")
    if fraction == 1:
        return store
    labels = np.asarray(store.labels)[train]
    rng = np.random.default_rng([int(seed), int(round(fraction * 1e6))])
    keep = []
    for c in np.unique(labels):
        rows = train[labels == c]
        n = max(1, int(round(fraction * rows.size)))
        keep.extend(rng.choice(rows, size=n, replace=False).tolist())
    split = store.index["split"].to_numpy(dtype=object).copy()
    dropped = np.setdiff1d(train, np.asarray(keep, dtype=np.int64))
    split[dropped] = "unlabelled"
    index = store.index.copy()
    index["split"] = split
    return dataclasses.replace(store, index=index)
