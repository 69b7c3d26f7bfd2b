"""sernet.losses: Keras focal loss == the NumPy reference (label smoothing, per-class α), CE and weighted
CE, class weights, error paths."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from sklearn.utils.class_weight import compute_class_weight

import sernet
from sernet.backend import keras as _keras
from sernet.errors import ConfigError
from sernet.losses import (
    class_weights,
    expected_calibration_error,
    focal_loss_reference,
    make_loss,
    reliability_table,
    softmax,
)

keras = _keras()
K = sernet.NUM_CLASSES


def random_batch(n: int = 256, seed: int = 0, scale: float = 4.0):
    rng = np.random.default_rng(seed)
    y = np.eye(K)[rng.integers(0, K, n)]
    logits = scale * rng.normal(size=(n, K))
    return y, logits


def keras_per_example(loss, y, logits) -> np.ndarray:
    cls = type(loss)
    unreduced = cls.from_config({**loss.get_config(), "reduction": None})
    return keras.ops.convert_to_numpy(unreduced(y.astype("float32"), logits.astype("float32")))


@pytest.mark.parametrize("label_smoothing", [0.0, 0.1])
@pytest.mark.parametrize("alpha", [0.25, 1.0, tuple(np.linspace(0.2, 2.0, K))], ids=["a0.25", "a1", "a_vec"])
@pytest.mark.parametrize("gamma", [0.0, 0.5, 2.0, 5.0])
def test_keras_focal_equals_reference(gamma, alpha, label_smoothing):
    y, logits = random_batch(seed=int(gamma * 10))
    loss = keras.losses.CategoricalFocalCrossentropy(alpha=list(alpha) if isinstance(alpha, tuple) else alpha,
                                                     gamma=gamma, from_logits=True,
                                                     label_smoothing=label_smoothing)
    ref = focal_loss_reference(y, logits, gamma=gamma, alpha=np.asarray(alpha), label_smoothing=label_smoothing)
    np.testing.assert_allclose(keras_per_example(loss, y, logits), ref, rtol=2e-5, atol=2e-6)


def test_make_loss_focal_uses_config_values():
    tcfg = sernet.config.load("smoke").train
    loss = make_loss(tcfg)
    assert isinstance(loss, keras.losses.CategoricalFocalCrossentropy)
    y, logits = random_batch(seed=3)
    ref = focal_loss_reference(y, logits, gamma=tcfg.focal_gamma, alpha=tcfg.focal_alpha,
                               label_smoothing=tcfg.label_smoothing)
    np.testing.assert_allclose(float(loss(y, logits)), ref.mean(), rtol=1e-5)


def test_make_loss_ce_is_smoothed_cross_entropy():
    tcfg = dataclasses.replace(sernet.config.load("smoke").train, loss="ce")
    y, logits = random_batch(seed=4)
    # Keras's CategoricalCrossentropy uses log-softmax (no probability clip): compare unclipped
    ref = focal_loss_reference(y, logits, gamma=0.0, alpha=1.0, label_smoothing=tcfg.label_smoothing,
                               eps=1e-300)
    np.testing.assert_allclose(float(make_loss(tcfg)(y, logits)), ref.mean(), rtol=1e-5)


@pytest.mark.parametrize("kind", ["ce", "focal"])
def test_balanced_weighting_puts_one_alpha_per_class(kind):
    tcfg = dataclasses.replace(sernet.config.load("smoke").train, loss=kind, class_weighting="balanced")
    counts = np.array(list(sernet.config.PAPER_TRAIN_COUNTS.values()))
    w = class_weights(counts)
    y, logits = random_batch(seed=5)
    if kind == "ce":
        ref = focal_loss_reference(y, logits, gamma=0.0, alpha=w, label_smoothing=tcfg.label_smoothing)
    else:
        ref = focal_loss_reference(y, logits, gamma=tcfg.focal_gamma, alpha=tcfg.focal_alpha * w,
                                   label_smoothing=tcfg.label_smoothing)
    np.testing.assert_allclose(float(make_loss(tcfg, counts, per_class_alpha=True)(y, logits)), ref.mean(),
                               rtol=1e-5)


def test_balanced_weighting_is_left_to_sample_weights_by_default():
    tcfg = dataclasses.replace(sernet.config.load("smoke").train, class_weighting="balanced")
    counts = np.array(list(sernet.config.PAPER_TRAIN_COUNTS.values()))
    y, logits = random_batch(seed=8)
    ref = focal_loss_reference(y, logits, gamma=tcfg.focal_gamma, alpha=tcfg.focal_alpha,
                               label_smoothing=tcfg.label_smoothing)
    np.testing.assert_allclose(float(make_loss(tcfg, counts)(y, logits)), ref.mean(), rtol=1e-5)


def test_per_class_alpha_equals_sample_weights_for_one_hot_labels():
    tcfg = dataclasses.replace(sernet.config.load("smoke").train, class_weighting="balanced",
                               label_smoothing=0.0)
    counts = np.array(list(sernet.config.PAPER_TRAIN_COUNTS.values()))
    y, logits = random_batch(seed=9)
    w = class_weights(counts)[y.argmax(1)]
    in_loss = float(make_loss(tcfg, counts, per_class_alpha=True)(y, logits))
    as_samples = float(make_loss(tcfg)(y, logits, sample_weight=w))
    np.testing.assert_allclose(in_loss, as_samples, rtol=1e-5)


def test_focal_down_weights_easy_examples_by_one_minus_p_to_gamma():
    y, logits = random_batch(seed=6)
    p_t = (softmax(logits) * y).sum(-1)
    ratio = focal_loss_reference(y, logits, gamma=2.0, alpha=1.0) / focal_loss_reference(
        y, logits, gamma=0.0, alpha=1.0)
    np.testing.assert_allclose(ratio, (1 - np.clip(p_t, 1e-7, 1 - 1e-7)) ** 2, rtol=1e-9)


def test_scalar_alpha_only_rescales_the_multiclass_loss():
    y, logits = random_batch(seed=7)
    np.testing.assert_allclose(focal_loss_reference(y, logits, alpha=0.25),
                               0.25 * focal_loss_reference(y, logits, alpha=1.0), rtol=1e-12)


def test_absent_classes_get_zero_weight_and_the_rest_are_balanced():
    from sklearn.utils.class_weight import compute_class_weight

    w = class_weights([30, 0, 10])
    assert w[1] == 0.0
    y = np.array([0] * 30 + [2] * 10)
    np.testing.assert_allclose(w[[0, 2]], compute_class_weight("balanced", classes=np.array([0, 2]), y=y))


def test_class_weights_match_sklearn_balanced():
    counts = np.array([50, 10, 25, 5])
    labels = np.repeat(np.arange(4), counts)
    np.testing.assert_allclose(class_weights(counts), compute_class_weight("balanced", classes=np.arange(4),
                                                                            y=labels))
    assert np.average(class_weights(counts), weights=counts) == pytest.approx(1.0)
    np.testing.assert_array_equal(class_weights(counts, "none"), np.ones(4))


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: class_weights([3, -1, 2]), "negative"),
        (lambda: class_weights([0, 0]), "no examples"),
        (lambda: class_weights([3, 2], "inverse"), "unknown mode"),
        (lambda: make_loss(dataclasses.replace(sernet.config.load("smoke").train, loss="hinge")), "train.loss"),
        (lambda: make_loss(dataclasses.replace(sernet.config.load("smoke").train, class_weighting="balanced"),
                           per_class_alpha=True), "needs class_counts"),
        (lambda: make_loss(sernet.config.load("smoke").train, [1, 2, 3]), "expected 8"),
    ],
    ids=["negative_count", "no_examples", "bad_mode", "bad_loss", "no_counts", "wrong_length"],
)
def test_errors(call, match):
    with pytest.raises(ConfigError, match=match):
        call()


# ---------------------------------------------------------------- calibration


def test_a_calibrated_model_has_near_zero_ece():
    """Labels drawn from the predicted probabilities: accuracy matches confidence in every bin."""
    rng = np.random.default_rng(0)
    probs = softmax(2.0 * rng.normal(size=(40000, K)))
    y = np.array([rng.choice(K, p=row) for row in probs])
    assert expected_calibration_error(y, probs) < 0.02


def test_ece_known_answer_and_sklearn_bins():
    # confidences 0.95, 0.85, 0.85, 0.45; right, right, wrong, right
    probs = np.array([[0.95, 0.05], [0.85, 0.15], [0.15, 0.85], [0.45, 0.55]])
    y = np.array([0, 0, 0, 1])
    table = reliability_table(y, probs, n_bins=10)
    assert table["count"].tolist() == [1, 2, 1]
    np.testing.assert_allclose(table["confidence"], [0.55, 0.85, 0.95])
    np.testing.assert_allclose(table["accuracy"], [1.0, 0.5, 1.0])
    ece = expected_calibration_error(y, probs, n_bins=10)
    np.testing.assert_allclose(ece, (1 * 0.45 + 2 * 0.35 + 1 * 0.05) / 4)


def test_under_confidence_shows_as_accuracy_above_confidence():
    """Always right at confidence 0.6: ECE = 0.4, every bin's accuracy above its confidence."""
    probs = np.tile([0.6, 0.4], (10, 1))
    y = np.zeros(10, dtype=int)
    table = reliability_table(y, probs)
    assert (table["accuracy"] > table["confidence"]).all()
    np.testing.assert_allclose(expected_calibration_error(y, probs), 0.4)


@pytest.mark.parametrize(
    ("y", "probs", "n_bins"),
    [([0, 1], [[0.5, 0.5]], 10), ([0], [[1.2, -0.2]], 10), ([0], [[0.5, 0.5]], 0)],
    ids=["shape", "range", "bins"],
)
def test_reliability_table_errors(y, probs, n_bins):
    with pytest.raises(ValueError):
        reliability_table(y, probs, n_bins=n_bins)
