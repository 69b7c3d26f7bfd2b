"""Runners: one interface, ``logits(features [B, L, D], mask [B, L]) -> [B, C]``, over a Keras model (a forward
pass compiled once), a TensorFlow SavedModel, a LiteRT file and an ONNX file (ONNX Runtime); the predictor and
the benchmarks use them alike.
"""

from __future__ import annotations

import contextlib
from pathlib import Path
from typing import Any

import numpy as np

from sernet.backend import keras, silenced_stderr
from sernet.errors import SernetError

_BLAS = None


def single_threaded_blas():
    """A context in which NumPy's BLAS uses one thread (``threadpoolctl``; a no-op without it).

    Feature extraction of one utterance does small matrix products (the 128-band mel filterbank, the DCT):
    OpenBLAS's default of one thread per core only adds synchronisation, which on a busy machine made the
    features ~3x slower (measured in chapters/08_deployment.py). Parallelism belongs across utterances.
    """
    global _BLAS
    if _BLAS is None:
        try:
            from threadpoolctl import ThreadpoolController

            _BLAS = ThreadpoolController()
        except ImportError:  # threadpoolctl comes with scikit-learn
            _BLAS = False
    return _BLAS.limit(limits=1, user_api="blas") if _BLAS else contextlib.nullcontext()



