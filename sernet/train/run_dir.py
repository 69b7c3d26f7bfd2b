"""The run directory: everything needed to reproduce and inspect one training run.

Layout::

    <run>/config.json          the resolved Config (sernet.config), plus git commit, backend, the label set
                               (``classes``, in output order) and, for a fine-tuned run, ``init``
    <run>/norm_stats.npz       mean, std (float32 [268]): the training-split normalisation
    <run>/model.keras          the best model (by validation UAR), loadable with keras.saving.load_model
    <run>/checkpoint/          state.json (epoch, early-stopping state, history) + variables.npz
                               (model, optimizer and RNG-state variables) + best.weights.h5; written
                               atomically after every epoch, read by ``train(..., resume=True)``
    <run>/history.csv          one row per epoch: loss, accuracy, val_uar, val_war, val_macro_f1, lr
    <run>/metrics.json         {"val": ..., "test": ...} of the best model (sernet.analysis.metrics format)
    <run>/predictions.csv      id, split, true, predicted, prob_<class> ... for val and test
    <run>/tensorboard/         TensorBoard logs (``tensorboard --logdir <run>/tensorboard``)
"""

from __future__ import annotations

import dataclasses
import json
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sernet.artifacts import atomic_write_text
from sernet.config import Config
from sernet.errors import SernetError


def _as_tuples(value: Any) -> Any:
    """JSON lists back to the config's tuples, nested ones too (e.g. ``own_data.label_names``)."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, list) else value


def config_from_dict(data: dict[str, Any]) -> Config:
    """Rebuild a :class:`~sernet.config.Config` from :meth:`Config.to_dict` output (lists back to tuples).

    Fields unknown to this version are ignored; missing ones take their defaults.
    """
    def build(template: Any, values: dict[str, Any]) -> Any:
        changes = {}
        for f in dataclasses.fields(template):
            if f.name not in values:
                continue
            current, value = getattr(template, f.name), values[f.name]
            if dataclasses.is_dataclass(current) and isinstance(value, dict):
                changes[f.name] = build(current, value)
            elif isinstance(current, tuple) and isinstance(value, list):
                changes[f.name] = _as_tuples(value)
            else:
                changes[f.name] = value
        return dataclasses.replace(template, **changes)

    return build(Config(), data)


def git_commit() -> str | None:
    """The checkout's commit, when sernet runs from a git checkout."""
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).parent, capture_output=True,
                             text=True, timeout=5)
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None if out.returncode == 0 else None


class RunDir:
    """Paths and readers of one run directory (see the module docstring for the layout)."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)

    config_json = property(lambda self: self.path / "config.json")
    norm_stats = property(lambda self: self.path / "norm_stats.npz")
    model_file = property(lambda self: self.path / "model.keras")
    checkpoint = property(lambda self: self.path / "checkpoint")
    state_json = property(lambda self: self.checkpoint / "state.json")
    variables_npz = property(lambda self: self.checkpoint / "variables.npz")
    best_weights = property(lambda self: self.checkpoint / "best.weights.h5")
    history_csv = property(lambda self: self.path / "history.csv")
    metrics_json = property(lambda self: self.path / "metrics.json")
    predictions_csv = property(lambda self: self.path / "predictions.csv")
    tensorboard = property(lambda self: self.path / "tensorboard")

    def __repr__(self) -> str:
        return f"RunDir({str(self.path)!r})"

    @property
    def complete(self) -> bool:
        """True once the run has finished and written its metrics."""
        return self.metrics_json.exists() and self.model_file.exists()

    def write_config(self, cfg: Config, **extra: Any) -> None:
        payload = {"config": cfg.to_dict(), "git_commit": git_commit(), **extra}
        atomic_write_text(self.config_json, json.dumps(payload, indent=2))

    def read_config(self) -> Config:
        """The run's config (raises ``SernetError`` naming the file when it is missing or unreadable)."""
        try:
            payload = json.loads(self.config_json.read_text())
        except (OSError, ValueError) as exc:
            raise SernetError(f"{self.config_json}: cannot read the run's config ({exc})") from None
        return config_from_dict(payload["config"])

    def read_payload(self) -> dict[str, Any]:
        """The whole ``config.json`` (config, git commit, backend, classes, ...)."""
        try:
            return json.loads(self.config_json.read_text())
        except (OSError, ValueError) as exc:
            raise SernetError(f"{self.config_json}: cannot read the run's config ({exc})") from None

    def read_classes(self) -> tuple[str, ...]:
        """The run's label set in model-output order (``config.json``'s ``classes``; the paper's 8 for runs
        written before runs recorded it)."""
        from sernet.labels import EMOTIONS

        classes = self.read_payload().get("classes")
        return EMOTIONS if not classes else tuple(str(c) for c in classes)

    def write_norm_stats(self, mean: np.ndarray, std: np.ndarray) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        np.savez(self.norm_stats, mean=np.asarray(mean, "float32"), std=np.asarray(std, "float32"))

    def read_norm_stats(self) -> tuple[np.ndarray, np.ndarray]:
        with np.load(self.norm_stats) as f:
            return f["mean"], f["std"]

    def read_metrics(self) -> dict[str, Any]:
        if not self.metrics_json.exists():
            raise SernetError(f"{self.metrics_json}: no metrics; the run has not finished (train it first)")
        return json.loads(self.metrics_json.read_text())

    def read_history(self) -> pd.DataFrame:
        if not self.history_csv.exists():
            raise SernetError(f"{self.history_csv}: no history; the run has not trained an epoch yet")
        return pd.read_csv(self.history_csv)

    def read_predictions(self) -> pd.DataFrame:
        if not self.predictions_csv.exists():
            raise SernetError(f"{self.predictions_csv}: no predictions; the run has not finished")
        return pd.read_csv(self.predictions_csv)

    def load_model(self):
        """The best model (``model.keras``), compiled=False."""
        if not self.model_file.exists():
            raise SernetError(f"{self.model_file}: no model; the run has not finished (train it first)")
        import sernet.model  # noqa: F401  (registers the custom layers)
        from sernet.backend import keras

        return keras().saving.load_model(self.model_file, compile=False)
