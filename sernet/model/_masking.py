"""Frame-mask helpers shared by the model's layers (``keras.ops`` only)."""

from __future__ import annotations

from sernet.backend import keras as _keras

ops = _keras().ops


def zero_padding(x, mask):
    """Return ``x`` [B, T, C] with padded frames (``mask`` [B, T] == 0) set to exactly zero.

    Applied before every convolution, so that "same" padding sees zeros past the last real frame exactly
    as it does at the boundary of the unpadded utterance.
    """
    if mask is None:
        return x
    return x * ops.expand_dims(ops.cast(mask, x.dtype), -1)


def large_negative(dtype) -> float:
    """A finite score that vanishes under softmax in ``dtype`` (float16 cannot hold -1e9)."""
    return -6.0e4 if "16" in str(dtype) else -1.0e9


class FrameMaskedLayer(_keras().layers.Layer):
    """Base of sernet's sequence layers: they take the frame mask explicitly (``mask=`` [B, T]) and
    return no Keras mask (``supports_masking`` only stops Keras warning that a mask is dropped)."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None
