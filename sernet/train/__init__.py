"""Training: schedule, SpecAugment, the input pipeline, the resumable trainer and the run directory.

>>> from sernet.train import train                       # doctest: +SKIP
>>> result = train(cfg, store, "runs/base")              # doctest: +SKIP
>>> result.metrics["test"]["uar"]                        # doctest: +SKIP
"""

from __future__ import annotations

from sernet.train.run_dir import RunDir
from sernet.train.trainer import TRAINER_VERSION, TrainResult, evaluate_run, predict_probabilities, train

__all__ = ["TRAINER_VERSION", "RunDir", "TrainResult", "evaluate_run", "predict_probabilities", "train"]
