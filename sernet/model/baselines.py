"""The Table 4.3 baselines (Baseline CNN, LSTM, CNN-LSTM) on the same inputs as SER-Net.

The paper gives no detail of them. Ours share SER-Net's front end (180-dim frames) and its head (Dense →
Dropout → 8 logits). A baseline is the plain model, so it always pools with **masked mean pooling**
(:class:`~sernet.model.attention_pooling.MaskedMeanPooling`, the layer named ``"temporal_pooling"``),
whatever ``model.pooling`` says: attention pooling is one of SER-Net's contributions (Table 4.4), not part
of a baseline. :func:`plain_model_config` is the config a baseline is built from, so the parameter count
Chapter 3 shows is the count of what the Table 4.3 grid trains. Only the sequence body differs:

``cnn``       ``Conv1D(k) → BatchNorm → ReLU`` per width in ``model.cnn_filters`` (dilation 1)
``lstm``      one ``LSTM(units, return_sequences=True)`` per width in ``model.lstm_units``
``cnn_lstm``  the CNN stack, then the LSTM stack

Padding: convolutions see zeroed padded frames and BatchNorm statistics skip them; the LSTMs receive the
mask (padded steps carry the state on, and right padding comes after every real step).
"""

from __future__ import annotations

import dataclasses

from sernet.backend import keras as _keras
from sernet.config import ModelConfig
from sernet.model._masking import FrameMaskedLayer, zero_padding

keras = _keras()
ops = keras.ops

BASELINE_POOLING = "mean"
"""The pooling of every Table 4.3 baseline (masked mean over real frames), independent of ``model.pooling``."""


def plain_model_config(m: ModelConfig) -> ModelConfig:
    """The model config a baseline is built from: ``m`` with ``pooling = BASELINE_POOLING``.

    Parameters
    ----------
    m : ModelConfig
        Any model config (``architecture`` "cnn", "lstm" or "cnn_lstm"); its ``pooling`` is ignored.

    Returns
    -------
    ModelConfig
        The same config with masked mean pooling.

    Examples
    --------
    >>> from sernet.config import ModelConfig
    >>> plain_model_config(ModelConfig(architecture="cnn", pooling="attention")).pooling
    'mean'
    """
    return dataclasses.replace(m, pooling=BASELINE_POOLING)


@keras.saving.register_keras_serializable(package="sernet")
class MaskedConvBlock(FrameMaskedLayer):
    """``ReLU(BatchNorm(Conv1D(x)))`` with padded frames zeroed before the convolution and left out of
    BatchNorm's statistics. Input ``(batch, frames, c_in)``, output ``(batch, frames, filters)``.

    Args:
        filters: int. Output channels.
        kernel_size: int. Taps (dilation 1, "same" padding).
    """

    def __init__(self, filters: int = 64, kernel_size: int = 3, **kwargs) -> None:
        super().__init__(**kwargs)
        self.filters = int(filters)
        self.kernel_size = int(kernel_size)
        self.conv = keras.layers.Conv1D(self.filters, self.kernel_size, padding="same", name="conv",
                                        dtype=self.dtype_policy)
        self.norm = keras.layers.BatchNormalization(name="batch_norm", dtype=self.dtype_policy)

    def build(self, input_shape) -> None:
        self.conv.build(input_shape)
        self.norm.build((*input_shape[:-1], self.filters))

    def call(self, inputs, mask=None, training=None):
        h = self.conv(zero_padding(inputs, mask))
        h = self.norm(h, training=training, mask=None if mask is None else ops.cast(mask, "bool"))
        return ops.relu(h)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.filters)

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": self.filters, "kernel_size": self.kernel_size}


def cnn_body(x, mask, m: ModelConfig):
    for i, filters in enumerate(m.cnn_filters):
        x = MaskedConvBlock(filters, m.kernel_size, name=f"conv_block_{i + 1}")(x, mask=mask)
    return x


def lstm_body(x, mask, m: ModelConfig):
    real = None if mask is None else MaskToBool(name="lstm_mask")(mask)
    for i, units in enumerate(m.lstm_units):
        x = keras.layers.LSTM(units, return_sequences=True, name=f"lstm_{i + 1}")(x, mask=real)
    return x


def cnn_lstm_body(x, mask, m: ModelConfig):
    return lstm_body(cnn_body(x, mask, m), mask, m)


@keras.saving.register_keras_serializable(package="sernet")
class MaskToBool(keras.layers.Layer):
    """Cast the float frame mask to bool (what Keras recurrent layers expect)."""

    def call(self, inputs):
        return ops.cast(inputs, "bool")

    def compute_output_shape(self, input_shape):
        return input_shape


BODIES = {"cnn": cnn_body, "lstm": lstm_body, "cnn_lstm": cnn_lstm_body}
