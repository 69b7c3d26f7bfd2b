"""The plain build: the paper's SER-Net diagram as an ordinary Keras model without masking, a measurement baseline.

``sernet bench latency --reference`` and ``sernet bench train --reference`` time sernet's own paths beside it
in the same run. It has the same layers and widths as :func:`sernet.model.build_sernet` (the same parameter
count; :func:`copy_weights` moves a trained SER-Net's weights into it) but only the ``features`` input: no
mask, so no zeroing of padded frames before each convolution, no attention mask, no masked softmax in the
pooling and no pooling-weights output. On windows without padding (an all-ones mask) it computes the same
logits as SER-Net; on padded windows it does not, which is why it is a baseline and not a product model.
"""

from __future__ import annotations

from sernet.backend import keras as _keras
from sernet.config import Config
from sernet.errors import SernetError
from sernet.features import layout


def plain_sernet(cfg: Config, n_classes: int | None = None, dtype: str | None = None):
    """The SER-Net diagram of ``cfg.model`` with plain Keras layers and no masking.

    Parameters
    ----------
    cfg : Config
        ``cfg.model`` must describe the full SER-Net (``architecture="sernet"``, every feature group, the
        multi-scale convolution and attention pooling: the paper's diagram).
    n_classes : int, optional
        Outputs (default: the paper's 8).
    dtype : str, optional
        A Keras dtype policy for every layer (e.g. ``"mixed_bfloat16"``); the logits stay float32.

    Returns
    -------
    keras.Model
        Input ``features`` [B, T, 268] (float32), output logits [B, n_classes] (float32).

    Raises
    ------
    SernetError
        If ``cfg.model`` is an ablation or a baseline (the plain build has only the paper's diagram).

    Examples
    --------
    >>> plain = plain_sernet(sernet.config.load())                          # doctest: +SKIP
    >>> plain.count_params() == build_sernet(sernet.config.load()).count_params()   # doctest: +SKIP
    True
    """
    from sernet.labels import NUM_CLASSES
    from sernet.model.builder import effective_model_config

    k = _keras()
    layers, ops = k.layers, k.ops
    m = effective_model_config(cfg.model)
    if not (m.architecture == "sernet" and m.use_mfcc and m.use_mel and m.use_prosody and m.multiscale
            and m.pooling == "attention"):
        raise SernetError("plain_sernet: the plain build is the paper's full diagram; cfg.model is an ablation "
                          f"or baseline (architecture={m.architecture!r}, pooling={m.pooling!r}, "
                          f"multiscale={m.multiscale})")
    n_classes = NUM_CLASSES if n_classes is None else int(n_classes)
    kw = {} if dtype is None else {"dtype": dtype}
    features = k.Input((None, layout.N_STORED), name="features")
    mfcc, mel, prosody = (layout.group_slice(g) for g in ("mfcc", "mel", "prosody"))
    parts = [features[..., mfcc.start : mfcc.stop],
             layers.Dense(m.mel_projection_dim, name="mel_projection", **kw)(features[..., mel.start : mel.stop]),
             features[..., prosody.start : prosody.stop]]
    x = layers.Concatenate(name="frame_features", **kw)(parts)
    branches = [layers.Conv1D(f, m.kernel_size, dilation_rate=d, padding="same", activation="relu",
                              name=f"branch_d{d}_{i}", **kw)(x)
                for i, (f, d) in enumerate(zip(m.conv_filters, m.dilation_rates, strict=True))]
    x = layers.Concatenate(name="multiscale_conv", **kw)(branches) if len(branches) > 1 else branches[0]
    x = layers.Conv1D(m.channels, 1, name="projection", **kw)(x)
    for i in range(m.residual_blocks):
        h = layers.Conv1D(m.channels, m.kernel_size, padding="same", name=f"residual_{i + 1}_conv1", **kw)(x)
        h = layers.BatchNormalization(name=f"residual_{i + 1}_batch_norm", **kw)(h)
        h = layers.ReLU(**kw)(h)
        h = layers.Conv1D(m.channels, m.kernel_size, padding="same", name=f"residual_{i + 1}_conv2", **kw)(h)
        x = layers.Add(name=f"residual_{i + 1}", **kw)([x, h])
    y = layers.MultiHeadAttention(m.attention_heads, m.channels // m.attention_heads, name="attention", **kw)(x, x)
    x = layers.LayerNormalization(name="self_attention", **kw)(layers.Add(**kw)([x, y]))
    scores = layers.Dense(1, name="w2", **kw)(layers.Dense(m.pooling_units, activation="tanh", name="w1", **kw)(x))
    weights = ops.softmax(ops.cast(ops.squeeze(scores, -1), "float32"), axis=-1)
    context = ops.sum(ops.cast(x, "float32") * weights[..., None], axis=1)
    h = layers.Dense(m.dense_units, activation="relu", name="dense", **kw)(context)
    h = layers.Dropout(m.dropout_rate, name="dropout", **kw)(h)
    logits = layers.Dense(n_classes, name="logits", dtype="float32")(h)
    return k.Model(features, logits, name="plain_sernet")


def plain_path(path: str) -> str:
    """The :func:`plain_sernet` variable path of a SER-Net variable path (its layers are nested, the plain
    build's are flat), e.g. ``residual_1/conv1/kernel`` -> ``residual_1_conv1/kernel``."""
    segs = path.split("/")
    head = segs[0]
    if head in ("multiscale_conv", "temporal_pooling"):
        segs = segs[1:]
    elif head == "mel_projection":
        segs = [head, *segs[2:]]
    elif head == "self_attention":
        segs = segs[1:] if segs[1] == "attention" else [head, *segs[2:]]
    elif head.startswith("residual_"):
        segs = [f"{head}_{segs[1]}", *segs[2:]]
    return "/".join(segs)


def copy_weights(model, plain) -> None:
    """Give ``plain`` (:func:`plain_sernet`) the weights of a SER-Net ``model`` of the same config.

    Variables are matched by path (:func:`plain_path`) and shape.

    Raises
    ------
    SernetError
        If the two models do not have the same variables (names the first mismatch).
    """
    dst = {v.path: v for v in plain.weights}
    if len(model.weights) != len(dst):
        raise SernetError(f"copy_weights: {model.name} has {len(model.weights)} variables, {plain.name} {len(dst)}")
    for a in model.weights:
        b = dst.get(plain_path(a.path))
        if b is None or tuple(a.shape) != tuple(b.shape):
            raise SernetError(f"copy_weights: {a.path} {tuple(a.shape)} has no counterpart in {plain.name}"
                              + ("" if b is None else f" ({b.path} is {tuple(b.shape)})"))
        b.assign(a)


class PlainRunner:
    """A compiled forward pass (``tf.function``, ``jit_compile`` optional) of the plain build, with the runners'
    ``logits(features, mask)`` interface (the mask is ignored: the plain build has none)."""

    def __init__(self, plain, max_length: int, xla: bool = False) -> None:
        import tensorflow as tf

        self.model = plain
        spec = [tf.TensorSpec([None, max_length, layout.N_STORED], tf.float32, name="features")]

        @tf.function(input_signature=spec, reduce_retracing=True, jit_compile=xla or None)
        def forward(features):
            return tf.cast(plain(features, training=False), tf.float32)

        self._forward = forward

    def logits(self, features, mask=None):
        """Logits [B, C] (float32) of ``features`` [B, T, 268]; ``mask`` is ignored."""
        import numpy as np

        return self._forward(np.ascontiguousarray(features, np.float32)).numpy()
