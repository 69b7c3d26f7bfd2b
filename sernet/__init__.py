"""sernet: a notebook-first, honest reproduction of SER-Net for speech emotion recognition.

Stages (data flows top to bottom; see ``../shared/design/README.md``)::

    sernet.data      corpora -> one manifest; the synthetic emotional-speech generator
    sernet.features  audio -> 268 stored frame features (180 model inputs) + mask; corpus cache
    sernet.model     Keras 3 layers, build_sernet(config), baselines, ablation switches
    sernet.losses    focal loss, class weights
    sernet.train     fit loop, schedule, augmentation, checkpoints, run directory
    sernet.analysis.metrics   UAR / WAR / macro-F1 (scikit-learn)
    sernet.deploy    predictor, runners, streaming, export; sernet.bench

The public API, for using sernet from your own code (README: "sernet in your own experiment")::

    load_config(profile)                  the experiment's Config (sernet.config.load)
    load_audio(path, sample_rate_hz=)     mono float32 audio (sernet.data.audio.read_audio)
    extract_features(y, cfg)              one waveform's frame features, float32 [T, 268]
    FeatureStore                          a feature cache: FeatureStore.open(dir), FeatureStore.from_arrays(...)
    build_model(cfg)                      the Keras model of cfg.model (sernet.model.build_sernet)
    train(cfg, store, run_dir)            train or resume a run (the sernet.train package, callable)
    evaluate(run_or_model, store)         UAR / WAR / macro-F1 per split
    Predictor                             Predictor.load(run_dir).predict(audio)

These names are resolved on first use (PEP 562): ``import sernet`` stays fast and imports neither NumPy
nor TensorFlow. Once Keras is imported (by sernet or by you), sernet's layers are registered with it, so
``keras.saving.load_model("RUN/model.keras")`` opens a run's model after a plain ``import sernet``.

Examples
--------
>>> import numpy as np
>>> import sernet
>>> cfg = sernet.load_config("smoke")
>>> rng = np.random.default_rng(0)
>>> frames = [rng.normal(size=(40, 268)) for _ in range(24)]          # 24 utterances' features
>>> store = sernet.FeatureStore.from_arrays(frames, ["angry", "sad", "happy"] * 8,
...                                         speakers=[f"spk{i % 8}" for i in range(24)])
>>> store.n, sorted(store.index["split"].unique())
(24, ['test', 'train', 'val'])
>>> model = sernet.build_model(cfg)
>>> tuple(model.output.shape)
(None, 8)
>>> scores = sernet.evaluate(model, store, cfg=cfg)                  # an untrained model: chance level
>>> sorted(scores), scores["test"]["n"] == len(store.split_indices("test"))
(['test', 'val'], True)
"""

from __future__ import annotations

import sys
import types
import warnings
from typing import TYPE_CHECKING, Any

from sernet import config, labels
from sernet.labels import EMOTIONS, NUM_CLASSES

if TYPE_CHECKING:  # what the lazy names resolve to, for type checkers and IDEs
    import numpy as np

    from sernet.config import Config, FeatureConfig
    from sernet.data.audio import read_audio as load_audio
    from sernet.deploy.predictor import Predictor
    from sernet.features.cache import FeatureStore
    from sernet.model import build_sernet as build_model

# librosa -> pooch imports tqdm.auto, which warns on stderr inside Jupyter without ipywidgets.
warnings.filterwarnings("ignore", message="IProgress not found")

__version__ = "0.1.0"
__all__ = [
    "EMOTIONS",
    "NUM_CLASSES",
    "FeatureStore",
    "Predictor",
    "__version__",
    "build_model",
    "config",
    "evaluate",
    "extract_features",
    "labels",
    "load_audio",
    "load_config",
    "train",
]

load_config = config.load

# name -> (module, attribute; None: the module itself), imported on first access.
_LAZY: dict[str, tuple[str, str | None]] = {
    "load_audio": ("sernet.data.audio", "read_audio"),
    "FeatureStore": ("sernet.features.cache", "FeatureStore"),
    "build_model": ("sernet.model", "build_sernet"),
    "Predictor": ("sernet.deploy.predictor", "Predictor"),
    "train": ("sernet.train", None),
}


