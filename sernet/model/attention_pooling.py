"""Temporal pooling: the paper's attention pooling (§3.4) and the masked mean of its ablation.

Both layers return ``(context, weights)`` so that the pooling weights of a trained model can be read
without a second model definition (:func:`sernet.model.attention_weights`). Explained in
chapters/03_architecture.py; the weights are studied in chapter 7.
"""

from __future__ import annotations

from sernet.backend import keras as _keras
from sernet.model._masking import FrameMaskedLayer, large_negative

keras = _keras()
ops = keras.ops


def _weighted_sum(weights, inputs):
    return ops.sum(ops.expand_dims(ops.cast(weights, inputs.dtype), -1) * inputs, axis=1)


@keras.saving.register_keras_serializable(package="sernet")
class TemporalAttentionPooling(FrameMaskedLayer):
    """Attention pooling exactly as the paper's §3.4::

        α_t = softmax_t(W2 · tanh(W1 · h_t + b1) + b2),     c = Σ_t α_t · h_t

    ``W1`` is ``(channels, units)``, ``W2`` is ``(units, 1)``. The bias ``b2`` adds the same number to
    every frame's score, so the softmax cancels it: it is kept to match the formula and never learns
    (its gradient is zero).

    Masking: padded frames get a large negative score before the softmax (computed in float32), then
    weight exactly 0; rows of ``weights`` sum to 1 over real frames.

    Args:
        units: int. Width of ``W1`` (``ModelConfig.pooling_units``; not stated in the paper).

    Call arguments:
        inputs: ``(batch, frames, channels)``.
        mask: optional ``(batch, frames)``, 1 real, 0 padding.

    Returns:
        ``(context, weights)``: ``(batch, channels)`` and ``(batch, frames)`` (float32).

    Example:
    >>> c, a = TemporalAttentionPooling(16)(np.zeros((2, 50, 128)))
    >>> tuple(c.shape), tuple(a.shape)
    ((2, 128), (2, 50))
    """

    def __init__(self, units: int = 128, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = int(units)
        self.score_hidden = keras.layers.Dense(self.units, activation="tanh", name="w1",
                                               dtype=self.dtype_policy)
        self.score = keras.layers.Dense(1, name="w2", dtype=self.dtype_policy)

    def build(self, input_shape) -> None:
        self.score_hidden.build(input_shape)
        self.score.build((*input_shape[:-1], self.units))

    def call(self, inputs, mask=None):
        scores = ops.cast(ops.squeeze(self.score(self.score_hidden(inputs)), -1), "float32")
        if mask is not None:
            real = ops.cast(mask, "bool")
            scores = ops.where(real, scores, large_negative("float32"))
        weights = ops.softmax(scores, axis=-1)
        if mask is not None:
            weights = weights * ops.cast(mask, "float32")  # exact zeros (and 0, not NaN, if all padding)
        return _weighted_sum(weights, inputs), weights

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1]), tuple(input_shape[:2])

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="sernet")
class MaskedMeanPooling(FrameMaskedLayer):
    """The mean over real frames (Table 4.4 "w/o attention pooling"): ``c = Σ_t m_t h_t / Σ_t m_t``.

    Same call signature and outputs as :class:`TemporalAttentionPooling`; the returned weights are
    ``m_t / Σ m`` (uniform over real frames). No parameters.

    Example:
    >>> c, a = MaskedMeanPooling()(np.ones((1, 4, 3)), mask=np.array([[1, 1, 0, 0]]))
    >>> np.asarray(a).round(2).tolist()
    [[0.5, 0.5, 0.0, 0.0]]
    """

    def call(self, inputs, mask=None):
        if mask is None:
            mask = ops.ones(ops.shape(inputs)[:2], dtype="float32")
        m = ops.cast(mask, "float32")
        weights = m / ops.maximum(ops.sum(m, axis=1, keepdims=True), 1.0)
        return _weighted_sum(weights, inputs), weights

    def compute_output_shape(self, input_shape):
        return (input_shape[0], input_shape[-1]), tuple(input_shape[:2])
