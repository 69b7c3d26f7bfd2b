"""Speaker-grouped bootstrap intervals for UAR / WAR / macro-F1, and the paired bootstrap of two systems.

Test utterances of one speaker are not independent draws: they share a voice, a microphone and a way of
expressing emotion. A confidence interval that resamples *utterances* treats 200 utterances of 10 speakers
as 200 independent observations and comes out too narrow; the interval here resamples **speakers** with
replacement (a cluster bootstrap; Field & Welsh 2007, JRSS-B 69(3)) and recomputes the metric on the
utterances of the drawn speakers. With one utterance per speaker it is the ordinary bootstrap (tested
against ``scipy.stats.bootstrap``).

The metrics are computed from confusion matrices, vectorised over resamples: each speaker contributes its
own confusion matrix, a resample is a vector of speaker multiplicities, and its confusion matrix is their
weighted sum. UAR and macro-F1 average over the classes present in the resample's true labels (as
:func:`sernet.analysis.metrics.evaluate_predictions` does on the original data).

Examples
--------
>>> import numpy as np
>>> from sernet.analysis.bootstrap import metric_interval
>>> y_true = np.array([0, 0, 1, 1, 2, 2, 0, 1])
>>> y_pred = np.array([0, 1, 1, 1, 2, 0, 0, 1])
>>> speakers = np.array(["a", "a", "b", "b", "c", "c", "d", "d"])
>>> ci = metric_interval(y_true, y_pred, speakers, metric="uar", n_resamples=500, seed=0)
>>> round(ci.estimate, 3), ci.low <= ci.estimate <= ci.high
(0.722, True)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from sernet.errors import SernetError

METRICS = ("uar", "war", "macro_f1")
"""The metrics this module resamples (the paper's §4.2)."""

DEFAULT_RESAMPLES = 2000
DEFAULT_CONFIDENCE = 0.95


@dataclass(frozen=True)
class Interval:
    """A point estimate with a two-sided confidence interval.

    ``method`` says how the interval was made (e.g. ``"speaker bootstrap, 2000 resamples"``); ``groups`` is
    the number of independent units it resampled (speakers, seeds).
    """

    estimate: float
    low: float
    high: float
    confidence: float = DEFAULT_CONFIDENCE
    method: str = ""
    groups: int = 0

    @property
    def half_width(self) -> float:
        return (self.high - self.low) / 2

    def contains(self, value: float) -> bool:
        return self.low <= value <= self.high

    def scaled(self, factor: float) -> Interval:
        """The same interval in other units (e.g. ``100`` for percent or points)."""
        return Interval(self.estimate * factor, self.low * factor, self.high * factor, self.confidence,
                        self.method, self.groups)

    def to_dict(self) -> dict:
        return {"estimate": self.estimate, "low": self.low, "high": self.high, "confidence": self.confidence,
                "method": self.method, "groups": self.groups}

    @classmethod
    def from_dict(cls, d: dict) -> Interval:
        return cls(float(d["estimate"]), float(d["low"]), float(d["high"]), float(d["confidence"]),
                   str(d.get("method", "")), int(d.get("groups", 0)))


# ------------------------------------------------------------------------------ metrics of confusions
def metrics_from_confusion(confusion: np.ndarray, metric: str) -> np.ndarray:
    """UAR, WAR or macro-F1 of one or many confusion matrices [..., K, K] (rows: true, columns: predicted).

    Classes with no true example in a matrix are left out of its UAR and macro-F1 (NaN when none is present).
    """
    c = np.asarray(confusion, dtype=float)
    true_n = c.sum(axis=-1)
    pred_n = c.sum(axis=-2)
    diag = np.diagonal(c, axis1=-2, axis2=-1)
    present = true_n > 0
    n_present = present.sum(axis=-1)
    with np.errstate(invalid="ignore", divide="ignore"):
        if metric == "war":
            return diag.sum(axis=-1) / c.sum(axis=(-2, -1))
        if metric == "uar":
            recall = np.where(present, diag / np.where(present, true_n, 1), 0.0)
            return np.where(n_present > 0, recall.sum(axis=-1) / np.maximum(n_present, 1), np.nan)
        if metric == "macro_f1":
            denom = true_n + pred_n
            f1 = np.where(present, 2 * diag / np.where(denom > 0, denom, 1), 0.0)
            return np.where(n_present > 0, f1.sum(axis=-1) / np.maximum(n_present, 1), np.nan)
    raise SernetError(f"unknown metric {metric!r}; expected one of {METRICS}")


def _group_confusions(y_true: np.ndarray, y_pred: np.ndarray, groups: np.ndarray, n_classes: int
                      ) -> np.ndarray:
    """One confusion matrix per group [G, K*K] (groups in order of first appearance)."""
    _, gidx = np.unique(groups, return_inverse=True)
    cell = y_true * n_classes + y_pred
    out = np.zeros((gidx.max() + 1, n_classes * n_classes))
    np.add.at(out, (gidx, cell), 1.0)
    return out


def _check(y_true, y_pred, groups) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    y_true = np.asarray(y_true).astype(int).ravel()
    y_pred = np.asarray(y_pred).astype(int).ravel()
    groups = np.arange(y_true.size) if groups is None else np.asarray(groups).ravel()
    if not (y_true.size == y_pred.size == groups.size) or y_true.size == 0:
        raise SernetError(f"bootstrap: y_true ({y_true.size}), y_pred ({y_pred.size}) and groups ({groups.size}) "
                          "must be equally long and non-empty")
    if y_true.min() < 0 or y_pred.min() < 0:
        raise SernetError("bootstrap: class indices must be non-negative")
    return y_true, y_pred, groups


def _multiplicities(n_groups: int, n_resamples: int, seed: int) -> np.ndarray:
    """How often each group is drawn in each resample [R, G] (G draws with replacement per resample)."""
    rng = np.random.default_rng(seed)
    return rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=n_resamples).astype(float)


