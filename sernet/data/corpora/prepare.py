"""The common half of every preparer: label mapping, audio checks, 16 kHz conversion, splits, manifest.

Output folder ``OUT`` (re-runnable; finished conversions are skipped)::

    OUT/manifest.csv        path,label,speaker,split,duration_s,sex,corpus + the corpus's extra columns
                            (+ fold under --split kfold:K / loso)
    OUT/classes.txt         the class list of the manifest's labels, one per line, in class-index order
    OUT/<extra>/manifest.csv  extra official test sets (MSP-Podcast Test2/Test3), split "test"
    OUT/wav16k/...          audio converted to 16 kHz mono 16-bit WAV (files not already 16 kHz mono)
    OUT/summary.json        found / kept / dropped-by-reason / per-class counts
    OUT/dropped.csv         every dropped file with its reason and detail

Audio already at 16 kHz mono (MSP-Podcast, CREMA-D, EmoDB, IEMOCAP) is referenced in place by absolute
path, so a 100-hour corpus is not copied; other audio (RAVDESS 48 kHz, TESS 24.414 kHz, SAVEE 44.1 kHz)
is resampled with soxr (``sernet.data.audio.read_audio(resample=True)``) and written atomically under
``OUT/wav16k`` mirroring the release's folders. Every kept file has passed
:func:`sernet.data.audio.validate_audio`: unreadable, empty, silent or too-short files are dropped and
listed with their problem.

Split rules (``split=``): ``paper`` (speaker-independent 80/10/10, the default), ``official`` (the
corpus's own partitions, where it has them), and for every corpus ``test`` (an evaluation-only corpus:
every utterance in test, any number of speakers), ``kfold:K`` (whole speakers in K folds of even size, a
``fold`` column 0..K-1; fold ``test_fold`` is the test split, the next fold validation, the rest train)
and ``loso`` (leave one speaker out: ``fold`` = the speaker's index in sorted order; speaker
``test_fold`` is test, the next one validation, the rest train). Prepare one folder per fold to rotate.
With two folds (or speakers) there is no validation split. A re-run that produces the same manifest and
class list says so (``PrepareSummary.manifest_state == "unchanged"``).

Read a prepared corpus with its class list::

    from sernet.data import read_manifest
    from sernet.data.corpora import read_classes
    df = read_manifest(OUT, classes=read_classes(OUT), check_audio=True)
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd
import soundfile as sf

from sernet import progress
from sernet.data.audio import read_audio, write_wav
from sernet.data.corpora.base import (
    LABEL_SETS,
    PAPER_SPLIT_FRACTIONS,
    SPLIT_SEED,
    Candidate,
    CorpusSpec,
    Dropped,
    PrepareError,
    PrepareSummary,
    parse_split,
    speaker_folds,
    speaker_split,
)
from sernet.data.manifest import SPLITS, write_manifest
from sernet.errors import AudioError
from sernet.labels import EMOTIONS

SAMPLE_RATE_HZ = 16000  # the manifest contract (sernet.data.manifest): every file 16 kHz mono
CLASSES_NAME = "classes.txt"
CONVERTED_DIR = "wav16k"


def read_classes(out: str | Path) -> tuple[str, ...]:
    """The class list of a prepared corpus (``OUT/classes.txt``); the paper's 8 when the file is absent.

    Pass it to :func:`sernet.data.manifest.read_manifest` (``classes=``) and to anything that maps labels
    to indices: line ``i`` of ``classes.txt`` is class index ``i``.
    """
    out = Path(out)
    folder = out if out.is_dir() else out.parent
    path = folder / CLASSES_NAME
    if not path.is_file():
        return EMOTIONS
    classes = tuple(line.strip() for line in path.read_text().splitlines() if line.strip())
    if not classes:
        raise PrepareError(f"{path}: empty class list")
    return classes


def prepare_corpus(
    spec: CorpusSpec,
    root: str | Path,
    out: str | Path,
    *,
    split: str = "paper",
    labels: str = "paper8",
    fractions: Sequence[float] = PAPER_SPLIT_FRACTIONS,
    seed: int = SPLIT_SEED,
    workers: int = 1,
    test_fold: int = 0,
    warn: Sequence[str] = (),
    allow_out_in_root: bool = False,
    label_map: str | Path | dict[str, str | None] | None = None,
    **scan_options,
) -> PrepareSummary:
    """Turn a local copy of a corpus into a validated 16 kHz manifest under ``out``.

    Parameters
    ----------
    spec : CorpusSpec
        The corpus (see :data:`sernet.data.corpora.CORPORA`).
    root : str or Path
        The user's copy, in the release layout documented by the preparer.
    out : str or Path
        The prepared corpus folder (created). Point ``SERNET_DATA`` at it.
    split : {"paper", "official", "test", "kfold:K", "loso"}
        ``paper``: speaker-independent 80/10/10 by speaker (:func:`speaker_split`, seeded);
        ``official``: the corpus's own partitions, where it has them; ``test``: every utterance in
        test; ``kfold:K`` and ``loso``: speaker folds (see the module docstring).
    labels : {"paper8", "native"}
        ``paper8``: map to the paper's 8 classes, dropping classes with no counterpart;
        ``native``: keep the corpus's own classes.
    fractions, seed
        Split fractions and shuffle seed of the ``paper`` split.
    workers : int
        Processes that check and convert audio (1: in this process). Results do not depend on it.
    test_fold : int
        ``kfold:K`` / ``loso``: the fold (speaker index) that is the test split (default 0).
    label_map : str, Path or dict, optional
        With ``labels="native"``: native label -> target label, or None / ``drop`` to drop it (a CSV or JSON
        file, see :func:`sernet.data.corpora.read_label_map`); unlisted labels stay as they are. The classes
        are the targets in the corpus's native order (e.g. RAVDESS ``calm -> neutral`` gives 7 classes).
    warn : sequence of str
        Warnings of the caller (e.g. the folder preparer) to show in the summary.
    allow_out_in_root : bool
        Accept ``out`` inside ``root`` (the CSV preparer: its files are listed, never scanned).
    **scan_options
        Passed to the corpus's scanner (e.g. ``fold=`` for IEMOCAP).

    Returns
    -------
    PrepareSummary
        Also written to ``out/summary.json`` and ``out/dropped.csv``.

    Raises
    ------
    PrepareError
        Unknown split rule or label set, a root that is not a folder, a missing label file, or no
        utterance left to write.
    """
    root, out = Path(root).expanduser(), Path(out).expanduser()
    rule, k = parse_split(split)
    if rule in ("paper", "official") and rule not in spec.splits:
        raise PrepareError(f"{spec.name}: --split {split!r} not available; this corpus offers "
                           f"{spec.splits + ('test', 'kfold:K', 'loso')}")
    if labels not in LABEL_SETS:
        raise PrepareError(f"--labels {labels!r}: expected one of {LABEL_SETS}")
    if not root.is_dir():
        raise PrepareError(f"{root}: corpus root not found (expected a folder in the {spec.title} layout)")
    if not allow_out_in_root and out.resolve().is_relative_to(root.resolve()):
        raise PrepareError(f"{out}: the output folder must not be inside the corpus root {root} "
                           "(its converted WAVs would be scanned as corpus files on the next run)")
    classes = spec.classes(labels)
    mapping = _native_label_map(spec, labels, label_map, classes)
    if mapping is not None:
        classes = tuple(dict.fromkeys(t for c in classes if (t := mapping.get(c, c)) is not None))
        if not classes:
            raise PrepareError(f"--label-map {label_map}: every {spec.name} label is mapped to drop")

    candidates, dropped = spec.scan(root, split=rule, **scan_options)
    found = len(candidates) + len(dropped)
    if not candidates and not dropped:
        raise PrepareError(f"{root}: no {spec.title} audio or label rows found; see data_scripts/README.md")

    kept: list[tuple[Candidate, str]] = []
    for c in candidates:
        label = spec.map_label(c.label, labels)
        if label is not None and mapping is not None:
            target = mapping.get(label, label)
            if target is None:
                dropped.append(Dropped(str(c.source), "label_map_drop", f"{label!r} mapped to drop"))
                continue
            label = target
        if label is None:
            dropped.append(Dropped(str(c.source), "not_in_classes", f"{c.label!r} is not in --labels {labels}"))
        elif rule in ("paper", "kfold", "loso") and c.speaker is None:
            dropped.append(Dropped(str(c.source), "unknown_speaker", "no speaker id; cannot split by speaker"))
        else:
            kept.append((c, label))

    out.mkdir(parents=True, exist_ok=True)
    rows, converted, referenced, mixed_down = [], 0, 0, 0
    resampled: dict[int, int] = {}
    results = _map_audio([(c.source, root, out) for c, _ in kept], workers)
    bar = progress.bar(zip(kept, results, strict=True), total=len(kept), desc=f"prepare {spec.name}", unit="file")
    for (c, label), result in bar:
        if isinstance(result, AudioError):
            dropped.append(Dropped(str(c.source), result.problem, result.detail))
            continue
        path, duration_s, was_converted, rate, channels = result
        converted += was_converted
        mixed_down += channels > 1
        if rate != SAMPLE_RATE_HZ:
            resampled[rate] = resampled.get(rate, 0) + 1
        referenced += path == c.source.resolve()
        rows.append({"path": str(path), "label": label, "speaker": c.speaker or "unknown",
                     "duration_s": duration_s, "sex": c.sex, "corpus": spec.name,
                     "_group": c.group or c.speaker, "_official": c.official, **c.extras})
    if not rows:
        raise PrepareError(f"{root}: no usable {spec.title} utterance (found {found}, all dropped); "
                           "see the reasons above")
    df = pd.DataFrame(rows)
    warnings = list(warn)
    df = _assign_splits(df, rule, k, fractions, seed, spec, test_fold, warnings)

    before = _read_bytes(out / "manifest.csv") + b"\0" + _read_bytes(out / CLASSES_NAME)
    manifests: dict[str, str] = {}
    (out / CLASSES_NAME).write_text("\n".join(classes) + "\n")
    main = df[df["split"].isin(SPLITS)]
    if main.empty:
        raise PrepareError(f"{root}: no utterance falls in train/val/test under --split {split}")
    manifests["main"] = str(write_manifest(main.reset_index(drop=True), out / "manifest.csv"))
    for extra in sorted(set(df["split"]) - set(SPLITS)):  # e.g. MSP-Podcast Test2 -> OUT/test2/
        sub = df[df["split"] == extra].assign(split="test").reset_index(drop=True)
        manifests[extra] = str(write_manifest(sub, out / extra / "manifest.csv"))
        (out / extra / CLASSES_NAME).write_text("\n".join(classes) + "\n")

    for stale in out.glob("*/manifest.csv"):  # an extra test set of an earlier run with other options
        if stale.parent.name not in manifests:
            stale.unlink()
            (stale.parent / CLASSES_NAME).unlink(missing_ok=True)

    after = _read_bytes(out / "manifest.csv") + b"\0" + _read_bytes(out / CLASSES_NAME)
    state = "new" if before == b"\0" else "unchanged" if before == after else "changed"
    summary = PrepareSummary(
        corpus=spec.name, root=str(root), out=str(out), split=split, labels=labels, classes=classes,
        found=found, kept=len(df), dropped=dropped, counts=_counts(df, classes, spec, labels, mapping),
        documented_total=spec.documented_total(), converted=converted, referenced=referenced,
        manifests=manifests, warnings=warnings, resampled=resampled, mixed_down=mixed_down,
        manifest_state=state,
    )
    summary.write(out)
    return summary


def _native_label_map(spec: CorpusSpec, labels: str, label_map, classes: Sequence[str]) -> dict | None:
    """The user's label map of a registry corpus, checked against its native classes (None without one)."""
    if label_map is None:
        return None
    from sernet.data.corpora.folder import read_label_map

    if labels != "native":
        raise PrepareError(f"--label-map maps {spec.name}'s native labels: use it with --labels native (it "
                           "replaces the paper8 mapping)")
    mapping = read_label_map(label_map) if isinstance(label_map, (str, Path)) else dict(label_map)
    unknown = sorted(set(mapping) - set(classes))
    if unknown:
        raise PrepareError(f"--label-map {label_map}: {unknown} are not labels of {spec.name} (its native labels: "
                           f"{list(classes)})")
    return mapping


