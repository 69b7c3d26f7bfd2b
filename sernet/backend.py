"""Quiet, lazy access to Keras.

TensorFlow writes absl/oneDNN/CUDA lines to the process's stderr file descriptor while it is imported;
nbval compares stderr, and users do not need the noise. :func:`keras` imports Keras (and so the backend)
once, with fd 2 redirected to /dev/null for the duration of the import only, and without touching any
performance setting (``TF_ENABLE_ONEDNN_OPTS`` stays as the user set it).

Every sernet module that needs Keras does ``from sernet.backend import keras`` -> ``keras()``.
"""

from __future__ import annotations

import contextlib
import os
import sys
from types import ModuleType


@contextlib.contextmanager
def silenced_stderr():
    """Redirect the stderr file descriptor (C and Python level) to /dev/null inside the block."""
    sys.stderr.flush()
    fds = {2}  # in a Jupyter kernel fd 2 is a pipe into the notebook; sys.stderr.fileno() is another fd
    try:
        fds.add(sys.stderr.fileno())
    except (AttributeError, OSError, ValueError):  # e.g. a notebook's stream without a real fd
        pass
    saved = {fd: os.dup(fd) for fd in fds}
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        for fd in fds:
            os.dup2(devnull, fd)
        with open(os.devnull, "w") as sink, contextlib.redirect_stderr(sink):
            yield
    finally:
        sys.stderr.flush()
        for fd, copy in saved.items():
            os.dup2(copy, fd)
            os.close(copy)
        os.close(devnull)


_KERAS: ModuleType | None = None


def keras() -> ModuleType:
    """Import and return ``keras`` quietly (first call only does the import)."""
    global _KERAS
    if _KERAS is None:
        os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with silenced_stderr():
            import keras as _k

            if _k.backend.backend() == "tensorflow":
                import tensorflow as tf

                tf.get_logger().setLevel("ERROR")
                tf.config.list_physical_devices()  # device discovery logs (cuInit) happen here, silenced
                with contextlib.suppress(Exception):
                    import absl.logging

                    absl.logging.set_verbosity(absl.logging.ERROR)
        _KERAS = _k
    return _KERAS


def backend_name() -> str:
    """The active Keras backend ("tensorflow", "jax" or "torch")."""
    return keras().backend.backend()


def cpu_model() -> str:
    """The processor's model name (``/proc/cpuinfo``; ``platform`` elsewhere), for benchmark and study records."""
    import platform

    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