def _percentile(values: np.ndarray, confidence: float) -> tuple[float, float]:
    values = values[np.isfinite(values)]
    a = (1 - confidence) / 2
    return float(np.quantile(values, a)), float(np.quantile(values, 1 - a))


def metric_interval(y_true: Sequence[int], y_pred: Sequence[int], groups: Sequence | None = None, *,
                    metric: str = "uar", n_classes: int | None = None, n_resamples: int = DEFAULT_RESAMPLES,
                    confidence: float = DEFAULT_CONFIDENCE, seed: int = 0) -> Interval:
    """Percentile bootstrap interval of one metric, resampling ``groups`` (speakers) with replacement.

    Parameters
    ----------
    y_true, y_pred : array-like of int [shape=(n,)]
        True and predicted class indices of the evaluated utterances.
    groups : array-like [shape=(n,)], optional
        The speaker of each utterance; None: every utterance its own group (the ordinary bootstrap).
    metric : {"uar", "war", "macro_f1"}
    n_classes : int, optional
        Default: one more than the largest index seen.
    n_resamples, confidence, seed
        Bootstrap size, two-sided coverage and the seed of the resampling (results are deterministic).

    Returns
    -------
    Interval
        ``estimate`` is the metric on the original data (fractions in [0, 1]).
    """
    y_true, y_pred, groups = _check(y_true, y_pred, groups)
    k = n_classes or int(max(y_true.max(), y_pred.max())) + 1
    per_group = _group_confusions(y_true, y_pred, groups, k)
    estimate = float(metrics_from_confusion(per_group.sum(0).reshape(k, k), metric))
    weights = _multiplicities(len(per_group), n_resamples, seed)
    values = metrics_from_confusion((weights @ per_group).reshape(-1, k, k), metric)
    low, high = _percentile(values, confidence)
    return Interval(estimate, low, high, confidence,
                    f"speaker bootstrap, {n_resamples} resamples", len(per_group))


def seed_mean_interval(y_true: Sequence[int], preds: Sequence[Sequence[int]], groups: Sequence | None = None, *,
                       metric: str = "uar", n_classes: int | None = None, n_resamples: int = DEFAULT_RESAMPLES,
                       confidence: float = DEFAULT_CONFIDENCE, seed: int = 0) -> Interval:
    """Interval of the *mean over runs* of ``metric``, runs [shape=(runs, n)] scored on the same resampled
    speakers (the speaker-level uncertainty of a model trained over several seeds)."""
    p = np.atleast_2d(np.asarray(preds).astype(int))
    y_true, _, groups = _check(y_true, p[0], groups)
    k = n_classes or int(max(y_true.max(), p.max())) + 1
    weights = _multiplicities(len(np.unique(groups)), n_resamples, seed)
    est, vals = _mean_metric(y_true, p, groups, k, weights, metric)
    low, high = _percentile(vals, confidence)
    return Interval(est, low, high, confidence, f"speaker bootstrap of the {len(p)}-run mean, {n_resamples} "
                    "resamples", weights.shape[1])


def _mean_metric(y_true: np.ndarray, preds: np.ndarray, groups: np.ndarray, k: int, weights: np.ndarray,
                 metric: str) -> tuple[float, np.ndarray]:
    """The metric averaged over the rows of ``preds``: on the data, and on every resample of ``weights``."""
    est, vals = [], []
    for p in preds:
        per_group = _group_confusions(y_true, p, groups, k)
        est.append(metrics_from_confusion(per_group.sum(0).reshape(k, k), metric))
        vals.append(metrics_from_confusion((weights @ per_group).reshape(-1, k, k), metric))
    return float(np.mean(est)), np.mean(vals, axis=0)


def paired_difference(y_true: Sequence[int], pred_a: Sequence[int] | Sequence[Sequence[int]],
                      pred_b: Sequence[int] | Sequence[Sequence[int]], groups: Sequence | None = None, *,
                      metric: str = "uar", n_classes: int | None = None, n_resamples: int = DEFAULT_RESAMPLES,
                      confidence: float = DEFAULT_CONFIDENCE, seed: int = 0) -> Interval:
    """Interval of ``metric(A) − metric(B)`` on the same utterances, resampling speakers for both at once.

    ``pred_a`` / ``pred_b`` may each hold several runs (seeds) as rows [shape=(runs, n)]: the difference is
    then between the *mean over runs* of each system's metric, every run scored on the same resampled
    speakers. Pairing removes the variation both systems share (which speakers are easy), so the interval
    of the difference is narrower than the two separate intervals suggest.
    """
    a = np.atleast_2d(np.asarray(pred_a).astype(int))
    b = np.atleast_2d(np.asarray(pred_b).astype(int))
    y_true, _, groups = _check(y_true, a[0], groups)
    if a.shape[1] != y_true.size or b.shape[1] != y_true.size:
        raise SernetError(f"paired_difference: predictions {a.shape} / {b.shape} do not match {y_true.size} "
                          "utterances")
    k = n_classes or int(max(y_true.max(), a.max(), b.max())) + 1
    weights = _multiplicities(len(np.unique(groups)), n_resamples, seed)

    est_a, vals_a = _mean_metric(y_true, a, groups, k, weights, metric)
    est_b, vals_b = _mean_metric(y_true, b, groups, k, weights, metric)
    low, high = _percentile(vals_a - vals_b, confidence)
    return Interval(est_a - est_b, low, high, confidence,
                    f"paired speaker bootstrap, {n_resamples} resamples", weights.shape[1])