def __getattr__(name: str) -> Any:
    """Resolve a lazy public name (PEP 562) on first access and keep it."""
    if name not in _LAZY:
        raise AttributeError(f"module 'sernet' has no attribute {name!r}")
    import importlib

    module_name, attribute = _LAZY[name]
    module = importlib.import_module(module_name)
    value = module if attribute is None else getattr(module, attribute)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    """The public names and the sernet subpackages imported so far."""
    submodules = {k for k, v in globals().items()
                  if isinstance(v, types.ModuleType) and v.__name__.startswith(f"{__name__}.")}
    return sorted(set(__all__) | submodules)


# ------------------------------------------------------------------------------------------- functions
def extract_features(y: np.ndarray, cfg: Config | FeatureConfig | None = None) -> np.ndarray:
    """The frame features of one waveform, as training uses them: float32 [T, 268] (not normalised).

    Parameters
    ----------
    y : np.ndarray [shape=(n,)]
        Mono audio at ``cfg.features.sample_rate_hz`` (see :func:`load_audio` to read and resample a file).
    cfg : Config or FeatureConfig, optional
        The feature recipe (default: :func:`load_config`'s).

    Returns
    -------
    np.ndarray [shape=(1 + n // hop, 268), dtype=float32]
        Columns as ``sernet.features.layout.FEATURE_NAMES``; one frame every ``features.hop_ms``.

    Raises
    ------
    sernet.errors.AudioError
        Empty, too short, silent or non-finite audio.

    Examples
    --------
    >>> import numpy as np, sernet
    >>> t = np.arange(16000) / 16000
    >>> y = (0.1 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)     # 1 s of a 220 Hz tone
    >>> sernet.extract_features(y).shape
    (101, 268)
    """
    from sernet.features import extract_frame_features

    fcfg = load_config().features if cfg is None else getattr(cfg, "features", cfg)
    return extract_frame_features(y, fcfg)


def evaluate(run_or_model: Any, store: Any, *, cfg: Config | None = None,
             splits: tuple[str, ...] = ("val", "test")) -> dict[str, dict[str, Any]]:
    """Score a trained run, or a Keras model, on the splits of a feature store.

    Parameters
    ----------
    run_or_model : run directory (path or ``RunDir``), ``TrainResult`` or keras.Model
        A run is evaluated with its best model and its own config (crops, batch size); a model with ``cfg``.
    store : FeatureStore
        The utterances to score (``FeatureStore.open`` or ``FeatureStore.from_arrays``), normalised with
        the store's statistics.
    cfg : Config, optional
        Only for a model: the config it was built with (``features.max_length``, crops, batch size).
    splits : tuple of str
        The splits to score; splits the store does not have are left out.

    Returns
    -------
    dict
        Split -> ``sernet.analysis.metrics.evaluate_predictions`` output (``uar``, ``war``, ``macro_f1``,
        ``per_class``, ``confusion``, ...).

    Raises
    ------
    sernet.errors.SernetError
        A model without ``cfg``, or a store holding none of ``splits``.

    Examples
    --------
    >>> import numpy as np, sernet
    >>> cfg = sernet.load_config("smoke")
    >>> rng = np.random.default_rng(0)
    >>> store = sernet.FeatureStore.from_arrays([rng.normal(size=(30, 268)) for _ in range(8)],
    ...                                         ["angry", "sad"] * 4, splits=["train"] * 6 + ["test"] * 2)
    >>> scores = sernet.evaluate(sernet.build_model(cfg), store, cfg=cfg)
    >>> list(scores), 0.0 <= scores["test"]["uar"] <= 1.0
    (['test'], True)
    """
    from pathlib import Path

    from sernet.errors import SernetError
    from sernet.train import RunDir, TrainResult, evaluate_run

    present = tuple(s for s in splits if len(store.split_indices(s)) > 0)
    if not present:
        raise SernetError(f"{getattr(store, 'path', None) or 'feature store'}: none of the splits {list(splits)} "
                          "has an utterance")
    if isinstance(run_or_model, TrainResult):
        run_or_model = run_or_model.run_dir
    if isinstance(run_or_model, (str, Path, RunDir)):
        path = run_or_model.path if isinstance(run_or_model, RunDir) else Path(run_or_model)
        return evaluate_run(path, store, splits=present)
    if cfg is None:
        raise SernetError("evaluate(model, store): pass cfg=, the config the model was built with (its "
                          "features.max_length, crops and batch size decide the inputs)")
    import numpy as np

    from sernet.analysis.metrics import evaluate_probabilities
    from sernet.train.batches import split_batches
    from sernet.train.trainer import predict_probabilities

    out = {}
    for split in present:
        ds = split_batches(store, split, cfg, training=False)
        out[split] = evaluate_probabilities(np.asarray(store.labels)[ds.order], predict_probabilities(run_or_model, ds))
    return out


