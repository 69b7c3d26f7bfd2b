"""Knowledge distillation (Hinton, Vinyals & Dean 2015) of a trained SER-Net into a small student, and the
edge comparison of teacher, distilled student, student alone and their int8 exports (``sernet distill``;
explained in chapters/12_distillation.py).

The student is the teacher's model section with the ``distill.student_*`` widths (:func:`student_config`);
it must hold at most ``distill.max_param_ratio`` of the teacher's parameters (:func:`check_student_size`).
Its loss on a batch with teacher logits ``t``, student logits ``s`` and one-hot labels ``y`` is

    alpha * T^2 * KL(softmax(t / T) || softmax(s / T)) + (1 - alpha) * CE(y, softmax(s))

(:func:`distillation_loss`; the ``T^2`` keeps the soft term's gradients on the scale of the hard term's as
``T`` changes). Teacher and student see the same SpecAugment-masked batch (the trainer's masks, the same
draws from ``(seed, epoch, batch)``); the teacher runs in inference mode and is never updated. Training
otherwise follows :func:`sernet.train.train`: AdamW with warmup and cosine decay, early stopping on
validation UAR, the best epoch's weights evaluated on val and test. The run directory has the trainer's
layout (``config.json`` holds the *student's* config, with ``kind: "distill"`` and the teacher's path), so
``sernet evaluate``, ``sernet export`` and ``Predictor.load`` take it like any run. A distillation is not
resumable: a killed one starts again.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sernet.analysis.metrics import evaluate_probabilities
from sernet.artifacts import atomic_write_text
from sernet.backend import backend_name, keras, silenced_stderr
from sernet.config import Config, override
from sernet.errors import ConfigError, SernetError
from sernet.labels import classes_of
from sernet.train.augment import MaskSpec, SpecAugment
from sernet.train.batches import split_batches
from sernet.train.run_dir import RunDir
from sernet.train.schedule import make_optimizer
from sernet.train.trainer import (
    TrainResult,
    predict_probabilities,
    predictions_frame,
    set_precision,
    with_norm_stats,
)

DISTILL_VERSION = 1
"""Bumped when a change to distillation would change its result (part of the run key)."""


# --------------------------------------------------------------------------------------------------- student
def student_config(cfg: Config) -> Config:
    """``cfg`` with the student's widths (``distill.student_*``) in its model section.

    The dilation rates are truncated to the number of student conv branches; kernel size, pooling type and
    feature groups stay the teacher's.
    """
    d = cfg.distill
    filters = tuple(d.student_conv_filters)
    return override(cfg, {
        "model.variant": "base", "model.mel_projection_dim": d.student_mel_projection_dim,
        "model.conv_filters": filters, "model.dilation_rates": tuple(cfg.model.dilation_rates[:len(filters)]),
        "model.channels": d.student_channels, "model.residual_blocks": d.student_residual_blocks,
        "model.attention_heads": d.student_attention_heads, "model.pooling_units": d.student_pooling_units,
        "model.dense_units": d.student_dense_units,
    })


def count_params(model) -> int:
    """Number of weights of a Keras model (trainable and not)."""
    return int(sum(int(np.prod(v.shape)) for v in model.weights))


def check_student_size(student_params: int, teacher_params: int, cfg: Config) -> float:
    """The student's share of the teacher's parameters; raises ``ConfigError`` above ``distill.max_param_ratio``."""
    ratio = student_params / max(teacher_params, 1)
    if ratio > cfg.distill.max_param_ratio:
        raise ConfigError(f"distill.student_*: the student has {student_params} parameters, {ratio:.1%} of the "
                          f"teacher's {teacher_params}; at most distill.max_param_ratio="
                          f"{cfg.distill.max_param_ratio} is allowed (narrow the student)")
    return ratio


# ------------------------------------------------------------------------------------------------------ loss
def distillation_loss(y_true, teacher_logits, student_logits, *, temperature: float, alpha: float):
    """Per-example Hinton distillation loss (``keras.ops``; NumPy or backend tensors).

    Parameters
    ----------
    y_true : array [shape=(batch, classes)]
        One-hot hard labels.
    teacher_logits, student_logits : array [shape=(batch, classes)]
    temperature : float
        ``T`` of the softened distributions.
    alpha : float
        Weight of the soft term; ``1 - alpha`` weighs the hard cross-entropy (at ``T = 1``).

    Returns
    -------
    tensor [shape=(batch,)]
        ``alpha * T^2 * KL(softmax(t/T) || softmax(s/T)) + (1 - alpha) * CE(y, softmax(s))``.

    Examples
    --------
    >>> y = np.eye(3)[[0]]; z = np.array([[2.0, 0.0, -1.0]])
    >>> round(float(distillation_loss(y, z, z, temperature=2.0, alpha=1.0)[0]), 6)  # same logits: KL 0
    0.0
    """
    ops = keras().ops
    t = ops.cast(teacher_logits, "float32") / temperature
    s = ops.cast(student_logits, "float32") / temperature
    log_pt = ops.log_softmax(t, axis=-1)
    log_ps = ops.log_softmax(s, axis=-1)
    kl = ops.sum(ops.exp(log_pt) * (log_pt - log_ps), axis=-1)
    ce = -ops.sum(ops.cast(y_true, "float32") * ops.log_softmax(ops.cast(student_logits, "float32"), axis=-1),
                  axis=-1)
    return alpha * temperature ** 2 * kl + (1.0 - alpha) * ce


def _loss_fn(n_classes: int, temperature: float, alpha: float):
    def loss(y_true, y_pred):  # y_pred: [teacher logits | student logits]
        return distillation_loss(y_true, y_pred[:, :n_classes], y_pred[:, n_classes:], temperature=temperature,
                                 alpha=alpha)

    return loss


def distillation_model(student, teacher, spec: MaskSpec):
    """A Keras model over ``{"features", "mask", "draws"}`` whose output is ``[teacher logits | student
    logits]``: SpecAugment masks the batch once, the frozen teacher (inference mode, no gradient) and the
    student see the same masked features. It trains ``student``'s variables."""
    k = keras()
    teacher.trainable = False

    class Distiller(k.Model):
        def __init__(self):
            super().__init__(name="distiller")
            self.student, self.teacher = student, teacher
            self.augment = SpecAugment(**spec.__dict__, name="spec_augment")

        def call(self, inputs, training=None):
            x = self.augment(inputs["features"], inputs["mask"], inputs["draws"], training=training)
            feed = {"features": x, "mask": inputs["mask"]}
            t = k.ops.stop_gradient(self.teacher(feed, training=False))
            s = self.student(feed, training=training)
            return k.ops.concatenate([k.ops.cast(t, "float32"), k.ops.cast(s, "float32")], axis=-1)

    return Distiller()


