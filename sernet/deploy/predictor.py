"""Inference: load a trained run (or an exported model) once, then predict emotions for audio of any length.

>>> predictor = sernet.Predictor.load("runs/base")          # doctest: +SKIP
>>> result = predictor.predict("utterance.wav")                   # doctest: +SKIP
>>> result.label, result.probabilities["angry"]                   # doctest: +SKIP

How an utterance becomes one prediction
---------------------------------------
1. Audio is read (resampled to ``cfg.features.sample_rate_hz`` when needed) and checked
   (:func:`sernet.data.audio.validate_audio`): a corrupt, empty or non-finite input raises
   :class:`~sernet.errors.AudioError`.
2. Frame features are extracted from the *whole* utterance (``sernet.features.extract_frame_features``, as in
   training) and z-normalised with the run's train-split statistics.
3. **Windowing.** The model is always run on windows of exactly ``max_length`` frames (one compiled shape, and
   the shape the exports are fixed to). An utterance of ``T <= max_length`` frames is one window, padded with
   zeros whose mask is 0. A longer one is covered by overlapping windows of ``max_length`` frames starting
   every ``cfg.deploy.window_hop_s`` seconds, the last window aligned to the end, so every frame is seen.
4. **Aggregation.** The utterance's class probabilities are the *mean of the windows' softmax
   probabilities* (every window weighs the same); the label is their argmax. Per-window scores stay available
   in :attr:`Prediction.window_probabilities`.
5. **No speech.** Audio that is digitally silent (peak below -80 dBFS) or in which Praat finds no voiced frame
   gets the documented result ``label == NO_SPEECH`` with empty probabilities, instead of a guess.

Which backend runs the model
----------------------------
``Predictor.load`` accepts a run directory (``model.keras`` + ``config.json`` + ``norm_stats.npz``), a
``.keras`` file, an exported SavedModel directory or a ``.tflite`` file (see :mod:`sernet.deploy.export`; exports
carry the same two metadata files). Keras models run through :class:`KerasRunner`, which compiles the forward
pass once for the fixed window shape (``tf.function`` on TensorFlow, ``jax.jit`` on JAX): the fastest Keras path
measured by ``sernet bench latency`` (chapters/08_deployment.py).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from sernet import progress
from sernet.backend import keras, silenced_stderr
from sernet.config import Config
from sernet.data.audio import read_audio, validate_audio
from sernet.deploy.runners import (
    KerasRunner,
    LiteRTRunner,
    SavedModelRunner,
    mask_dtype,
    output_width,
    single_threaded_blas,
)
from sernet.errors import AudioError, SernetError
from sernet.features import layout
from sernet.features.windows import frame_windows, window_hop_frames, window_starts
from sernet.labels import EMOTIONS

NO_SPEECH = "no_speech"
"""The label of an input without speech (silent audio, or no voiced frame)."""

CONFIG_FILE = "config.json"
NORM_STATS_FILE = "norm_stats.npz"
KERAS_MODEL_FILE = "model.keras"

AudioInput = str | Path | np.ndarray


@dataclass(frozen=True)
class Prediction:
    """The emotion estimate of one input.

    Attributes
    ----------
    source : str
        The file path, or ``"<array>"`` / ``"<array i>"`` for in-memory audio.
    label : str
        The predicted emotion (argmax of :attr:`probabilities`), or :data:`NO_SPEECH`.
    probabilities : dict[str, float]
        Class -> probability in the model's class order (:attr:`Predictor.classes`: the run's label set,
        the paper's :data:`sernet.EMOTIONS` by default); empty for no speech.
    duration_s : float
        Length of the audio.
    window_starts_s : np.ndarray [shape=(W,)]
        Start time of each analysis window (W = 1 for utterances up to ``max_length`` frames).
    window_probabilities : np.ndarray [shape=(W, n_classes)]
        Softmax probabilities of each window; their mean is :attr:`probabilities`.
    attention : np.ndarray [shape=(W, max_length)] or None
        Temporal attention pooling weights per window frame (0 on padding), when asked for.
    dimensions : dict[str, float] or None
        Arousal, valence, dominance (1–7; mean over the windows) when the model has the dimensional head
        (``model.tasks``), else None. A dimensional-only model has no classes: ``label`` is ``""`` and
        ``probabilities`` empty.
    """

    source: str
    label: str
    probabilities: dict[str, float]
    duration_s: float
    window_starts_s: np.ndarray = field(repr=False)
    window_probabilities: np.ndarray = field(repr=False)
    attention: np.ndarray | None = field(default=None, repr=False)
    dimensions: dict[str, float] | None = None

    @property
    def speech(self) -> bool:
        """False for the documented "no speech" result."""
        return self.label != NO_SPEECH

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (probabilities and per-window scores as plain floats)."""
        return {
            "source": self.source,
            "label": self.label,
            "probabilities": {k: float(v) for k, v in self.probabilities.items()},
            "duration_s": float(self.duration_s),
            "windows": [
                {"start_s": float(s), "probabilities": [float(p) for p in row]}
                for s, row in zip(self.window_starts_s, self.window_probabilities, strict=True)
            ],
            **({} if self.dimensions is None else {"dimensions": {k: float(v) for k, v in self.dimensions.items()}}),
        }


