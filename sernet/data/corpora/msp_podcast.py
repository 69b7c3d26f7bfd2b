"""MSP-Podcast: naturalistic emotional speech from podcast recordings (the paper's corpus).

Release layout (v1.9–v1.12, "MSP-PODCAST-Publish-1.x")::

    ROOT/Audios/MSP-PODCAST_0001_0008.wav        16 kHz mono
    ROOT/Labels/labels_consensus.csv             one row per segment (below)
    ROOT/Labels/labels_detailed.json             per-rater labels (unused)

``labels_consensus.csv`` columns: ``FileName, EmoClass, EmoAct, EmoVal, EmoDom, SpkrID, Gender,
Split_Set``. ``EmoClass`` is the consensus primary emotion: ``A`` angry, ``H`` happy, ``S`` sad, ``N``
neutral, ``F`` fear, ``D`` disgust, ``U`` surprise, ``C`` contempt, plus ``O`` other and ``X`` no
agreement, which have no counterpart in the paper's 8 classes: dropped under ``--labels paper8``
(``not_in_classes``), kept as classes ``other`` and ``no_agreement`` under ``--labels native`` (their segments
carry arousal/valence/dominance ratings like the rest: dimension-only or multi-task training on all of them).
``EmoAct/EmoVal/EmoDom`` are mean arousal/valence/dominance ratings (1–7), written to the manifest as
``arousal``, ``valence``, ``dominance`` (the names every corpus uses, on the same 1–7 scale: copied
unchanged; an empty cell stays empty); ``SpkrID`` is a number or
``Unknown``; ``Gender`` is ``Male``/``Female``/``Unknown``; ``Split_Set`` is ``Train``,
``Development``, ``Test1``, ``Test2`` (``Test3`` in later releases).

Earlier releases (v1.0–v1.8) are accepted too: the file is spelled ``labels_concensus.csv``, and where
it has no ``Split_Set`` column the partitions come from ``Partitions.txt`` (lines like
``Test1; MSP-PODCAST_0001_0008.wav``; ``Validation`` is read as ``Development``).

Assumptions we could not check against a release (nobody here holds one): the column names and codes
above (taken from the release documentation as quoted by public preparation code), that audio is flat
in ``Audios/``, and that ``Unknown`` is the only unknown-speaker marker (an empty ``SpkrID`` is treated
the same). A release that differs fails loudly: missing columns raise, unknown codes and partitions
are listed in ``dropped.csv``.

Splits
------
``paper`` (default): all labelled segments of every partition, split 80/10/10 by speaker
(:func:`~sernet.data.corpora.base.speaker_split`). Segments whose speaker is ``Unknown`` cannot be
placed without risking speaker overlap, so they are dropped and counted as ``unknown_speaker``.

``official``: ``Train`` -> train, ``Development`` -> val, ``Test1`` -> test in ``OUT/manifest.csv``;
``Test2`` (and ``Test3``) go to their own manifests ``OUT/test2/manifest.csv`` (split ``test``), since
a manifest holds one test set. Unknown-speaker segments are kept (speaker ``unknown``): the corpus's
own partitions already separate speakers/podcasts.

Missing audio, duplicate ``FileName`` rows (the first is kept) and malformed rows are reported with the
file and line, never silently dropped.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pandas as pd

from sernet.data.corpora.base import Candidate, CorpusSpec, Dropped, PrepareError
from sernet.labels import EMOTIONS

AUDIO_DIR = "Audios"
LABEL_FILES = ("labels_consensus.csv", "labels_concensus.csv")  # current, and the old misspelling
PARTITIONS_FILE = "Partitions.txt"
REQUIRED_COLUMNS = ("FileName", "EmoClass")
EMOTION_CODES: dict[str, str] = {
    "A": "angry", "H": "happy", "S": "sad", "N": "neutral", "F": "fear", "D": "disgust", "U": "surprise",
    "C": "contempt", "O": "other", "X": "no_agreement",
}
PARTITIONS: dict[str, str] = {  # lower-cased Split_Set / Partitions.txt name -> manifest split
    "train": "train", "development": "val", "validation": "val", "test1": "test",
    "test2": "test2", "test3": "test3",
}
NATIVE_CLASSES = (*EMOTIONS, "other", "no_agreement")
"""The consensus classes: the paper's 8, then O (other) and X (no agreement). ``--labels paper8`` (the default)
keeps the 8; ``--labels native`` keeps O and X too, so every rated segment can train the dimensional task
(a ``--label-map`` with ``other,drop`` / ``no_agreement,drop`` drops them again)."""
PAPER8_MAP: dict[str, str] = {c: c for c in EMOTIONS}
UNKNOWN = ("", "unknown", "nan")
DIMENSION_COLUMNS: dict[str, str] = {"EmoAct": "arousal", "EmoVal": "valence", "EmoDom": "dominance"}
"""Label-file column -> manifest column (sernet.data.manifest.DIMENSIONS; the scales agree, 1–7)."""

# Test-set sizes as the release documentation describes them (quoted in public preparation code for
# v1.11/v1.12; not verified against a release): the partitions are not 80/10/10.
DOCUMENTED_TEST_SETS: dict[str, str] = {
    "Test1": "30,647 segments from 237 speakers",
    "Test2": "14,815 segments from 117 podcasts, randomly selected; no segment of these podcasts elsewhere",
    "Test3": "2,347 segments, balanced over the 8 primary emotions (added in v1.12)",
}

PAPER_VS_RELEASES = """\
How the paper's MSP-Podcast counts compare with what the public releases document.