def distill(cfg: Config, store, teacher_dir: str | Path, run_dir: str | Path, *, resume: bool = True,
            verbose: int = 0) -> TrainResult:
    """Train the student of ``cfg`` on ``store`` from the teacher run ``teacher_dir`` and the hard labels.

    Parameters
    ----------
    cfg : Config
        The teacher's config with the ``distill`` section (T, alpha, student widths) and ``train``
        (seed, epochs, rate, augmentation, patience) of the student.
    store : FeatureStore
        The labelled corpus; normalised with the teacher's statistics (so the teacher sees its own inputs).
    teacher_dir : path
        A finished run (:class:`sernet.train.RunDir`) with the store's label set.
    run_dir : path
        The student's run directory. A finished one is loaded when ``resume`` is True.

    Returns
    -------
    TrainResult
        The student's run (``metrics["test"]["uar"]``, ``load_model()``).

    Raises
    ------
    SernetError
        The teacher has not finished or has another label set; empty train or val split.
    ConfigError
        A student above ``distill.max_param_ratio`` of the teacher's parameters.

    Examples
    --------
    >>> teacher = sernet.analysis.runs.run_or_load(cfg)                                    # doctest: +SKIP
    >>> student = distill(cfg, store, teacher.run_dir.path, "runs/student")               # doctest: +SKIP
    """
    import shutil

    from sernet.model import build_sernet

    k = keras()
    run = RunDir(run_dir)
    if resume and run.complete:
        return TrainResult.load(run)
    teacher_run = RunDir(teacher_dir)
    if not teacher_run.complete:
        raise SernetError(f"{teacher_run.path}: not a finished run (no model.keras/metrics.json); train the "
                          "teacher first")
    classes = classes_of(store)
    if teacher_run.read_classes() != classes:
        raise SernetError(f"{teacher_run.path}: the teacher's classes {list(teacher_run.read_classes())} differ "
                          f"from the corpus's {list(classes)}")
    if len(store.split_indices("train")) == 0 or len(store.split_indices("val")) == 0:
        raise SernetError(f"{getattr(store, 'path', None) or 'feature store'}: distillation needs non-empty "
                          "train and val splits")
    if run.path.exists():
        shutil.rmtree(run.path)
    run.path.mkdir(parents=True)
    store = with_norm_stats(store, *teacher_run.read_norm_stats())
    scfg = student_config(cfg)
    tcfg = scfg.train
    policy = set_precision(tcfg.mixed_precision)
    k.utils.set_random_seed(tcfg.seed)
    teacher = teacher_run.load_model()
    student = build_sernet(scfg, len(classes))
    ratio = check_student_size(count_params(student), count_params(teacher), cfg)
    run.write_config(scfg, kind="distill", backend=backend_name(), dtype_policy=policy,
                     distill_version=DISTILL_VERSION, teacher=str(teacher_run.path), param_ratio=ratio,
                     feature_store=str(getattr(store, "path", "") or ""), classes=list(classes))
    run.write_norm_stats(store.norm_mean, store.norm_std)
    train_ds = split_batches(store, "train", scfg, training=True)
    val_ds = split_batches(store, "val", scfg, training=False)
    model = distillation_model(student, teacher, MaskSpec.from_config(tcfg))
    model.compile(optimizer=make_optimizer(tcfg, len(train_ds)),
                  loss=_loss_fn(len(classes), cfg.distill.temperature, cfg.distill.alpha))
    val_labels = np.asarray(val_ds.labels[val_ds.order])
    history: list[dict[str, float]] = []
    best: dict[str, Any] = {"uar": -1.0, "epoch": 0, "weights": None, "wait": 0, "stopped": False}

    class EpochEnd(k.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            m = evaluate_probabilities(val_labels, predict_probabilities(student, val_ds), classes)
            history.append({"epoch": epoch + 1, "loss": float((logs or {}).get("loss", np.nan)), "val_uar": m["uar"]})
            if m["uar"] > best["uar"]:
                best.update(uar=m["uar"], epoch=epoch + 1, weights=student.get_weights(), wait=0)
            else:
                best["wait"] += 1
            if best["wait"] >= tcfg.early_stopping_patience:
                best["stopped"] = True
                self.model.stop_training = True

    with silenced_stderr():
        model.fit(train_ds, epochs=tcfg.epochs, shuffle=False, verbose=verbose, callbacks=[EpochEnd()])
    student.set_weights(best["weights"])
    metrics: dict[str, Any] = {}
    frames = []
    for split in ("val", "test"):
        if len(store.split_indices(split)) == 0:
            continue
        ds = split_batches(store, split, scfg, training=False)
        probs = predict_probabilities(student, ds)
        y = np.asarray(store.labels)[ds.order]
        metrics[split] = evaluate_probabilities(y, probs, classes)
        frames.append(predictions_frame(store, ds.order, split, y, probs, classes))
    metrics.update(best_epoch=best["epoch"], epochs_run=len(history), stopped_early=best["stopped"],
                   best_val_uar=best["uar"], params=count_params(student), teacher_params=count_params(teacher))
    pd.concat(frames, ignore_index=True).to_csv(run.predictions_csv, index=False)
    atomic_write_text(run.history_csv, pd.DataFrame(history).to_csv(index=False))
    student.save(run.model_file)
    atomic_write_text(run.metrics_json, json.dumps(metrics, indent=2))  # written last: marks completion
    return TrainResult.load(run)