def _read_bytes(path: Path) -> bytes:
    return path.read_bytes() if path.is_file() else b""


def _checked(args: tuple[Path, Path, Path]) -> tuple[Path, float, bool, int, int] | AudioError:
    try:
        return _audio_16k(*args)
    except AudioError as exc:  # returned, not raised, so one bad file never stops a worker pool
        return exc


def _map_audio(jobs: list[tuple[Path, Path, Path]], workers: int):
    """Lazily yield :func:`_checked` of every job, in order, in ``workers`` processes."""
    if workers <= 1 or len(jobs) < 2:
        yield from map(_checked, jobs)
        return
    from concurrent.futures import ProcessPoolExecutor

    with ProcessPoolExecutor(max_workers=workers) as pool:
        yield from pool.map(_checked, jobs, chunksize=16)


def _audio_16k(source: Path, root: Path, out: Path) -> tuple[Path, float, bool, int, int]:
    """(manifest path, duration in s, converted this run, source rate, source channels) for ``source``;
    raises ``AudioError``."""
    if not source.is_file():
        raise AudioError(source, "missing", "no such file")
    try:
        info = sf.info(str(source))
    except Exception as exc:
        raise AudioError(source, "unreadable", str(exc).strip() or type(exc).__name__) from None
    if info.samplerate == SAMPLE_RATE_HZ and info.channels == 1 and info.format == "WAV":
        y = read_audio(source, sample_rate_hz=SAMPLE_RATE_HZ)  # validates (silent, too short, ...)
        return source.resolve(), y.size / SAMPLE_RATE_HZ, False, info.samplerate, info.channels
    try:
        rel = source.resolve().relative_to(root.resolve())
    except ValueError:  # outside the root (a CSV's absolute path): mirror the full path, so no clash
        rel = Path("_outside_root", *source.resolve().parts[1:])
    target = (out / CONVERTED_DIR / rel).with_suffix(".wav")
    if target.is_file():  # finished by an earlier run: written only after validation, atomically
        try:
            done = sf.info(str(target))
            if done.samplerate == SAMPLE_RATE_HZ and done.frames > 0:
                return target.resolve(), done.frames / SAMPLE_RATE_HZ, False, info.samplerate, info.channels
        except Exception:
            pass  # a damaged earlier output: convert again
    y = read_audio(source, sample_rate_hz=SAMPLE_RATE_HZ, resample=True)
    write_wav(target, y, SAMPLE_RATE_HZ)
    return target.resolve(), y.size / SAMPLE_RATE_HZ, True, info.samplerate, info.channels


