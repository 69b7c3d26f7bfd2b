"""``build_sernet(cfg)``: SER-Net (Base / Large, every Table 4.4 ablation switch) and the Table 4.3
baselines as Keras functional models with the same inputs and outputs.

Inputs: ``{"features": (batch, frames, 268) float, "mask": (batch, frames) float}`` (1 real frame,
0 padding; ``frames`` may vary). Output: logits ``(batch, n_classes)`` in float32 (the paper's 8 by default) (also under mixed precision).
Explained in chapters/03_architecture.py.

Ablation rows of Table 4.4 and the fields that switch them:

==========================  =====================================
w/o Multi-Scale Conv        ``model.multiscale = False``
w/o Attention Pooling       ``model.pooling = "mean"``
w/o Prosodic Features       ``model.use_prosody = False``
w/o Data Augmentation       ``train.augment = False`` (training)
w/o Focal Loss              ``train.loss = "ce"`` (training)
==========================  =====================================
"""

from __future__ import annotations

import dataclasses

import numpy as np

from sernet.backend import keras as _keras
from sernet.config import Config, ModelConfig
from sernet.errors import ConfigError, SernetError
from sernet.features import layout
from sernet.labels import NUM_CLASSES
from sernet.model import dimensional_head
from sernet.model.attention_pooling import MaskedMeanPooling, TemporalAttentionPooling
from sernet.model.frontend import FeatureGroup, MelProjection
from sernet.model.multiscale_conv import MultiScaleDilatedConv
from sernet.model.residual import ResidualBlock
from sernet.model.self_attention import MaskedSelfAttention

keras = _keras()

ARCHITECTURES = ("sernet", "cnn", "lstm", "cnn_lstm")
VARIANTS = ("base", "large")
POOLINGS = ("attention", "mean")
POOLING_LAYER = "temporal_pooling"
"""Name of the pooling layer in every model (its second output are the pooling weights)."""


def effective_model_config(mcfg: ModelConfig) -> ModelConfig:
    """``mcfg`` with the variant applied: Large multiplies every width by ``large_width_factor``.

    Widths scaled: ``conv_filters``, ``channels``, ``pooling_units``, ``dense_units``, ``cnn_filters``,
    ``lstm_units``. Unchanged: depth, kernel size, dilation rates, heads (``key_dim`` grows instead),
    the mel projection (it defines the paper's 180-dim input).
    """
    if mcfg.variant not in VARIANTS:
        raise ConfigError(f"model.variant: unknown variant {mcfg.variant!r}; expected one of {VARIANTS}")
    if mcfg.variant == "base":
        return mcfg
    f = mcfg.large_width_factor
    return dataclasses.replace(
        mcfg,
        conv_filters=tuple(c * f for c in mcfg.conv_filters),
        channels=mcfg.channels * f,
        pooling_units=mcfg.pooling_units * f,
        dense_units=mcfg.dense_units * f,
        cnn_filters=tuple(c * f for c in mcfg.cnn_filters),
        lstm_units=tuple(u * f for u in mcfg.lstm_units),
    )


def _validate(m: ModelConfig) -> None:
    if m.architecture not in ARCHITECTURES:
        raise ConfigError(f"model.architecture: unknown {m.architecture!r}; expected one of {ARCHITECTURES}")
    if m.pooling not in POOLINGS:
        raise ConfigError(f"model.pooling: unknown {m.pooling!r}; expected one of {POOLINGS}")
    if not (m.use_mfcc or m.use_mel or m.use_prosody):
        raise ConfigError("model.use_mfcc/use_mel/use_prosody: at least one feature group must be used")
    if len(m.conv_filters) != len(m.dilation_rates):
        raise ConfigError(f"model.conv_filters {m.conv_filters} and model.dilation_rates {m.dilation_rates} "
                          "must have the same length (one filter count per dilation branch)")
    if m.tasks not in dimensional_head.TASKS:
        raise ConfigError(f"model.tasks: unknown {m.tasks!r}; expected one of {dimensional_head.TASKS}")
    if m.channels % m.attention_heads:
        raise ConfigError(f"model.channels={m.channels} is not divisible by "
                          f"model.attention_heads={m.attention_heads}")


