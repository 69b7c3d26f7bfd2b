"""Masked multi-head self-attention over frames (paper §3.2). Explained in chapters/03_architecture.py."""

from __future__ import annotations

from sernet.backend import keras as _keras
from sernet.model._masking import FrameMaskedLayer

keras = _keras()
ops = keras.ops


@keras.saving.register_keras_serializable(package="sernet")
class MaskedSelfAttention(FrameMaskedLayer):
    """``LayerNorm(x + MultiHeadAttention(x, x))`` with padded frames hidden from every query.

    The paper names only "Multi-Head Self-Attention (4 heads)"; we use the Transformer's post-norm
    residual form (Vaswani et al., 2017) with ``key_dim = channels / num_heads``, so the layer keeps the
    width and its parameter count does not depend on the number of heads.

    Masking: the key mask (``attention_mask[b, q, k] = mask[b, k]``) gives padded frames zero attention
    weight, so real frames' outputs do not depend on how much padding follows.

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
        self.attention = keras.layers.MultiHeadAttention(
            self.num_heads, channels // self.num_heads, dropout=self.dropout, name="attention",
            dtype=self.dtype_policy,
        )
        self.attention.build(input_shape, input_shape)
        self.norm.build(input_shape)

    def call(self, inputs, mask=None, training=None):
        attention_mask = None
        if mask is not None:
            keys = ops.cast(ops.expand_dims(mask, 1), "float32")  # [B, 1, T]
            queries = ops.ones_like(ops.expand_dims(ops.cast(mask, "float32"), 2))  # [B, T, 1]
            attention_mask = ops.cast(queries * keys, "bool")  # [B, T, T]
        y = self.attention(inputs, inputs, attention_mask=attention_mask, training=training)
        return self.norm(inputs + y)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "num_heads": self.num_heads, "dropout": self.dropout}
