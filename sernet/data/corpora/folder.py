"""Your own corpus as a folder tree: ``sernet prepare folder ROOT --out OUT``.

Layouts (``layout=``, the folder levels under ``ROOT`` above each file; default ``"label"``)::

    ROOT/angry/001.wav                      layout "label" (default): the label is the sub-folder
    ROOT/spk01/angry/001.wav                layout "speaker/label"
    ROOT/angry/spk01/001.wav                layout "label/speaker"
    ROOT/s1/spk01/angry/001.wav             layout "session/speaker/label" (other names: extra columns)

or a file-name pattern (``pattern=``, a regular expression with the named groups ``label`` and/or
``speaker``, searched in the file name, or in the path relative to ``ROOT`` when the pattern contains a
``/``; other named groups become extra manifest columns, a ``sex`` group fills ``sex``)::

    ROOT/spk01_angry_001.wav                pattern r"^(?P<speaker>[^_]+)_(?P<label>[^_]+)_"

Levels deeper than the layout are ignored (``ROOT/angry/take2/001.wav`` is ``angry``). Labels are
lower-cased and stripped, so ``Angry/`` and ``angry/`` are one class. The class list is the labels
found, sorted, or ``classes=`` in that order (other labels are dropped as ``not_in_classes``);
``label_map=`` (a CSV or JSON file, see :func:`read_label_map`) maps native labels to target labels or
drops them first.

Gotchas handled (each counted in the summary and listed in ``dropped.csv``): hidden and system files
(``.DS_Store``, ``._x.wav``, ``__MACOSX/``, ``Thumbs.db``: ``hidden_file``), files that are not audio
(``not_audio``), files outside a label folder (``no_label``), unreadable or corrupt audio
(``unreadable``, ``empty``, ``silent``, ``too_short``, from :func:`sernet.data.audio.validate_audio`).
Stereo is averaged to mono and other rates resampled to 16 kHz into ``OUT/wav16k`` (counted in the
summary). Without a speaker (no ``speaker`` level or group) each file is its own speaker and the summary
warns that the split is not speaker-independent.
"""

from __future__ import annotations

import json
import re
from collections import Counter
from collections.abc import Sequence
from pathlib import Path

from sernet.data.corpora.base import Candidate, CorpusSpec, Dropped, PrepareError, PrepareSummary

# Extensions of the formats libsndfile reads (m4a/aac/wma are not among them: convert with ffmpeg).
AUDIO_EXTENSIONS: frozenset[str] = frozenset({
    ".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff", ".aifc", ".au", ".snd",
    ".caf", ".w64", ".rf64"})
SYSTEM_NAMES: frozenset[str] = frozenset({".ds_store", "thumbs.db", "desktop.ini", "__macosx", "@eadir"})
RESERVED_COLUMNS: frozenset[str] = frozenset({"path", "label", "speaker", "split", "duration_s", "corpus",
                                              "fold"})
DROP_WORDS: frozenset[str] = frozenset({"", "drop"})
SPEAKER_WARNING = ("no speaker given: each file is its own speaker, so the split is NOT speaker-independent "
                   "(give a speaker level, e.g. layout 'speaker/label', a pattern with a (?P<speaker>...) "
                   "group, or a speaker column)")


def normalise_label(text: str) -> str:
    """A label as sernet stores it: stripped, lower-case, inner whitespace collapsed.

    >>> normalise_label(" Angry ")
    'angry'
    """
    return " ".join(str(text).strip().lower().split())


def hidden_reason(rel: Path) -> str | None:
    """Why ``rel`` (relative to the root) is a hidden or system file, or None.

    >>> hidden_reason(Path("angry/._01.wav"))
    "hidden name '._01.wav'"
    """
    for part in rel.parts:
        if part.lower() in SYSTEM_NAMES:
            return f"system file or folder {part!r}"
        if part.startswith("."):
            return f"hidden name {part!r}"
    return None


def audio_reason(path: Path) -> str | None:
    """Why ``path`` is not an audio file sernet reads (by extension), or None."""
    if path.suffix.lower() in AUDIO_EXTENSIONS:
        return None
    return f"extension {path.suffix or '(none)'!r} is not an audio format sernet reads"


def skipped_file(path: Path, rel: Path) -> Dropped | None:
    """The drop record of a hidden/system file (judged by ``rel``, its path inside the corpus) or of a file that
    is not audio by its extension; None for a file to read. Shared by the folder and CSV preparers."""
    why = hidden_reason(rel)
    if why:
        return Dropped(str(path), "hidden_file", why)
    why = audio_reason(path)
    return Dropped(str(path), "not_audio", why) if why else None


