"""Analysis windows over an utterance's frames: every model input is a window of exactly ``max_length``
frames (one compiled shape, the shape exports are fixed to); offline prediction, streaming and exports cut them
at the same positions.
"""

from __future__ import annotations

import numpy as np

from sernet.config import Config
from sernet.errors import SernetError


def window_hop_frames(cfg: Config, hop_s: float | None = None) -> int:
    """The hop between analysis windows in frames (``cfg.deploy.window_hop_s`` unless ``hop_s`` is given)."""
    hop_s = cfg.deploy.window_hop_s if hop_s is None else hop_s
    hop = int(round(hop_s * 1000.0 / cfg.features.hop_ms))
    if hop < 1:
        raise SernetError(f"window hop {hop_s} s is shorter than one {cfg.features.hop_ms} ms frame")
    return hop


def window_starts(n_frames: int, max_length: int, hop_frames: int) -> np.ndarray:
    """Start frames of the windows covering ``n_frames`` frames.

    One window at 0 when ``n_frames <= max_length``; otherwise windows every ``hop_frames`` frames while they
    fit, plus a last window ending exactly at ``n_frames`` (so the tail is always covered).

    Examples
    --------
    >>> window_starts(250, 300, 100).tolist()
    [0]
    >>> window_starts(650, 300, 100).tolist()
    [0, 100, 200, 300, 350]
    """
    if n_frames <= max_length:
        return np.zeros(1, dtype=np.int64)
    starts = list(range(0, n_frames - max_length + 1, hop_frames))
    if starts[-1] != n_frames - max_length:
        starts.append(n_frames - max_length)
    return np.asarray(starts, dtype=np.int64)


def frame_windows(x: np.ndarray, starts: np.ndarray, max_length: int) -> tuple[np.ndarray, np.ndarray]:
    """Cut ``x`` [T, D] into windows [W, max_length, D] at ``starts``, zero-padded, with a 0/1 mask [W, L]."""
    n, d = x.shape
    out = np.zeros((len(starts), max_length, d), dtype=np.float32)
    mask = np.zeros((len(starts), max_length), dtype=np.float32)
    for i, s in enumerate(starts):
        piece = x[s : s + max_length]
        out[i, : len(piece)] = piece
        mask[i, : len(piece)] = 1.0
    return out, mask
