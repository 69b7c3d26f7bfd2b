"""openSMILE eGeMAPS functionals: the 88 utterance-level features of the classic baseline (Table 4.3).

eGeMAPS (the extended Geneva Minimalistic Acoustic Parameter Set, Eyben et al. 2016, IEEE Trans. Affective
Computing 7(2)) summarises an utterance by 88 functionals (means, coefficients of variation, percentiles,
slopes) of 25 low-level descriptors: pitch, jitter, shimmer, loudness, HNR, formants, spectral slopes,
MFCC 1-4, plus rates of voiced and unvoiced segments. The features come from the ``opensmile`` package
(the openSMILE C++ extractor behind a Python API; import it through this module, which guards it against a
symbol clash with TensorFlow, see :func:`_preload_smileapi`); audio is read through :func:`sernet.data.audio.read_audio`
(the same validation and repairs as the frame-feature cache, so a bad file raises the same
:class:`~sernet.errors.AudioError`).

A corpus' functionals are computed once and kept under ``$SERNET_HOME/egemaps/<key>.npz``; the key hashes
the audio the manifest points at (every path, in order, with its size and modification time), the feature
set, the sample rate, the opensmile version and :data:`EGEMAPS_VERSION`. Labels, speakers and splits do
not enter the features, so a relabelled manifest reuses them. Work is saved in chunks of
:data:`CHUNK_SIZE` utterances (atomically), so an interrupted extraction resumes where it stopped.

Examples
--------
>>> X = egemaps_functionals(store.index, home=cfg.home)           # doctest: +SKIP
>>> X.shape                                                        # doctest: +SKIP
(960, 88)
>>> feature_names()[:2]                                            # doctest: +SKIP
('F0semitoneFrom27.5Hz_sma3nz_amean', 'F0semitoneFrom27.5Hz_sma3nz_stddevNorm')
"""

from __future__ import annotations

import functools
import hashlib
import io
import json
import os
import shutil
import tempfile
import threading
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import numpy as np
import pandas as pd

from sernet import progress
from sernet.errors import ConfigError, SernetError

EGEMAPS_VERSION: int = 1
"""Bumped when the numbers this module returns change for the same audio (part of the cache key)."""

CHUNK_SIZE = 128  # utterances per saved unit of work
FEATURE_SETS: tuple[str, ...] = ("eGeMAPSv02", "GeMAPSv01b", "ComParE_2016")
"""openSMILE feature sets accepted by name (eGeMAPSv02 is the baseline's; the others for comparison)."""


# ------------------------------------------------------------------------------------------- extractor
_SMILEAPI = None  # the preloaded openSMILE library (kept referenced)


def _preload_smileapi() -> None:
    """Load openSMILE's C library with ``RTLD_DEEPBIND`` before ``opensmile`` loads it (Linux).

    TensorFlow's ``libtensorflow_framework.so`` exports the Ooura FFT routines (``rdft``, ``makewt``, ...)
    into the global symbol scope; openSMILE's ``libSMILEapi.so`` ships its own, different ones, and when
    TensorFlow was imported first its calls bind to TensorFlow's and the process segfaults in the first
    ``process_signal``. Deep binding makes the library resolve its own symbols first; the numbers are
    identical to a process without TensorFlow (tests/test_classic.py checks both).
    """
    global _SMILEAPI
    import ctypes
    import importlib.util
    import platform
    import sys

    deepbind = getattr(os, "RTLD_DEEPBIND", 0)
    if _SMILEAPI is not None or "opensmile" in sys.modules or not deepbind:
        return
    spec = importlib.util.find_spec("opensmile")
    if spec is None or spec.origin is None:
        return
    machine = platform.machine().lower()
    found = sorted((Path(spec.origin).parent / "core" / "bin").glob(f"*linux*{machine}/libSMILEapi.so"))
    if len(found) == 1:
        _SMILEAPI = ctypes.CDLL(str(found[0]), mode=deepbind | os.RTLD_NOW | os.RTLD_LOCAL)


def _opensmile():
    _preload_smileapi()
    try:
        import opensmile
    except ImportError:  # a dependency of sernet; only a broken install lacks it
        raise SernetError("the eGeMAPS baseline needs the `opensmile` package (pip install opensmile)") from None
    return opensmile


def opensmile_version() -> str:
    """The installed opensmile package's version (part of the cache key)."""
    return str(_opensmile().__version__)


def make_smile(feature_set: str = "eGeMAPSv02"):
    """An ``opensmile.Smile`` computing the utterance-level functionals of ``feature_set``.

    Raises
    ------
    ConfigError
        If ``feature_set`` is not one of :data:`FEATURE_SETS`.
    """
    if feature_set not in FEATURE_SETS:
        raise ConfigError(f"classic.feature_set={feature_set!r}: expected one of {list(FEATURE_SETS)}")
    osm = _opensmile()
    return osm.Smile(feature_set=osm.FeatureSet[feature_set], feature_level=osm.FeatureLevel.Functionals)


