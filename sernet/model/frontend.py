"""The model's input front end: pick the stored feature groups and learn the 128 → 40 mel projection.

The data pipeline always delivers the full stored frame vector (268 columns, layout in
:mod:`sernet.features.layout`); these layers take the groups the model uses, so every ablation reads the
same cache. Explained in chapters/03_architecture.py.
"""

from __future__ import annotations

from sernet.backend import keras as _keras
from sernet.features import layout

keras = _keras()
ops = keras.ops


def _check_stored_width(layer: keras.layers.Layer, input_shape) -> None:
    if input_shape[-1] is not None and input_shape[-1] != layout.N_STORED:
        raise ValueError(
            f"{layer.name}: expected stored frame vectors of {layout.N_STORED} columns "
            f"(sernet.features.layout), got input shape {tuple(input_shape)}"
        )


@keras.saving.register_keras_serializable(package="sernet")
class FeatureGroup(keras.layers.Layer):
    """Select one stored feature group ("mfcc", "mel" or "prosody") of every frame.

    Input shape: ``(batch, frames, 268)``. Output shape: ``(batch, frames, len(group))``.
    A pure slice: padded frames stay whatever they were (later layers mask them).

    Args:
        group: str. A key of ``sernet.features.layout.GROUPS``.

    Example:
    >>> tuple(FeatureGroup("prosody")(np.zeros((2, 5, 268))).shape)
    (2, 5, 20)
    """

    def __init__(self, group: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.group = group
        self._slice = layout.group_slice(group)  # raises KeyError naming the known groups

    def build(self, input_shape) -> None:
        _check_stored_width(self, input_shape)

    def call(self, inputs):
        return inputs[..., self._slice.start : self._slice.stop]

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self._slice.stop - self._slice.start)

    def get_config(self) -> dict:
        return {**super().get_config(), "group": self.group}


@keras.saving.register_keras_serializable(package="sernet")
class MelProjection(keras.layers.Layer):
    """The learned per-frame projection of the 128 log-mel bands to ``units`` dims (paper §3.1.2).

    ``y_t = W · mel_t + b`` with ``W`` of shape ``(128, units)``; no activation (a linear compression,
    like a learned DCT). Input shape ``(batch, frames, 268)``, output ``(batch, frames, units)``.

    Args:
        units: int. Projection width (``ModelConfig.mel_projection_dim``, 40 in the paper).

    Example:
    >>> tuple(MelProjection(40)(np.zeros((2, 5, 268))).shape)
    (2, 5, 40)
    """

    def __init__(self, units: int = layout.MEL_PROJECTION_DIM, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = int(units)
        self._slice = layout.group_slice("mel")
        self.dense = keras.layers.Dense(self.units, name="dense", dtype=self.dtype_policy)

    def build(self, input_shape) -> None:
        _check_stored_width(self, input_shape)
        self.dense.build((*input_shape[:-1], self._slice.stop - self._slice.start))

    def call(self, inputs):
        return self.dense(inputs[..., self._slice.start : self._slice.stop])

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}
