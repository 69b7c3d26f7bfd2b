"""Multi-device training through the framework's own distribution, chosen by ``train.distribution``.

==================  ===========  =================================================================
``distribution``    backend      what it builds
==================  ===========  =================================================================
``none``            any          nothing: one device (the default)
``mirrored``        tensorflow   ``tf.distribute.MirroredStrategy`` over the GPUs (the CPU when none)
``data_parallel``   jax          ``keras.distribution.DataParallel`` over the JAX devices
``auto``            any          ``mirrored`` / ``data_parallel`` when the backend sees more than one
                                 GPU, else ``none``
==================  ===========  =================================================================

``train.devices`` caps the number of devices (0: all). Both strategies are synchronous data parallelism:
every device holds a replica of the model, each batch of ``train.batch_size`` examples (the *global*
batch) is split across the replicas, and the gradients are all-reduced before each update. So a run on N
GPUs sees the same batches and learning-rate schedule as a run on one, up to BatchNormalization statistics
(computed per replica) and float summation order.

:func:`sernet.train.train` applies ``train.distribution`` itself when no ``strategy`` is passed, so
``sernet --set train.distribution=mirrored reproduce`` (or any verb that trains) is enough. Explicitly::

    from sernet import distribute
    with distribute.distribution_scope(cfg) as strategy:
        result = train(cfg, store, run_dir, strategy=strategy)

The trainer creates the model and optimizer inside ``strategy.scope()``; :func:`distribution_scope`
additionally makes a ``keras.distribution.DataParallel`` the global distribution for the whole run, so
JAX shards every input batch across the devices (Keras does that only while a distribution is set).
Explained in README.md ("Full profile on a real corpus / GPU box").
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

from sernet.backend import backend_name, keras
from sernet.config import Config
from sernet.errors import ConfigError

DISTRIBUTIONS: tuple[str, ...] = ("none", "auto", "mirrored", "data_parallel")
"""Values of ``train.distribution``."""

_BACKEND_OF = {"mirrored": "tensorflow", "data_parallel": "jax"}


def accelerators() -> list[str]:
    """The GPU devices the active Keras backend sees (TensorFlow names ``/gpu:0``, JAX ``gpu:0``)."""
    name = backend_name()
    if name == "tensorflow":
        import tensorflow as tf

        return [f"/gpu:{i}" for i, _ in enumerate(tf.config.list_logical_devices("GPU"))]
    if name == "jax":
        return [d for d in keras().distribution.list_devices() if not d.startswith("cpu")]
    return []


def resolve(kind: str, *, backend: str | None = None, n_accelerators: int | None = None) -> str:
    """The concrete distribution of ``kind`` on ``backend`` (default: the active one).

    ``auto`` becomes ``mirrored`` (TensorFlow) or ``data_parallel`` (JAX) when more than one GPU is
    visible, else ``none``. Raises ``ConfigError`` for an unknown kind or a kind the backend cannot run.
    """
    if kind not in DISTRIBUTIONS:
        raise ConfigError(f"config train.distribution={kind!r}: expected one of {DISTRIBUTIONS}")
    backend = backend or backend_name()
    if kind == "auto":
        n = len(accelerators()) if n_accelerators is None else n_accelerators
        if n <= 1:
            return "none"
        kind = {"tensorflow": "mirrored", "jax": "data_parallel"}.get(backend, "none")
    needed = _BACKEND_OF.get(kind)
    if needed is not None and needed != backend:
        other = {"mirrored": "data_parallel", "data_parallel": "mirrored"}[kind]
        raise ConfigError(f"config train.distribution={kind!r} needs KERAS_BACKEND={needed}; the active "
                          f"backend is {backend} (use {other!r} there, or 'auto')")
    return kind


def make_strategy(kind: str, *, devices: int = 0) -> Any:
    """The strategy/distribution object of ``kind`` (``None`` for ``none``).

    Parameters
    ----------
    kind : {"none", "auto", "mirrored", "data_parallel"}
        See the module table.
    devices : int
        Use at most this many devices (0: all that are visible). Without a GPU, both strategies run on
        the one CPU device (the single-device form the tests exercise).

    Returns
    -------
    tf.distribute.MirroredStrategy or keras.distribution.DataParallel or None
        Anything with ``.scope()``, as :func:`sernet.train.train` takes it.
    """
    if devices < 0:
        raise ConfigError(f"config train.devices={devices}: expected 0 (all) or a positive count")
    kind = resolve(kind)
    if kind == "none":
        return None
    gpus = accelerators()
    if kind == "mirrored":
        import tensorflow as tf

        names = gpus or ["/cpu:0"]
        names = names[:devices] if devices else names
        return tf.distribute.MirroredStrategy(devices=names)
    k = keras()
    names = gpus or k.distribution.list_devices()
    names = names[:devices] if devices else names
    return k.distribution.DataParallel(devices=names)


def strategy_from_config(cfg: Config) -> Any:
    """:func:`make_strategy` of ``cfg.train.distribution`` and ``cfg.train.devices``."""
    return make_strategy(cfg.train.distribution, devices=cfg.train.devices)


@contextlib.contextmanager
def distribution_scope(cfg: Config) -> Iterator[Any]:
    """Yield the strategy of ``cfg`` (or None) for ``train(..., strategy=...)``; a Keras
    ``DataParallel`` is also set as the global distribution inside the block (and unset after it)."""
    strategy = strategy_from_config(cfg)
    k = keras()
    if hasattr(strategy, "device_mesh"):  # a keras.distribution.Distribution (DataParallel)
        previous = k.distribution.distribution()
        k.distribution.set_distribution(strategy)
        try:
            yield strategy
        finally:
            k.distribution.set_distribution(previous)
    else:
        yield strategy


def replicas(strategy: Any) -> int:
    """How many model replicas ``strategy`` trains (1 for None)."""
    if strategy is None:
        return 1
    if hasattr(strategy, "num_replicas_in_sync"):
        return int(strategy.num_replicas_in_sync)
    return int(strategy.device_mesh.devices.size)


def describe(strategy: Any) -> str:
    """One line naming the strategy and its devices, e.g. ``MirroredStrategy on 2 device(s): ...``."""
    if strategy is None:
        return "no distribution (one device)"
    if hasattr(strategy, "extended"):
        devices = list(strategy.extended.worker_devices)
    else:
        devices = [str(d) for d in strategy.device_mesh.devices.ravel()]
    return f"{type(strategy).__name__} on {len(devices)} device(s): {', '.join(devices)}"
