"""The paper's learning-rate schedule (§3.5): linear warmup, then cosine annealing to a floor.

Built on ``keras.optimizers.schedules.CosineDecay`` with ``warmup_target``/``warmup_steps``, whose
semantics (checked in Keras 3.15's source) are: for ``step < warmup_steps`` the rate rises linearly from
``initial_learning_rate`` (here 0) to ``warmup_target``; afterwards it follows
``warmup_target * ((1 - alpha) * 0.5 * (1 + cos(pi * (step - warmup_steps) / decay_steps)) + alpha)``,
clamped at ``decay_steps``. With ``alpha = min_lr / lr`` the rate ends exactly at ``min_learning_rate``.
Explained in chapters/05_training.py.
"""

from __future__ import annotations

import numpy as np

from sernet.backend import keras
from sernet.config import TrainConfig


def total_steps(tcfg: TrainConfig, steps_per_epoch: int) -> int:
    """Optimizer steps of a run that goes the full ``tcfg.epochs`` (early stopping may end it sooner)."""
    return int(tcfg.epochs) * int(steps_per_epoch)


def make_schedule(tcfg: TrainConfig, steps_per_epoch: int):
    """Warmup + cosine decay over ``epochs x steps_per_epoch`` optimizer steps.

    Parameters
    ----------
    tcfg : TrainConfig
        Uses ``learning_rate``, ``min_learning_rate``, ``warmup_steps`` and ``epochs``.
    steps_per_epoch : int
        Batches per training epoch.

    Returns
    -------
    keras.optimizers.schedules.CosineDecay
        Call it with a step number to read the rate.

    Notes
    -----
    If the run is shorter than the warmup (tiny smoke runs), the warmup is shortened to half the run so
    that the cosine phase still exists; the paper's values (1,000 warmup steps of ~113,000) are untouched.
    """
    k = keras()
    steps = max(1, total_steps(tcfg, steps_per_epoch))
    warmup = int(min(tcfg.warmup_steps, steps // 2))
    decay_steps = max(1, steps - warmup)
    return k.optimizers.schedules.CosineDecay(
        initial_learning_rate=0.0,
        decay_steps=decay_steps,
        alpha=tcfg.min_learning_rate / tcfg.learning_rate,
        warmup_target=tcfg.learning_rate,
        warmup_steps=warmup,
        name="warmup_cosine",
    )


def schedule_curve(tcfg: TrainConfig, steps_per_epoch: int, *, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """``(steps, learning_rates)`` of :func:`make_schedule`, read at up to ``points`` steps, for plotting."""
    schedule = make_schedule(tcfg, steps_per_epoch)
    last = total_steps(tcfg, steps_per_epoch)
    steps = np.unique(np.linspace(0, last, num=min(points, last + 1)).round().astype(int))
    ops = keras().ops
    rates = np.array([float(ops.convert_to_numpy(schedule(int(s)))) for s in steps])
    return steps, rates


def make_optimizer(tcfg: TrainConfig, steps_per_epoch: int):
    """``keras.optimizers.AdamW`` with the schedule and the paper's weight decay (§3.5)."""
    return keras().optimizers.AdamW(learning_rate=make_schedule(tcfg, steps_per_epoch),
                                    weight_decay=tcfg.weight_decay)
