"""sernet.model: layers, masking (padding invariance), serialization, variants, ablations, baselines,
attention weights, cost accounting, and the JAX backend (in a subprocess)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from layer_checks import check_layer
from tiny import TINY_MODEL

import sernet
from sernet.analysis import runs
from sernet.backend import keras as _keras
from sernet.errors import ConfigError
from sernet.features import layout
from sernet.model import (
    POOLING_LAYER,
    FeatureGroup,
    MaskedConvBlock,
    MaskedMeanPooling,
    MaskedSelfAttention,
    MelProjection,
    MultiScaleDilatedConv,
    ResidualBlock,
    TemporalAttentionPooling,
    attention_weights,
    build_sernet,
    cost,
)

keras = _keras()

TINY = {
    **TINY_MODEL,
    "model.cnn_filters": (8, 16),
    "model.lstm_units": (8,),
}
PADDING_ATOL = 1e-5  # float32, inference mode (the contract's tolerance)


def tiny(**changes) -> sernet.config.Config:
    return sernet.config.override(sernet.config.load("smoke"), {**TINY, **changes})


def padded_batches(length: int, pads=(0, 13, 57), other_extra: int = 5, seed: int = 0):
    """The same utterance (``length`` frames) padded by each of ``pads`` and batched with a longer one.

    Padded frames hold large random values (they must not matter), the other utterance is all real."""
    rng = np.random.default_rng(seed)
    utterance = rng.normal(size=(length, layout.N_STORED)).astype("float32")
    for pad in pads:
        frames = length + pad + other_extra
        features = np.zeros((2, frames, layout.N_STORED), dtype="float32")
        mask = np.zeros((2, frames), dtype="float32")
        features[0, :length] = utterance
        features[0, length:] = 10.0 * rng.normal(size=(frames - length, layout.N_STORED))
        mask[0, :length] = 1.0
        features[1] = rng.normal(size=(frames, layout.N_STORED))
        mask[1] = 1.0
        yield {"features": features, "mask": mask}


def logits_of(model, batch) -> np.ndarray:
    return keras.ops.convert_to_numpy(model(batch, training=False))


# ---------------------------------------------------------------- layers


@pytest.mark.parametrize(
    ("cls", "kwargs", "input_shape", "out_shape", "takes_mask"),
    [
        (FeatureGroup, {"group": "prosody"}, (2, 12, 268), (2, 12, 20), False),
        (MelProjection, {"units": 40}, (2, 12, 268), (2, 12, 40), False),
        (MultiScaleDilatedConv, {"filters": (4, 4, 4), "dilation_rates": (1, 2, 4), "kernel_size": 3},
         (2, 12, 6), (2, 12, 12), True),
        (ResidualBlock, {"channels": 8, "kernel_size": 3}, (2, 12, 8), (2, 12, 8), True),
        (MaskedSelfAttention, {"num_heads": 2}, (2, 12, 8), (2, 12, 8), True),
        (TemporalAttentionPooling, {"units": 4}, (2, 12, 8), (2, 8), True),
        (MaskedMeanPooling, {}, (2, 12, 8), (2, 8), True),
        (MaskedConvBlock, {"filters": 6, "kernel_size": 3}, (2, 12, 8), (2, 12, 6), True),
    ],
)
def test_layer_checks(cls, kwargs, input_shape, out_shape, takes_mask, tmp_path):
    check_layer(cls, kwargs, input_shape, out_shape, tmp_path, takes_mask=takes_mask)


def test_mel_projection_uses_only_the_mel_columns():
    layer = MelProjection(5)
    x = np.random.default_rng(0).normal(size=(1, 4, 268)).astype("float32")
    y = keras.ops.convert_to_numpy(layer(x))
    x2 = x.copy()
    x2[..., layout.group_slice("mfcc")] = 0.0
    x2[..., layout.group_slice("prosody")] = 0.0
    np.testing.assert_allclose(keras.ops.convert_to_numpy(layer(x2)), y, atol=1e-6)


def test_frontend_rejects_wrong_width():
    with pytest.raises(ValueError, match="268 columns"):
        MelProjection(40)(np.zeros((1, 4, 180), dtype="float32"))


def test_attention_pooling_is_the_papers_formula():
    layer = TemporalAttentionPooling(4)
    h = np.random.default_rng(1).normal(size=(2, 6, 3)).astype("float32")
    mask = np.array([[1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], dtype="float32")
    context, alpha = (keras.ops.convert_to_numpy(t) for t in layer(h, mask=mask))
    w1, b1 = (keras.ops.convert_to_numpy(w) for w in layer.score_hidden.weights)
    w2, b2 = (keras.ops.convert_to_numpy(w) for w in layer.score.weights)
    scores = (np.tanh(h @ w1 + b1) @ w2 + b2)[..., 0]
    for b, n in enumerate((6, 3)):
        e = np.exp(scores[b, :n] - scores[b, :n].max())
        np.testing.assert_allclose(alpha[b, :n], e / e.sum(), rtol=1e-5)
        np.testing.assert_array_equal(alpha[b, n:], 0.0)
        np.testing.assert_allclose(context[b], alpha[b, :n] @ h[b, :n], rtol=1e-5, atol=1e-6)


def test_multiscale_branch_widths_and_dilations():
    layer = MultiScaleDilatedConv((4, 5, 6), (1, 2, 4), 3)
    assert layer(np.zeros((1, 10, 7), dtype="float32")).shape == (1, 10, 15)
    assert [b.dilation_rate for b in layer.branches] == [(1,), (2,), (4,)]
    with pytest.raises(ValueError, match="same length"):
        MultiScaleDilatedConv((4, 4), (1, 2, 4), 3)


# ---------------------------------------------------------------- whole models


@pytest.mark.parametrize(
    "changes",
    [
        {},  # SER-Net Base at paper widths
        {"model.multiscale": False},
        {"model.pooling": "mean"},
        {"model.use_prosody": False},
        {"model.architecture": "cnn", "model.pooling": "attention"},  # baselines ignore pooling: mean
        {"model.architecture": "lstm", "model.pooling": "attention"},
        {"model.architecture": "cnn_lstm", "model.pooling": "attention"},
    ],
    ids=["sernet", "no_multiscale", "mean_pooling", "no_prosody", "cnn", "lstm", "cnn_lstm"],
)
def test_padding_invariance(changes):
    cfg = sernet.config.override(sernet.config.load("smoke"), changes) if not changes.get(
        "model.architecture") else tiny(**changes)
    keras.utils.set_random_seed(0)
    model = build_sernet(cfg)
    outputs = [logits_of(model, b)[0] for b in padded_batches(length=40)]
    for out in outputs[1:]:
        np.testing.assert_allclose(out, outputs[0], rtol=0, atol=PADDING_ATOL)


@pytest.mark.parametrize("architecture", ["sernet", "cnn", "lstm"])
def test_unmasked_twin_equals_the_model_on_full_windows(architecture):
    """The twin without the mask input has the model's weights and, on windows without padding, its logits
    (every masking step is an identity there); the runner takes it exactly then."""
    from sernet.deploy.runners import KerasRunner
    from sernet.model import unmasked_twin

    cfg = tiny(**{"model.architecture": architecture})
    keras.utils.set_random_seed(0)
    model = build_sernet(cfg)
    twin = unmasked_twin(model, cfg)
    assert "mask" not in twin.input and twin.count_params() == model.count_params()
    x = np.random.default_rng(1).normal(size=(3, 40, layout.N_STORED)).astype("float32")
    full = np.ones((3, 40), "float32")
    np.testing.assert_allclose(keras.ops.convert_to_numpy(twin({"features": x}, training=False)),
                               logits_of(model, {"features": x, "mask": full}), rtol=0, atol=PADDING_ATOL)
    runner = KerasRunner(model, 40, unmasked=twin)
    ragged = full.copy()
    ragged[0, 25:] = 0.0
    masked_only = KerasRunner(model, 40)
    np.testing.assert_allclose(runner.logits(x, full), masked_only.logits(x, full), rtol=0, atol=PADDING_ATOL)
    np.testing.assert_array_equal(runner.logits(x, ragged), masked_only.logits(x, ragged))  # the masked graph
    with pytest.raises(sernet.errors.SernetError, match="not built from this config"):
        unmasked_twin(model, tiny(**{"model.architecture": architecture, "model.dense_units": 12}))


def test_key_bias_attention_equals_keras_masked_attention():
    """KeyMaskedAttention's additive key bias gives Keras' own masked attention (a full [B, T, S] mask)."""
    from sernet.model.self_attention import KeyMaskedAttention

    rng = np.random.default_rng(3)
    x = rng.normal(size=(3, 20, 16)).astype("float32")
    mask = np.ones((3, 20), bool)
    mask[1, 12:] = False
    mask[2, 3:] = False
    ours = KeyMaskedAttention(4, 4)
    theirs = keras.layers.MultiHeadAttention(4, 4)
    ours.build(x.shape, x.shape)
    theirs.build(x.shape, x.shape)
    theirs.set_weights(ours.get_weights())
    full_mask = np.repeat(mask[:, None, :], 20, axis=1)
    for scale in (1.0, 1e5):  # 1e5: an untrained model's activations, scores ~1e10 (a -1e9 bias leaks)
        expected = keras.ops.convert_to_numpy(theirs(scale * x, scale * x, attention_mask=full_mask))
        got = keras.ops.convert_to_numpy(ours(scale * x, scale * x, attention_mask=mask[:, None, :]))
        np.testing.assert_allclose(got, expected, rtol=1e-6, atol=1e-6 * scale)
        # a full-size mask takes Keras' own path
        np.testing.assert_allclose(keras.ops.convert_to_numpy(ours(scale * x, scale * x, attention_mask=full_mask)),
                                   expected, rtol=1e-6, atol=1e-6 * scale)


@pytest.mark.parametrize("architecture", ["sernet", "cnn"])
def test_padding_invariance_in_training_mode(architecture):
    """BatchNorm's batch statistics skip padded frames, so even training-mode logits (dropout off) do
    not depend on how much padding follows the utterances."""
    model = build_sernet(tiny(**{"model.architecture": architecture, "model.dropout_rate": 0.0}))
    rng = np.random.default_rng(2)
    utterances = [rng.normal(size=(n, layout.N_STORED)).astype("float32") for n in (30, 40)]
    outputs = []
    for frames in (45, 70, 100):
        batch = {"features": 10 * rng.normal(size=(2, frames, layout.N_STORED)).astype("float32"),
                 "mask": np.zeros((2, frames), dtype="float32")}
        for b, u in enumerate(utterances):
            batch["features"][b, : len(u)] = u
            batch["mask"][b, : len(u)] = 1.0
        outputs.append(keras.ops.convert_to_numpy(model(batch, training=True)))
    for out in outputs[1:]:
        np.testing.assert_allclose(out, outputs[0], rtol=0, atol=1e-4)


def test_output_contract_and_dtypes():
    model = build_sernet(tiny())
    assert sorted(model.input) == ["features", "mask"]
    batch = next(padded_batches(length=20))
    out = model(batch, training=False)
    assert tuple(out.shape) == (2, sernet.NUM_CLASSES)
    assert keras.backend.standardize_dtype(out.dtype) == "float32"


def test_mixed_precision_logits_stay_float32():
    keras.mixed_precision.set_global_policy("mixed_float16")
    try:
        model = build_sernet(tiny())
        out = model(next(padded_batches(length=12, pads=(0,))), training=False)
    finally:
        keras.mixed_precision.set_global_policy("float32")
    assert keras.backend.standardize_dtype(out.dtype) == "float32"
    assert np.all(np.isfinite(keras.ops.convert_to_numpy(out)))


def test_save_and_load_gives_identical_outputs(tmp_path):
    keras.utils.set_random_seed(0)
    model = build_sernet(sernet.config.load("smoke"))
    batch = next(padded_batches(length=30, pads=(7,)))
    path = tmp_path / "sernet.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_array_equal(logits_of(reloaded, batch), logits_of(model, batch))
    np.testing.assert_array_equal(attention_weights(reloaded, batch), attention_weights(model, batch))


def test_attention_weights_rows_sum_to_one_over_real_frames():
    model = build_sernet(tiny())
    batch = next(padded_batches(length=25, pads=(10,)))
    alpha = attention_weights(model, {**batch, "label": np.zeros(2)})
    assert alpha.shape == batch["mask"].shape
    np.testing.assert_allclose(alpha.sum(axis=1), 1.0, rtol=1e-5)
    np.testing.assert_array_equal(alpha[batch["mask"] == 0], 0.0)
    assert np.all(alpha >= 0)


def test_mean_pooling_weights_are_uniform():
    model = build_sernet(tiny(**{"model.pooling": "mean"}))
    batch = next(padded_batches(length=25, pads=(10,)))
    alpha = attention_weights(model, batch)
    np.testing.assert_allclose(alpha[0, :25], 1 / 25, rtol=1e-6)


BASELINE_ARCHITECTURES = ("cnn", "lstm", "cnn_lstm")


@pytest.mark.parametrize("architecture", BASELINE_ARCHITECTURES)
def test_baselines_always_pool_with_masked_mean(architecture):
    """A baseline is the plain model: masked mean pooling whatever ``model.pooling`` says, so a grid that
    leaves pooling at its default ("attention") trains the model Chapter 3 counts."""
    asked_attention = build_sernet(tiny(**{"model.architecture": architecture, "model.pooling": "attention"}))
    asked_mean = build_sernet(tiny(**{"model.architecture": architecture, "model.pooling": "mean"}))
    assert not any(isinstance(layer, TemporalAttentionPooling) for layer in asked_attention.layers)
    assert isinstance(asked_attention.get_layer(POOLING_LAYER), MaskedMeanPooling)
    assert asked_attention.count_params() == asked_mean.count_params()
    assert [w.shape for w in asked_attention.weights] == [w.shape for w in asked_mean.weights]
    batch = next(padded_batches(length=25, pads=(10,)))
    asked_mean.set_weights(asked_attention.get_weights())
    np.testing.assert_allclose(logits_of(asked_mean, batch), logits_of(asked_attention, batch), rtol=0, atol=1e-6)
    alpha = attention_weights(asked_attention, batch)
    np.testing.assert_allclose(alpha[0, :25], 1 / 25, rtol=1e-6)
    np.testing.assert_array_equal(alpha[0, 25:], 0.0)


def test_table_4_3_grid_trains_the_mean_pooled_baselines():
    """Every baseline row of the training grid builds a mean-pooled model with the parameter count of
    ``model.pooling = "mean"`` (the count Chapter 3 prints for that row)."""
    cfg = sernet.config.load("smoke")
    rows = {name: changes for name, changes in runs.BASELINES.items()
            if changes.get("model.architecture", "sernet") != "sernet"}
    assert {c["model.architecture"] for c in rows.values()} == set(BASELINE_ARCHITECTURES)
    for name, changes in rows.items():
        trained = build_sernet(sernet.config.override(cfg, changes))
        plain = build_sernet(sernet.config.override(cfg, {**changes, "model.pooling": "mean"}))
        assert isinstance(trained.get_layer(POOLING_LAYER), MaskedMeanPooling), name
        assert trained.count_params() == plain.count_params(), name


def test_sernet_still_follows_model_pooling():
    assert isinstance(build_sernet(tiny()).get_layer(POOLING_LAYER), TemporalAttentionPooling)
    assert isinstance(build_sernet(tiny(**{"model.pooling": "mean"})).get_layer(POOLING_LAYER), MaskedMeanPooling)


def test_baseline_rejects_an_unknown_pooling_too():
    with pytest.raises(ConfigError, match="model.pooling"):
        build_sernet(tiny(**{"model.architecture": "cnn", "model.pooling": "max"}))


def test_no_prosody_ignores_the_prosody_columns():
    batch = next(padded_batches(length=20, pads=(0,)))
    changed = {**batch, "features": batch["features"].copy()}
    changed["features"][..., layout.group_slice("prosody")] += 3.0
    with_p = build_sernet(tiny())
    without = build_sernet(tiny(**{"model.use_prosody": False}))
    np.testing.assert_array_equal(logits_of(without, changed), logits_of(without, batch))
    assert not np.allclose(logits_of(with_p, changed), logits_of(with_p, batch))


def test_no_multiscale_is_one_undilated_branch_of_the_same_width():
    cfg = sernet.config.override(sernet.config.load("smoke"), {"model.multiscale": False})
    conv = build_sernet(cfg).get_layer("singlescale_conv")
    assert conv.filters == (sum(cfg.model.conv_filters),) and conv.dilation_rates == (1,)


def test_large_variant_doubles_every_width():
    base_cfg = sernet.config.load("full")  # the paper's widths
    large_cfg = sernet.config.override(base_cfg, {"model.variant": "large"})
    base, large = build_sernet(base_cfg), build_sernet(large_cfg)
    f = base_cfg.model.large_width_factor
    assert large.get_layer("projection").filters == f * base_cfg.model.channels
    assert large.get_layer("dense").units == f * base_cfg.model.dense_units
    assert 3.0 < large.count_params() / base.count_params() < f**2


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"model.architecture": "transformer"}, "model.architecture"),
        ({"model.variant": "huge"}, "model.variant"),
        ({"model.pooling": "max"}, "model.pooling"),
        ({"model.use_mfcc": False, "model.use_mel": False, "model.use_prosody": False}, "use_mfcc"),
        ({"model.dilation_rates": (1, 2)}, "dilation_rates"),
        ({"model.attention_heads": 3}, "attention_heads"),
    ],
)
def test_bad_config_raises_config_error(changes, field):
    with pytest.raises(ConfigError, match=field):
        build_sernet(sernet.config.override(sernet.config.load("smoke"), changes))


def test_train_step_with_focal_loss_tensorflow():
    from sernet.losses import make_loss

    cfg = tiny()
    keras.utils.set_random_seed(0)
    model = build_sernet(cfg)
    model.compile(optimizer=keras.optimizers.AdamW(1e-2, weight_decay=cfg.train.weight_decay),
                  loss=make_loss(cfg.train))
    batch = next(padded_batches(length=16, pads=(4,)))
    y = np.eye(sernet.NUM_CLASSES, dtype="float32")[[1, 5]]
    before = keras.ops.convert_to_numpy(model.get_layer("logits").kernel).copy()
    losses = [float(model.train_on_batch(batch, y)) for _ in range(3)]
    assert all(np.isfinite(losses)) and losses[-1] < losses[0]
    assert not np.allclose(keras.ops.convert_to_numpy(model.get_layer("logits").kernel), before)


# ---------------------------------------------------------------- JAX backend (own process)

JAX_SCRIPT = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import sernet
    from sernet.backend import keras as _k
    from sernet.losses import make_loss
    from sernet.model import build_sernet, attention_weights
    from test_model import TINY, padded_batches, PADDING_ATOL
    keras = _k()
    assert keras.backend.backend() == "jax", keras.backend.backend()
    cfg = sernet.config.override(sernet.config.load("smoke"), TINY)
    keras.utils.set_random_seed(0)
    model = build_sernet(cfg)
    outs = [np.asarray(model.predict_on_batch(b))[0] for b in padded_batches(length=40, pads=(0, 13))]
    pad_err = max(float(np.abs(o - outs[0]).max()) for o in outs)
    model.compile(optimizer=keras.optimizers.AdamW(1e-2), loss=make_loss(cfg.train))
    batch = next(padded_batches(length=16, pads=(4,)))
    y = np.eye(8, dtype="float32")[[1, 5]]
    losses = [float(model.train_on_batch(batch, y)) for _ in range(3)]
    alpha = attention_weights(model, batch)
    model.save(sys.argv[1])
    np.save(sys.argv[1] + ".npy", np.asarray(model(batch, training=False)))
    print(json.dumps({"pad_err": pad_err, "losses": losses, "alpha_sum": alpha.sum(1).tolist()}))
    """
)


