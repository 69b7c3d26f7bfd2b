"""The one manifest format every corpus is converted to.

A manifest is a CSV file (``manifest.csv`` in a corpus folder) with one row per utterance:

==============  ==========================================================================
column          meaning
==============  ==========================================================================
path            audio file, relative to the manifest's folder (or absolute)
label           emotion, one of ``sernet.labels.EMOTIONS`` (or the corpus's declared classes)
speaker         speaker id (string); splits are speaker-independent
split           ``train``, ``val`` or ``test``
duration_s      duration in seconds
sex             optional: ``m``, ``f`` or empty
corpus          optional: corpus name
arousal         optional, with valence and dominance: dimensional ratings on MSP-Podcast's 1–7 scale
valence         (:data:`DIMENSION_SCALE`); every corpus maps its own ratings to these names and this
dominance       scale. When present each must be finite and inside the scale (empty only where the
                corpus has no rating for that utterance).
...             any further columns (e.g. the synthetic generator's ground truth) are kept
==============  ==========================================================================
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd
import soundfile as sf

from sernet.errors import ManifestError
from sernet.labels import EMOTIONS

REQUIRED_COLUMNS: tuple[str, ...] = ("path", "label", "speaker", "split", "duration_s")
SPLITS: tuple[str, ...] = ("train", "val", "test")
MANIFEST_NAME = "manifest.csv"
DIMENSIONS: tuple[str, ...] = ("arousal", "valence", "dominance")
"""The optional dimensional columns, one name across corpora."""
DIMENSION_SCALE: tuple[float, float] = (1.0, 7.0)
"""The declared rating scale of :data:`DIMENSIONS` (MSP-Podcast's; other corpora are mapped onto it)."""


def manifest_path(root: str | Path) -> Path:
    """``root/manifest.csv`` if ``root`` is a folder, else ``root`` itself."""
    root = Path(root)
    return root / MANIFEST_NAME if root.is_dir() else root


def read_manifest(
    path: str | Path,
    *,
    classes: Sequence[str] = EMOTIONS,
    check_audio: bool = False,
    sample_rate_hz: int | None = 16000,
) -> pd.DataFrame:
    """Read and validate a manifest; return it with ``path`` resolved to absolute paths.

    Parameters
    ----------
    path : str or Path
        The CSV file, or a corpus folder holding ``manifest.csv``.
    classes : sequence of str
        Allowed labels (default: the paper's 8 emotions).
    check_audio : bool
        Also open every audio header: a missing or unreadable file, or (when ``sample_rate_hz`` is not
        None) a file at another rate, raises ``ManifestError`` naming the file.

    Raises
    ------
    ManifestError
        Missing file or column, empty manifest, unknown label, unknown split, duplicate path,
        non-positive duration, a dimension column (:data:`DIMENSIONS`) with a non-numeric, infinite or
        out-of-scale value, and (with ``check_audio``) audio problems. The message names the file and
        the first offending rows.
    """
    path = manifest_path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: manifest not found")
    try:
        df = pd.read_csv(path, dtype={"speaker": str, "label": str, "split": str, "path": str})
    except Exception as exc:
        raise ManifestError(f"{path}: unreadable CSV ({exc})") from None
    missing = [c for c in REQUIRED_COLUMNS if c not in df.columns]
    if missing:
        raise ManifestError(f"{path}: missing column(s) {missing}; required {list(REQUIRED_COLUMNS)}")
    if df.empty:
        raise ManifestError(f"{path}: manifest has no rows")
    _check_values(df, path, classes)
    root = path.parent
    df["path"] = [str(p if Path(p).is_absolute() else (root / p)) for p in df["path"]]
    if check_audio:
        check_audio_files(df, sample_rate_hz=sample_rate_hz, source=path)
    return df


def _rows(mask: np.ndarray, df: pd.DataFrame, col: str) -> str:
    bad = df.loc[mask, col].astype(str)
    lines = [f"line {i + 2}: {v!r}" for i, v in zip(bad.index[:5], bad.values[:5], strict=False)]
    more = f" (+{len(bad) - 5} more)" if len(bad) > 5 else ""
    return "; ".join(lines) + more


def _check_values(df: pd.DataFrame, path: Path, classes: Sequence[str]) -> None:
    for col in REQUIRED_COLUMNS:
        empty = df[col].isna().to_numpy()
        if empty.any():
            raise ManifestError(f"{path}: empty {col!r} in {int(empty.sum())} row(s): {_rows(empty, df, 'path')}")
    bad = ~df["label"].isin(list(classes)).to_numpy()
    if bad.any():
        raise ManifestError(f"{path}: unknown label(s) {_rows(bad, df, 'label')}; expected one of {list(classes)}")
    bad = ~df["split"].isin(SPLITS).to_numpy()
    if bad.any():
        raise ManifestError(f"{path}: unknown split(s) {_rows(bad, df, 'split')}; expected one of {list(SPLITS)}")
    dur = pd.to_numeric(df["duration_s"], errors="coerce").to_numpy()
    bad = ~(dur > 0)
    if bad.any():
        raise ManifestError(f"{path}: non-positive or non-numeric duration_s {_rows(bad, df, 'duration_s')}")
    check_dimensions(df, path)
    dup = df["path"].duplicated().to_numpy()
    if dup.any():
        raise ManifestError(f"{path}: duplicate path(s) {_rows(dup, df, 'path')}")


def has_dimensions(df: pd.DataFrame) -> bool:
    """Whether ``df`` carries all of :data:`DIMENSIONS` with at least one rated row."""
    return all(c in df.columns for c in DIMENSIONS) and bool(df[list(DIMENSIONS)].notna().all(axis=1).any())


def check_dimensions(df: pd.DataFrame, source: str | Path) -> None:
    """Check the dimension columns present in ``df``: numeric, finite, inside :data:`DIMENSION_SCALE`.

    Empty cells are allowed (no rating for that utterance); a present value must be a number in the scale.

    Raises
    ------
    ManifestError
        Names ``source``, the column and the first offending rows.

    Examples
    --------
    >>> check_dimensions(pd.DataFrame({"path": ["a.wav"], "arousal": [9.0]}), "m.csv")
    Traceback (most recent call last):
    ...
    sernet.errors.ManifestError: m.csv: 'arousal' outside the scale [1.0, 7.0] or not finite: line 2: '9.0'
    """
    lo, hi = DIMENSION_SCALE
    for col in DIMENSIONS:
        if col not in df.columns:
            continue
        raw = df[col]
        value = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        bad = raw.notna().to_numpy() & ~(np.isfinite(value) & (value >= lo) & (value <= hi))
        if bad.any():
            raise ManifestError(f"{source}: {col!r} outside the scale [{lo}, {hi}] or not finite: "
                                f"{_rows(bad, df, col)}")


def check_audio_files(df: pd.DataFrame, *, sample_rate_hz: int | None, source: str | Path) -> None:
    """Open every audio header; raise ``ManifestError`` listing the files that fail."""
    problems = []
    for p in df["path"]:
        if not Path(p).is_file():
            problems.append(f"{p}: missing")
            continue
        try:
            info = sf.info(p)
        except Exception as exc:
            problems.append(f"{p}: unreadable ({str(exc).strip()})")
            continue
        if sample_rate_hz is not None and info.samplerate != sample_rate_hz:
            problems.append(f"{p}: wrong sample rate {info.samplerate} Hz, expected {sample_rate_hz} Hz")
    if problems:
        head = "; ".join(problems[:5]) + (f" (+{len(problems) - 5} more)" if len(problems) > 5 else "")
        raise ManifestError(f"{source}: {len(problems)} bad audio file(s): {head}")


def write_manifest(df: pd.DataFrame, path: str | Path) -> Path:
    """Write ``df`` atomically; paths under the manifest's folder are stored relative to it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = df.copy()
    root = path.parent.resolve()
    rel = []
    for p in out["path"]:
        pp = Path(p)
        try:
            rel.append(str(pp.resolve().relative_to(root)) if pp.is_absolute() else str(pp))
        except ValueError:
            rel.append(str(pp))
    out["path"] = rel
    tmp = path.with_name(path.name + ".partial")
    out.to_csv(tmp, index=False, float_format="%.6g", lineterminator="\n")
    tmp.replace(path)
    return path


def labels_to_indices(labels: Sequence[str], classes: Sequence[str] = EMOTIONS) -> np.ndarray:
    """Map label strings to class indices (int32)."""
    lookup = {c: i for i, c in enumerate(classes)}
    try:
        return np.array([lookup[lbl] for lbl in labels], dtype=np.int32)
    except KeyError as exc:
        raise ManifestError(f"unknown label {exc.args[0]!r}; expected one of {list(classes)}") from None