def softmax(logits: np.ndarray) -> np.ndarray:
    """Row-wise softmax in float64 (stable), returned as float32."""
    z = np.asarray(logits, dtype=np.float64)
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return (e / e.sum(axis=-1, keepdims=True)).astype(np.float32)


# --------------------------------------------------------------------------------------------------------
# Run-directory metadata


def read_metadata(folder: Path) -> tuple[Config, np.ndarray, np.ndarray]:
    """The config and ``mean``/``std`` normalisation of a run or export folder (the run-directory layout of
    :class:`sernet.train.RunDir`: ``config.json`` holding ``{"config": ...}`` and ``norm_stats.npz``)."""
    from sernet.train.run_dir import config_from_dict

    cfg_path, stats_path = folder / CONFIG_FILE, folder / NORM_STATS_FILE
    for p in (cfg_path, stats_path):
        if not p.exists():
            raise SernetError(f"{p}: missing; a run or export directory needs {CONFIG_FILE} and {NORM_STATS_FILE}")
    try:
        payload = json.loads(cfg_path.read_text())
        cfg = config_from_dict(payload["config"] if "config" in payload else payload)
    except (ValueError, TypeError, KeyError) as exc:
        raise SernetError(f"{cfg_path}: unreadable config ({exc})") from None
    try:
        with np.load(stats_path) as stats:
            mean, std = stats["mean"].astype(np.float32), stats["std"].astype(np.float32)
    except (OSError, ValueError, KeyError) as exc:
        raise SernetError(f"{stats_path}: expected arrays 'mean' and 'std' ({exc})") from None
    return cfg, mean, std


def write_metadata(folder: str | Path, cfg: Config, mean: np.ndarray, std: np.ndarray,
                   classes: Sequence[str] | None = None) -> None:
    """Write ``config.json`` (with the class names when given) and ``norm_stats.npz`` into ``folder`` (the
    run-directory layout)."""
    from sernet.train.run_dir import RunDir

    run = RunDir(folder)
    run.path.mkdir(parents=True, exist_ok=True)
    extra = {} if classes is None else {"classes": [str(c) for c in classes]}
    run.write_config(cfg, **extra)
    run.write_norm_stats(mean, std)


def read_classes(folder: str | Path) -> tuple[str, ...]:
    """The class names (model-output order) of a run or export folder: ``config.json``'s ``classes``, the
    paper's 8 when it has none (runs written before runs recorded them)."""
    path = Path(folder) / CONFIG_FILE
    try:
        classes = json.loads(path.read_text()).get("classes")
    except (OSError, ValueError, AttributeError) as exc:
        raise SernetError(f"{path}: unreadable config ({exc})") from None
    return EMOTIONS if not classes else tuple(str(c) for c in classes)


def load_keras_model(path: str | Path):
    """Load a ``.keras`` file with sernet's custom layers registered; errors name the file."""
    import sernet.model  # noqa: F401  (registers the custom layers)

    path = Path(path)
    try:
        with silenced_stderr():
            return keras().saving.load_model(str(path), compile=False)
    except Exception as exc:
        raise SernetError(f"{path}: cannot load Keras model ({type(exc).__name__}: {exc})") from None


# --------------------------------------------------------------------------------------------------------
# The predictor