@functools.cache
def feature_names(feature_set: str = "eGeMAPSv02") -> tuple[str, ...]:
    """The column names of :func:`egemaps_functionals` (openSMILE's names, 88 for eGeMAPSv02)."""
    return tuple(make_smile(feature_set).feature_names)


def utterance_functionals(y: np.ndarray, sample_rate_hz: int, smile) -> np.ndarray:
    """The functionals (float32 [n_features]) of one mono signal ``y`` by the ``smile`` extractor."""
    values = smile.process_signal(np.asarray(y, dtype=np.float32), sample_rate_hz).to_numpy()
    return np.asarray(values[0], dtype=np.float32)


# ------------------------------------------------------------------------------------------------ input
def _paths_of(source) -> list[str]:
    """Audio paths of a manifest DataFrame, a feature store (its ``index``), a manifest file or a list."""
    if isinstance(source, str | os.PathLike):
        from sernet.data.manifest import read_manifest

        source = read_manifest(source)
    frame = getattr(source, "index", None)
    if isinstance(frame, pd.DataFrame) and not isinstance(source, pd.DataFrame):
        source = frame  # a FeatureStore: its index holds the (absolute) audio paths
    if isinstance(source, pd.DataFrame):
        if "path" not in source.columns:
            raise SernetError(f"egemaps_functionals: the manifest has no 'path' column (has {list(source.columns)})")
        return [str(p) for p in source["path"]]
    if isinstance(source, Sequence | np.ndarray):
        return [str(p) for p in source]
    raise SernetError(f"egemaps_functionals: expected audio paths, a manifest (DataFrame or file) or a feature "
                      f"store, got {type(source).__name__}")


def _stat(path: str) -> tuple[int, int]:
    try:
        st = os.stat(path)
    except OSError:  # the reader raises AudioError("missing") when the file is needed
        return (-1, -1)
    return (int(st.st_size), int(st.st_mtime_ns))


def cache_key(paths: Sequence[str], *, feature_set: str = "eGeMAPSv02", sample_rate_hz: int = 16000,
              resample: bool = True) -> str:
    """A 16-character key of everything that decides the functionals of ``paths`` (see the module docstring)."""
    h = hashlib.sha256()
    h.update(json.dumps({"feature_set": feature_set, "sample_rate_hz": int(sample_rate_hz),
                         "resample": bool(resample), "opensmile": opensmile_version(),
                         "version": EGEMAPS_VERSION, "n": len(paths)}, sort_keys=True).encode())
    for p in paths:
        size, mtime = _stat(p)
        h.update(f"\n{p}\t{size}\t{mtime}".encode())
    return h.hexdigest()[:16]


def _default_home() -> Path:
    from sernet import config

    return Path(config.load().home).expanduser()


def _cache_file(paths: Sequence[str], feature_set: str, sample_rate_hz: int, resample: bool,
                home: str | Path | None) -> Path:
    root = Path(home).expanduser() if home is not None else _default_home()
    key = cache_key(paths, feature_set=feature_set, sample_rate_hz=sample_rate_hz, resample=resample)
    return root / "egemaps" / f"{key}.npz"


def cache_path(source, *, feature_set: str = "eGeMAPSv02", sample_rate_hz: int = 16000, resample: bool = True,
               home: str | Path | None = None) -> Path:
    """Where :func:`egemaps_functionals` keeps the functionals of ``source``: ``<home>/egemaps/<key>.npz``."""
    return _cache_file(_paths_of(source), feature_set, sample_rate_hz, resample, home)


# ------------------------------------------------------------------------------------------------ files
def _atomic_save(path: Path, **arrays: np.ndarray) -> None:
    """``np.savez`` through a temporary file in the same folder and ``os.replace`` (never a torn file)."""
    buf = io.BytesIO()
    np.savez(buf, **arrays)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(buf.getvalue())
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def _load(path: Path, paths: list[str], names: tuple[str, ...]) -> np.ndarray | None:
    """The cached matrix at ``path`` when it is readable and matches ``paths`` and ``names``; else None."""
    try:
        with np.load(path, allow_pickle=False) as f:
            values, stored_paths, stored_names = f["values"], f["paths"], f["names"]
    except (OSError, ValueError, KeyError):
        return None
    if values.shape != (len(paths), len(names)) or list(stored_paths) != paths or tuple(stored_names) != names:
        return None
    return values