def model_inputs(masked: bool = True) -> dict[str, keras.KerasTensor]:
    """The two symbolic inputs every sernet model takes (only ``features`` when not ``masked``)."""
    inputs = {"features": keras.Input((None, layout.N_STORED), name="features")}
    if masked:
        inputs["mask"] = keras.Input((None,), name="mask")
    return inputs


def input_frames(features, m: ModelConfig):
    """The model's frame vectors: mfcc (120) + projected mel (``mel_projection_dim``) + prosody (20),
    each group only when switched on (180 dims with everything on)."""
    parts = []
    if m.use_mfcc:
        parts.append(FeatureGroup("mfcc", name="mfcc")(features))
    if m.use_mel:
        parts.append(MelProjection(m.mel_projection_dim, name="mel_projection")(features))
    if m.use_prosody:
        parts.append(FeatureGroup("prosody", name="prosody")(features))
    if len(parts) == 1:
        return parts[0]
    return keras.layers.Concatenate(name="frame_features")(parts)


def _pool_and_classify(x, mask, m: ModelConfig, name: str, inputs, n_classes: int = NUM_CLASSES) -> keras.Model:
    pool = (TemporalAttentionPooling(m.pooling_units, name=POOLING_LAYER) if m.pooling == "attention"
            else MaskedMeanPooling(name=POOLING_LAYER))
    context, _ = pool(x, mask=mask)
    h = keras.layers.Dense(m.dense_units, activation="relu", name="dense")(context)
    h = keras.layers.Dropout(m.dropout_rate, name="dropout")(h)
    if m.tasks == "categorical":  # the paper's model: one logits tensor
        return keras.Model(inputs, keras.layers.Dense(n_classes, name="logits", dtype="float32")(h), name=name)
    outputs = {dimensional_head.DIMENSIONS_OUTPUT: dimensional_head.dimension_head(h)}
    if dimensional_head.has_classes(m.tasks):
        outputs[dimensional_head.LOGITS] = keras.layers.Dense(n_classes, name="logits", dtype="float32")(h)
    return keras.Model(inputs, outputs, name=name)


def _sernet_body(x, mask, m: ModelConfig):
    if m.multiscale:
        conv = MultiScaleDilatedConv(m.conv_filters, m.dilation_rates, m.kernel_size, name="multiscale_conv")
    else:  # Table 4.4 "w/o multi-scale conv": one dilation-1 branch of the same total width
        conv = MultiScaleDilatedConv((sum(m.conv_filters),), (1,), m.kernel_size, name="singlescale_conv")
    x = conv(x, mask=mask)
    x = keras.layers.Conv1D(m.channels, 1, name="projection")(x)
    for i in range(m.residual_blocks):
        x = ResidualBlock(m.channels, m.kernel_size, name=f"residual_{i + 1}")(x, mask=mask)
    return MaskedSelfAttention(m.attention_heads, name="self_attention")(x, mask=mask)


def build_sernet(cfg: Config, n_classes: int | None = None, *, classes=None, masked: bool = True) -> keras.Model:
    """Build the model that ``cfg.model`` describes (uncompiled).

    Parameters
    ----------
    cfg : Config
        ``cfg.model.architecture`` picks SER-Net ("sernet") or a Table 4.3 baseline ("cnn", "lstm",
        "cnn_lstm"); ``cfg.model.variant`` picks Base or Large (every width × ``large_width_factor``).
    n_classes : int, optional
        Outputs of the classification head (the corpus's label set; the trainer passes
        ``len(store.classes)``). Default: ``len(classes)`` when ``classes`` is given, else the paper's 8.
    classes : sequence of str, optional
        The label set; only its length is used (the run directory stores the names).
    masked : bool
        ``False`` builds the same layers without the ``mask`` input, for windows without padding: with the
        weights of a masked model it gives the masked model's outputs on all-ones masks, without the masking
        work (:func:`unmasked_twin`; the predictor runs it on batches of full windows).

    Returns
    -------
    keras.Model
        Inputs ``{"features": [B, T, 268], "mask": [B, T]}``, output logits ``[B, 8]`` (float32); with
        ``model.tasks`` "dimensional" or "multitask" a dict of ``"dimensions"`` [B, 3] (arousal, valence,
        dominance, bounded to the 1–7 scale) and, for multitask, ``"logits"``
        (:mod:`sernet.model.dimensional_head`). Every
        model has a layer named ``"temporal_pooling"`` whose second output are the pooling weights.

    Raises
    ------
    ConfigError
        Unknown architecture / variant / pooling, no feature group, mismatched filter and dilation lists,
        fewer than 2 classes, or ``n_classes`` and ``classes`` that disagree.

    Examples
    --------
    >>> model = build_sernet(sernet.config.load())
    >>> tuple(model({"features": np.zeros((2, 300, 268)), "mask": np.ones((2, 300))}).shape)
    (2, 8)
    """
    if classes is not None:
        if n_classes is not None and n_classes != len(classes):
            raise ConfigError(f"build_sernet: n_classes={n_classes} but {len(classes)} classes {list(classes)}")
        n_classes = len(classes)
    n_classes = NUM_CLASSES if n_classes is None else int(n_classes)
    if n_classes < 2:
        raise ConfigError(f"build_sernet: a classifier needs at least 2 classes, got {n_classes}")
    m = effective_model_config(cfg.model)
    _validate(m)
    inputs = model_inputs(masked)
    mask = inputs.get("mask")
    x = input_frames(inputs["features"], m)
    if m.architecture == "sernet":
        x = _sernet_body(x, mask, m)
        name = f"sernet_{m.variant}"
    else:
        from sernet.model import baselines

        m = baselines.plain_model_config(m)  # a baseline always pools with masked mean pooling
        x = baselines.BODIES[m.architecture](x, mask, m)
        name = f"baseline_{m.architecture}" + ("_large" if m.variant == "large" else "")
    return _pool_and_classify(x, mask, m, name, inputs, n_classes)