def test_jax_backend_forward_backward_and_keras_file(tmp_path):
    pytest.importorskip("jax")
    path = tmp_path / "jax_model.keras"
    env = {**os.environ, "KERAS_BACKEND": "jax", "JAX_PLATFORMS": "cpu",
           "PYTHONPATH": os.pathsep.join([os.path.dirname(__file__), os.environ.get("PYTHONPATH", "")])}
    run = subprocess.run([sys.executable, "-c", JAX_SCRIPT, str(path)], capture_output=True, text=True,
                         env=env, timeout=300)
    assert run.returncode == 0, run.stderr[-3000:]
    result = json.loads(run.stdout.strip().splitlines()[-1])
    assert result["pad_err"] <= PADDING_ATOL
    assert all(np.isfinite(result["losses"])) and result["losses"][-1] < result["losses"][0]
    np.testing.assert_allclose(result["alpha_sum"], 1.0, rtol=1e-5)
    # the .keras file written under JAX loads under TensorFlow with the same outputs
    reloaded = keras.models.load_model(path)
    batch = next(padded_batches(length=16, pads=(4,)))
    np.testing.assert_allclose(logits_of(reloaded, batch), np.load(str(path) + ".npy"), atol=1e-5)


# ---------------------------------------------------------------- cost accounting


