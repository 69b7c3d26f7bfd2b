"""The multi-scale dilated convolution block (paper §3.2–3.3). Explained in chapters/03_architecture.py."""

from __future__ import annotations

from sernet.backend import keras as _keras
from sernet.model._masking import FrameMaskedLayer, zero_padding

keras = _keras()
ops = keras.ops


@keras.saving.register_keras_serializable(package="sernet")
class MultiScaleDilatedConv(FrameMaskedLayer):
    """Parallel 1-D convolutions with different dilation rates, concatenated on the channel axis.

    Branch ``i`` is ``Conv1D(filters[i], kernel_size, dilation_rate=dilation_rates[i], padding="same",
    activation)``; the outputs are concatenated (64 + 64 + 64 = 192 channels in the paper). A branch of
    kernel size ``k`` and dilation ``d`` sees ``1 + (k - 1) d`` frames (see :mod:`sernet.model.cost`).

    Masking: padded frames are set to zero before the convolutions, so a real frame near the end of an
    utterance sees zeros to its right whether or not the batch padded the utterance.

    Input shape ``(batch, frames, channels_in)``, output ``(batch, frames, sum(filters))``.

    Args:
        filters: tuple of int. Filters per branch (``ModelConfig.conv_filters``).
        dilation_rates: tuple of int. One per branch (``ModelConfig.dilation_rates``).
        kernel_size: int. Taps of every branch (``ModelConfig.kernel_size``).
        activation: str. Activation of every branch (default ``"relu"``).

    Call arguments:
        inputs: the frame sequence.
        mask: optional ``(batch, frames)``, 1 for real frames, 0 for padding.

    Example:
    >>> tuple(MultiScaleDilatedConv((64, 64, 64), (1, 2, 4), 3)(np.zeros((2, 50, 180))).shape)
    (2, 50, 192)
    """

    def __init__(self, filters=(64, 64, 64), dilation_rates=(1, 2, 4), kernel_size: int = 3,
                 activation: str = "relu", **kwargs) -> None:
        super().__init__(**kwargs)
        self.filters = tuple(int(f) for f in filters)
        self.dilation_rates = tuple(int(d) for d in dilation_rates)
        if len(self.filters) != len(self.dilation_rates) or not self.filters:
            raise ValueError(
                f"{self.name}: filters {self.filters} and dilation_rates {self.dilation_rates} must be "
                "non-empty and of the same length (ModelConfig.conv_filters / dilation_rates)"
            )
        self.kernel_size = int(kernel_size)
        self.activation = activation
        self.branches = [
            keras.layers.Conv1D(f, self.kernel_size, dilation_rate=d, padding="same", activation=activation,
                                name=f"branch_d{d}_{i}", dtype=self.dtype_policy)
            for i, (f, d) in enumerate(zip(self.filters, self.dilation_rates, strict=True))
        ]

    def build(self, input_shape) -> None:
        for branch in self.branches:
            branch.build(input_shape)

    def call(self, inputs, mask=None):
        x = zero_padding(inputs, mask)
        outputs = [branch(x) for branch in self.branches]
        return outputs[0] if len(outputs) == 1 else ops.concatenate(outputs, axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], sum(self.filters))

    def get_config(self) -> dict:
        return {**super().get_config(), "filters": list(self.filters),
                "dilation_rates": list(self.dilation_rates), "kernel_size": self.kernel_size,
                "activation": self.activation}
