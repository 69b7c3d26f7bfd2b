"""Losses for imbalanced emotion classes: focal loss (paper §3.5), cross-entropy, class weights.

The paper's focal loss (Lin et al., 2017) for the true class's probability ``p_t``::

    FL(p_t) = -α_t · (1 - p_t)^γ · log(p_t)          γ = 2, α = 0.25, label smoothing 0.1

Keras's ``CategoricalFocalCrossentropy`` computes exactly the multi-class form we need (tested against
:func:`focal_loss_reference`): with label-smoothed targets ``y`` it sums over classes,
``-Σ_c α_c · y_c · (1 - p_c)^γ · log(p_c)``, which is the formula above when ``y`` is one-hot.

What α = 0.25 means with 8 classes: in the binary detector of Lin et al., α weights positives against
negatives (0.25 for the rare foreground, 0.75 for the background). With a softmax over 8 classes there is
no "negative" class: a scalar α multiplies every class alike, so it only rescales the loss by 0.25 (which
Adam's update normalisation all but cancels). Class balance comes from class weights instead: per-example
sample weights in the trainer, or (``make_loss(..., per_class_alpha=True)``) a per-class vector
``α_c = focal_alpha · class_weights(counts)``. Explained in chapters/04_focal_loss.py.

Focal loss and label smoothing both move a model's confidence; :func:`reliability_table` and
:func:`expected_calibration_error` measure what they do to it (top-label calibration, binned as
``sklearn.calibration.calibration_curve`` bins).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from sernet.config import TrainConfig
from sernet.errors import ConfigError
from sernet.labels import NUM_CLASSES

LOSSES = ("focal", "ce")
WEIGHTINGS = ("none", "balanced")


def class_weights(counts, mode: str = "balanced") -> np.ndarray:
    """Per-class weights from class counts.

    Parameters
    ----------
    counts : array-like [shape=(n_classes,)]
        Training examples per class. A class with no examples (a corpus that cannot supply it, e.g.
        contempt in RAVDESS) gets weight 0; the others are balanced among themselves.
    mode : {"balanced", "none"}
        ``"balanced"``: scikit-learn's inverse frequency ``n / (n_classes · count_c)``, which has a
        count-weighted mean of 1 (the average example keeps weight 1); ``"none"``: all ones.

    Returns
    -------
    np.ndarray [shape=(n_classes,), dtype=float64]

    Raises
    ------
    ConfigError
        Unknown mode, negative counts, or no examples at all.

    Examples
    --------
    >>> class_weights([30, 10]).tolist()
    [0.6666666666666666, 2.0]
    """
    counts = np.asarray(counts, dtype=np.float64)
    if mode not in WEIGHTINGS:
        raise ConfigError(f"train.class_weighting: unknown mode {mode!r}; expected one of {WEIGHTINGS}")
    if counts.ndim != 1 or counts.size == 0:
        raise ConfigError(f"class counts must be a non-empty 1-D array, got shape {counts.shape}")
    if mode == "none":
        return np.ones_like(counts)
    if np.any(counts < 0) or counts.sum() <= 0:
        raise ConfigError(f"class counts {counts.tolist()}: negative, or no examples at all")
    present = counts > 0
    weights = np.zeros_like(counts)
    # scikit-learn's compute_class_weight("balanced") over the classes that occur.
    weights[present] = counts.sum() / (np.count_nonzero(present) * counts[present])
    return weights


def make_loss(tcfg: TrainConfig, class_counts=None, *, per_class_alpha: bool = False,
              n_classes: int | None = None):
    """The training loss of ``tcfg`` (labels one-hot, predictions logits).

    ``tcfg.loss == "focal"``: ``keras.losses.CategoricalFocalCrossentropy(alpha=focal_alpha, gamma,
    from_logits=True, label_smoothing)``. ``tcfg.loss == "ce"``:
    ``keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing)``.

    Class weighting (``tcfg.class_weighting``) is applied by the trainer as per-example sample weights
    (``sernet.train``), so by default the loss itself is unweighted and ``class_counts`` only checked. With
    ``per_class_alpha=True`` the weights go into the loss instead (never do both): focal gets
    ``α_c = focal_alpha · w_c`` and CE becomes class-weighted CE, computed as the focal loss with
    ``γ = 0`` and ``α_c = w_c`` (the same formula), where ``w = class_weights(class_counts,
    tcfg.class_weighting)``. For one-hot labels both routes give the same loss.

    Parameters
    ----------
    tcfg : TrainConfig
    class_counts : array-like [shape=(n_classes,)], optional
        Training examples per class of the corpus's label set; required with ``per_class_alpha`` and
        balanced weighting.
    per_class_alpha : bool
        Fold the class weights into a per-class α (default False: the trainer weights the examples).
    n_classes : int, optional
        Size of the label set ``class_counts`` must match (the trainer passes ``len(store.classes)``);
        default the paper's 8.

    Returns
    -------
    keras.losses.Loss

    Raises
    ------
    ConfigError
        Unknown loss or weighting; balanced per-class α without counts; counts of the wrong length.
    """
    from sernet.backend import keras as _keras

    keras = _keras()
    if tcfg.loss not in LOSSES:
        raise ConfigError(f"train.loss: unknown loss {tcfg.loss!r}; expected one of {LOSSES}")
    if tcfg.class_weighting not in WEIGHTINGS:
        raise ConfigError(f"train.class_weighting: unknown {tcfg.class_weighting!r}; expected {WEIGHTINGS}")
    expected = NUM_CLASSES if n_classes is None else int(n_classes)
    if class_counts is not None and np.asarray(class_counts).size != expected:
        raise ConfigError(f"class_counts has {np.asarray(class_counts).size} entries, expected {expected}")
    weights = None
    if per_class_alpha and tcfg.class_weighting != "none":
        if class_counts is None:
            raise ConfigError("train.class_weighting='balanced' with per_class_alpha needs class_counts "
                              "(training examples per class)")
        weights = class_weights(class_counts, tcfg.class_weighting)
    if tcfg.loss == "focal":
        alpha = tcfg.focal_alpha if weights is None else (tcfg.focal_alpha * weights).tolist()
        return keras.losses.CategoricalFocalCrossentropy(
            alpha=alpha, gamma=tcfg.focal_gamma, from_logits=True, label_smoothing=tcfg.label_smoothing,
            name="focal_loss",
        )
    if weights is None:
        return keras.losses.CategoricalCrossentropy(from_logits=True, label_smoothing=tcfg.label_smoothing,
                                                    name="cross_entropy")
    return keras.losses.CategoricalFocalCrossentropy(
        alpha=weights.tolist(), gamma=0.0, from_logits=True, label_smoothing=tcfg.label_smoothing,
        name="weighted_cross_entropy",
    )


def softmax(logits: np.ndarray) -> np.ndarray:
    """Numerically stable softmax over the last axis (NumPy)."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def focal_loss_reference(y_true, logits, *, gamma: float = 2.0, alpha=0.25, label_smoothing: float = 0.0,
                         eps: float = 1e-7) -> np.ndarray:
    """Focal loss from scratch in NumPy (float64), the reference the Keras loss is tested against.

    ``y = (1 - ε_ls) · y_true + ε_ls / K``; ``p = softmax(logits)`` clipped to ``[eps, 1 - eps]`` (as Keras
    does); ``loss = -Σ_c α_c · y_c · (1 - p_c)^γ · log p_c``. With one-hot ``y_true`` and no smoothing
    this is ``-α_t (1 - p_t)^γ log p_t``; ``γ = 0`` and ``α = 1`` give cross-entropy.

    Parameters
    ----------
    y_true : np.ndarray [shape=(n, K)]
        One-hot (or soft) targets.
    logits : np.ndarray [shape=(n, K)]
    gamma : float
    alpha : float or array-like [shape=(K,)]
    label_smoothing : float
    eps : float
        Probability clip (Keras's ``backend.epsilon()``).

    Returns
    -------
    np.ndarray [shape=(n,)]
    """
    y = np.asarray(y_true, dtype=np.float64)
    k = y.shape[-1]
    y = y * (1.0 - label_smoothing) + label_smoothing / k
    p = np.clip(softmax(logits), eps, 1.0 - eps)
    a = np.broadcast_to(np.asarray(alpha, dtype=np.float64), (k,))
    return -np.sum(a * y * (1.0 - p) ** gamma * np.log(p), axis=-1)