class KerasRunner:
    """Run a Keras model on ``[B, max_length, 268]`` windows through a forward pass compiled once.

    Parameters
    ----------
    model : keras.Model
        A SER-Net (or baseline) model with inputs ``{"features", "mask"}`` and logits output.
    max_length : int
        The fixed window length the compiled function is traced for (any batch size).
    method : {"compiled", "xla", "predict_on_batch", "call"}
        ``"compiled"`` (default): ``tf.function`` (TensorFlow) / ``jax.jit`` (JAX) around
        ``model(..., training=False)`` - the fastest path measured in ``sernet bench latency``;
        ``"xla"``: the same with ``jit_compile=True`` (TensorFlow); ``"predict_on_batch"`` and ``"call"``
        (eager) are kept for the benchmark's comparison.
    unmasked : keras.Model, optional
        The same model without the mask input (:func:`sernet.model.unmasked_twin`), compiled beside it and
        run on batches whose mask is all ones (windows without padding): the same logits without the masking
        work. Used only with ``"compiled"`` and ``"xla"``.
    """

    def __init__(self, model, max_length: int, method: str = "compiled", unmasked=None) -> None:
        self.model = model
        self.max_length = int(max_length)
        self.method = method
        self.n_features = int(model.input["features"].shape[-1]) if isinstance(model.input, dict) else None
        self.mask_dtype = mask_dtype(model)
        compiled = method in ("compiled", "xla")
        self._fn = self._compile(model, masked=True, xla=method == "xla") if compiled else None
        self._full_fn = (self._compile(unmasked, masked=False, xla=method == "xla")
                         if compiled and unmasked is not None else None)

    def _compile(self, model, masked: bool, xla: bool = False):
        backend = keras().backend.backend()

        def call(features, mask):
            return model({"features": features, "mask": mask} if masked else {"features": features}, training=False)

        if backend == "tensorflow":
            import tensorflow as tf

            spec = [tf.TensorSpec([None, self.max_length, self.n_features], tf.float32, name="features")]
            if masked:
                spec.append(tf.TensorSpec([None, self.max_length], self.mask_dtype, name="mask"))

            @tf.function(input_signature=spec, reduce_retracing=True, jit_compile=xla or None)
            def forward(features, mask=None):
                return call(features, mask)

            return lambda f, m: (forward(f, m) if masked else forward(f)).numpy()
        if backend == "jax":
            import jax

            trainable = [v.value for v in model.trainable_variables]
            non_trainable = [v.value for v in model.non_trainable_variables]

            @jax.jit
            def forward(tv, ntv, features, mask):
                inputs = {"features": features, "mask": mask} if masked else {"features": features}
                out, _ = model.stateless_call(tv, ntv, inputs, training=False)
                return out

            return lambda f, m: np.asarray(forward(trainable, non_trainable, f, m if masked else None))
        return None  # other backends: eager call

    def logits(self, features: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Logits [B, n_classes] (float32) for normalised ``features`` [B, L, D] and ``mask`` [B, L]."""
        features = np.ascontiguousarray(features, dtype=np.float32)
        mask = np.ascontiguousarray(mask, dtype=self.mask_dtype)
        inputs = {"features": features, "mask": mask}
        if self._full_fn is not None and bool(mask.all()):
            return np.asarray(self._full_fn(features, None), dtype=np.float32)
        if self._fn is not None:
            return np.asarray(self._fn(features, mask), dtype=np.float32)
        if self.method == "predict_on_batch":
            out = self.model.predict_on_batch(inputs)
        else:
            out = self.model(inputs, training=False)
        return np.asarray(keras().ops.convert_to_numpy(out), dtype=np.float32)


class SavedModelRunner:
    """Run an exported TensorFlow SavedModel (endpoint ``serve``, see :func:`sernet.deploy.export.export_saved_model`)."""

    def __init__(self, path: str | Path) -> None:
        keras()  # quiet TensorFlow import
        import tensorflow as tf

        self.path = Path(path)
        try:
            with silenced_stderr():
                self._obj = tf.saved_model.load(str(self.path))
        except Exception as exc:
            raise SernetError(f"{self.path}: not a loadable SavedModel ({type(exc).__name__}: {exc})") from None
        self._serve = self._obj.signatures.get("serve") or self._obj.serve
        spec = self._serve.structured_input_signature[1] if hasattr(self._serve, "structured_input_signature") else {}
        self.mask_dtype = spec["mask"].dtype.as_numpy_dtype if "mask" in spec else np.float32
        self.max_length = int(spec["features"].shape[1]) if "features" in spec else None

    def logits(self, features: np.ndarray, mask: np.ndarray) -> np.ndarray:
        import tensorflow as tf

        out = self._serve(features=tf.constant(features, tf.float32), mask=tf.constant(mask.astype(self.mask_dtype)))
        if isinstance(out, dict):
            out = next(iter(out.values()))
        return np.asarray(out, dtype=np.float32)


class LiteRTRunner:
    """Run a LiteRT (``.tflite``) export with ``ai_edge_litert``; resizes the batch dimension on demand.

    Parameters
    ----------
    path : str or Path
        The ``.tflite`` file.
    num_threads : int or None
        Interpreter threads (None: LiteRT's default).
    """

    def __init__(self, path: str | Path, num_threads: int | None = None) -> None:
        try:
            from ai_edge_litert.interpreter import Interpreter
        except ImportError:
            raise SernetError(
                f"{path}: running LiteRT models needs the 'ai-edge-litert' package (pip install 'sernet[deploy]')"
            ) from None
        self.path = Path(path)
        try:
            with silenced_stderr():
                self._interp = Interpreter(model_path=str(self.path), num_threads=num_threads)
        except Exception as exc:
            raise SernetError(f"{self.path}: not a loadable LiteRT model ({exc})") from None
        self._inputs = {}
        for d in self._interp.get_input_details():
            key = "mask" if "mask" in d["name"] else "features"
            self._inputs[key] = d
        self._output = self._interp.get_output_details()[0]
        self.mask_dtype = self._inputs["mask"]["dtype"]
        self.max_length = int(self._inputs["features"]["shape"][1])
        self._batch = None
        self._fresh = True

    def _resize(self, batch: int) -> None:
        if batch == self._batch:
            return
        with silenced_stderr():  # applying the XNNPACK delegate logs an INFO line to fd 2
            for d in self._inputs.values():
                shape = list(d["shape"])
                shape[0] = batch
                self._interp.resize_tensor_input(d["index"], shape, strict=False)
            self._interp.allocate_tensors()
        self._batch = batch
        self._fresh = True

    def logits(self, features: np.ndarray, mask: np.ndarray) -> np.ndarray:
        self._resize(len(features))
        self._interp.set_tensor(self._inputs["features"]["index"], np.ascontiguousarray(features, np.float32))
        self._interp.set_tensor(self._inputs["mask"]["index"], np.ascontiguousarray(mask, self.mask_dtype))
        if self._fresh:  # the first invoke after (re)allocation may log too
            with silenced_stderr():
                self._interp.invoke()
            self._fresh = False
        else:
            self._interp.invoke()
        return np.array(self._interp.get_tensor(self._output["index"]), dtype=np.float32)


ONNX_OPTIMIZATION = {"disable": "ORT_DISABLE_ALL", "basic": "ORT_ENABLE_BASIC", "extended": "ORT_ENABLE_EXTENDED",
                     "layout": "ORT_ENABLE_LAYOUT", "all": "ORT_ENABLE_ALL"}
"""``cfg.deploy.onnx_optimization`` -> the name of onnxruntime's ``GraphOptimizationLevel``."""


class OnnxRuntimeRunner:
    """Run an ONNX export (:func:`sernet.deploy.export.export_onnx`) with ONNX Runtime on the CPU.

    Parameters
    ----------
    path : str or Path
        The ``.onnx`` file (inputs ``features`` [B, T, D] and ``mask`` [B, T], output logits [B, C]).
    num_threads : int or None
        Intra-op threads (None: ONNX Runtime's default, one per physical core).
    optimization : {"disable", "basic", "extended", "layout", "all"}
        Graph optimisation level (``cfg.deploy.onnx_optimization``).
    allow_spinning : bool
        Let idle worker threads spin (``session.intra_op.allow_spinning``; ``cfg.deploy.onnx_allow_spinning``).

    Raises
    ------
    SernetError
        If onnxruntime is not installed, or the file is missing or not a loadable ONNX model with those
        inputs (the message names the file).

    Examples
    --------
    >>> runner = OnnxRuntimeRunner("export/model.onnx", num_threads=1)   # doctest: +SKIP
    >>> runner.logits(features, mask).shape                             # doctest: +SKIP
    (4, 8)
    """

    def __init__(self, path: str | Path, num_threads: int | None = None, optimization: str = "all",
                 allow_spinning: bool = False) -> None:
        try:
            import onnxruntime as ort
        except ImportError:
            raise SernetError(
                f"{path}: running ONNX models needs the 'onnxruntime' package (pip install 'sernet[deploy]')"
            ) from None
        self.path = Path(path)
        if not self.path.is_file():
            raise SernetError(f"{self.path}: no such ONNX file")
        if optimization not in ONNX_OPTIMIZATION:
            raise SernetError(f"{self.path}: unknown ONNX Runtime optimisation level {optimization!r}; "
                              f"expected one of {sorted(ONNX_OPTIMIZATION)}")
        options = ort.SessionOptions()
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, ONNX_OPTIMIZATION[optimization])
        if num_threads:
            options.intra_op_num_threads = int(num_threads)
            options.inter_op_num_threads = 1
        options.add_session_config_entry("session.intra_op.allow_spinning", "1" if allow_spinning else "0")
        options.log_severity_level = 3  # errors only
        try:
            self._session = ort.InferenceSession(str(self.path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise SernetError(f"{self.path}: not a loadable ONNX model ({type(exc).__name__}: {exc})") from None
        inputs = {i.name: i for i in self._session.get_inputs()}
        if set(inputs) != {"features", "mask"}:
            raise SernetError(f"{self.path}: expected ONNX inputs 'features' and 'mask', found {sorted(inputs)}")
        self.mask_dtype = np.dtype("bool") if inputs["mask"].type == "tensor(bool)" else np.dtype(np.float32)
        length = inputs["features"].shape[1]
        self.max_length = int(length) if isinstance(length, int) else None
        self._output = self._session.get_outputs()[0].name

    def logits(self, features: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Logits [B, n_classes] (float32) for normalised ``features`` [B, L, D] and ``mask`` [B, L]."""
        feed = {"features": np.ascontiguousarray(features, np.float32),
                "mask": np.ascontiguousarray(mask, self.mask_dtype)}
        return np.asarray(self._session.run([self._output], feed)[0], dtype=np.float32)


def mask_dtype(model) -> Any:
    inputs = model.input if isinstance(model.input, dict) else {}
    dtype = getattr(inputs.get("mask"), "dtype", "float32")
    return np.dtype("bool") if str(dtype) == "bool" else np.dtype(str(dtype))


def output_width(model) -> int | None:
    try:
        return int(model.output.shape[-1])
    except (AttributeError, TypeError, ValueError):
        return None