def _assign_splits(df: pd.DataFrame, split: str, k: int | None, fractions, seed: int, spec: CorpusSpec,
                   test_fold: int, warnings: list[str]) -> pd.DataFrame:
    if split in ("kfold", "loso"):
        if "fold" in df.columns:  # a corpus's own fold column (IEMOCAP sessions) keeps its values
            df = df.rename(columns={"fold": "corpus_fold"})
        sizes = df.groupby("speaker").size().to_dict()
        if split == "loso":
            if len(sizes) < 2:
                raise PrepareError(f"--split loso needs at least 2 speakers; this corpus has {len(sizes)} "
                                   f"({', '.join(map(str, sizes))}). Possible instead: --split test "
                                   "(evaluation only)")
            folds = {g: i for i, g in enumerate(sorted(sizes))}
        else:
            folds = speaker_folds(sizes, int(k), seed=seed)
        n = len(set(folds.values()))
        if not 0 <= test_fold < n:
            raise PrepareError(f"--fold {test_fold}: expected 0..{n - 1} for --split "
                               f"{'loso' if split == 'loso' else f'kfold:{k}'}")
        val_fold = (test_fold + 1) % n if n >= 3 else None
        df["fold"] = df["speaker"].map(folds).astype(int)
        df["split"] = ["test" if f == test_fold else "val" if f == val_fold else "train" for f in df["fold"]]
        if val_fold is None:
            warnings.append(f"only {n} folds: no validation split (train and test only)")
    elif split == "test":
        df["split"] = "test"
        warnings.append("--split test: every utterance is in test (an evaluation-only corpus)")
    elif split == "official":
        missing = df["_official"].isna()
        if missing.any():
            raise PrepareError(f"{spec.name}: {int(missing.sum())} utterance(s) have no official partition, "
                               f"e.g. {df.loc[missing, 'path'].iloc[0]}")
        df["split"] = df["_official"]
    else:
        sizes = df.groupby("_group").size().to_dict()
        if len(sizes) < 3:  # name what is possible instead of a bare "needs at least 3"
            try:
                speaker_split(sizes, fractions=fractions, seed=seed)
            except PrepareError as exc:
                raise PrepareError(
                    f"{spec.name}: {exc}. Possible instead: --split test (an evaluation-only corpus: every "
                    "utterance in test)" + (", --split loso (leave-one-speaker-out: one speaker in test, "
                                            "the other in train, a fold column)" if len(sizes) == 2 else "")
                ) from None
        assign = speaker_split(sizes, fractions=fractions, seed=seed)
        df["split"] = df["_group"].map(assign)
    df = df.drop(columns=["_group", "_official"])
    first = ["path", "label", "speaker", "split", "duration_s", "sex", "corpus"] + (
        ["fold"] if split in ("kfold", "loso") else [])
    return df[first + [c for c in df.columns if c not in first]]


def _counts(df: pd.DataFrame, classes: Sequence[str], spec: CorpusSpec, labels: str,
            mapping: dict | None = None) -> pd.DataFrame:
    """Class x split counts of the kept utterances, a total, and the release's documented count."""
    splits = list(SPLITS) + sorted(set(df["split"]) - set(SPLITS))
    table = pd.crosstab(df["label"], df["split"]).reindex(index=list(classes), columns=splits, fill_value=0)
    table = table.fillna(0).astype(int)
    table.index.name, table.columns.name = "class", None
    table["total"] = table.sum(axis=1)
    if spec.documented_counts:
        documented = dict.fromkeys(classes, 0)
        for native, n in spec.documented_counts.items():
            mapped = spec.map_label(native, labels)
            if mapped is not None and mapping is not None:
                mapped = mapping.get(mapped, mapped)
            if mapped is not None:
                documented[mapped] += n
        table["documented"] = [documented[c] for c in table.index]
    table.loc["total"] = table.sum(axis=0)
    return table