def read_label_map(path: str | Path) -> dict[str, str | None]:
    """Read a label map: native label -> target label, or None (drop).

    JSON: an object ``{"calm": "neutral", "boredom": "drop", "other": ""}``. CSV: two columns
    ``native,target`` per line (a first line ``native,target`` is a header); an empty target or
    ``drop`` drops the label. Labels are normalised with :func:`normalise_label`.
    """
    import csv

    path = Path(path).expanduser()
    if not path.is_file():
        raise PrepareError(f"--label-map {path}: no such file")
    text = path.read_text(encoding="utf-8-sig")
    pairs: list[tuple[str, str]] = []
    if path.suffix.lower() == ".json":
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise PrepareError(f"--label-map {path}: not valid JSON ({exc})") from None
        if not isinstance(data, dict):
            raise PrepareError(f"--label-map {path}: expected a JSON object native -> target")
        pairs = [(str(k), "" if v is None else str(v)) for k, v in data.items()]
    else:
        for i, row in enumerate(csv.reader(text.splitlines()), start=1):
            if not row or not "".join(row).strip() or row[0].lstrip().startswith("#"):
                continue
            if len(row) > 2:
                raise PrepareError(f"--label-map {path}:{i}: expected 'native,target', got {len(row)} fields")
            native, target = row[0], row[1] if len(row) == 2 else ""
            if i == 1 and normalise_label(native) == "native" and normalise_label(target) == "target":
                continue
            pairs.append((native, target))
    out: dict[str, str | None] = {}
    for native, target in pairs:
        key, value = normalise_label(native), normalise_label(target)
        if not key:
            raise PrepareError(f"--label-map {path}: empty native label")
        if key in out and out[key] != (None if value in DROP_WORDS else value):
            raise PrepareError(f"--label-map {path}: {key!r} mapped twice")
        out[key] = None if value in DROP_WORDS else value
    if not out:
        raise PrepareError(f"--label-map {path}: no mapping found")
    return out


def finish_labels(
    candidates: list[Candidate],
    dropped: list[Dropped],
    *,
    label_map: str | Path | dict[str, str | None] | None,
    classes: Sequence[str] | str | None,
    warnings: list[str],
) -> tuple[list[Candidate], tuple[str, ...]]:
    """Apply the label map (dropping ``label_map_drop`` labels) and settle the class list.

    Returns the remaining candidates and the class list: ``classes`` (normalised, in its order) or the
    labels found, sorted.
    """
    mapping = read_label_map(label_map) if isinstance(label_map, (str, Path)) else label_map
    kept = []
    if mapping:
        unmapped = sorted({c.label for c in candidates} - set(mapping))
        if unmapped:
            warnings.append(f"label(s) not in the label map, kept as they are: {', '.join(unmapped)}")
        for c in candidates:
            target = mapping.get(c.label, c.label)
            if target is None:
                dropped.append(Dropped(str(c.source), "label_map_drop", f"{c.label!r} mapped to drop"))
                continue
            c.label = target
            kept.append(c)
    else:
        kept = list(candidates)
    if classes is not None:
        names = classes.split(",") if isinstance(classes, str) else list(classes)
        order = tuple(normalise_label(c) for c in names if normalise_label(c))
        dup = [c for c, n in Counter(order).items() if n > 1]
        if not order or dup:
            raise PrepareError(f"--classes {classes!r}: expected distinct class names"
                               + (f" (repeated: {', '.join(dup)})" if dup else ""))
    else:
        order = tuple(sorted({c.label for c in kept}))
    return kept, order


def corpus_name(text: str) -> str:
    """A manifest ``corpus`` value from a folder or file name: lower-case, ``[a-z0-9_]``.

    >>> corpus_name("My Corpus-2")
    'my_corpus_2'
    """
    name = re.sub(r"[^a-z0-9_]+", "_", str(text).lower()).strip("_")
    return name or "custom"


def custom_spec(name: str, title: str, candidates: list[Candidate], dropped: list[Dropped],
                classes: tuple[str, ...], *, official: bool = False, notes: str = "") -> CorpusSpec:
    """A :class:`CorpusSpec` for a user corpus whose scan already ran (its results are returned as is)."""

    def scan(root: Path, **_: object) -> tuple[list[Candidate], list[Dropped]]:
        return list(candidates), list(dropped)

    return CorpusSpec(
        name=name, title=title, licence="your own", url="", native_rate_hz=0, native_classes=classes,
        paper8_map={}, documented_counts={}, scan=scan,
        splits=("paper", "official") if official else ("paper",), notes=notes)


def check_root_and_out(root: Path, out: Path, what: str) -> None:
    """The checks :func:`~sernet.data.corpora.prepare.prepare_corpus` makes, before the scan runs."""
    if not root.is_dir():
        raise PrepareError(f"{root}: {what} not found (expected a folder)")
    if out.resolve().is_relative_to(root.resolve()):
        raise PrepareError(f"{out}: the output folder must not be inside the corpus root {root} "
                           "(its converted WAVs would be scanned as corpus files on the next run)")


def parse_sex(value: str | None) -> str:
    """``"m"``, ``"f"`` or ``""`` from a sex/gender field as people write it (``Male``, ``w``, ...).

    >>> parse_sex("Female"), parse_sex(" M "), parse_sex(None)
    ('f', 'm', '')
    """
    v = (value or "").strip().lower()
    return "m" if v in ("m", "male", "man") else "f" if v in ("f", "female", "woman", "w") else ""


