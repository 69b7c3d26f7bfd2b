"""The input pipeline: feature-cache batches as a ``keras.utils.PyDataset``.

Each batch reads its utterances' frames from the memory-mapped feature cache (float16), normalises them with
the training-split statistics, pads or crops them to ``features.max_length`` frames with a mask (random crop
for training, centre crop for evaluation), and returns
``({"features": [B, T, 268], "mask": [B, T][, "draws": [B, n]]}, one_hot_labels[, sample_weights])``; for a
model with the dimensional head (``model.tasks``) the targets are a dict, ``{"logits": one_hot,
"dimensions": [B, 3]}`` (arousal, valence, dominance; NaN where unrated), and so are the sample weights.
Training batches carry ``draws``, the uniform random numbers of their SpecAugment masks (zeros when
augmentation is off); the masking itself runs in the training graph (``sernet.train.augment``).

Why a ``PyDataset``: it is Keras 3's backend-neutral data protocol. ``model.fit`` on TensorFlow wraps it in a
``tf.data`` pipeline with prefetching; on JAX and PyTorch Keras iterates it directly (PyTorch through a
``DataLoader``). With ``workers > 1`` Keras prefetches batches in a thread (or process) pool on every backend,
so reading and cropping overlap with the accelerator's work.

Shuffling is a permutation drawn from ``(seed, epoch)`` and crops/masks from ``(seed, epoch, batch)``: a run
resumed at epoch ``k`` (``FeatureBatches(..., epoch=k)``) sees exactly the batches an uninterrupted run saw.
The epoch advances in ``on_epoch_end``, which Keras calls after its prefetching workers have stopped.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from sernet.backend import keras
from sernet.data.manifest import DIMENSIONS
from sernet.errors import SernetError
from sernet.labels import classes_of
from sernet.train.augment import MaskSpec

_PyDataset = keras().utils.PyDataset

NORMALIZED_CACHE_BYTES = 256 * 2**20
"""Normalised float32 frames are kept in memory (per process, per store) up to this many bytes, so the
many short runs of a grid (Chapter 6) do not convert and normalise the same utterances again; larger
corpora read the memory-mapped cache every time."""

_NORMALIZED: dict[int, tuple[object, dict[int, np.ndarray], list[int]]] = {}


def normalized_frames(store, i: int) -> np.ndarray:
    """``store.normalize(store.frames(i))`` as float32, from the in-memory cache when it fits."""
    entry = _NORMALIZED.get(id(store))
    if entry is None or entry[0] is not store:
        entry = _NORMALIZED[id(store)] = (store, {}, [0])
    _, frames, used = entry
    x = frames.get(i)
    if x is None:
        x = np.asarray(store.normalize(np.asarray(store.frames(i), dtype=np.float32)), dtype=np.float32)
        if used[0] + x.nbytes <= NORMALIZED_CACHE_BYTES:
            frames[i] = x
            used[0] += x.nbytes
    return x


def store_dimensions(store) -> np.ndarray:
    """Arousal, valence, dominance of every utterance of ``store`` (float32 ``[n, 3]``; NaN where unrated).

    Raises
    ------
    SernetError
        The store's index has no dimension columns (its manifest carries no ratings), naming the store.
    """
    missing = [c for c in DIMENSIONS if c not in store.index.columns]
    if missing:
        raise SernetError(f"{getattr(store, 'path', None) or 'feature store'}: no {missing} column(s) in its "
                          "manifest; model.tasks 'dimensional'/'multitask' needs arousal, valence, dominance")
    return store.index[list(DIMENSIONS)].apply(lambda c: c.astype("float64")).to_numpy(np.float32)


class FeatureBatches(_PyDataset):
    """Batches of one split of a ``FeatureStore``.

    Parameters
    ----------
    store : sernet.features.cache.FeatureStore
        The feature cache (``frames(i)``, ``labels``, ``normalize``).
    indices : sequence of int
        Utterance indices (rows of ``store.index``) in this dataset.
    batch_size : int
    max_length : int
        Frames per example after padding/cropping.
    crop : {"random", "center", "start"}
        Crop mode of utterances longer than ``max_length`` (see ``sernet.features.pad_or_crop``).
    shuffle : bool
        Shuffle the order each epoch (training).
    seed : int
        Seed of the order, crops and masks.
    mask_spec : MaskSpec, optional
        Training batches: the SpecAugment masks whose ``draws`` the batches carry. None: no ``draws``
        (evaluation batches).
    augment : bool
        Random draws (True) or zeros, i.e. no masks (False); only with ``mask_spec``.
    sample_weights : array [shape=(classes,)], optional
        Per-class weights; when given, batches carry per-example weights (class weighting).
    epoch : int
        The epoch to start at (resuming).
    workers, use_multiprocessing, max_queue_size
        Keras prefetching (``keras.utils.PyDataset``); threads by default.
    n_classes : int, optional
        Width of the one-hot labels (default: the store's label set, ``sernet.labels.classes_of``).
    tasks : {"categorical", "dimensional", "multitask"}
        The model's outputs (``model.tasks``): which targets the batches carry.
    """

    def __init__(self, store, indices: Sequence[int], *, batch_size: int, max_length: int, crop: str,
                 shuffle: bool, seed: int, mask_spec: MaskSpec | None = None, augment: bool = True,
                 sample_weights: np.ndarray | None = None, epoch: int = 0, workers: int = 1,
                 use_multiprocessing: bool = False, max_queue_size: int = 8,
                 n_classes: int | None = None, tasks: str = "categorical") -> None:
        super().__init__(workers=workers, use_multiprocessing=use_multiprocessing,
                         max_queue_size=max_queue_size)
        self.store = store
        self.indices = np.asarray(indices, dtype=np.int64)
        self.batch_size = int(batch_size)
        self.max_length = int(max_length)
        self.crop = crop
        self.shuffle = shuffle
        self.seed = int(seed)
        self.mask_spec = mask_spec
        self.augment = augment
        self.sample_weights = None if sample_weights is None else np.asarray(sample_weights, "float32")
        self.labels = np.asarray(store.labels, dtype=np.int64)
        self.n_classes = len(classes_of(store)) if n_classes is None else int(n_classes)
        self.tasks = tasks
        self.dimensions = None if tasks == "categorical" else store_dimensions(store)
        self.set_epoch(epoch)

    def set_epoch(self, epoch: int) -> None:
        """Move to ``epoch``: its order (a permutation drawn from seed and epoch) and its crops."""
        self.epoch = int(epoch)
        if self.shuffle:
            rng = np.random.default_rng([self.seed, self.epoch])
            self.order = self.indices[rng.permutation(self.indices.size)]
        else:
            self.order = self.indices

    @property
    def num_batches(self) -> int:
        return int(np.ceil(self.indices.size / self.batch_size))

    def __len__(self) -> int:
        return self.num_batches

    def batch_indices(self, b: int) -> np.ndarray:
        """Utterance indices of batch ``b`` of the current epoch."""
        return self.order[b * self.batch_size:(b + 1) * self.batch_size]

    def inputs(self, b: int) -> dict[str, np.ndarray]:
        """The model inputs of batch ``b`` (normalised, padded/cropped, mask, SpecAugment draws)."""
        from sernet.features import pad_or_crop

        rows = self.batch_indices(b)
        rng = np.random.default_rng([self.seed, self.epoch, b])
        xs, ms = [], []
        for i in rows:
            x, m = pad_or_crop(normalized_frames(self.store, int(i)), self.max_length, self.crop, rng)
            xs.append(x)
            ms.append(m)
        features = np.stack(xs).astype(np.float32)
        mask = np.stack(ms).astype(np.float32)
        inputs = {"features": features, "mask": mask}
        if self.mask_spec is not None:
            if self.augment:
                inputs["draws"] = self.mask_spec.draws(len(rows), [self.seed, self.epoch, b, 1])
            else:
                inputs["draws"] = np.zeros((len(rows), self.mask_spec.n_draws), np.float32)
        return inputs

    def __getitem__(self, b: int):
        if b >= self.num_batches:
            raise IndexError(f"batch {b} of {self.num_batches}")
        rows = self.batch_indices(b)
        y = np.eye(self.n_classes, dtype=np.float32)[self.labels[rows]]
        inputs = self.inputs(b)
        if self.dimensions is not None:  # dict targets: {"dimensions"[, "logits"]}
            targets = {"dimensions": self.dimensions[rows]}
            weights = {"dimensions": np.ones(len(rows), np.float32)}
            if self.tasks == "multitask":
                targets["logits"] = y
                weights["logits"] = (np.ones(len(rows), np.float32) if self.sample_weights is None
                                     else self.sample_weights[self.labels[rows]])
            return inputs, targets, weights
        if self.sample_weights is not None:
            return inputs, y, self.sample_weights[self.labels[rows]]
        return inputs, y

    def on_epoch_end(self) -> None:
        self.set_epoch(self.epoch + 1)


def split_batches(store, split: str, cfg, *, training: bool, epoch: int = 0,
                  sample_weights: np.ndarray | None = None, workers: int = 1) -> FeatureBatches:
    """The dataset of ``split`` under ``cfg``: training form (shuffled, random crop, SpecAugment when
    ``cfg.train.augment``) or evaluation form (fixed order, centre crop, no masks)."""
    fcfg, tcfg = cfg.features, cfg.train
    return FeatureBatches(
        store, store.split_indices(split), batch_size=tcfg.batch_size, max_length=fcfg.max_length,
        crop=fcfg.train_crop if training else fcfg.eval_crop, shuffle=training, seed=tcfg.seed,
        mask_spec=MaskSpec.from_config(tcfg) if training else None, augment=tcfg.augment,
        sample_weights=sample_weights if training else None, epoch=epoch, workers=workers,
        tasks=cfg.model.tasks if training else "categorical",  # evaluation batches feed predict() only
    )
