"""SpecAugment-style masking (Park et al. 2019) of frame-feature batches, for training batches only.

Time masks zero a random span of frames, feature masks a random span of feature columns, with ``keras.ops``
only (every backend). Masks fall inside the real (unpadded) frames of each utterance only; padding stays as
it was. Masked values become 0, which after per-feature normalisation is the training mean of that feature.

Where it runs: in the training graph. :class:`SpecAugment` is a layer placed in front of the model by the
trainer (:func:`training_model`); the input pipeline (``sernet.train.batches``) draws its uniform random
numbers ``draws`` [B, 2 x (time_masks + feature_masks)] from NumPy with a seed derived from (run seed,
epoch, batch), so a resumed run sees exactly the masks an uninterrupted one would, and the masking itself
runs on the accelerator with the model. Draws of 0 give masks of width 0: batches without augmentation
(``train.augment=False``) carry zeros and go through the same compiled graph unchanged. Evaluation never
uses the layer. :func:`spec_augment` is the same masking as a function (stateless ``keras.random`` draws
from an integer seed), for notebooks and tests. Explained in chapters/05_training.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sernet.backend import keras
from sernet.config import TrainConfig

_k = keras()


@dataclass(frozen=True)
class MaskSpec:
    """How many masks of which maximal width (``TrainConfig`` fields of the same names)."""

    time_masks: int
    time_mask_max_frames: int
    feature_masks: int
    feature_mask_max_dims: int

    @classmethod
    def from_config(cls, tcfg: TrainConfig) -> MaskSpec:
        return cls(tcfg.time_masks, tcfg.time_mask_max_frames, tcfg.feature_masks, tcfg.feature_mask_max_dims)

    @property
    def n_draws(self) -> int:
        """Uniform numbers per example: a width and a start per mask (at least 1, a valid input shape)."""
        return max(1, 2 * (self.time_masks + self.feature_masks))

    def draws(self, batch: int, seed: int | tuple[int, ...] | list[int]) -> np.ndarray:
        """The uniform draws [batch, n_draws] in [0, 1) of one batch, from NumPy (``default_rng(seed)``)."""
        return np.random.default_rng(seed).random((batch, self.n_draws), dtype=np.float32)


def _spans(ops, size: int, limit, u_width, u_start, max_width: int):
    """Keep-multiplier [B, size]: 0 inside a span of width floor(u_width*(max_width+1)) (at most ``limit``)
    starting at floor(u_start*(limit-width+1)), 1 elsewhere."""
    positions = ops.cast(ops.arange(size), "float32")[None, :]
    width = ops.minimum(ops.floor(u_width * (max_width + 1)), limit)
    start = ops.floor(u_start * (limit - width + 1))
    inside = ops.logical_and(positions >= start[:, None], positions < (start + width)[:, None])
    return 1.0 - ops.cast(inside, "float32")


def apply_masks(features, mask, draws, spec: MaskSpec):
    """Mask ``features`` [B, T, F] (real frames given by ``mask`` [B, T]) with uniform ``draws``
    [B, spec.n_draws]; returns float32 [B, T, F]. Draws of 0 leave the batch unchanged."""
    ops = _k.ops
    x = ops.cast(features, "float32")
    m = ops.cast(mask, "float32")
    u = ops.cast(draws, "float32")
    frames, dims = x.shape[1], x.shape[2]
    lengths = ops.sum(m, axis=1)
    keep_t = ops.ones_like(m)
    for i in range(spec.time_masks):
        keep_t = keep_t * _spans(ops, frames, lengths, u[:, 2 * i], u[:, 2 * i + 1], spec.time_mask_max_frames)
    keep_f = ops.ones_like(u[:, :1]) * ops.ones((1, dims), dtype="float32")
    offset = 2 * spec.time_masks
    all_dims = ops.ones_like(lengths) * float(dims)
    for i in range(spec.feature_masks):
        j = offset + 2 * i
        keep_f = keep_f * _spans(ops, dims, all_dims, u[:, j], u[:, j + 1], spec.feature_mask_max_dims)
    # Padding is left untouched: only real frames are multiplied by the masks.
    keep = 1.0 - m[:, :, None] * (1.0 - keep_t[:, :, None] * keep_f[:, None, :])
    return x * keep


def spec_augment(features, mask, *, spec: MaskSpec, seed: int):
    """Apply time and feature masks to a batch, with stateless ``keras.random`` draws from ``seed``.

    Parameters
    ----------
    features : array [shape=(batch, frames, dims)]
        Normalised frame features (NumPy or backend tensor).
    mask : array [shape=(batch, frames)]
        1 for real frames, 0 for padding; real frames come first.
    spec : MaskSpec
        Number and maximal width of the masks.
    seed : int
        Seed of this batch's masks (the same seed gives the same masks).

    Returns
    -------
    tensor [shape=(batch, frames, dims)], float32

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((2, 50, 10), "float32"); m = np.ones((2, 50), "float32"); m[1, 30:] = 0
    >>> y = spec_augment(x, m, spec=MaskSpec(2, 10, 1, 3), seed=0)
    >>> tuple(y.shape)
    (2, 50, 10)
    """
    x = _k.ops.convert_to_tensor(features)
    draws = _k.random.uniform((int(x.shape[0]), spec.n_draws), seed=int(seed))
    return apply_masks(x, mask, draws, spec)


@_k.saving.register_keras_serializable(package="sernet")
class SpecAugment(_k.layers.Layer):
    """SpecAugment masks as a layer: ``call(features, mask, draws, training)``.

    Input shapes: ``features`` [B, T, F], ``mask`` [B, T], ``draws`` [B, n_draws] (uniform in [0, 1)).
    Output: ``features`` with masked spans set to 0 when ``training``; ``features`` unchanged otherwise.

    Args:
        time_masks, time_mask_max_frames, feature_masks, feature_mask_max_dims: see :class:`MaskSpec`.

    References:
        Park et al., "SpecAugment: A Simple Data Augmentation Method for ASR", Interspeech 2019.
    """

    def __init__(self, time_masks: int = 2, time_mask_max_frames: int = 30, feature_masks: int = 2,
                 feature_mask_max_dims: int = 15, **kwargs) -> None:
        super().__init__(**kwargs)
        self.spec = MaskSpec(time_masks, time_mask_max_frames, feature_masks, feature_mask_max_dims)

    def call(self, features, mask, draws, training=None):
        if not training:
            return features
        return _k.ops.cast(apply_masks(features, mask, draws, self.spec), features.dtype)

    def compute_output_shape(self, features_shape, *args, **kwargs):
        return features_shape

    def get_config(self):
        return {**super().get_config(), **self.spec.__dict__}


def training_model(model, spec: MaskSpec):
    """``model`` behind a :class:`SpecAugment` layer: inputs ``features``, ``mask``, ``draws``; the same
    variables (the returned model trains ``model``'s weights; save and evaluate ``model`` itself)."""
    k = _k
    inputs = {"features": k.Input((None, model.input["features"].shape[-1]), name="features"),
              "mask": k.Input((None,), name="mask"),
              "draws": k.Input((spec.n_draws,), name="draws")}
    masked = SpecAugment(**spec.__dict__, name="spec_augment")(inputs["features"], inputs["mask"],
                                                               inputs["draws"])
    outputs = model({"features": masked, "mask": inputs["mask"]})
    return k.Model(inputs, outputs, name=f"{model.name}_train")
