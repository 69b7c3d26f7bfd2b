"""The residual block of SER-Net (paper §3.2). Explained in chapters/03_architecture.py."""

from __future__ import annotations

from sernet.backend import keras as _keras
from sernet.model._masking import FrameMaskedLayer, zero_padding

keras = _keras()
ops = keras.ops


@keras.saving.register_keras_serializable(package="sernet")
class ResidualBlock(FrameMaskedLayer):
    """``x + Conv1D(ReLU(BatchNorm(Conv1D(x))))``, exactly the paper's "Conv1D → BatchNorm → ReLU →
    Conv1D → Add" (no activation after the add: the paper lists none).

    Masking: padded frames are zeroed before each convolution, and BatchNorm's training-time statistics
    are computed over real frames only (``BatchNormalization(mask=...)``); in inference BatchNorm acts per
    frame. Input and output shape ``(batch, frames, channels)``.

    Args:
        channels: int. Width of both convolutions and of the input (``ModelConfig.channels``).
        kernel_size: int. Taps of both convolutions (``ModelConfig.kernel_size``).
        dilation_rate: int. Dilation of both convolutions (default 1; the paper does not dilate here).

    Call arguments:
        inputs: ``(batch, frames, channels)``.
        mask: optional ``(batch, frames)``, 1 real, 0 padding.
        training: bool, BatchNorm mode.

    Example:
    >>> tuple(ResidualBlock(128, 3)(np.zeros((2, 50, 128))).shape)
    (2, 50, 128)
    """

    def __init__(self, channels: int = 128, kernel_size: int = 3, dilation_rate: int = 1, **kwargs) -> None:
        super().__init__(**kwargs)
        self.channels = int(channels)
        self.kernel_size = int(kernel_size)
        self.dilation_rate = int(dilation_rate)
        common = dict(padding="same", dilation_rate=self.dilation_rate, dtype=self.dtype_policy)
        self.conv1 = keras.layers.Conv1D(self.channels, self.kernel_size, name="conv1", **common)
        self.norm = keras.layers.BatchNormalization(name="batch_norm", dtype=self.dtype_policy)
        self.conv2 = keras.layers.Conv1D(self.channels, self.kernel_size, name="conv2", **common)

    def build(self, input_shape) -> None:
        if input_shape[-1] is not None and input_shape[-1] != self.channels:
            raise ValueError(
                f"{self.name}: input has {input_shape[-1]} channels, the residual add needs "
                f"{self.channels} (ModelConfig.channels); project the input first"
            )
        self.conv1.build(input_shape)
        self.norm.build((*input_shape[:-1], self.channels))
        self.conv2.build((*input_shape[:-1], self.channels))

    def call(self, inputs, mask=None, training=None):
        h = self.conv1(zero_padding(inputs, mask))
        h = self.norm(h, training=training, mask=None if mask is None else ops.cast(mask, "bool"))
        h = ops.relu(h)
        h = self.conv2(zero_padding(h, mask))
        return inputs + h

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self) -> dict:
        return {**super().get_config(), "channels": self.channels, "kernel_size": self.kernel_size,
                "dilation_rate": self.dilation_rate}
