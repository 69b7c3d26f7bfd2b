"""One helper for the checks every sernet layer must pass (keras-hub style, kept short).

``check_layer`` runs: get_config → JSON → from_config round trip, a symbolic call in a functional model,
an eager call (output shape), one ``fit`` step (finite loss, weights move), and a ``.keras`` save/load
with identical outputs.
"""

from __future__ import annotations

import json

import numpy as np

from sernet.backend import keras as _keras

keras = _keras()


def example_mask(batch: int, frames: int, n_padded: int = 3) -> np.ndarray:
    """All frames real except the last ``n_padded`` of the last example."""
    mask = np.ones((batch, frames), dtype="float32")
    mask[-1, frames - n_padded :] = 0.0
    return mask


def check_layer(cls, init_kwargs: dict, input_shape: tuple[int, ...], expected_output_shape: tuple,
                tmp_path, *, takes_mask: bool = True, seed: int = 0) -> None:
    """Run the standard layer checks; ``expected_output_shape`` is that of the first output."""
    layer = cls(**init_kwargs)
    config = layer.get_config()
    assert cls.from_config(json.loads(json.dumps(config))).get_config() == config

    x_in = keras.Input(input_shape[1:], name="x")
    inputs = [x_in]
    if takes_mask:
        m_in = keras.Input(input_shape[1:2], name="m")
        inputs.append(m_in)
        out = layer(x_in, mask=m_in)
    else:
        out = layer(x_in)
    first = out[0] if isinstance(out, list | tuple) else out
    model = keras.Model(inputs, first)

    rng = np.random.default_rng(seed)
    x = rng.normal(size=input_shape).astype("float32")
    data = [x, example_mask(input_shape[0], input_shape[1])] if takes_mask else [x]
    y = keras.ops.convert_to_numpy(model(data, training=False))
    assert y.shape == tuple(expected_output_shape)
    assert np.all(np.isfinite(y))

    if model.trainable_weights:
        before = [keras.ops.convert_to_numpy(w).copy() for w in model.trainable_weights]
        model.compile(optimizer=keras.optimizers.SGD(0.1), loss="mse")
        target = rng.normal(size=y.shape).astype("float32")
        history = model.fit(data, target, epochs=1, batch_size=input_shape[0], verbose=0)
        assert np.isfinite(history.history["loss"][0])
        after = [keras.ops.convert_to_numpy(w) for w in model.trainable_weights]
        assert any(not np.allclose(a, b) for a, b in zip(before, after, strict=True))

    path = tmp_path / f"{cls.__name__}.keras"
    model.save(path)
    reloaded = keras.models.load_model(path)
    np.testing.assert_allclose(keras.ops.convert_to_numpy(reloaded(data, training=False)),
                               keras.ops.convert_to_numpy(model(data, training=False)), rtol=1e-6, atol=1e-6)
