"""Masked multi-head self-attention over frames (paper §3.2). Explained in chapters/03_architecture.py."""

from __future__ import annotations

import math

import numpy as np

from sernet.backend import keras as _keras
from sernet.model._masking import FrameMaskedLayer

keras = _keras()
ops = keras.ops


# The score a padded key gets: Keras' own masked-attention fill (-0.7 x the float32 maximum), so that no real
# score, however large an untrained model's activations make it, comes near it.
_KEY_BIAS = -0.7 * float(np.finfo(np.float32).max)


@keras.saving.register_keras_serializable(package="sernet")
class KeyMaskedAttention(keras.layers.MultiHeadAttention):
    """Keras' ``MultiHeadAttention`` with a key mask applied as an additive bias.

    Called with ``attention_mask`` of shape ``(batch, 1, keys)`` (one row for every query), it adds
    ``0`` to the scores of real keys and ``-0.7 x`` the float32 maximum to those of padded keys, broadcast
    over heads and queries, inside ``keras.ops.dot_product_attention``. Keras' own path builds a full
    ``(batch, heads, queries, keys)`` boolean mask and selects with it (three passes over the largest tensor
    of the model); the bias is one broadcast add. The result is the same number for number: real keys'
    scores are unchanged (``x + 0 = x``) and a padded key's score becomes Keras' own fill value (no real
    score is within float32 resolution of it), so its ``exp`` is exactly zero either way.

    The fast path is taken on the TensorFlow backend, whose attention scores are float32 for float32 and
    bfloat16 inputs; elsewhere, with attention dropout in training, attention scores requested, or any other
    mask shape, Keras' own path runs.
    """

    def _compute_attention(self, query, key, value, attention_mask=None, training=None,
                           return_attention_scores=False, **kwargs):
        fast = (attention_mask is not None and len(attention_mask.shape) == 3 and attention_mask.shape[1] == 1
                and len(query.shape) == 4 and not return_attention_scores and not kwargs.get("use_causal_mask")
                and not (training and self.dropout > 0.0) and keras.backend.backend() == "tensorflow"
                and keras.backend.standardize_dtype(query.dtype) in ("float32", "bfloat16"))
        if not fast:
            return super()._compute_attention(query, key, value, attention_mask=attention_mask, training=training,
                                              return_attention_scores=return_attention_scores, **kwargs)
        bias = ops.where(ops.cast(attention_mask, "bool"), 0.0, _KEY_BIAS)[:, :, None, :]
        out = ops.dot_product_attention(query, key, value, bias=bias, scale=1.0 / math.sqrt(float(self.key_dim)))
        return out, None


@keras.saving.register_keras_serializable(package="sernet")
class MaskedSelfAttention(FrameMaskedLayer):
    """``LayerNorm(x + MultiHeadAttention(x, x))`` with padded frames hidden from every query.

    The paper names only "Multi-Head Self-Attention (4 heads)"; we use the Transformer's post-norm
    residual form (Vaswani et al., 2017) with ``key_dim = channels / num_heads``, so the layer keeps the
    width and its parameter count does not depend on the number of heads.

    Masking: the key mask (``mask[b, k]`` for every query, :class:`KeyMaskedAttention`) gives padded frames
    zero attention weight, so real frames' outputs do not depend on how much padding follows.

    Args:
        num_heads: int. Heads (``ModelConfig.attention_heads``).
        dropout: float. Dropout on the attention weights (default 0).

    Call arguments:
        inputs: ``(batch, frames, channels)``.
        mask: optional ``(batch, frames)``, 1 real, 0 padding.
        training: bool.

    Example:
    >>> tuple(MaskedSelfAttention(4)(np.zeros((2, 50, 128))).shape)
    (2, 50, 128)
    """

    def __init__(self, num_heads: int = 4, dropout: float = 0.0, **kwargs) -> None:
        super().__init__(**kwargs)
        self.num_heads = int(num_heads)
        self.dropout = float(dropout)
        self.attention = None
        self.norm = keras.layers.LayerNormalization(name="layer_norm", dtype=self.dtype_policy)

    def build(self, input_shape) -> None:
        channels = input_shape[-1]
        if channels % self.num_heads:
            raise ValueError(
                f"{self.name}: {channels} channels are not divisible by {self.num_heads} heads "
                "(ModelConfig.channels / attention_heads)"
            )
        self.attention = KeyMaskedAttention(
            self.num_heads, channels // self.num_heads, dropout=self.dropout, name="attention",
            dtype=self.dtype_policy,
        )
        self.attention.build(input_shape, input_shape)
        self.norm.build(input_shape)

    def call(self, inputs, mask=None, training=None):
        attention_mask = None if mask is None else ops.cast(ops.expand_dims(mask, 1), "bool")  # [B, 1, T]
        y = self.attention(inputs, inputs, attention_mask=attention_mask, training=training)
        return self.norm(inputs + y)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "num_heads": self.num_heads, "dropout": self.dropout}
