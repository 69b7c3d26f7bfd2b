"""A tiny in-memory stand-in for ``sernet.features.cache.FeatureStore`` and a tiny config (train tests)."""

from __future__ import annotations

import numpy as np
import pandas as pd

import sernet
from sernet.features.layout import N_STORED
from sernet.labels import NUM_CLASSES


class FakeStore:
    """``FeatureStore``'s reading API over random frames whose first columns carry the class."""

    def __init__(self, n: int = 96, seed: int = 0, min_frames: int = 20, max_frames: int = 48) -> None:
        rng = np.random.default_rng(seed)
        self.n, self.seed = n, seed
        self.labels = (np.arange(n) % NUM_CLASSES).astype(np.int32)
        rng.shuffle(self.labels)
        self.splits = np.array(["train"] * n, dtype=object)
        for c in range(NUM_CLASSES):  # stratified 60/20/20, so every split holds every class
            rows = np.flatnonzero(self.labels == c)
            self.splits[rows[len(rows) * 6 // 10: len(rows) * 8 // 10]] = "val"
            self.splits[rows[len(rows) * 8 // 10:]] = "test"
        self.lengths = rng.integers(min_frames, max_frames + 1, size=n)
        self._frames = []
        for i in range(n):
            x = rng.normal(size=(self.lengths[i], N_STORED))
            x[:, self.labels[i]] += 2.0
            self._frames.append(x.astype(np.float16))
        self.norm_mean = np.zeros(N_STORED, np.float32)
        self.norm_std = np.ones(N_STORED, np.float32)
        self.index = pd.DataFrame({"path": [f"utt{i:04d}.wav" for i in range(n)],
                                   "label": [sernet.EMOTIONS[c] for c in self.labels],
                                   "split": self.splits, "n_frames": self.lengths})
        self.path = "<fake>"

    def identity(self) -> dict:
        """What the store holds (``FeatureStore.identity``): the recipe of its random frames."""
        return {"fake_store": {"n": self.n, "seed": self.seed, "lengths": [int(v) for v in self.lengths]}}

    def frames(self, i: int) -> np.ndarray:
        return self._frames[i]

    def split_indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.splits == split)

    def normalize(self, x: np.ndarray) -> np.ndarray:
        return (np.asarray(x, np.float32) - self.norm_mean) / self.norm_std


TINY: dict[str, object] = {
    "model.conv_filters": (4, 4, 4), "model.channels": 8, "model.residual_blocks": 1,
    "model.attention_heads": 1, "model.dense_units": 8, "model.pooling_units": 8,
    "model.mel_projection_dim": 4, "model.cnn_filters": (4, 8), "model.lstm_units": (8,),
    "features.max_length": 32, "train.batch_size": 16, "train.epochs": 4, "train.warmup_steps": 3,
    "train.early_stopping_patience": 3, "train.mixed_precision": "float32",
}
"""Overrides that shrink the smoke config to a model that trains in a second or two."""


def tiny_config(**changes):
    """The smoke config with :data:`TINY` (and ``changes``) applied."""
    return sernet.config.override(sernet.config.load("smoke"), {**TINY, **changes})


def tiny_cli_args(**changes) -> list[str]:
    """:data:`TINY` (and ``changes``) as ``--set KEY=VALUE`` command-line arguments."""
    args = []
    for key, value in {**TINY, **changes}.items():
        text = ",".join(map(str, value)) if isinstance(value, tuple) else str(value)
        args += ["--set", f"{key}={text}"]
    return args