def test_parameter_table_adds_up_to_the_model():
    model = build_sernet(sernet.config.load("smoke"))
    table = cost.parameter_table(model, expand=True)
    top = table[(table.depth == 0) & (table.layer != "total")]
    assert top.params.sum() == model.count_params() == table.iloc[-1].params
    assert set(top.layer) >= {"mel_projection", "multiscale_conv", "self_attention", "temporal_pooling"}
    mel = int(table.loc[table.layer == "mel_projection", "params"].iloc[0])
    assert mel == 128 * 40 + 40


def test_flops_scale_linearly_except_attention():
    cfg = sernet.config.load("smoke")
    model = build_sernet(cfg)
    t = 50
    one, two = (cost.flops_per_utterance(cfg, n, model=model)["macs"] for n in (t, 2 * t))
    channels = cfg.model.channels
    for name in ("multiscale_conv", "projection", "residual_1", "temporal_pooling"):
        assert two[name] == 2 * one[name]
    assert two["self_attention"] - 2 * one["self_attention"] == 4 * channels * t * t
    assert two["dense"] == one["dense"]
    # conv MACs per frame = kernel_size · c_in · filters, summed over the branches
    assert one["multiscale_conv"] == t * cfg.model.kernel_size * 180 * sum(cfg.model.conv_filters)


def test_receptive_field_of_kernel_3_dilations():
    table = cost.receptive_field(3, (1, 2, 4), 10.0, win_ms=25.0, residual_blocks=3)
    assert table["frames"].tolist() == [3, 5, 9, 21]
    assert table["span_ms"].tolist() == [20.0, 40.0, 80.0, 200.0]
    assert table["audio_ms"].tolist()[:3] == [45.0, 65.0, 105.0]
    assert table["paper_ms"].tolist()[:3] == [10.0, 20.0, 40.0]
    with pytest.raises(ConfigError):
        cost.receptive_field(3, (0,), 10.0)


def test_kernel_size_for_is_consistent_with_a_build():
    cfg = tiny()
    k, _ = cost.kernel_size_for(cfg, cost.parameters_by_kernel_size(cfg, (5,))[5])
    assert k == pytest.approx(5.0)
