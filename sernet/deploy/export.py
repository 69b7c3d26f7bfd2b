"""Export a trained SER-Net for serving: TensorFlow SavedModel, LiteRT (TFLite) float32 / float16 / int8 and
ONNX float32 / static int8.

Every export fixes the time axis to ``T = cfg.features.max_length`` frames (the batch axis stays free), the
shape :class:`sernet.deploy.predictor.Predictor` always feeds (longer audio is windowed, shorter is padded and masked),
so the converters never see a dynamic time dimension. An export folder is itself loadable by
``Predictor.load`` / ``sernet predict``::

    out/
      saved_model/              model.export(..., format="tf_saved_model"); endpoint "serve"(features, mask)
      model_fp32.tflite         TFLiteConverter.from_saved_model, no optimisation
      model_fp16.tflite         float16 weights (Optimize.DEFAULT + supported_types=[float16])
      model_int8.tflite         dynamic-range int8 weights (Optimize.DEFAULT, no representative data)
      model.onnx                Keras 3's own model.export(..., format="onnx") (tf2onnx from the traced function)
      model_int8.onnx           onnxruntime static QDQ quantisation of model.onnx, calibrated on training windows
      config.json, norm_stats.npz   copied from the run (the feature recipe, z-score statistics and, in
                                    config.json's ``classes``, the names of the model's outputs)
      export_report.json        size and parity of every format (see :func:`check_parity`)

Parity: each export runs the same batch of real, normalised feature windows as the Keras model; we report the
largest absolute logit difference (``max_abs_dlogit``), compare it with the format's tolerance
(``cfg.deploy.parity_atol_*``) and give the agreement rate of the predicted labels.

ONNX: an earlier attempt converted the *SavedModel* with ``tf2onnx`` and got logits off by up to 1.25. Keras
3's own ``model.export(path, format="onnx")`` converts the traced forward pass instead and agrees with the
Keras model to float32 rounding on ragged masks (``tests/test_onnx.py``), so that is the path used here. The
int8 variant is onnxruntime's static quantisation (``quantize_static``, QDQ format, per-channel int8 weights,
uint8 activations) of the operators in ``cfg.deploy.onnx_int8_ops``, calibrated on windows of the
training split (:class:`WindowCalibration`); it is judged by its label agreement
(``cfg.deploy.int8_min_agreement``) as well as its logit difference.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np

from sernet.backend import keras, silenced_stderr
from sernet.config import Config
from sernet.errors import SernetError

FORMATS: tuple[str, ...] = ("saved_model", "tflite_fp32", "tflite_fp16", "tflite_int8", "onnx", "onnx_int8")
"""Export formats, in the order they are produced."""

FILENAMES = {
    "saved_model": "saved_model",
    "tflite_fp32": "model_fp32.tflite",
    "tflite_fp16": "model_fp16.tflite",
    "tflite_int8": "model_int8.tflite",
    "onnx": "model.onnx",
    "onnx_int8": "model_int8.onnx",
}
REPORT_FILE = "export_report.json"


@dataclass(frozen=True)
class ExportResult:
    """One exported format: where it is, how big, and how close to the Keras model.

    Attributes
    ----------
    format : str
        One of :data:`FORMATS`.
    path : str
        The file (or SavedModel folder).
    size_mb : float
        Size on disk in MB (10^6 bytes; a SavedModel counts all its files).
    max_abs_dlogit : float
        Largest |logit(export) - logit(Keras)| over the parity batch.
    label_agreement : float
        Fraction of parity windows whose argmax label matches the Keras model's.
    tolerance : float
        The allowed ``max_abs_dlogit`` for this format (``cfg.deploy.parity_atol_*``).
    n_parity : int
        Number of windows compared.
    min_agreement : float
        The label agreement this format must reach (``cfg.deploy.int8_min_agreement`` for ONNX int8, else 0).
    near_ties : float
        Fraction of parity windows whose Keras top-two logit margin is at most ``2 * max_abs_dlogit``: the
        only windows an error of that size can relabel (each logit moves by at most ``max_abs_dlogit``, so the
        margin by at most twice that), hence ``label_agreement >= 1 - near_ties`` always. When the
        near ties alone exceed ``1 - min_agreement``, an error of that size no longer guarantees the
        minimum: whether it is reached depends on the trained model's margins, not on the converter alone
        (Chapter 8).
    """

    format: str
    path: str
    size_mb: float
    max_abs_dlogit: float
    label_agreement: float
    tolerance: float
    n_parity: int
    min_agreement: float = 0.0
    near_ties: float = 0.0

    @property
    def passed(self) -> bool:
        """Whether the logit difference is within the tolerance and the label agreement reaches its minimum."""
        return self.max_abs_dlogit <= self.tolerance and self.label_agreement >= self.min_agreement

    def agreement_interval(self, confidence: float = 0.95):
        """The label agreement with its exact (Clopper–Pearson) binomial interval over the parity windows.

        The windows are treated as independent trials (one window per utterance; utterances of one speaker
        are not independent, so the interval is, if anything, too narrow).

        Examples
        --------
        >>> r = ExportResult("onnx_int8", "m.onnx", 0.1, 0.2, 0.99, 0.5, 400, 0.99)
        >>> ci = r.agreement_interval()
        >>> round(ci.estimate, 2), round(ci.low, 3) < 0.99 < round(ci.high, 3)
        (0.99, True)
        """
        from scipy.stats import binomtest

        from sernet.analysis.bootstrap import Interval

        agree = int(round(self.label_agreement * self.n_parity))
        ci = binomtest(agree, self.n_parity).proportion_ci(confidence_level=confidence, method="exact")
        return Interval(agree / self.n_parity, float(ci.low), float(ci.high), confidence,
                        f"Clopper-Pearson over {self.n_parity} windows", self.n_parity)


def top2_margins(logits: np.ndarray) -> np.ndarray:
    """Per row of ``logits``, the best logit minus the second best (how far the label is from changing).

    >>> top2_margins(np.array([[2.0, 1.5, 0.0], [3.0, 0.0, 0.0]]))
    array([0.5, 3. ])
    """
    top2 = np.sort(np.asarray(logits, np.float64), axis=1)[:, -2:]
    return top2[:, 1] - top2[:, 0]


def near_tie_share(reference: np.ndarray, max_abs_dlogit: float) -> float:
    """Fraction of rows of ``reference`` logits whose top-two margin is at most ``2 * max_abs_dlogit``.

    >>> near_tie_share(np.array([[2.0, 1.9, 0.0], [3.0, 0.0, 0.0]]), 0.1)
    0.5
    """
    return float(np.mean(top2_margins(reference) <= 2 * max_abs_dlogit))


def tolerance(cfg: Config, fmt: str) -> float:
    """The parity tolerance (max |Δlogit|) of an export format."""
    if fmt in ("saved_model", "tflite_fp32", "onnx"):
        return cfg.deploy.parity_atol_fp32
    if fmt == "tflite_fp16":
        return cfg.deploy.parity_atol_fp16
    if fmt in ("tflite_int8", "onnx_int8"):
        return cfg.deploy.parity_atol_int8
    raise SernetError(f"unknown export format {fmt!r}; expected one of {FORMATS}")


def size_mb(path: str | Path) -> float:
    """Size of a file, or of every file under a folder, in MB (10^6 bytes)."""
    path = Path(path)
    if path.is_dir():
        return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) / 1e6
    return path.stat().st_size / 1e6


def _tf():
    keras()  # quiet TensorFlow import
    if keras().backend.backend() != "tensorflow":
        raise SernetError("exporting needs the TensorFlow backend (KERAS_BACKEND=tensorflow); "
                          "a .keras file saved under JAX loads under TensorFlow")
    import tensorflow as tf

    return tf


def export_saved_model(model, path: str | Path, max_length: int) -> Path:
    """Write ``model`` as a TensorFlow SavedModel with endpoint ``serve(features, mask)``.

    Parameters
    ----------
    model : keras.Model
        Inputs ``{"features": [B, T, D], "mask": [B, T]}``, output logits ``[B, C]``.
    path : str or Path
        Output folder (replaced if it exists).
    max_length : int
        The fixed time axis ``T`` of the exported signature.
    """
    tf = _tf()
    from sernet.deploy.runners import mask_dtype

    path = Path(path)
    if path.exists():
        shutil.rmtree(path)
    n_features = int(model.input["features"].shape[-1])
    mask_dtype = tf.as_dtype(mask_dtype(model))
    signature = [{
        "features": tf.TensorSpec([None, max_length, n_features], tf.float32, name="features"),
        "mask": tf.TensorSpec([None, max_length], mask_dtype, name="mask"),
    }]
    with silenced_stderr():
        model.export(str(path), format="tf_saved_model", input_signature=signature, verbose=False)
    return path


def convert_tflite(saved_model: str | Path, path: str | Path, quantization: str = "fp32") -> Path:
    """Convert a SavedModel to LiteRT with ``tf.lite.TFLiteConverter``.

    Parameters
    ----------
    saved_model : str or Path
        A folder written by :func:`export_saved_model`.
    path : str or Path
        The ``.tflite`` file to write.
    quantization : {"fp32", "fp16", "int8"}
        ``fp16``: float16 weights (computed in float32 on CPU); ``int8``: dynamic-range quantisation
        (int8 weights, activations quantised on the fly; no calibration data needed).
    """
    tf = _tf()
    converter = tf.lite.TFLiteConverter.from_saved_model(str(saved_model), signature_keys=["serve"])
    if quantization == "fp16":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
        converter.target_spec.supported_types = [tf.float16]
    elif quantization == "int8":
        converter.optimizations = [tf.lite.Optimize.DEFAULT]
    elif quantization != "fp32":
        raise SernetError(f"unknown LiteRT quantization {quantization!r}; expected fp32, fp16 or int8")
    with silenced_stderr():
        blob = converter.convert()
    path = Path(path)
    tmp = path.with_name(path.name + ".partial")
    tmp.write_bytes(blob)
    tmp.replace(path)
    return path


def export_onnx(model, path: str | Path, max_length: int, opset: int | None = None) -> Path:
    """Write ``model`` as ONNX with Keras 3's ``model.export(path, format="onnx")``.

    Inputs ``features`` [B, max_length, D] (float32) and ``mask`` [B, max_length] (the model's mask dtype),
    output the logits [B, C]; the batch axis stays free.

    Parameters
    ----------
    model : keras.Model
        Inputs ``{"features", "mask"}``, output logits.
    path : str or Path
        The ``.onnx`` file to write (replaced atomically).
    max_length : int
        The fixed time axis ``T``.
    opset : int or None
        ONNX opset (``cfg.deploy.onnx_opset``; None: the converter's default).

    Raises
    ------
    SernetError
        If the converter fails (the message names the file).
    """
    tf = _tf()
    from sernet.deploy.runners import mask_dtype

    path = Path(path)
    n_features = int(model.input["features"].shape[-1])
    signature = [{
        "features": tf.TensorSpec([None, max_length, n_features], tf.float32, name="features"),
        "mask": tf.TensorSpec([None, max_length], tf.as_dtype(mask_dtype(model)), name="mask"),
    }]
    tmp = path.with_name(path.stem + ".partial.onnx")
    try:
        with silenced_stderr():
            model.export(str(tmp), format="onnx", input_signature=signature, opset_version=opset, verbose=False)
    except Exception as exc:
        raise SernetError(f"{path}: ONNX conversion failed ({type(exc).__name__}: {exc})") from None
    tmp.replace(path)
    return path


class WindowCalibration:
    """An onnxruntime ``CalibrationDataReader`` over normalised feature windows, ``batch_size`` at a time.

    onnxruntime recognises any class with ``get_next`` as a ``CalibrationDataReader`` (its ``__subclasshook__``),
    so this one does not import onnxruntime.

    Parameters
    ----------
    features, mask : np.ndarray [shape=(N, T, D)], [shape=(N, T)]
        Calibration windows (training windows: :func:`sernet.cli.export.calibration_features`).
    batch_size : int
        Windows per calibration batch.
    mask_dtype : numpy dtype
        The exported model's mask dtype.
    """

    def __init__(self, features: np.ndarray, mask: np.ndarray, batch_size: int, mask_dtype=np.float32) -> None:
        self._batches = [{"features": np.ascontiguousarray(features[i : i + batch_size], np.float32),
                          "mask": np.ascontiguousarray(mask[i : i + batch_size], mask_dtype)}
                         for i in range(0, len(features), batch_size)]
        self._next = 0

    def get_next(self) -> dict[str, np.ndarray] | None:
        """The next batch as an input feed, or None when all were read."""
        if self._next >= len(self._batches):
            return None
        self._next += 1
        return self._batches[self._next - 1]

    def rewind(self) -> None:
        """Start again from the first batch."""
        self._next = 0

    def __len__(self) -> int:
        return len(self._batches)

    def __iter__(self):
        return self

    def __next__(self) -> dict[str, np.ndarray]:
        feed = self.get_next()
        if feed is None:
            raise StopIteration
        return feed


def quantize_onnx_int8(fp32_path: str | Path, path: str | Path, calibration: WindowCalibration,
                       op_types: tuple[str, ...]) -> Path:
    """Static int8 quantisation (QDQ) of an ONNX model with onnxruntime, calibrated on ``calibration``.

    Weights are int8 per output channel, activations uint8 (onnxruntime's recommendation for x86 CPUs), with
    MinMax calibration; only the operator types in ``op_types`` (e.g. ``Conv``, ``MatMul``) are quantised,
    the rest (softmax, normalisation, masking) stay float32. The model is first run through onnxruntime's
    quantisation pre-processing (ONNX shape inference and graph optimisation; the shapes are static but for the
    batch axis, so onnxruntime's symbolic shape inference is not needed).

    Parameters
    ----------
    fp32_path : str or Path
        The float32 ``.onnx`` file (:func:`export_onnx`).
    path : str or Path
        The int8 ``.onnx`` file to write.
    calibration : WindowCalibration
        Calibration batches.
    op_types : tuple of str
        ONNX operator types to quantise (``cfg.deploy.onnx_int8_ops``).
    """
    from onnxruntime.quantization import CalibrationMethod, QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    path = Path(path)
    pre = path.with_name(path.stem + ".pre.onnx")
    try:
        with silenced_stderr():
            quant_pre_process(str(fp32_path), str(pre), skip_symbolic_shape=True)
            quantize_static(str(pre), str(path), calibration, quant_format=QuantFormat.QDQ,
                            op_types_to_quantize=list(op_types), per_channel=True,
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8,
                            calibrate_method=CalibrationMethod.MinMax)
    except Exception as exc:
        raise SernetError(f"{path}: ONNX int8 quantisation failed ({type(exc).__name__}: {exc})") from None
    finally:
        pre.unlink(missing_ok=True)
    return path


def runner_for(fmt: str, path: str | Path, cfg: Config | None = None):
    """An inference runner (``logits(features, mask)``) for an exported file or folder."""
    from sernet.deploy.runners import LiteRTRunner, OnnxRuntimeRunner, SavedModelRunner

    if fmt == "saved_model":
        return SavedModelRunner(path)
    if fmt.startswith("onnx"):
        return OnnxRuntimeRunner(path, optimization=cfg.deploy.onnx_optimization if cfg else "all",
                                 allow_spinning=cfg.deploy.onnx_allow_spinning if cfg else False)
    return LiteRTRunner(path)


def check_parity(reference: np.ndarray, runner, features: np.ndarray, mask: np.ndarray,
                 batch_size: int) -> tuple[float, float]:
    """Max |Δlogit| and label agreement of ``runner`` against ``reference`` logits on the same windows."""
    out = np.concatenate([runner.logits(features[i : i + batch_size], mask[i : i + batch_size])
                          for i in range(0, len(features), batch_size)])
    max_abs = float(np.max(np.abs(out - reference)))
    agreement = float(np.mean(np.argmax(out, axis=1) == np.argmax(reference, axis=1)))
    return max_abs, agreement


def export_model(predictor, out_dir: str | Path, features: np.ndarray, mask: np.ndarray,
                 formats: tuple[str, ...] = FORMATS,
                 calibration: tuple[np.ndarray, np.ndarray] | None = None) -> list[ExportResult]:
    """Export a Keras-backed :class:`~sernet.deploy.predictor.Predictor` in every format and check parity.

    Parameters
    ----------
    predictor : sernet.deploy.predictor.Predictor
        Loaded from a run directory (it must hold the Keras model).
    out_dir : str or Path
        Output folder (see the module docstring for its layout).
    features, mask : np.ndarray [shape=(N, max_length, D)], [shape=(N, max_length)]
        Normalised parity windows (real features; see :func:`parity_windows`).
    formats : tuple of str
        Subset of :data:`FORMATS`; a LiteRT format needs the SavedModel, which is always written; ONNX int8
        needs the float32 ONNX file, which is written with it.
    calibration : (features, mask) or None
        Normalised training windows that calibrate the ONNX int8 activations (None: the parity windows, which
        makes the int8 parity optimistic; ``sernet export`` passes training windows).

    Returns
    -------
    list[ExportResult]
        One per format, also written to ``out_dir/export_report.json``.
    """
    from sernet.deploy.predictor import write_metadata

    if predictor.model is None:
        raise SernetError("export needs a Keras model: load a run directory or a .keras file")
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        raise SernetError(f"unknown export format(s) {unknown}; expected some of {FORMATS}")
    cfg = predictor.cfg
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    write_metadata(out, cfg, predictor.norm_mean, predictor.norm_std, classes=predictor.classes)
    batch = max(cfg.deploy.bench_batch_sizes)
    reference = predictor.logits(features, mask, batch)
    from sernet.deploy.runners import mask_dtype

    saved = None
    if any(f == "saved_model" or f.startswith("tflite") for f in formats):
        saved = export_saved_model(predictor.model, out / FILENAMES["saved_model"], predictor.max_length)
    onnx_path = None
    if any(f.startswith("onnx") for f in formats):
        onnx_path = export_onnx(predictor.model, out / FILENAMES["onnx"], predictor.max_length,
                                cfg.deploy.onnx_opset)
    results = []
    for fmt in formats:
        if fmt == "saved_model":
            path = saved
        elif fmt == "onnx":
            path = onnx_path
        elif fmt == "onnx_int8":
            cx, cm = calibration if calibration is not None else (features, mask)
            reader = WindowCalibration(cx, cm, batch, mask_dtype(predictor.model))
            path = quantize_onnx_int8(onnx_path, out / FILENAMES[fmt], reader, cfg.deploy.onnx_int8_ops)
        else:
            path = convert_tflite(saved, out / FILENAMES[fmt], fmt.split("_")[1])
        max_abs, agreement = check_parity(reference, runner_for(fmt, path, cfg), features, mask, batch)
        results.append(ExportResult(fmt, str(path), round(size_mb(path), 3), max_abs, agreement,
                                    tolerance(cfg, fmt), len(features),
                                    cfg.deploy.int8_min_agreement if fmt == "onnx_int8" else 0.0,
                                    near_tie_share(reference, max_abs)))
    (out / REPORT_FILE).write_text(json.dumps([asdict(r) for r in results], indent=2))
    return results


def parity_windows(predictor, raw_features: list[np.ndarray], n: int) -> tuple[np.ndarray, np.ndarray]:
    """Up to ``n`` normalised, masked windows (one per utterance) from raw feature arrays, for parity checks."""
    from sernet.features.windows import frame_windows

    xs, ms = [], []
    for raw in raw_features[:n]:
        x, m = frame_windows(predictor.normalise(np.asarray(raw, np.float32)), np.zeros(1, np.int64),
                             predictor.max_length)
        xs.append(x)
        ms.append(m)
    if not xs:
        raise SernetError("no feature arrays for the parity check")
    return np.concatenate(xs), np.concatenate(ms)


def size_table(results: list[ExportResult], n_params: int):
    """Our export sizes beside the paper's Table 6.2 (a DataFrame: model, format, parameters, size MB)."""
    import pandas as pd

    from sernet import paper

    rows = [{"model": name, "format": "paper (fp32: 4 B/param)", "parameters": int(p), "size_mb": mb}
            for name, (p, mb) in paper.TABLE_6_2.items()]
    rows += [{"model": "ours", "format": r.format, "parameters": int(n_params), "size_mb": round(r.size_mb, 3)}
             for r in results]
    return pd.DataFrame(rows)
