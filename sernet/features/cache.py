"""The corpus feature cache: extract a whole manifest once, load it memory-mapped for training.

Layout of a finished cache directory (``sernet.workspace.features_dir(cfg, manifest)``)::

    complete.json     the "done" marker, written last: version, counts, manifest hash, feature fingerprint
    frames.npy        float16 [total_frames, 268], every utterance's frames back to back (np.load mmap)
    index.csv         one row per extracted utterance: manifest columns + manifest_row, offset, n_frames
    descriptors.csv   utterance descriptors (sernet.features.prosody) per extracted utterance
    failures.csv      path, problem, detail, kept: every file skipped (kept=False) or repaired (kept=True)
    norm.npz          mean, std (float32 [268]) fitted on the train split only
    plan.json         manifest hash and chunk size of the run (lets interrupted / sharded runs agree)

While running, work is split into chunks of consecutive manifest rows (``CHUNK_SIZE``); each chunk is
written to ``chunks/chunk-NNNNNN.npy`` + ``.json`` through temporary names and atomic renames, the
``.json`` last, so a chunk exists only when it is complete. An interrupted run (Ctrl-C, a killed job)
leaves only complete chunks and temporary files; re-running skips the complete chunks, redoes the rest,
and produces a cache byte-identical to an uninterrupted run. When every chunk is done, the chunks are
gathered into ``frames.npy`` (pre-allocated, memory-mapped), the normalisation is fitted, and
``complete.json`` is written; only then does :meth:`FeatureStore.open` accept the directory.

``--shard i/N`` (``shard=(i, N)``, 0 ≤ i < N) processes chunks ``c`` with ``c % N == i``: N jobs of a batch
system can share one output directory; whichever finishes the last chunk gathers the cache (or run
once more without ``--shard``).

Bad audio never stops a corpus run; each file gets one row in ``failures.csv``:

==================  =========================================================================
problem             action
==================  =========================================================================
missing             skipped (file not found)
unreadable          skipped (corrupt or not audio: libsndfile's message in ``detail``)
empty               skipped (0 samples)
too_short           skipped (shorter than one 25 ms window)
silent              skipped (peak below -80 dBFS)
non_finite          skipped (NaN/Inf samples)
stereo              repaired: channels averaged to mono (kept)
wrong_sample_rate   repaired: resampled to ``sample_rate_hz`` with soxr (kept)
clipped             kept as is, reported when ≥ 0.1 % of samples are at full scale
extraction_error    skipped (anything else that went wrong inside the extractor)
==================  =========================================================================

Explained in chapters/02_features.py.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, field
from functools import cached_property
from multiprocessing import get_context
from pathlib import Path

import numpy as np
import pandas as pd

from sernet import progress
from sernet.artifacts import (
    atomic_write_text,
    canonical_json,
    extraction_recipe,
    features_identity,
    file_sha256,
)
from sernet.artifacts import key as artifacts_key
from sernet.config import Config, FeatureConfig
from sernet.errors import AudioError, SernetError
from sernet.features.layout import FEATURE_NAMES, N_STORED
from sernet.features.normalize import RunningMoments, normalize
from sernet.labels import EMOTIONS, corpus_classes

FEATURES_VERSION: int = 1
"""Bump when the extracted numbers change for the same config (invalidates every cache)."""

CHUNK_SIZE = 32  # utterances per unit of work (and per resumable step)
CLIP_WARN_FRACTION = 0.001
DESCRIPTOR_NAMES: tuple[str, ...] = (
    "f0_mean_hz", "f0_mean_st", "f0_std_st", "f0_range_st", "f0_slope_st_per_s", "energy_mean_db",
    "energy_std_db", "energy_range_db", "speaking_rate_syl_per_s", "n_syllables", "jitter_local",
    "shimmer_local", "hnr_db", "voiced_fraction", "pause_fraction",
)
FAILURE_COLUMNS: tuple[str, ...] = ("path", "problem", "detail", "kept")
COMPLETE = "complete.json"
# FeatureConfig fields that only decide how cached frames are *used* (windows, storage is fixed by
# cache_dtype): they are left out of the cache key, so e.g. another max_length reuses the same cache.
USE_ONLY_FIELDS: tuple[str, ...] = ("max_length", "train_crop", "eval_crop")


def extraction_fingerprint(cfg: Config) -> str:
    """Key of the feature settings that change the extracted numbers (:func:`sernet.artifacts.extraction_recipe`)."""
    return artifacts_key(extraction_recipe(cfg, USE_ONLY_FIELDS))


# ----------------------------------------------------------------------------------------------- audio
def load_for_features(path: str | Path, fcfg: FeatureConfig) -> tuple[np.ndarray, list[dict]]:
    """Read ``path`` for feature extraction, repairing what can be repaired.

    Returns the mono float32 signal and a list of notes (``problem``, ``detail``, ``kept=True``) for the
    repairs made (stereo → mono, resampling) and for clipping. Raises :class:`~sernet.errors.AudioError`
    for what cannot be used (see the module docstring's table).
    """
    import soundfile as sf

    from sernet.data.audio import clipped_fraction, read_audio

    notes: list[dict] = []
    try:
        info = sf.info(str(path))
    except Exception:  # read_audio below raises the precise error (missing / unreadable)
        info = None
    y = read_audio(path, sample_rate_hz=fcfg.sample_rate_hz, resample=True, check=True)
    if info is not None and info.channels > 1:
        notes.append({"problem": "stereo", "detail": f"{info.channels} channels averaged to mono"})
    if info is not None and info.samplerate != fcfg.sample_rate_hz:
        notes.append({"problem": "wrong_sample_rate",
                      "detail": f"resampled {info.samplerate} Hz -> {fcfg.sample_rate_hz} Hz"})
    clipped = clipped_fraction(y)
    if clipped >= CLIP_WARN_FRACTION:
        notes.append({"problem": "clipped", "detail": f"{100 * clipped:.2f}% of samples at full scale; kept"})
    for n in notes:
        n.update(path=str(path), kept=True)
    return y, notes


# ----------------------------------------------------------------------------------------------- chunks
def _atomic_save_npy(path: Path, arr: np.ndarray) -> None:
    tmp = path.with_name(f"{path.name}.{os.getpid()}.partial")
    with open(tmp, "wb") as f:
        np.save(f, arr)
    os.replace(tmp, path)


def _chunk_paths(chunk_dir: Path, cid: int) -> tuple[Path, Path]:
    return chunk_dir / f"chunk-{cid:06d}.npy", chunk_dir / f"chunk-{cid:06d}.json"


def _extract_chunk(cid: int, rows: list[tuple[int, str]], fcfg: FeatureConfig, chunk_dir: str) -> dict:
    """Extract one chunk and write it atomically (worker entry point; never raises for bad audio)."""
    from sernet.features.extract import extract_utterance

    _single_threaded()
    blocks, meta_rows, failures = [], [], []
    for row, path in rows:
        try:
            y, notes = load_for_features(path, fcfg)
            frames, desc = extract_utterance(y, fcfg, source=path)
        except AudioError as exc:
            failures.append({"path": path, "problem": exc.problem, "detail": exc.detail, "kept": False})
            continue
        except Exception as exc:  # one bad file must never kill a corpus run
            failures.append({"path": path, "problem": "extraction_error",
                             "detail": f"{type(exc).__name__}: {exc}", "kept": False})
            continue
        failures.extend(notes)
        blocks.append(frames.astype(fcfg.cache_dtype))
        meta_rows.append({"row": row, "n_frames": len(frames),
                          "descriptors": [float(desc[k]) for k in DESCRIPTOR_NAMES]})
    data = np.concatenate(blocks) if blocks else np.zeros((0, N_STORED), dtype=fcfg.cache_dtype)
    npy, meta = _chunk_paths(Path(chunk_dir), cid)
    _atomic_save_npy(npy, data)
    atomic_write_text(meta, json.dumps({"chunk": cid, "rows": meta_rows, "failures": failures}))
    return {"chunk": cid, "n_ok": len(meta_rows), "n_failed": sum(not f["kept"] for f in failures),
            "n_items": len(rows)}


def _worker_init() -> None:
    """Pool workers leave Ctrl-C to the parent (which cancels the queued chunks and keeps finished ones)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    _single_threaded()


def _single_threaded() -> None:
    """One BLAS/OpenMP thread per worker process: the parallelism is over processes."""
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(1)
    except Exception:  # an optimisation only
        pass


# ----------------------------------------------------------------------------------------------- corpus
def _arrays_sha256(blocks: Sequence[np.ndarray], labels: Sequence[str], speakers: Sequence[str],
                   splits: Sequence[str]) -> str:
    h = hashlib.sha256()
    for x in blocks:
        h.update(np.ascontiguousarray(x, dtype=np.float32).tobytes())
        h.update(str(x.shape).encode())
    h.update(canonical_json([list(map(str, labels)), list(map(str, speakers)), list(map(str, splits))]).encode())
    return h.hexdigest()


def manifest_sha256(path: str | Path) -> str:
    """SHA-256 of a manifest file's bytes: the corpus part of a cache's (and its runs') identity
    (:mod:`sernet.artifacts`)."""
    return file_sha256(path)


def parse_shard(text: str) -> tuple[int, int]:
    """``"i/N"`` → ``(i, N)`` with 0 ≤ i < N."""
    try:
        i, n = (int(v) for v in text.split("/"))
    except ValueError:
        raise SernetError(f"--shard {text!r}: expected i/N, e.g. 0/4") from None
    if not (n >= 1 and 0 <= i < n):
        raise SernetError(f"--shard {text!r}: need 0 <= i < N")
    return i, n


def extract_corpus(
    manifest: str | Path,
    out_dir: str | Path,
    cfg: Config,
    *,
    shard: tuple[int, int] | None = None,
    workers: int | None = None,
    chunk_size: int | None = None,
) -> dict:
    """Extract the features of every utterance of ``manifest`` into the cache ``out_dir``.

    Idempotent and resumable: finished chunks are skipped, a finished cache returns at once.

    Parameters
    ----------
    manifest : path
        A manifest CSV (or a folder holding ``manifest.csv``), see :mod:`sernet.data.manifest`.
    out_dir : path
        The cache directory (created).
    cfg : Config
        ``cfg.features`` decides the features.
    shard : (i, N), optional
        Only chunks ``c`` with ``c % N == i``.
    workers : int, optional
        Worker processes (default ``os.cpu_count()``); 1 runs in this process.
    chunk_size : int, optional
        Utterances per chunk for a *new* cache (default :data:`CHUNK_SIZE`); a started cache keeps its own.

    Returns
    -------
    dict
        ``n_ok``, ``n_failed``, ``n_repaired`` (when complete), ``n_chunks``, ``n_chunks_done``,
        ``complete``, ``seconds``, ``out_dir``.
    """
    from sernet.data.manifest import manifest_path, read_manifest

    t0 = time.perf_counter()
    manifest = manifest_path(manifest)
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    digest = manifest_sha256(manifest)
    fingerprint = extraction_fingerprint(cfg)
    classes = corpus_classes(manifest)
    done = _read_complete(out)
    if done and done.get("manifest_sha256") == digest and done.get("version") == FEATURES_VERSION \
            and done.get("features_fingerprint") == fingerprint:
        if tuple(done.get("classes", EMOTIONS)) != classes:  # classes.txt rewritten, manifest unchanged
            read_manifest(manifest, classes=classes)  # every label must be one of the new classes
            done = {**done, "classes": list(classes)}
            atomic_write_text(out / COMPLETE, json.dumps(done, indent=1))
        return {**_summary(done), "seconds": time.perf_counter() - t0, "out_dir": str(out)}

    df = read_manifest(manifest, classes=classes)
    plan = _plan(out, digest, fingerprint, chunk_size or CHUNK_SIZE, len(df))
    cs = plan["chunk_size"]
    chunks = [list(zip(range(s, min(s + cs, len(df))), df["path"].iloc[s:s + cs], strict=True))
              for s in range(0, len(df), cs)]
    chunk_dir = out / "chunks"
    chunk_dir.mkdir(exist_ok=True)
    mine = [c for c in range(len(chunks)) if shard is None or c % shard[1] == shard[0]]
    todo = [c for c in mine if not _chunk_paths(chunk_dir, c)[1].exists()]
    n_workers = max(1, min(workers or os.cpu_count() or 1, len(todo)))
    with progress.bar(total=sum(len(chunks[c]) for c in todo), desc="features", unit="utt") as pbar:
        if n_workers == 1:
            for c in todo:
                pbar.update(_extract_chunk(c, chunks[c], cfg.features, str(chunk_dir))["n_items"])
        else:
            with ProcessPoolExecutor(max_workers=n_workers, mp_context=get_context("spawn"),
                                     initializer=_worker_init) as pool:
                futures = [pool.submit(_extract_chunk, c, chunks[c], cfg.features, str(chunk_dir)) for c in todo]
                try:
                    for fut in as_completed(futures):
                        pbar.update(fut.result()["n_items"])
                except BaseException:
                    for fut in futures:
                        fut.cancel()
                    raise
    n_done = sum(_chunk_paths(chunk_dir, c)[1].exists() for c in range(len(chunks)))
    if n_done < len(chunks):
        return {"n_ok": None, "n_failed": None, "n_chunks": len(chunks), "n_chunks_done": n_done,
                "complete": False, "seconds": time.perf_counter() - t0, "out_dir": str(out)}
    try:
        info = _gather(out, df, len(chunks), cfg, manifest, digest, fingerprint, classes)
    except FileNotFoundError:  # another shard gathered the cache (and removed the chunks) first
        info = _read_complete(out)
        if info is None:
            raise
    return {**_summary(info), "seconds": time.perf_counter() - t0, "out_dir": str(out)}


def _summary(done: dict) -> dict:
    return {"n_ok": done["n_ok"], "n_failed": done["n_failed"], "n_repaired": done["n_repaired"],
            "n_chunks": done["n_chunks"], "n_chunks_done": done["n_chunks"], "complete": True}


def _read_complete(out: Path) -> dict | None:
    path = out / COMPLETE
    if not path.is_file():
        return None
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def _plan(out: Path, digest: str, fingerprint: str, chunk_size: int, n_rows: int) -> dict:
    """Read (or start) the run plan; a plan for another manifest or recipe restarts the cache."""
    path = out / "plan.json"
    want = {"manifest_sha256": digest, "features_fingerprint": fingerprint, "version": FEATURES_VERSION,
            "n_rows": n_rows}
    if path.is_file():
        try:
            plan = json.loads(path.read_text())
        except ValueError:
            plan = {}
        if all(plan.get(k) == v for k, v in want.items()):
            return plan
        for name in ("chunks",):
            shutil.rmtree(out / name, ignore_errors=True)
        for name in (COMPLETE, "frames.npy", "index.csv", "descriptors.csv", "failures.csv", "norm.npz"):
            (out / name).unlink(missing_ok=True)
    plan = {**want, "chunk_size": int(chunk_size)}
    atomic_write_text(path, json.dumps(plan, indent=1))
    return plan


def _gather(out: Path, df: pd.DataFrame, n_chunks: int, cfg: Config, manifest: Path, digest: str,
            fingerprint: str, classes: Sequence[str] = EMOTIONS) -> dict:
    """Concatenate the chunks into ``frames.npy``, fit the normalisation, write the index and the marker."""
    chunk_dir = out / "chunks"
    metas = [json.loads(_chunk_paths(chunk_dir, c)[1].read_text()) for c in range(n_chunks)]
    rows = [r for m in metas for r in m["rows"]]
    failures = [f for m in metas for f in m["failures"]]
    lengths = np.array([r["n_frames"] for r in rows], dtype=np.int64)
    offsets = np.concatenate([[0], np.cumsum(lengths)[:-1]]) if len(rows) else np.zeros(0, np.int64)
    total = int(lengths.sum())
    tmp = out / f"frames.npy.{os.getpid()}.partial"
    mm = np.lib.format.open_memmap(tmp, mode="w+", dtype=np.dtype(cfg.features.cache_dtype),
                                   shape=(total, N_STORED))
    pos = 0
    for c in range(n_chunks):
        block = np.load(_chunk_paths(chunk_dir, c)[0], mmap_mode="r")
        mm[pos:pos + len(block)] = block
        pos += len(block)
    mm.flush()
    assert pos == total

    index = df.iloc[[r["row"] for r in rows]].reset_index(drop=True)
    index.insert(0, "manifest_row", [r["row"] for r in rows])
    index["offset"] = offsets
    index["n_frames"] = lengths
    train = np.flatnonzero(index["split"].to_numpy() == "train")
    if len(train) == 0:  # e.g. a test-only corpus: fall back to every utterance, and say so
        train = np.arange(len(index))
    moments = RunningMoments(N_STORED)
    for i in train:
        moments.update(mm[offsets[i]:offsets[i] + lengths[i]])
    mean, std = moments.result() if len(train) else (np.zeros(N_STORED, np.float32), np.ones(N_STORED, np.float32))
    del mm

    desc = pd.DataFrame([r["descriptors"] for r in rows], columns=list(DESCRIPTOR_NAMES))
    fail = pd.DataFrame(failures, columns=list(FAILURE_COLUMNS))
    atomic_write_text(out / "index.csv", index.to_csv(index=False, lineterminator="\n"))
    atomic_write_text(out / "descriptors.csv", desc.to_csv(index=False, lineterminator="\n"))
    atomic_write_text(out / "failures.csv", fail.to_csv(index=False, lineterminator="\n"))
    tmp_norm = out / f"norm.{os.getpid()}.partial.npz"
    np.savez(tmp_norm, mean=mean, std=std, fitted_on=np.array("train" if (index["split"] == "train").any()
                                                              else "all"))
    os.replace(tmp_norm, out / "norm.npz")
    os.replace(tmp, out / "frames.npy")
    info = {
        "version": FEATURES_VERSION, "manifest": str(Path(manifest).resolve()),
        "manifest_sha256": digest, "features_fingerprint": fingerprint, "features": {k: v for k, v in cfg.to_dict()["features"].items() if k not in USE_ONLY_FIELDS},
        "n_ok": len(rows), "n_failed": int(sum(not f["kept"] for f in failures)),
        "n_repaired": int(sum(bool(f["kept"]) for f in failures)), "n_chunks": n_chunks, "n_frames": total,
        "n_columns": N_STORED, "dtype": cfg.features.cache_dtype, "classes": list(classes),
    }
    atomic_write_text(out / COMPLETE, json.dumps(info, indent=1))
    shutil.rmtree(chunk_dir, ignore_errors=True)
    return info


# ----------------------------------------------------------------------------------------------- reading
@dataclass
class FeatureStore:
    """A finished feature cache, memory-mapped. Build with :meth:`open` (a cache directory) or
    :meth:`from_arrays` (frames in memory).

    Attributes
    ----------
    path : Path or None
        The cache directory (None for :meth:`from_arrays` stores).
    n : int
        Number of extracted utterances (failed files are not counted; see ``failures``).
    index : pandas.DataFrame
        Manifest columns + ``manifest_row`` (row in the manifest), ``offset``, ``n_frames``.
    classes : tuple of str
        The corpus's label set in class-index order (``info["classes"]``: the prepared corpus's
        ``classes.txt``, the ``classes`` of :meth:`from_arrays`; the paper's 8 when none was declared).
    labels : np.ndarray [int32]
        Class indices into :attr:`classes`.
    splits, speakers : np.ndarray [str]
    lengths : np.ndarray [int64]
        Frames per utterance.
    norm_mean, norm_std : np.ndarray [float32, shape=(268,)]
        z-score statistics fitted on the train split.
    failures : pandas.DataFrame
        ``path``, ``problem``, ``detail``, ``kept``.
    utterance_descriptors : pandas.DataFrame
        One row per utterance (aligned with ``index``): :data:`DESCRIPTOR_NAMES`.
    """

    path: Path | None
    index: pd.DataFrame
    data: np.ndarray
    norm_mean: np.ndarray
    norm_std: np.ndarray
    failures: pd.DataFrame
    utterance_descriptors: pd.DataFrame
    info: dict = field(default_factory=dict)

    @classmethod
    def open(cls, path: str | Path) -> FeatureStore:
        """Open a finished cache directory; raises ``SernetError`` for an unfinished or foreign one."""
        path = Path(path)
        info = _read_complete(path)
        if info is None:
            raise SernetError(f"{path}: not a finished feature cache (no {COMPLETE}); run `sernet features`")
        if info.get("version") != FEATURES_VERSION:
            raise SernetError(f"{path}: feature cache version {info.get('version')}, this sernet reads "
                              f"{FEATURES_VERSION}; delete it and re-run `sernet features`")
        index = pd.read_csv(path / "index.csv", dtype={"speaker": str, "label": str, "split": str, "path": str})
        data = np.load(path / "frames.npy", mmap_mode="r")
        if data.shape[1] != N_STORED:
            raise SernetError(f"{path / 'frames.npy'}: {data.shape[1]} columns, expected {N_STORED}")
        norm = np.load(path / "norm.npz")
        fail = pd.read_csv(path / "failures.csv", dtype={"path": str, "problem": str, "detail": str})
        fail["detail"] = fail["detail"].fillna("")
        desc = pd.read_csv(path / "descriptors.csv")
        return cls(path=path, index=index, data=data, norm_mean=norm["mean"].astype(np.float32),
                   norm_std=norm["std"].astype(np.float32), failures=fail, utterance_descriptors=desc, info=info)

    @classmethod
    def from_arrays(
        cls,
        frames: Sequence[np.ndarray],
        labels: Sequence[str] | Sequence[int] | np.ndarray,
        speakers: Sequence[str] | None = None,
        splits: Sequence[str] | None = None,
        classes: Sequence[str] | None = None,
    ) -> FeatureStore:
        """An in-memory store over frames you extracted yourself: everything training and evaluation read.

        Parameters
        ----------
        frames : sequence of np.ndarray [shape=(T_i, 268)]
            Each utterance's raw (not normalised) frame features, e.g. ``sernet.extract_features(y)``.
        labels : sequence of str or int
            Each utterance's class: a name of ``classes`` or an index into it.
        speakers : sequence of str, optional
            Each utterance's speaker. Without them every utterance is its own speaker (then a split
            drawn here is not speaker-independent).
        splits : sequence of {"train", "val", "test"}, optional
            Each utterance's split. Default: whole speakers drawn into train/val/test in the proportions
            80/10/10 (``sernet.data.corpora.base.speaker_split``, seed 0; at least 3 speakers).
        classes : sequence of str, optional
            The label set, in index order (default: :data:`sernet.labels.EMOTIONS`).

        Returns
        -------
        FeatureStore
            ``path`` None; ``index`` with ``id``, ``label``, ``speaker``, ``split``, ``offset``, ``n_frames``
            (``path``/``duration_s`` empty); normalisation fitted on the train split (on every utterance when
            there is no train split), as :func:`extract_corpus` does; frames kept as float32.

        Raises
        ------
        SernetError
            Frames of the wrong shape or non-finite, sequences of different lengths, a label outside
            ``classes``, an unknown split name, or too few speakers to draw a split.

        Examples
        --------
        >>> rng = np.random.default_rng(0)
        >>> store = FeatureStore.from_arrays([rng.normal(size=(50, 268)) for _ in range(30)],
        ...                                  ["angry", "sad", "neutral"] * 10,
        ...                                  speakers=[f"spk{i % 10}" for i in range(30)])
        >>> store.n, store.frames(0).shape, sorted(store.index["split"].unique())
        (30, (50, 268), ['test', 'train', 'val'])
        >>> store.normalize(store.frames(0)).dtype
        dtype('float32')
        """
        n = len(frames)
        if n == 0:
            raise SernetError("FeatureStore.from_arrays: no utterances (frames is empty)")
        blocks = []
        for i, x in enumerate(frames):
            x = np.asarray(x, dtype=np.float32)
            if x.ndim != 2 or x.shape[1] != N_STORED or x.shape[0] == 0:
                raise SernetError(f"FeatureStore.from_arrays: frames[{i}] has shape {x.shape}, expected "
                                  f"[T > 0, {N_STORED}] (sernet.extract_features output)")
            if not np.isfinite(x).all():
                raise SernetError(f"FeatureStore.from_arrays: frames[{i}] holds NaN or Inf")
            blocks.append(x)
        for name, seq in (("labels", labels), ("speakers", speakers), ("splits", splits)):
            if seq is not None and len(seq) != n:
                raise SernetError(f"FeatureStore.from_arrays: {len(seq)} {name} for {n} utterances")
        classes = tuple(str(c) for c in (EMOTIONS if classes is None else classes))
        names = []
        for i, v in enumerate(labels):
            if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
                if not 0 <= int(v) < len(classes):
                    raise SernetError(f"FeatureStore.from_arrays: labels[{i}] = {v} is outside [0, {len(classes)})")
                names.append(classes[int(v)])
            elif str(v) in classes:
                names.append(str(v))
            else:
                raise SernetError(f"FeatureStore.from_arrays: labels[{i}] = {v!r} is not one of the classes "
                                  f"{list(classes)}")
        speaker = [f"utt{i:06d}" for i in range(n)] if speakers is None else [str(s) for s in speakers]
        if splits is None:
            from collections import Counter

            from sernet.data.corpora.base import speaker_split

            assignment = speaker_split(Counter(speaker))
            split = [assignment[s] for s in speaker]
        else:
            split = [str(s) for s in splits]
            unknown = sorted(set(split) - {"train", "val", "test"})
            if unknown:
                raise SernetError(f"FeatureStore.from_arrays: unknown split name(s) {unknown}; expected train, "
                                  "val or test")
        lengths = np.array([len(x) for x in blocks], dtype=np.int64)
        index = pd.DataFrame({
            "manifest_row": np.arange(n), "id": [f"utt{i:06d}" for i in range(n)], "path": "",
            "label": names, "speaker": speaker, "split": split, "duration_s": np.nan,
            "offset": np.concatenate([[0], np.cumsum(lengths)[:-1]]), "n_frames": lengths,
        })
        fit_on = [i for i in range(n) if split[i] == "train"] or list(range(n))
        moments = RunningMoments(N_STORED)
        for i in fit_on:
            moments.update(blocks[i])
        mean, std = moments.result()
        store = cls(path=None, index=index, data=np.concatenate(blocks), norm_mean=mean, norm_std=std,
                    failures=pd.DataFrame(columns=list(FAILURE_COLUMNS)),
                    utterance_descriptors=pd.DataFrame(np.nan, index=range(n), columns=list(DESCRIPTOR_NAMES)),
                    info={"source": "arrays", "classes": list(classes), "n_ok": n, "n_failed": 0,
                      "arrays_sha256": _arrays_sha256(blocks, names, speaker, split),
                          "n_frames": int(lengths.sum()), "n_columns": N_STORED, "dtype": "float32",
                          "norm_fitted_on": "train" if "train" in split else "all"})
        store.labels  # noqa: B018 - the trainer's class indices (from info["classes"]): fail here, not later
        return store

    def identity(self) -> dict:
        """What this store holds, as content (:mod:`sernet.artifacts`): for a cache, the manifest's SHA-256,
        the extraction recipe's key and the feature code version (``complete.json``; equal to
        ``sernet.workspace.data_identity(cfg, manifest)`` before extraction); for :meth:`from_arrays`, the
        SHA-256 of the frames, labels, speakers and splits."""
        if "arrays_sha256" in self.info:
            return {"arrays_sha256": self.info["arrays_sha256"]}
        if all(k in self.info for k in ("manifest_sha256", "features_fingerprint", "version")):
            return features_identity(self.info["manifest_sha256"], self.info["features_fingerprint"],
                                     self.info["version"])
        # a store assembled by hand (no cache record): its content is its identity
        blocks = [np.asarray(self.frames(i)) for i in range(self.n)]
        return {"arrays_sha256": _arrays_sha256(blocks, self.index["label"], self.index["speaker"],
                                                self.index["split"])}

    @property
    def n(self) -> int:
        return len(self.index)

    @property
    def classes(self) -> tuple[str, ...]:
        """The label set, in class-index order (the paper's 8 for a cache that declares none)."""
        return tuple(str(c) for c in self.info.get("classes") or EMOTIONS)

    @cached_property
    def labels(self) -> np.ndarray:
        """Class indices into :attr:`classes` (raises ``SernetError`` for a label outside them)."""
        lookup = {e: i for i, e in enumerate(self.classes)}
        try:
            return np.array([lookup[v] for v in self.index["label"]], dtype=np.int32)
        except KeyError as exc:
            raise SernetError(f"{self.path or 'feature store'}: label {exc.args[0]!r} is not one of the store's "
                              f"classes {list(self.classes)}") from None

    @cached_property
    def splits(self) -> np.ndarray:
        return self.index["split"].to_numpy(dtype=str)

    @cached_property
    def speakers(self) -> np.ndarray:
        return self.index["speaker"].to_numpy(dtype=str)

    @cached_property
    def lengths(self) -> np.ndarray:
        return self.index["n_frames"].to_numpy(dtype=np.int64)

    @cached_property
    def offsets(self) -> np.ndarray:
        """Row of each utterance's first frame in :attr:`data`."""
        return self.index["offset"].to_numpy(dtype=np.int64)

    @property
    def feature_names(self) -> tuple[str, ...]:
        return FEATURE_NAMES

    def frames(self, i: int) -> np.ndarray:
        """Utterance ``i``'s frames: a memory-mapped float16 view [T_i, 268] (copy before writing)."""
        o = int(self.offsets[i])
        return self.data[o:o + int(self.lengths[i])]

    def split_indices(self, split: str) -> np.ndarray:
        """Indices (into this store) of the utterances of ``split`` ("train", "val", "test")."""
        return np.flatnonzero(self.splits == split)

    def normalize(self, x: np.ndarray) -> np.ndarray:
        """z-score ``x`` [..., 268] with the train-split statistics (float32)."""
        return normalize(x, self.norm_mean, self.norm_std)

    def __repr__(self) -> str:
        return (f"FeatureStore({self.path or '<in memory>'}, n={self.n}, frames={len(self.data)}, "
                f"failures={int((~self.failures['kept'].astype(bool)).sum())})")