def unmasked_twin(model: keras.Model, cfg: Config, n_classes: int | None = None) -> keras.Model:
    """``model`` (built by :func:`build_sernet` from ``cfg``) without its mask input, sharing no layers but
    holding the same weights.

    On an all-ones mask every masking step of SER-Net is an identity (padded frames zeroed: none; padded keys
    and pooling frames hidden: none), so the twin computes the same outputs with fewer operations: no mask
    multiplications before the convolutions, no attention bias, no masked softmax in the pooling. It is built
    under ``model``'s dtype policy (``mixed_bfloat16`` stays bf16).

    Raises
    ------
    SernetError
        If ``model`` does not have the variables ``build_sernet(cfg, n_classes)`` builds (another config).

    Examples
    --------
    >>> cfg = sernet.config.load("smoke")
    >>> model = build_sernet(cfg)
    >>> twin = unmasked_twin(model, cfg)
    >>> x = np.random.default_rng(0).standard_normal((2, 40, 268)).astype("float32")
    >>> a = np.asarray(model({"features": x, "mask": np.ones((2, 40))}))
    >>> bool(np.allclose(a, np.asarray(twin({"features": x})), rtol=0, atol=1e-5))
    True
    """
    policy = getattr(model, "dtype_policy", None)
    previous = keras.mixed_precision.dtype_policy()
    if policy is not None:
        keras.mixed_precision.set_dtype_policy(policy.name)
    try:
        twin = build_sernet(cfg, n_classes, masked=False)
    finally:
        keras.mixed_precision.set_dtype_policy(previous)
    ours = [tuple(w.shape) for w in model.weights]
    theirs = [tuple(w.shape) for w in twin.weights]
    if ours != theirs:
        raise SernetError(f"unmasked_twin: {model.name} has {len(ours)} variables, but cfg.model builds "
                          f"{len(theirs)} (or other shapes): the model was not built from this config")
    twin.set_weights(model.get_weights())
    return twin


def attention_weights(model: keras.Model, batch: dict) -> np.ndarray:
    """The temporal pooling weights ``α`` of ``model`` on ``batch``, shape ``[B, T]`` (inference mode).

    Rows sum to 1 over real frames and are 0 on padding; for mean pooling they are uniform. Uses the
    model's own layers (no second model definition): a functional view from the inputs to the pooling
    layer's second output.

    Parameters
    ----------
    model : keras.Model
        A model from :func:`build_sernet` (or loaded from its ``.keras`` file).
    batch : dict
        At least ``"features"`` [B, T, 268] and ``"mask"`` [B, T]; other keys are ignored.
    """
    view = keras.Model(model.input, model.get_layer(POOLING_LAYER).output[1])
    inputs = {k: np.asarray(batch[k], dtype="float32") for k in ("features", "mask")}
    return np.asarray(keras.ops.convert_to_numpy(view(inputs, training=False)))
