"""SpecAugment-style masking (Park et al. 2019) of frame-feature batches, for training batches only.

Time masks zero a random span of frames, feature masks a random span of feature columns; both use
``keras.ops`` and stateless ``keras.random`` draws (integer seeds), so the same seed gives the same masks on
TensorFlow, JAX and PyTorch, and a resumed run sees exactly the masks an uninterrupted one would.
Masks fall inside the real (unpadded) frames of each utterance only; padding stays as it was. Masked values
become 0, which after per-feature normalisation is the training mean of that feature.

Where it runs: ``sernet.train.batches.FeatureBatches`` calls :func:`spec_augment` on each training batch
with a seed derived from (run seed, epoch, batch index). Evaluation batches are never augmented.
Explained in chapters/05_training.py.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from sernet.backend import keras
from sernet.config import TrainConfig


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


def _spans(ops, random, size: int, limit, n_masks: int, max_width: int, seeds: list[int], batch: int):
    """Keep-multipliers [B, size]: 0 inside ``n_masks`` random spans of width <= max_width, each inside
    [0, limit) per row (``limit`` [B] float), 1 elsewhere."""
    positions = ops.cast(ops.arange(size), "float32")[None, :]
    keep = ops.ones((batch, size), dtype="float32")
    for k in range(n_masks):
        u_width = random.uniform((batch,), seed=seeds[2 * k])
        u_start = random.uniform((batch,), seed=seeds[2 * k + 1])
        width = ops.minimum(ops.floor(u_width * (max_width + 1)), limit)
        start = ops.floor(u_start * (limit - width + 1))
        inside = ops.logical_and(positions >= start[:, None], positions < (start + width)[:, None])
        keep = keep * (1.0 - ops.cast(inside, "float32"))
    return keep


def spec_augment(features, mask, *, spec: MaskSpec, seed: int):
    """Apply time and feature masks to a batch.

    Parameters
    ----------
    features : array [shape=(batch, frames, dims)]
        Normalised frame features (NumPy or backend tensor).
    mask : array [shape=(batch, frames)]
        1 for real frames, 0 for padding; real frames come first.
    spec : MaskSpec
        Number and maximal width of the masks.
    seed : int
        Seed of this batch's masks (stateless: the same seed gives the same masks).

    Returns
    -------
    tensor [shape=(batch, frames, dims)], float32
        ``features`` with masked regions set to 0.

    Examples
    --------
    >>> import numpy as np
    >>> x = np.ones((2, 50, 10), "float32"); m = np.ones((2, 50), "float32"); m[1, 30:] = 0
    >>> y = spec_augment(x, m, spec=MaskSpec(2, 10, 1, 3), seed=0)
    >>> tuple(y.shape)
    (2, 50, 10)
    """
    k = keras()
    ops, random = k.ops, k.random
    x = ops.cast(ops.convert_to_tensor(features), "float32")
    m = ops.cast(ops.convert_to_tensor(mask), "float32")
    batch, frames, dims = (int(d) for d in x.shape)
    n_seeds = 2 * (spec.time_masks + spec.feature_masks)
    seeds = [int(s) for s in np.random.SeedSequence(seed).generate_state(max(n_seeds, 1))]
    lengths = ops.sum(m, axis=1)
    keep_t = _spans(ops, random, frames, lengths, spec.time_masks, spec.time_mask_max_frames,
                    seeds[: 2 * spec.time_masks], batch)
    all_dims = ops.full((batch,), float(dims))
    keep_f = _spans(ops, random, dims, all_dims, spec.feature_masks, spec.feature_mask_max_dims,
                    seeds[2 * spec.time_masks:], batch)
    # Padding is left untouched: only real frames are multiplied by the masks.
    keep = 1.0 - m[:, :, None] * (1.0 - keep_t[:, :, None] * keep_f[:, None, :])
    return x * keep