# ------------------------------------------------------------------------------------------------ corpus
def egemaps_functionals(source, *, feature_set: str = "eGeMAPSv02", sample_rate_hz: int = 16000,
                        resample: bool = True, home: str | Path | None = None, cache: bool = True,
                        workers: int | None = None) -> np.ndarray:
    """openSMILE functionals of every utterance of ``source``, in its order.

    Parameters
    ----------
    source : DataFrame, FeatureStore, manifest path or sequence of paths
        A manifest DataFrame (its ``path`` column), a :class:`~sernet.features.cache.FeatureStore` (its
        ``index``, so rows line up with ``store.labels`` and ``store.split_indices``), a manifest CSV, or
        audio paths.
    feature_set : str
        One of :data:`FEATURE_SETS` (``classic.feature_set``).
    sample_rate_hz : int
        Audio is read at this rate (``features.sample_rate_hz``).
    resample : bool
        Resample files at other rates (as the frame-feature cache does); False: they raise
        ``AudioError("wrong_sample_rate")``.
    home : path, optional
        The cache root (``cfg.home``); default ``$SERNET_HOME``.
    cache : bool
        Read and write ``<home>/egemaps/<key>.npz`` (:func:`cache_path`). False: compute, keep nothing.
    workers : int, optional
        Extraction threads (default: the CPU count). openSMILE runs in C without Python's lock, so two
        threads on two cores take about half the time of one; results are identical.

    Returns
    -------
    np.ndarray [shape=(n, n_features), dtype=float32]
        Column ``j`` is :func:`feature_names(feature_set)[j] <feature_names>` (88 for eGeMAPSv02).

    Raises
    ------
    AudioError
        For a file :func:`sernet.data.audio.read_audio` rejects (missing, unreadable, empty, silent, too
        short, non-finite, wrong sample rate without ``resample``); chunks finished before it stay cached.
    SernetError
        If openSMILE returns a non-finite value (names the file).
    """
    from sernet.data.audio import read_audio

    paths = _paths_of(source)
    names = feature_names(feature_set)
    target = None
    if cache:
        target = _cache_file(paths, feature_set, sample_rate_hz, resample, home)
        found = _load(target, paths, names) if target.exists() else None
        if found is not None:
            return found
    parts_dir = target.with_suffix(".parts") if target is not None else None
    local = threading.local()

    def one(path: str) -> np.ndarray:
        if not hasattr(local, "smile"):
            local.smile = make_smile(feature_set)
        y = read_audio(path, sample_rate_hz=sample_rate_hz, resample=resample, check=True)
        row = utterance_functionals(y, sample_rate_hz, local.smile)
        if not np.all(np.isfinite(row)):
            bad = [names[j] for j in np.flatnonzero(~np.isfinite(row))]
            raise SernetError(f"{path}: openSMILE returned non-finite {feature_set} functionals {bad[:3]}")
        return row

    starts = list(range(0, len(paths), CHUNK_SIZE))
    blocks: dict[int, np.ndarray] = {}
    for s in starts:
        if parts_dir is not None:
            block = _load(parts_dir / f"part-{s:08d}.npz", paths[s:s + CHUNK_SIZE], names)
            if block is not None:
                blocks[s] = block
    todo = [s for s in starts if s not in blocks]
    n_threads = max(1, min(workers or os.cpu_count() or 1, len(paths)))
    pool = ThreadPoolExecutor(max_workers=n_threads)
    try:
        with progress.bar(total=sum(len(paths[s:s + CHUNK_SIZE]) for s in todo), desc=feature_set,
                          unit="utt") as pbar:
            for s in todo:
                rows = []
                for row in pool.map(one, paths[s:s + CHUNK_SIZE]):
                    rows.append(row)
                    pbar.update(1)
                blocks[s] = np.stack(rows)
                if parts_dir is not None:
                    _atomic_save(parts_dir / f"part-{s:08d}.npz", values=blocks[s],
                                 paths=np.array(paths[s:s + CHUNK_SIZE]), names=np.array(names))
    finally:  # a bad file stops the run at once: queued utterances of its chunk are dropped
        pool.shutdown(wait=True, cancel_futures=True)
    values = np.concatenate([blocks[s] for s in starts]) if starts else np.zeros((0, len(names)), np.float32)
    if target is not None:
        _atomic_save(target, values=values, paths=np.array(paths), names=np.array(names))
        shutil.rmtree(parts_dir, ignore_errors=True)
    return values


def functionals_frame(source, **kwargs) -> pd.DataFrame:
    """:func:`egemaps_functionals` as a DataFrame: one row per utterance (index: its path), named columns."""
    values = egemaps_functionals(source, **kwargs)
    names = feature_names(kwargs.get("feature_set", "eGeMAPSv02"))
    return pd.DataFrame(values, columns=list(names), index=pd.Index(_paths_of(source), name="path"))