def reliability_table(y_true, probabilities, *, n_bins: int = 10) -> pd.DataFrame:
    """Top-label reliability: per confidence bin, how often the predicted class is right.

    The confidence of a prediction is its largest class probability; the bins are ``n_bins`` equal widths
    of [0, 1], and the per-bin accuracy and mean confidence are those of
    ``sklearn.calibration.calibration_curve(correct, confidence, strategy="uniform")``. A calibrated model
    has ``accuracy ≈ confidence`` in every bin; ``accuracy > confidence`` is under-confidence.

    Parameters
    ----------
    y_true : array-like of int [shape=(n,)]
        True class indices.
    probabilities : array-like [shape=(n, K)]
        Predicted class probabilities (rows sum to 1).
    n_bins : int
        Number of equal-width confidence bins.

    Returns
    -------
    pandas.DataFrame
        One row per non-empty bin: ``bin_low``, ``bin_high``, ``count``, ``confidence`` (mean),
        ``accuracy``.

    Raises
    ------
    ValueError
        Shapes that do not match, probabilities outside [0, 1], fewer than 1 bin.

    Examples
    --------
    >>> reliability_table([0, 1], [[0.9, 0.1], [0.6, 0.4]], n_bins=2)[["count", "confidence", "accuracy"]]
       count  confidence  accuracy
    0      2        0.75       0.5
    """
    from sklearn.calibration import calibration_curve

    y = np.asarray(y_true, dtype=int)
    p = np.asarray(probabilities, dtype=np.float64)
    if p.ndim != 2 or y.shape != (p.shape[0],):
        raise ValueError(f"probabilities {p.shape} and labels {y.shape}: expected (n, K) and (n,)")
    if n_bins < 1:
        raise ValueError(f"n_bins={n_bins}: need at least one bin")
    if p.size == 0 or p.min() < 0 or p.max() > 1:
        raise ValueError("probabilities must be non-empty and lie in [0, 1]")
    confidence = p.max(axis=1)
    correct = (p.argmax(axis=1) == y).astype(int)
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    bins = np.searchsorted(edges[1:-1], confidence)  # calibration_curve's own binning
    counts = np.bincount(bins, minlength=n_bins)
    present = np.flatnonzero(counts)
    if correct.min() == correct.max():  # calibration_curve needs both outcomes; the answer is exact anyway
        accuracy = np.full(present.size, float(correct[0]))
        mean_conf = np.array([confidence[bins == b].mean() for b in present])
    else:
        accuracy, mean_conf = calibration_curve(correct, confidence, n_bins=n_bins, strategy="uniform")
    return pd.DataFrame({"bin_low": edges[present], "bin_high": edges[present + 1], "count": counts[present],
                         "confidence": mean_conf, "accuracy": accuracy})


def expected_calibration_error(y_true, probabilities, *, n_bins: int = 10) -> float:
    """Expected calibration error (Guo et al., 2017): ``Σ_b (n_b / n) · |accuracy_b − confidence_b|``.

    Over the top-label bins of :func:`reliability_table`; 0 for a calibrated model, at most 1.

    Examples
    --------
    >>> round(expected_calibration_error([0, 1], [[0.9, 0.1], [0.6, 0.4]], n_bins=2), 3)
    0.25
    """
    table = reliability_table(y_true, probabilities, n_bins=n_bins)
    weights = table["count"] / table["count"].sum()
    return float((weights * (table["accuracy"] - table["confidence"]).abs()).sum())
