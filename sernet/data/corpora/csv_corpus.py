"""Your own corpus as a CSV list: ``sernet prepare csv FILE --out OUT``.

``FILE`` has a header and the columns ``path,label`` and optionally ``speaker``, ``split`` and ``sex``
(any order, names case-insensitive); other columns are kept as extra manifest columns (a name that
clashes with a manifest column gets a ``csv_`` prefix)::

    path,label,speaker,split
    clips/a001.wav,Angry,spk01,train
    /data/more/b.flac,calm,spk02,test

Paths are relative to the CSV's folder, or absolute. Labels are lower-cased and stripped (``Angry`` and
``angry`` are one class); ``label_map=`` and ``classes=`` work as in :mod:`sernet.data.corpora.folder`.
The split is the CSV's own ``split`` column when it has one (``official``; ``train``, ``val`` (also
``valid``, ``validation``, ``dev``, ``development``) and ``test``; a row with another or an empty
value is dropped as ``unknown_partition``), otherwise the speaker-independent 80/10/10; any other rule
(``test``, ``kfold:K``, ``loso``) can be asked for. Without a ``speaker`` column each file is its own
speaker (the summary warns); an empty speaker cell marks the speaker unknown (``unknown_speaker``
under the speaker splits).

Rows are checked like a folder's files: empty path (``malformed_row``), a path listed twice
(``duplicate_row``), a hidden or system file (``hidden_file``), not an audio extension (``not_audio``),
no such file (``missing_audio``), empty label (``no_label``), then the audio checks of every preparer.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import pandas as pd

from sernet.data.corpora.base import Candidate, Dropped, PrepareError, PrepareSummary
from sernet.data.corpora.folder import (
    RESERVED_COLUMNS,
    SPEAKER_WARNING,
    corpus_name,
    custom_spec,
    finish_labels,
    normalise_label,
    parse_sex,
    skipped_file,
)

PARTITIONS: dict[str, str] = {
    "train": "train", "training": "train", "val": "val", "valid": "val", "validation": "val", "dev": "val",
    "development": "val", "test": "test", "testing": "test", "eval": "test", "evaluation": "test",
}


def scan_csv(
    csv_file: Path, *, split: str = "paper", warnings: list[str] | None = None,
) -> tuple[list[Candidate], list[Dropped], bool]:
    """The rows of ``csv_file`` as candidates and drops, and whether the CSV has a ``split`` column."""
    warnings = [] if warnings is None else warnings
    try:
        table = pd.read_csv(csv_file, dtype=str, keep_default_na=False, skipinitialspace=True,
                            encoding="utf-8-sig")
    except Exception as exc:
        raise PrepareError(f"{csv_file}: cannot read the CSV ({str(exc).strip()})") from None
    table.columns = [str(c).strip().lower() for c in table.columns]
    missing = [c for c in ("path", "label") if c not in table.columns]
    if missing:
        raise PrepareError(f"{csv_file}: missing column(s) {missing}; expected path,label[,speaker][,split] "
                           f"(found {list(table.columns)})")
    has_speaker, has_split = "speaker" in table.columns, "split" in table.columns
    if not has_speaker:
        warnings.append(SPEAKER_WARNING)
    extra_cols = [c for c in table.columns if c not in ("path", "label", "speaker", "split", "sex")]
    rename = {c: (f"csv_{c}" if c in RESERVED_COLUMNS else c) for c in extra_cols}
    base = csv_file.parent
    found, dropped, seen = [], [], set()
    for i, row in enumerate(table.to_dict("records")):
        where = f"{csv_file}:{i + 2}"  # line 1 is the header
        text = row["path"].strip()
        if not text:
            dropped.append(Dropped(where, "malformed_row", "empty path"))
            continue
        listed = Path(text).expanduser()
        path = listed if listed.is_absolute() else base / listed
        key = path.resolve()
        if key in seen:
            dropped.append(Dropped(str(path), "duplicate_row", f"{where}: listed again (the first row is kept)"))
            continue
        seen.add(key)
        skip = skipped_file(path, Path(path.name) if listed.is_absolute() else listed)  # not /home/u/.cache/...
        if skip:
            dropped.append(skip)
            continue
        if not path.is_file():
            dropped.append(Dropped(str(path), "missing_audio", f"{where}: no such file"))
            continue
        label = normalise_label(row["label"])
        if not label:
            dropped.append(Dropped(str(path), "no_label", f"{where}: empty label"))
            continue
        official = None
        if has_split:
            official = PARTITIONS.get(row["split"].strip().lower())
            if official is None and split == "official":
                dropped.append(Dropped(str(path), "unknown_partition",
                                       f"{where}: split {row['split']!r}; expected train, val or test"))
                continue
        if has_speaker:
            speaker = row["speaker"].strip() or None
        else:
            speaker = listed.with_suffix("").as_posix()
        found.append(Candidate(source=path, label=label, speaker=speaker, sex=parse_sex(row.get("sex")),
                               official=official, extras={rename[c]: row[c] for c in extra_cols}))
    return found, dropped, has_split


def prepare_csv(
    csv_file: str | Path,
    out: str | Path,
    *,
    classes: Sequence[str] | str | None = None,
    label_map: str | Path | dict[str, str | None] | None = None,
    name: str | None = None,
    split: str | None = None,
    **options,
) -> PrepareSummary:
    """Prepare the corpus listed in ``csv_file`` (see the module docstring) into ``out``.

    ``split=None``: the CSV's ``split`` column (``official``) when it has one, else ``paper``. Other
    ``options`` are those of :func:`~sernet.data.corpora.prepare.prepare_corpus`.
    """
    from sernet.data.corpora.base import parse_split
    from sernet.data.corpora.prepare import prepare_corpus

    csv_file, out = Path(csv_file).expanduser(), Path(out).expanduser()
    if not csv_file.is_file():
        raise PrepareError(f"{csv_file}: CSV file not found")
    if out.resolve() == csv_file.parent.resolve() and csv_file.name in (
            "manifest.csv", "classes.txt", "summary.json", "dropped.csv"):
        raise PrepareError(f"{out}: would overwrite the input {csv_file}; choose another --out")
    warnings: list[str] = []
    header = pd.read_csv(csv_file, dtype=str, nrows=0, encoding="utf-8-sig").columns
    has_split = "split" in {str(c).strip().lower() for c in header}
    if split is None:
        split = "official" if has_split else "paper"
    rule, _ = parse_split(split)
    if rule == "official" and not has_split:
        raise PrepareError(f"{csv_file}: --split official needs a 'split' column; possible: paper, test, "
                           "kfold:K, loso")
    candidates, dropped, _ = scan_csv(csv_file, split=rule, warnings=warnings)
    candidates, order = finish_labels(candidates, dropped, label_map=label_map, classes=classes,
                                      warnings=warnings)
    if not order:
        raise PrepareError(f"{csv_file}: no usable row (found {len(dropped)}, all dropped)")
    spec = custom_spec(corpus_name(name or csv_file.stem), f"CSV corpus {csv_file}", candidates, dropped,
                       order, official=has_split, notes="files and labels listed in a CSV")
    return prepare_corpus(spec, csv_file.parent, out, split=split, labels="native", warn=warnings,
                          allow_out_in_root=True, **options)