def _levels(layout: str | None, pattern: re.Pattern | None) -> tuple[str, ...]:
    if layout is None:
        layout = "" if pattern is not None and "label" in pattern.groupindex else "label"
    levels = tuple(p.strip().lower() for p in layout.strip("/").split("/") if p.strip())
    for lv in levels:
        if not lv.isidentifier():
            raise PrepareError(f"--layout {layout!r}: level {lv!r} is not a name (use e.g. speaker/label)")
    dup = [lv for lv, n in Counter(levels).items() if n > 1]
    if dup:
        raise PrepareError(f"--layout {layout!r}: level(s) {', '.join(dup)} named twice")
    return levels


def scan_folder(
    root: Path,
    *,
    pattern: str | None = None,
    layout: str | None = None,
    warnings: list[str] | None = None,
) -> tuple[list[Candidate], list[Dropped]]:
    """Every file under ``root`` as a :class:`Candidate` (label, speaker) or a :class:`Dropped` record."""
    warnings = [] if warnings is None else warnings
    regex = None
    if pattern is not None:
        try:
            regex = re.compile(pattern)
        except re.error as exc:
            raise PrepareError(f"--pattern {pattern!r}: not a regular expression ({exc})") from None
        if not {"label", "speaker"} & set(regex.groupindex):
            raise PrepareError(f"--pattern {pattern!r}: expected a named group (?P<label>...) and/or "
                               "(?P<speaker>...)")
    levels = _levels(layout, regex)
    names = set(levels) | (set(regex.groupindex) if regex else set())
    if "label" not in names:
        raise PrepareError(f"no label source: --layout {'/'.join(levels) or '(none)'!r} has no 'label' level "
                           "and --pattern no (?P<label>...) group")
    bad = sorted(names & (RESERVED_COLUMNS - {"label", "speaker"}))
    if bad:
        raise PrepareError(f"layout level / pattern group name(s) {bad} clash with manifest columns")
    if "speaker" not in names:
        warnings.append(SPEAKER_WARNING)
    match_path = pattern is not None and "/" in pattern

    found, dropped = [], []
    for path in sorted(p for p in root.rglob("*") if p.is_file()):
        rel = path.relative_to(root)
        skip = skipped_file(path, rel)
        if skip:
            dropped.append(skip)
            continue
        folders = rel.parts[:-1]
        if len(folders) < len(levels):
            dropped.append(Dropped(str(path), "no_label",
                                   f"expected ROOT/{'/'.join(levels)}/FILE, found {rel.as_posix()}"))
            continue
        values: dict[str, str | None] = dict(zip(levels, folders, strict=False))
        if regex is not None:
            m = regex.search(rel.as_posix() if match_path else rel.name)
            if m is None:
                dropped.append(Dropped(str(path), "malformed_name", f"does not match --pattern {pattern!r}"))
                continue
            values |= {k: v for k, v in m.groupdict().items() if v is not None}
        label = normalise_label(values.get("label") or "")
        if not label:
            dropped.append(Dropped(str(path), "no_label", "empty label"))
            continue
        if "speaker" in names:
            speaker = (values.get("speaker") or "").strip() or None
        else:
            speaker = rel.with_suffix("").as_posix()  # each file its own speaker (warned above)
        extras = {k: v for k, v in values.items() if k not in ("label", "speaker", "sex")}
        found.append(Candidate(source=path, label=label, speaker=speaker, sex=parse_sex(values.get("sex")),
                               extras=extras))
    return found, dropped


def prepare_folder(
    root: str | Path,
    out: str | Path,
    *,
    pattern: str | None = None,
    layout: str | None = None,
    classes: Sequence[str] | str | None = None,
    label_map: str | Path | dict[str, str | None] | None = None,
    name: str | None = None,
    split: str = "paper",
    **options,
) -> PrepareSummary:
    """Prepare a folder tree of your own recordings (see the module docstring) into ``out``.

    ``split`` and ``options`` (``seed``, ``fractions``, ``workers``, ``test_fold``) are those of
    :func:`~sernet.data.corpora.prepare.prepare_corpus`; the label set is always the corpus's own.
    """
    from sernet.data.corpora.prepare import prepare_corpus

    root, out = Path(root).expanduser(), Path(out).expanduser()
    check_root_and_out(root, out, "corpus root")
    warnings: list[str] = []
    candidates, dropped = scan_folder(root, pattern=pattern, layout=layout, warnings=warnings)
    candidates, order = finish_labels(candidates, dropped, label_map=label_map, classes=classes,
                                      warnings=warnings)
    if not order:
        raise PrepareError(f"{root}: no labelled audio file found (found {len(dropped)} other file(s)); "
                           "expected ROOT/<label>/<file>.wav or a --pattern")
    spec = custom_spec(corpus_name(name or root.resolve().name), f"folder corpus {root}", candidates, dropped,
                       order, notes="labels from folders or a file-name pattern")
    return prepare_corpus(spec, root, out, split=split, labels="native", warn=warnings, **options)