The paper (§2.1–2.3, Table 2.2) reports 90,103 utterances (113.7 h, "1,000+" speakers) in exactly the 8
classes, split 72,082 / 9,010 / 9,011 (80/10/10). Three things do not match a public release:

1. Partitions. Every public release ships its own speaker/podcast-independent partitions (Train,
   Development, Test1, Test2, and Test3 from v1.12), whose test sets are far larger than 10 % (Test1
   alone is documented as 30,647 segments). The paper's 80/10/10 is therefore a re-split of its own;
   the paper does not say whether it was speaker-independent.
2. Classes. The consensus labels also contain O (other) and X (no agreement), which the paper never
   mentions; keeping exactly 8 classes means dropping them (as this preparer does), so a release's
   8-class total is smaller than its segment count.
3. Proportions. The paper's per-class totals are round shares of 90,103 to within rounding
   (see ``paper_class_shares()``: neutral 35 %, happy 15 %, angry 12 %, sad 10 %, fear 8 %,
   surprise 8 %, contempt 7 %, disgust 5 %), every class is split 80.0/10.0/10.0 to the utterance, and
   fear and surprise have identical counts in all three splits. A speaker-independent split of real
   data does not come out this even; the table looks constructed rather than counted.

We found no public documentation of a release with 90,103 labelled 8-class segments. The prepared
manifest's summary (``sernet prepare msp_podcast ...``) shows the counts of *your* release beside the
paper's; Chapter 1 prints both.
"""


def paper_class_shares() -> pd.DataFrame:
    """The paper's Table 2.2 per-class totals, their share of 90,103 and each class's split fractions."""
    from sernet.paper import TABLE_2_2

    df = pd.DataFrame(TABLE_2_2, index=["train", "val", "test"]).T
    df["total"] = df.sum(axis=1)
    df["share"] = df["total"] / df["total"].sum()
    for s in ("train", "val", "test"):
        df[f"{s}_fraction"] = df[s] / df["total"]
    return df


def compare_with_paper(counts: pd.DataFrame) -> pd.DataFrame:
    """Put a prepared release's per-class counts beside the paper's Table 2.2.

    Parameters
    ----------
    counts : pd.DataFrame
        ``PrepareSummary.counts`` of an MSP-Podcast preparation (class x split, with ``total``).

    Returns
    -------
    pd.DataFrame
        One row per class: ``paper_total``, ``ours_total`` and both shares of their corpus.
    """
    paper = paper_class_shares()
    ours = counts.drop(index="total", errors="ignore").reindex(list(EMOTIONS), fill_value=0)["total"]
    return pd.DataFrame({
        "paper_total": paper["total"],
        "paper_share": paper["share"],
        "ours_total": ours.astype(int),
        "ours_share": ours / max(int(ours.sum()), 1),
    })


def find_label_file(root: Path) -> Path:
    """``Labels/labels_consensus.csv`` (or the older ``labels_concensus.csv``, or either at the root)."""
    for folder in (root / "Labels", root):
        for name in LABEL_FILES:
            if (folder / name).is_file():
                return folder / name
    raise PrepareError(f"{root}: no Labels/labels_consensus.csv (nor labels_concensus.csv); "
                       "point ROOT at the MSP-Podcast release folder")


def read_partitions(root: Path) -> tuple[dict[str, str], list[Dropped]]:
    """FileName -> partition name from ``Partitions.txt`` (earlier releases); empty when absent."""
    for path in (root / PARTITIONS_FILE, root / "Labels" / PARTITIONS_FILE):
        if path.is_file():
            break
    else:
        return {}, []
    parts, bad = {}, []
    for lineno, line in enumerate(path.read_text(errors="replace").splitlines(), start=1):
        if not line.strip():
            continue
        name, sep, file_name = line.partition(";")
        if not sep or not name.strip() or not file_name.strip():
            bad.append(Dropped(f"{path}:{lineno}", "malformed_row", f"expected 'Partition; FileName', got {line!r}"))
            continue
        parts[file_name.strip()] = name.strip()
    return parts, bad


def _number(value: str) -> float | None:
    try:
        return float(value) if value.strip() else float("nan")
    except ValueError:
        return None


def scan(root: Path, *, split: str = "paper", **_: object) -> tuple[list[Candidate], list[Dropped]]:
    """Read the consensus labels and check each segment's audio (see the module docstring)."""
    label_file = find_label_file(root)
    audio_dir = root / AUDIO_DIR
    with label_file.open(newline="", errors="replace") as fh:
        rows = list(csv.reader(fh))
    if not rows:
        raise PrepareError(f"{label_file}: empty label file")
    header = [h.strip() for h in rows[0]]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise PrepareError(f"{label_file}: missing column(s) {missing}; found {header}")
    col = {name: i for i, name in enumerate(header)}
    partitions, dropped = ({}, []) if "Split_Set" in col else read_partitions(root)
    if split == "official" and "Split_Set" not in col and not partitions:
        raise PrepareError(f"{label_file}: no Split_Set column and no {PARTITIONS_FILE}: "
                           "--split official needs the release's partitions")
    found, seen = [], {}
    for lineno, row in enumerate(rows[1:], start=2):
        where = f"{label_file}:{lineno}"
        if not any(cell.strip() for cell in row):
            continue
        if len(row) != len(header):
            dropped.append(Dropped(where, "malformed_row", f"{len(row)} fields, header has {len(header)}"))
            continue
        get = {name: row[i].strip() for name, i in col.items()}
        file_name, code = get["FileName"], get["EmoClass"]
        if not file_name or not code:
            dropped.append(Dropped(where, "malformed_row", "empty FileName or EmoClass"))
            continue
        dims = {name: _number(get[k]) for k, name in DIMENSION_COLUMNS.items() if k in get}
        if any(v is None for v in dims.values()):
            dropped.append(Dropped(where, "malformed_row", f"{file_name}: non-numeric EmoAct/EmoVal/EmoDom"))
            continue
        if file_name in seen:
            dropped.append(Dropped(where, "duplicate_row", f"{file_name} already labelled on line {seen[file_name]}"))
            continue
        seen[file_name] = lineno
        if code not in EMOTION_CODES:
            dropped.append(Dropped(where, "unknown_label_code", f"{file_name}: EmoClass {code!r}"))
            continue
        partition = get.get("Split_Set") or partitions.get(file_name, "")
        official = PARTITIONS.get(partition.lower())
        if split == "official" and official is None:
            dropped.append(Dropped(where, "unknown_partition", f"{file_name}: partition {partition!r}"))
            continue
        wav = audio_dir / file_name
        if not wav.is_file():
            dropped.append(Dropped(str(wav), "missing_audio", f"labelled on {where}"))
            continue
        speaker = get.get("SpkrID", "")
        gender = get.get("Gender", "").lower()
        found.append(Candidate(
            source=wav, label=EMOTION_CODES[code],
            speaker=None if speaker.lower() in UNKNOWN else f"msp{speaker}",
            sex={"male": "m", "female": "f"}.get(gender, ""), official=official,
            extras={**dims, "partition": partition},
        ))
    return found, dropped


SPEC = CorpusSpec(
    name="msp_podcast",
    title="MSP-Podcast",
    licence="academic licence agreement with UT Dallas (MSP Lab); no redistribution",
    url="https://ecs.utdallas.edu/research/researchlabs/msp-lab/MSP-Podcast.html (request form)",
    native_rate_hz=16000,
    native_classes=NATIVE_CLASSES,
    paper8_map=PAPER8_MAP,
    documented_counts={},  # release-dependent; see PAPER_VS_RELEASES and DOCUMENTED_TEST_SETS
    scan=scan,
    splits=("paper", "official"),
    notes="paper split: 80/10/10 by speaker over all partitions (Unknown speakers dropped); official: "
          "Train/Development/Test1 -> train/val/test, Test2/Test3 -> OUT/test2/, OUT/test3/; O and X dropped.",
)