@dataclass
class PreparedAudio:
    source: str
    duration_s: float
    raw: np.ndarray | None  # [T, 268] raw features; None: no speech


class Predictor:
    """Emotion prediction for audio of any length with a loaded model (see the module docstring).

    Build one with :meth:`load` (run directory or export) or :meth:`from_model` (a Keras model in memory).

    Parameters
    ----------
    runner : KerasRunner, SavedModelRunner or LiteRTRunner
        Anything with ``logits(features [B, L, D], mask [B, L]) -> [B, C]``.
    cfg : Config
        The run's configuration (feature recipe, ``max_length``, ``deploy`` section).
    norm_mean, norm_std : np.ndarray [shape=(268,)]
        Train-split z-score statistics of the stored features.
    model : keras.Model or None
        The Keras model when there is one (needed for attention weights).
    classes : sequence of str, optional
        Names of the model's outputs, in order (:meth:`load` reads them from the run or export; default:
        the paper's 8 :data:`sernet.EMOTIONS`).
    """

    def __init__(self, runner, cfg: Config, norm_mean: np.ndarray, norm_std: np.ndarray, model=None,
                 classes: Sequence[str] | None = None) -> None:
        from sernet.model import dimensional_head as dh

        self.runner = runner
        self.cfg = cfg
        self.model = None if model is None else dh.flat_outputs(model)  # one output tensor (exports too)
        self.norm_mean = np.asarray(norm_mean, np.float32)
        self.norm_std = np.where(np.asarray(norm_std, np.float32) > 0, np.asarray(norm_std, np.float32), 1.0)
        self.max_length = int(cfg.features.max_length)
        self.classes = EMOTIONS if classes is None else tuple(str(c) for c in classes)
        self.tasks = cfg.model.tasks  # the dimensional head's outputs follow the logits (dimensional_head)
        self.dimension_names = dh.DIMENSIONS if dh.has_dimensions(self.tasks) else ()
        n_outputs = len(self.classes) * dh.has_classes(self.tasks) + len(self.dimension_names)
        width = output_width(self.model) if model is not None else None
        if width is not None and width != n_outputs:
            raise SernetError(f"the model has {width} outputs but {len(self.classes)} class names "
                              f"{list(self.classes)}" + (f" and {len(self.dimension_names)} dimensions"
                                                         if self.dimension_names else "")
                              + ("; pass classes=" if classes is None else ""))
        self._voiced = layout.column("voiced")

    # -- construction --------------------------------------------------------------------------------------
    @classmethod
    def from_model(cls, model, cfg: Config, norm_mean: np.ndarray, norm_std: np.ndarray,
                   method: str = "compiled", classes: Sequence[str] | None = None) -> Predictor:
        """A predictor over an in-memory Keras model (``classes``: its output names, default the paper's 8).

        With ``method`` "compiled" or "xla", batches of full windows (no padding) run through the model's
        :func:`~sernet.model.unmasked_twin` (same outputs, no masking work) when ``cfg.model`` builds it.
        """
        from sernet.errors import ConfigError
        from sernet.model import unmasked_twin
        from sernet.model.dimensional_head import flat_outputs

        twin = None
        if method in ("compiled", "xla"):
            try:
                twin = flat_outputs(unmasked_twin(model, cfg, None if classes is None else len(classes)))
            except (SernetError, ConfigError):
                twin = None  # a model that cfg.model does not describe: every batch takes the masked path
        runner = KerasRunner(flat_outputs(model), cfg.features.max_length, method, unmasked=twin)
        return cls(runner, cfg, norm_mean, norm_std, model=model, classes=classes)

    @classmethod
    def load(cls, path: str | Path, *, num_threads: int | None = None) -> Predictor:
        """Load a run directory, a ``.keras`` file, a SavedModel directory, a ``.tflite`` or an ``.onnx`` file.

        The folder holding the model (or the model's parent folder, for ``.keras``/``.tflite`` files and
        SavedModel directories) must contain ``config.json`` and ``norm_stats.npz``.

        Raises
        ------
        SernetError
            If the path does not exist, is not a known model format, or the metadata is missing.
        """
        path = Path(path)
        if not path.exists():
            raise SernetError(f"{path}: no such run directory or model file")
        if path.is_dir() and (path / KERAS_MODEL_FILE).exists():
            path = path / KERAS_MODEL_FILE
        if path.suffix == ".keras":
            cfg, mean, std = read_metadata(path.parent)
            return cls.from_model(load_keras_model(path), cfg, mean, std, classes=read_classes(path.parent))
        if path.suffix == ".tflite":
            cfg, mean, std = read_metadata(path.parent)
            return cls(LiteRTRunner(path, num_threads=num_threads), cfg, mean, std,
                       classes=read_classes(path.parent))
        if path.suffix == ".onnx":
            from sernet.deploy.runners import OnnxRuntimeRunner

            cfg, mean, std = read_metadata(path.parent)
            runner = OnnxRuntimeRunner(path, num_threads=num_threads, optimization=cfg.deploy.onnx_optimization,
                                       allow_spinning=cfg.deploy.onnx_allow_spinning)
            return cls(runner, cfg, mean, std, classes=read_classes(path.parent))
        if path.is_dir() and (path / "saved_model.pb").exists():
            meta = path if (path / CONFIG_FILE).exists() else path.parent
            cfg, mean, std = read_metadata(meta)
            return cls(SavedModelRunner(path), cfg, mean, std, classes=read_classes(meta))
        raise SernetError(
            f"{path}: not a run directory (with {KERAS_MODEL_FILE}), .keras file, SavedModel directory, .tflite "
            "or .onnx file"
        )

    # -- features ------------------------------------------------------------------------------------------
    def read(self, source: AudioInput, name: str = "<array>") -> np.ndarray:
        """Audio of a path (read, resampled if needed, validated) or an array (validated) as float32."""
        sr = self.cfg.features.sample_rate_hz
        if isinstance(source, (str, Path)):
            return read_audio(source, sample_rate_hz=sr, resample=True)
        y = np.asarray(source, dtype=np.float32)
        return validate_audio(y, sample_rate_hz=sr, source=name)

    def features(self, y: np.ndarray) -> np.ndarray:
        """Raw (not normalised) frame features [T, 268] of a waveform, the training recipe."""
        from sernet.features import extract_frame_features

        with single_threaded_blas():
            return np.asarray(extract_frame_features(y, self.cfg.features), dtype=np.float32)

    def normalise(self, raw: np.ndarray) -> np.ndarray:
        """z-score ``raw`` features with the run's train-split statistics."""
        return ((raw - self.norm_mean) / self.norm_std).astype(np.float32)

    def has_speech(self, raw: np.ndarray) -> bool:
        """Whether any frame of ``raw`` features is voiced (the "no speech" rule)."""
        return bool(np.any(raw[:, self._voiced] > 0.5))

    def prepare(self, source: AudioInput, name: str | None = None) -> PreparedAudio:
        """Read and featurise one input; silent audio or audio without voiced frames is "no speech".

        Raises
        ------
        AudioError
            For missing, unreadable, empty, too short or non-finite audio.
        """
        label = str(source) if isinstance(source, (str, Path)) else (name or "<array>")
        try:
            y = self.read(source, label)
        except AudioError as exc:
            if exc.problem != "silent":
                raise
            y = np.asarray(read_audio(source, sample_rate_hz=self.cfg.features.sample_rate_hz, resample=True,
                                      check=False) if isinstance(source, (str, Path)) else source)
            return PreparedAudio(label, len(y) / self.cfg.features.sample_rate_hz, None)
        duration = len(y) / self.cfg.features.sample_rate_hz
        raw = self.features(y)
        return PreparedAudio(label, duration, raw if self.has_speech(raw) else None)

    # -- prediction ----------------------------------------------------------------------------------------
    def logits(self, features: np.ndarray, mask: np.ndarray, batch_size: int | None = None) -> np.ndarray:
        """Logits [N, C] for normalised windows ``features`` [N, L, D] and ``mask`` [N, L], run in batches."""
        batch_size = batch_size or self.cfg.train.batch_size
        out = [self.runner.logits(features[i : i + batch_size], mask[i : i + batch_size])
               for i in range(0, len(features), batch_size)]
        return np.concatenate(out) if out else np.zeros((0, len(self.classes)), np.float32)

    def window_inputs(self, raw: np.ndarray, hop_s: float | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Normalised windows, masks and start frames covering one utterance's raw features."""
        starts = window_starts(len(raw), self.max_length, window_hop_frames(self.cfg, hop_s))
        x, mask = frame_windows(self.normalise(raw), starts, self.max_length)
        return x, mask, starts

    def predict(self, inputs: AudioInput | Sequence[AudioInput], *, attention: bool = False,
                batch_size: int | None = None) -> Prediction | list[Prediction]:
        """Predict one input (a path or a 1-D array) or a list of them.

        Parameters
        ----------
        inputs : path, np.ndarray [shape=(n,)] or a list of them
            Audio of any length at ``cfg.features.sample_rate_hz`` (files at other rates are resampled).
        attention : bool
            Also return the attention pooling weights per window (Keras models only).
        batch_size : int or None
            Windows per forward pass (default ``cfg.train.batch_size``); windows of all inputs are batched
            together.

        Returns
        -------
        Prediction or list[Prediction]
            One per input, in order (a list when ``inputs`` is a list).

        Raises
        ------
        AudioError
            For an unusable input (the message names it); silent audio is a "no speech" result instead.
        """
        single = isinstance(inputs, (str, Path)) or (isinstance(inputs, np.ndarray) and inputs.ndim == 1)
        items = [inputs] if single else list(inputs)
        names = [None if isinstance(s, (str, Path)) else ("<array>" if single else f"<array {i}>")
                 for i, s in enumerate(items)]
        prepared = [self.prepare(s, n) for s, n in progress.bar(
            list(zip(items, names, strict=True)), total=len(items), desc="features", unit="file")]
        results = self.predict_prepared(prepared, attention=attention, batch_size=batch_size)
        return results[0] if single else results

    def predict_prepared(self, prepared: Sequence[PreparedAudio], *, attention: bool = False,
                         batch_size: int | None = None) -> list[Prediction]:
        """Predictions for inputs already through :meth:`prepare` (the CLI batches files this way)."""
        hop_s = self.cfg.features.hop_ms / 1000.0
        pieces, owners = [], []
        for i, p in enumerate(prepared):
            if p.raw is not None:
                x, m, s = self.window_inputs(p.raw)
                pieces.append((x, m, s))
                owners.extend([i] * len(s))
        if pieces:
            x_all = np.concatenate([p[0] for p in pieces])
            m_all = np.concatenate([p[1] for p in pieces])
            from sernet.model.dimensional_head import split_flat

            logits, dims = split_flat(self.logits(x_all, m_all, batch_size), self.tasks)
            probs = softmax(logits) if logits is not None else np.zeros((len(owners), 0))
            att = self.attention(x_all, m_all) if attention else None
        owners_arr = np.asarray(owners, dtype=np.int64)
        results, k = [], 0
        for i, p in enumerate(prepared):
            if p.raw is None:
                results.append(Prediction(p.source, NO_SPEECH, {}, p.duration_s, np.zeros(0, np.float32),
                                          np.zeros((0, len(self.classes)), np.float32), None))
                continue
            sel = owners_arr == i
            wp = probs[sel]
            mean = wp.mean(axis=0)
            starts = pieces[k][2]
            k += 1
            has_classes = wp.shape[1] > 0
            results.append(Prediction(
                source=p.source,
                label=self.classes[int(np.argmax(mean))] if has_classes else "",
                probabilities={c: float(v) for c, v in zip(self.classes, mean, strict=True)} if has_classes else {},
                duration_s=p.duration_s,
                window_starts_s=(starts * hop_s).astype(np.float32),
                window_probabilities=wp,
                attention=None if att is None else att[sel],
                dimensions=None if dims is None else dict(zip(self.dimension_names, dims[sel].mean(axis=0).tolist(),
                                                              strict=True)),
            ))
        return results

    def attention(self, features: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Attention pooling weights [N, L] of normalised windows (needs a Keras model)."""
        if self.model is None:
            raise SernetError("attention weights need the Keras model (load a run directory or .keras file)")
        from sernet.model import attention_weights

        batch = {"features": features, "mask": mask.astype(mask_dtype(self.model))}
        weights = np.asarray(keras().ops.convert_to_numpy(attention_weights(self.model, batch)), np.float32)
        return weights.reshape(len(features), -1) * mask