# ---------------------------------------------------------------------------------- import-time hooks
class _TrainPackage(types.ModuleType):
    """The ``sernet.train`` package, callable: ``sernet.train(cfg, store, run_dir)`` is
    ``sernet.train.train(cfg, store, run_dir)`` (the package keeps its submodules and names)."""

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        return self.train(*args, **kwargs)


def _callable_train_package(module: types.ModuleType) -> None:
    module.__class__ = _TrainPackage


def _register_keras_objects(_keras_module: types.ModuleType) -> None:
    """Import ``sernet.model``, whose layers register themselves (``keras.saving.register_keras_serializable``),
    so that ``keras.saving.load_model`` finds ``sernet>FeatureGroup`` and the rest."""
    try:
        import sernet.model  # noqa: F401
    except Exception as exc:  # noqa: BLE001 - never break the user's `import keras`
        warnings.warn(f"sernet could not register its Keras layers ({type(exc).__name__}: {exc}); "
                      "`import sernet.model` before keras.saving.load_model", RuntimeWarning, stacklevel=2)


class _AfterImport:
    """A ``sys.meta_path`` finder that runs callbacks right after a module has been executed.

    It finds nothing itself: for a watched name it asks the other finders for the module's spec and wraps
    that spec's loader's ``exec_module`` (the loader instance is the module's own). A spec may only be probed
    (``importlib.util.find_spec("keras")``, as TensorFlow's ``__init__`` does) and never executed, so a name
    stays watched until a module of that name has actually been executed; then the finder removes itself
    once nothing is left to watch.
    """

    def __init__(self) -> None:
        self.pending: dict[str, list] = {}

    def watch(self, name: str, callback) -> None:
        """Run ``callback(module)`` once ``name`` has been imported (now, if it already is)."""
        module = sys.modules.get(name)
        if module is not None:
            callback(module)
            return
        self.pending.setdefault(name, []).append(callback)
        if self not in sys.meta_path:
            sys.meta_path.insert(0, self)

    def _executed(self, name: str, module: types.ModuleType) -> None:
        callbacks = self.pending.pop(name, [])
        if not self.pending and self in sys.meta_path:
            sys.meta_path.remove(self)
        for callback in callbacks:
            callback(module)

    def find_spec(self, name: str, path=None, target=None):
        if name not in self.pending:
            return None
        spec = None
        for finder in list(sys.meta_path):
            find = getattr(finder, "find_spec", None)
            if finder is self or find is None:
                continue
            spec = find(name, path, target)
            if spec is not None:
                break
        exec_module = getattr(getattr(spec, "loader", None), "exec_module", None)
        if exec_module is None or isinstance(spec.loader, type):  # nothing per-module to wrap
            return spec

        def exec_then_callbacks(module: types.ModuleType) -> None:
            exec_module(module)
            self._executed(name, module)

        spec.loader.exec_module = exec_then_callbacks
        return spec


if not any(type(f).__name__ == "_AfterImport" and f.__module__ == __name__ for f in sys.meta_path):
    _hooks = _AfterImport()
    _hooks.watch("sernet.train", _callable_train_package)
    _hooks.watch("keras", _register_keras_objects)
