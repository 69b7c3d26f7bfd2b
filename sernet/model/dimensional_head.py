"""Dimensional emotion: the arousal / valence / dominance head and the CCC loss (``model.tasks``).

``model.tasks`` picks the outputs of :func:`sernet.model.build_sernet`:

=================  ==========================================================================================
``categorical``    logits ``[B, n_classes]`` (a plain tensor: the paper's model, unchanged)
``dimensional``    ``{"dimensions": [B, 3]}``: arousal, valence, dominance on the manifest's 1–7 scale
``multitask``      ``{"logits": [B, n_classes], "dimensions": [B, 3]}`` from the same pooled representation
=================  ==========================================================================================

The regression is bounded: a sigmoid scaled onto :data:`sernet.data.manifest.DIMENSION_SCALE`, so a
prediction can never leave the rating scale. It trains with the concordance correlation coefficient
(Lin 1989), the MSP-Podcast challenges' ranking metric, as ``1 − CCC`` per dimension over the batch
(:class:`CCCLoss`), weighted by ``model.dimension_weights``; ``model.task_weights`` weigh the class loss
against it. Utterances without a rating (an empty manifest cell) carry weight 0 in the batch statistics.
Explained in chapters/10_dimensional.py.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sernet.backend import keras as _keras
from sernet.data.manifest import DIMENSION_SCALE, DIMENSIONS

keras = _keras()

TASKS: tuple[str, ...] = ("categorical", "dimensional", "multitask")
LOGITS = "logits"
"""Name of the classification output (and layer)."""
DIMENSIONS_OUTPUT = "dimensions"
"""Name of the dimensional output (arousal, valence, dominance in :data:`DIMENSIONS` order)."""
CCC_EPSILON = 1e-6  # keeps 1 - CCC defined on a batch whose targets and predictions are all constant


def has_classes(tasks: str) -> bool:
    """Whether a model of ``tasks`` has the classification head."""
    return tasks in ("categorical", "multitask")


def has_dimensions(tasks: str) -> bool:
    """Whether a model of ``tasks`` has the dimensional head."""
    return tasks in ("dimensional", "multitask")


def dimension_head(h, *, scale: tuple[float, float] = DIMENSION_SCALE):
    """Three bounded regressions on the hidden vector ``h``: ``lo + (hi − lo) · sigmoid(W h + b)`` (float32)."""
    lo, hi = scale
    z = keras.layers.Dense(len(DIMENSIONS), activation="sigmoid", name="dimension_units", dtype="float32")(h)
    return keras.layers.Rescaling(hi - lo, offset=lo, name=DIMENSIONS_OUTPUT, dtype="float32")(z)


def split_outputs(outputs) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(logits, dimensions)`` of a model's output (either may be None), as NumPy arrays.

    A plain tensor or array is the categorical model's logits; a dict holds :data:`LOGITS` and/or
    :data:`DIMENSIONS_OUTPUT`.
    """
    ops = keras.ops
    if isinstance(outputs, dict):
        logits, dims = outputs.get(LOGITS), outputs.get(DIMENSIONS_OUTPUT)
    else:
        logits, dims = outputs, None
    return tuple(None if v is None else np.asarray(ops.convert_to_numpy(v)) for v in (logits, dims))


def ccc(y_true, y_pred, weights=None):
    """Concordance correlation coefficient per column over the batch axis (Keras ops; any backend).

    ``CCC = 2 cov(t, p) / (var t + var p + (mean t − mean p)²)`` with population (1/n) moments, weighted by
    ``weights`` ``[B]`` or ``[B, D]`` when given (weight 0 leaves a row out).

    Parameters
    ----------
    y_true, y_pred : tensor [shape=(B, D)]
    weights : tensor [shape=(B,) or (B, D)], optional

    Returns
    -------
    tensor [shape=(D,)]
    """
    ops = keras.ops
    t = ops.cast(y_true, "float32")
    p = ops.cast(y_pred, "float32")
    w = ops.ones_like(t) if weights is None else ops.cast(weights, "float32")
    if len(w.shape) == 1:
        w = ops.expand_dims(w, -1) * ops.ones_like(t)
    finite = ops.isfinite(t)
    w = ops.where(finite, w, ops.zeros_like(w))
    t = ops.where(finite, t, ops.zeros_like(t))
    n = ops.maximum(ops.sum(w, axis=0), CCC_EPSILON)
    mt = ops.sum(w * t, axis=0) / n
    mp = ops.sum(w * p, axis=0) / n
    vt = ops.sum(w * (t - mt) ** 2, axis=0) / n
    vp = ops.sum(w * (p - mp) ** 2, axis=0) / n
    cov = ops.sum(w * (t - mt) * (p - mp), axis=0) / n
    return 2.0 * cov / (vt + vp + (mt - mp) ** 2 + CCC_EPSILON)


class CCCLoss(keras.losses.Loss):
    """``Σ_d w_d (1 − CCC_d) / Σ_d w_d`` over a batch (batch-level, like the challenges' metric).

    Sample weights (Keras' ``sample_weight``) weigh rows inside the batch statistics instead of scaling
    per-example losses (a CCC has none): weight 0 (an unrated utterance, or padding rows of a batch) leaves
    the row out. Non-finite targets are left out the same way.

    Parameters
    ----------
    dimension_weights : sequence of float
        One weight per dimension (``model.dimension_weights``).
    """

    def __init__(self, dimension_weights: Sequence[float] = (1.0, 1.0, 1.0), name: str = "ccc_loss", **kwargs):
        super().__init__(name=name, **kwargs)
        self.dimension_weights = tuple(float(w) for w in dimension_weights)

    def __call__(self, y_true, y_pred, sample_weight=None):
        ops = keras.ops
        c = ccc(y_true, y_pred, sample_weight)
        w = ops.convert_to_tensor(np.asarray(self.dimension_weights, dtype="float32"))
        return ops.sum(w * (1.0 - c)) / ops.maximum(ops.sum(w), CCC_EPSILON)

    def call(self, y_true, y_pred):
        return self(y_true, y_pred)

    def get_config(self) -> dict:
        return {**super().get_config(), "dimension_weights": list(self.dimension_weights)}


FLAT_OUTPUT = "scores"
"""Name of the single output of :func:`flat_outputs` (what runners and exports see)."""


def flat_outputs(model):
    """``model`` with one output tensor: a categorical model itself; a dimensional or multitask model as a view
    of the same layers whose output ``[B, n_classes + 3]`` is the logits followed by arousal, valence and
    dominance (``[B, 3]`` for a dimensional-only model).

    Runners, exports (SavedModel, LiteRT, ONNX) and their parity checks handle one tensor; the predictor
    splits it again (:func:`split_flat`).
    """
    outputs = model.output
    if not isinstance(outputs, dict):
        return model
    parts = [outputs[name] for name in (LOGITS, DIMENSIONS_OUTPUT) if name in outputs]
    flat = parts[0] if len(parts) == 1 else keras.layers.Concatenate(name=FLAT_OUTPUT, dtype="float32")(parts)
    return keras.Model(model.input, flat, name=model.name)


def split_flat(scores: np.ndarray, tasks: str) -> tuple[np.ndarray | None, np.ndarray | None]:
    """``(logits, dimensions)`` of a :func:`flat_outputs` result for a model of ``tasks``."""
    scores = np.asarray(scores)
    if not has_dimensions(tasks):
        return scores, None
    n_dims = len(DIMENSIONS)
    logits = scores[:, :-n_dims] if has_classes(tasks) else None
    return logits, scores[:, -n_dims:]
