"""Normalisation statistics and fixed-length windows.

- **z-score** per stored column, fitted on the *training split only* (:func:`fit_normalization`) and kept
  with the feature cache (``FeatureStore.norm_mean`` / ``norm_std``), so validation and test frames never
  leak into the statistics. Columns with (near) zero variance get std 1 (e.g. a constant utterance-level
  column), so they normalise to 0 instead of blowing up.
- **Length**: every example is cut or zero-padded to ``max_length`` frames with a frame mask
  (:func:`pad_or_crop`). Training crops a *random* window of longer utterances (a cheap augmentation: each
  epoch sees another 3 s of it), evaluation the *centre* window (deterministic, and away from the leading
  and trailing silence); ``"start"`` is for streaming-like experiments. Padding rows are zero (the
  normalised mean) and carry mask 0.

Explained in chapters/02_features.py.
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from sernet.errors import ConfigError

CROP_MODES: tuple[str, ...] = ("random", "center", "start")
MIN_STD = 1e-6


class RunningMoments:
    """Column sums in float64 over blocks of frames (mean/std without holding all frames)."""

    def __init__(self, dim: int) -> None:
        self.n = 0
        self.s1 = np.zeros(dim, dtype=np.float64)
        self.s2 = np.zeros(dim, dtype=np.float64)
        self.shift: np.ndarray | None = None

    def update(self, x: np.ndarray) -> None:
        x = np.asarray(x, dtype=np.float64)
        if x.size == 0:
            return
        if self.shift is None:  # shifted sums keep the variance accurate for large means (e.g. dB values)
            self.shift = x[0].copy()
        x = x - self.shift
        self.n += len(x)
        self.s1 += x.sum(axis=0)
        self.s2 += (x * x).sum(axis=0)

    def result(self) -> tuple[np.ndarray, np.ndarray]:
        if self.n == 0:
            raise ValueError("no frames to fit normalisation statistics on")
        m = self.s1 / self.n
        var = np.maximum(self.s2 / self.n - m * m, 0.0)
        std = np.sqrt(var)
        std = np.where(std < MIN_STD, 1.0, std)
        return (m + self.shift).astype(np.float32), std.astype(np.float32)


def fit_normalization(blocks: Iterable[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
    """Per-column mean and std (float32) over all frames of ``blocks`` (each [T_i, D])."""
    moments: RunningMoments | None = None
    for b in blocks:
        if moments is None:
            moments = RunningMoments(np.shape(b)[1])
        moments.update(b)
    if moments is None:
        raise ValueError("no frames to fit normalisation statistics on")
    return moments.result()


def normalize(x: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
    """``(x - mean) / std`` as float32 (any leading shape, last axis = columns)."""
    return ((np.asarray(x, dtype=np.float32) - mean) / std).astype(np.float32)


def pad_or_crop(
    x: np.ndarray,
    max_length: int,
    mode: str = "center",
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Cut or zero-pad ``x`` [T, D] to ``max_length`` frames.

    Parameters
    ----------
    x : np.ndarray [shape=(T, D)]
    max_length : int
        ``FeatureConfig.max_length`` (300 frames).
    mode : {"random", "center", "start"}
        Which window of a longer ``x`` to keep: a uniformly random one (training; needs ``rng``), the
        centre one (evaluation), or the first one.
    rng : np.random.Generator, optional
        Required for ``"random"``.

    Returns
    -------
    x : np.ndarray [shape=(max_length, D), dtype=float32]
        Frames first, zero rows after them.
    mask : np.ndarray [shape=(max_length,), dtype=float32]
        1 for real frames, 0 for padding.

    Examples
    --------
    >>> import numpy as np
    >>> x, m = pad_or_crop(np.ones((5, 2)), 8)
    >>> x.shape, m.tolist()
    ((8, 2), [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0])
    """
    if mode not in CROP_MODES:
        raise ConfigError(f"crop mode {mode!r}; expected one of {CROP_MODES}")
    if max_length < 1:
        raise ConfigError(f"max_length={max_length} must be positive")
    x = np.asarray(x)
    t = len(x)
    out = np.zeros((max_length,) + x.shape[1:], dtype=np.float32)
    mask = np.zeros(max_length, dtype=np.float32)
    if t > max_length:
        if mode == "random":
            if rng is None:
                raise ValueError("pad_or_crop(mode='random') needs rng=np.random.Generator")
            start = int(rng.integers(0, t - max_length + 1))
        elif mode == "center":
            start = (t - max_length) // 2
        else:
            start = 0
        out[:] = x[start:start + max_length]
        mask[:] = 1.0
    else:
        out[:t] = x
        mask[:t] = 1.0
    return out, mask
