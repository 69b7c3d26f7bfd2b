"""What every corpus preparer shares: the preparer description, found utterances, drop reasons, the
speaker-independent split, and the summary a preparation run reports.

A preparer module (``sernet.data.corpora.ravdess`` and friends) only knows its corpus's release layout: it
turns a user's local copy into :class:`Candidate` utterances (audio file, the corpus's own label, speaker,
sex, extras) and :class:`Dropped` records for what it cannot use (malformed label rows, unknown codes,
missing audio, duplicates). Everything after that (label mapping, audio checks, 16 kHz conversion, splits,
the manifest, the summary) is common and lives in :mod:`sernet.data.corpora.prepare`.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sernet.errors import SernetError
from sernet.labels import EMOTIONS

# The paper's §2.3 split: 80 % train, 10 % validation, 10 % test (72,082 / 9,010 / 9,011 utterances).
PAPER_SPLIT_FRACTIONS: tuple[float, float, float] = (0.8, 0.1, 0.1)
SPLIT_SEED = 0  # default seed of the speaker shuffle; any seed gives a speaker-independent split

LABEL_SETS: tuple[str, ...] = ("paper8", "native")
SPLIT_RULES: tuple[str, ...] = ("paper", "official")
# Split rules every corpus offers besides its own ``spec.splits`` (see :func:`parse_split`).
GENERIC_SPLITS: tuple[str, ...] = ("test", "kfold:K", "loso")

# Reasons an utterance is dropped (the summary counts them; ``dropped.csv`` lists every file).
DROP_REASONS: dict[str, str] = {
    "malformed_row": "label row that cannot be parsed (wrong number of fields, empty file name, bad value)",
    "malformed_name": "audio file whose name does not follow the corpus's naming scheme",
    "unknown_label_code": "label code the corpus documentation does not define",
    "not_in_classes": "class outside the chosen label set (e.g. RAVDESS calm under paper8, MSP-Podcast O/X)",
    "duplicate_row": "second label row for a file already labelled (the first row is kept)",
    "missing_audio": "label row whose audio file is not in the copy",
    "unknown_speaker": "speaker id unknown, so a speaker-independent split cannot place it",
    "unknown_partition": "official partition name the preparer does not know",
    "not_speech": "a file of another modality or vocal channel (e.g. RAVDESS song or video)",
    "hidden_file": "hidden or system file (.DS_Store, ._x.wav resource forks, __MACOSX/, Thumbs.db)",
    "not_audio": "a file whose extension is not an audio format sernet reads (.txt, .jpg, .m4a, ...)",
    "no_label": "a file with no label (not inside a label folder of the layout, or an empty label cell)",
    "label_map_drop": "a label that --label-map maps to drop (an empty target or 'drop')",
}


class PrepareError(SernetError, ValueError):
    """A corpus copy cannot be prepared at all (wrong root, no label file, no usable utterance)."""


@dataclass
class Candidate:
    """One utterance a preparer found in the user's copy.

    Attributes
    ----------
    source : Path
        The audio file in the user's copy.
    label : str
        The corpus's own class name (see :attr:`CorpusSpec.native_classes`), before any mapping.
    speaker : str or None
        Speaker id, prefixed with the corpus name by the preparer where ids are bare numbers;
        None when the corpus marks the speaker unknown.
    sex : str
        ``"m"``, ``"f"`` or ``""`` (unknown).
    group : str or None
        The unit the ``paper`` split keeps together (default: the speaker). TESS, with two speakers,
        groups by target word instead.
    official : str or None
        The corpus's own partition for ``--split official`` (already mapped to ``train``/``val``/
        ``test`` or an extra test set such as ``test2``).
    extras : dict
        Corpus-specific manifest columns (``intensity``, ``emoact``, ``fold``, ...).
    """

    source: Path
    label: str
    speaker: str | None
    sex: str = ""
    group: str | None = None
    official: str | None = None
    extras: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Dropped:
    """A found utterance (or label row) that was not kept: the file, a reason from
    :data:`DROP_REASONS` or an :class:`~sernet.errors.AudioError` problem, and a detail."""

    file: str
    reason: str
    detail: str = ""


@dataclass(frozen=True)
class CorpusSpec:
    """Everything sernet knows about one public corpus.

    Attributes
    ----------
    name : str
        Registry key (``"ravdess"``).
    title : str
        Human name and version covered.
    licence : str
        The licence the corpus is distributed under (read the provider's terms: they bind you).
    url : str
        Where a user obtains it.
    native_rate_hz : int
        Sample rate of the release's audio.
    native_classes : tuple of str
        The corpus's own classes in the order used for ``--labels native`` (written to ``classes.txt``).
    paper8_map : dict
        Native class -> one of the paper's 8 :data:`~sernet.labels.EMOTIONS`; classes absent here are
        dropped under ``--labels paper8``.
    documented_counts : dict
        Native class -> utterance count in the public release (from the corpus's documentation), used
        by the summary to compare what was found with what should be there.
    splits : tuple of str
        Split rules the corpus supports (``"paper"`` always; ``"official"`` where the corpus defines one).
    scan : callable
        ``scan(root, **options) -> (list[Candidate], list[Dropped])``, reading the release layout.
    notes : str
        Split rule and caveats, shown by ``sernet prepare --help`` and the README.
    """

    name: str
    title: str
    licence: str
    url: str
    native_rate_hz: int
    native_classes: tuple[str, ...]
    paper8_map: Mapping[str, str]
    documented_counts: Mapping[str, int]
    scan: Callable[..., tuple[list[Candidate], list[Dropped]]]
    splits: tuple[str, ...] = ("paper",)
    notes: str = ""

    def classes(self, labels: str) -> tuple[str, ...]:
        """The class list written to ``classes.txt`` for ``labels`` (``paper8`` or ``native``)."""
        if labels == "paper8":
            return EMOTIONS
        if labels == "native":
            return self.native_classes
        raise PrepareError(f"--labels {labels!r}: expected one of {LABEL_SETS}")

    def map_label(self, native: str, labels: str) -> str | None:
        """The manifest label of native class ``native`` under ``labels``; None: not in that label set."""
        if labels == "native":
            return native if native in self.native_classes else None
        return self.paper8_map.get(native)

    def unsupplied(self) -> tuple[str, ...]:
        """The paper's classes this corpus cannot supply under ``paper8``."""
        have = set(self.paper8_map.values())
        return tuple(e for e in EMOTIONS if e not in have)

    def documented_total(self) -> int:
        """Utterances in the public release, per its documentation."""
        return int(sum(self.documented_counts.values()))


def parse_split(split: str) -> tuple[str, int | None]:
    """``(rule, K)`` of a ``--split`` value: ``paper``, ``official``, ``test``, ``loso`` or ``kfold:K``.

    >>> parse_split("kfold:5")
    ('kfold', 5)
    >>> parse_split("paper")
    ('paper', None)
    """
    text = str(split).strip().lower()
    if text.startswith("kfold"):
        _, _, k = text.partition(":")
        if not k.strip().isdigit() or int(k) < 2:
            raise PrepareError(f"--split {split!r}: expected kfold:K with K >= 2 folds, e.g. kfold:5")
        return "kfold", int(k)
    if text in SPLIT_RULES or text in ("test", "loso"):
        return text, None
    raise PrepareError(f"--split {split!r}: expected one of paper, official, test, kfold:K, loso")


def speaker_folds(sizes: Mapping[str, int], k: int, *, seed: int = SPLIT_SEED) -> dict[str, int]:
    """Assign whole speakers to ``k`` folds (0 .. k-1) so fold sizes (utterances) come out even.

    Speakers are shuffled with ``numpy.random.default_rng(seed)`` (after sorting), then, largest
    first (ties in shuffled order), each goes to the fold with the fewest utterances so far (ties:
    the lowest fold index). Every fold gets at least one speaker.

    Raises
    ------
    PrepareError
        Fewer speakers than folds (the message names what is possible).

    Examples
    --------
    >>> folds = speaker_folds({f"s{i}": 10 for i in range(6)}, 3)
    >>> sorted(Counter(folds.values()).items())
    [(0, 2), (1, 2), (2, 2)]
    """
    groups = sorted(sizes)
    if k < 2:
        raise PrepareError(f"kfold:{k}: expected at least 2 folds")
    if len(groups) < k:
        raise PrepareError(
            f"--split kfold:{k} needs at least {k} speakers; this corpus has {len(groups)} "
            f"({', '.join(groups) or 'none'}). Possible instead: "
            + (f"--split kfold:{len(groups)}, " if len(groups) >= 2 else "")
            + ("--split loso (leave-one-speaker-out), " if len(groups) >= 2 else "")
            + "--split test (evaluation only)")
    shuffled = [groups[i] for i in np.random.default_rng(seed).permutation(len(groups))]
    order = sorted(shuffled, key=lambda g: -sizes[g])  # stable: ties keep the shuffled order
    load = [0] * k
    out: dict[str, int] = {}
    for g in order:
        f = min(range(k), key=lambda i: (load[i], i))
        out[g] = f
        load[f] += sizes[g]
    return out


def speaker_split(
    sizes: Mapping[str, int],
    *,
    fractions: Sequence[float] = PAPER_SPLIT_FRACTIONS,
    seed: int = SPLIT_SEED,
) -> dict[str, str]:
    """Assign whole groups (speakers) to ``train``/``val``/``test`` so utterance counts approach ``fractions``.

    Groups are shuffled with ``numpy.random.default_rng(seed)`` (after sorting, so the result depends only
    on the groups, their sizes and the seed). Walking that order, a group goes to ``test`` while adding it
    brings the test count closer to its target, then likewise to ``val``; the rest go to ``train``. With
    three or more groups each split gets at least one group. No group is ever in two splits.

    Parameters
    ----------
    sizes : mapping of str to int
        Group id -> number of utterances.
    fractions : sequence of 3 floats
        Train, validation and test fractions (normalised to sum 1).
    seed : int
        Shuffle seed.

    Returns
    -------
    dict
        Group id -> ``"train"``, ``"val"`` or ``"test"``.

    Raises
    ------
    PrepareError
        Fewer than three groups (no speaker-independent three-way split exists), or bad fractions.

    Examples
    --------
    >>> split = speaker_split({f"spk{i}": 10 for i in range(10)}, seed=0)
    >>> sorted(Counter(split.values()).items())
    [('test', 1), ('train', 8), ('val', 1)]
    """
    frac = np.asarray(list(fractions), dtype=float)
    if frac.shape != (3,) or np.any(frac < 0) or frac.sum() <= 0:
        raise PrepareError(f"split fractions {tuple(fractions)}: expected three non-negative numbers")
    frac = frac / frac.sum()
    groups = sorted(sizes)
    if len(groups) < 3:
        raise PrepareError(
            f"only {len(groups)} speaker group(s) ({', '.join(groups) or 'none'}): a speaker-independent "
            "train/val/test split needs at least 3"
        )
    order = [groups[i] for i in np.random.default_rng(seed).permutation(len(groups))]
    total = float(sum(sizes[g] for g in groups))
    target = {"test": frac[2] * total, "val": frac[1] * total}
    count = {"test": 0.0, "val": 0.0}
    out: dict[str, str] = {}
    for g in order:
        out[g] = "train"
        for s in ("test", "val"):
            if abs(count[s] + sizes[g] - target[s]) < abs(count[s] - target[s]):
                out[g] = s
                count[s] += sizes[g]
                break
    for s in ("test", "val"):  # every split non-empty: move the smallest training group
        if s not in out.values():
            train = [g for g in order if out[g] == "train"]
            if len(train) > 1:
                out[min(train, key=lambda g: (sizes[g], g))] = s
    return out


@dataclass
class PrepareSummary:
    """What a preparation run found, kept and dropped; printed by ``sernet prepare``.

    ``found == kept + len(dropped)`` always holds: every label row or audio file the preparer found is
    either in a manifest or listed in ``dropped`` with its reason.
    """

    corpus: str
    root: str
    out: str
    split: str
    labels: str
    classes: tuple[str, ...]
    found: int
    kept: int
    dropped: list[Dropped]
    counts: pd.DataFrame  # class x split counts (kept), "total", and "documented" (the full public release)
    documented_total: int = 0
    converted: int = 0  # files written to OUT/wav16k (this run)
    referenced: int = 0  # 16 kHz mono files referenced in place
    manifests: dict[str, str] = field(default_factory=dict)  # name -> manifest path
    warnings: list[str] = field(default_factory=list)  # e.g. "split is not speaker-independent"
    resampled: dict[int, int] = field(default_factory=dict)  # source rate (Hz) -> kept files resampled
    mixed_down: int = 0  # kept multi-channel files averaged to mono
    manifest_state: str = ""  # "new", "changed" or "unchanged" (the same manifest as the previous run)

    def dropped_by_reason(self) -> dict[str, int]:
        """Reason -> number of dropped utterances, most frequent first."""
        return dict(Counter(d.reason for d in self.dropped).most_common())

    def table(self) -> str:
        """The human summary: found / kept / dropped by reason, then per-class counts per split."""
        lines = [
            f"corpus {self.corpus}: {self.root}",
            f"  split rule: {self.split}   labels: {self.labels} ({len(self.classes)} classes)",
            f"  found    {self.found:>8d}   (label rows or audio files)",
            f"  kept     {self.kept:>8d}   ({self.referenced} referenced in place, "
            f"{self.converted} converted to 16 kHz this run"
            + (f", {earlier} converted by an earlier run)" if (earlier := self.kept - self.referenced
                                                                - self.converted) > 0 else ")"),
            f"  dropped  {len(self.dropped):>8d}",
        ]
        for reason, n in self.dropped_by_reason().items():
            lines.append(f"    {reason:<20s} {n:>6d}")
        if self.resampled:
            rates = ", ".join(f"{n} from {r} Hz" for r, n in sorted(self.resampled.items()))
            lines.append(f"  resampled to 16 kHz: {rates}")
        if self.mixed_down:
            lines.append(f"  mixed down to mono: {self.mixed_down} multi-channel file(s)")
        lines.append("")
        lines.append(self.counts.to_string())
        if "documented" in self.counts.columns:
            lines.append("(documented: the class's count in the full public release, for comparison)")
        for w in self.warnings:
            lines.append(f"warning: {w}")
        if self.manifest_state == "unchanged":
            lines.append("manifest.csv and classes.txt unchanged: identical to the previous run's")
        elif self.manifest_state == "changed":
            lines.append("manifest.csv or classes.txt changed since the previous run (rewritten)")
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict (written to ``OUT/summary.json``)."""
        return {
            "corpus": self.corpus,
            "root": self.root,
            "out": self.out,
            "split": self.split,
            "labels": self.labels,
            "classes": list(self.classes),
            "found": self.found,
            "kept": self.kept,
            "dropped": len(self.dropped),
            "dropped_by_reason": self.dropped_by_reason(),
            "documented_total": self.documented_total,
            "counts": {c: {s: int(v) for s, v in row.items()} for c, row in self.counts.iterrows()},
            "manifests": self.manifests,
            "warnings": list(self.warnings),
            "resampled": {str(r): n for r, n in sorted(self.resampled.items())},
            "mixed_down": self.mixed_down,
            "manifest_state": self.manifest_state,
        }

    def write(self, out: Path) -> None:
        """Write ``summary.json`` and ``dropped.csv`` (file, reason, detail) into ``out``."""
        (out / "summary.json").write_text(json.dumps(self.to_dict(), indent=2) + "\n")
        rows = [(d.file, d.reason, d.detail) for d in self.dropped]
        pd.DataFrame(rows, columns=["file", "reason", "detail"]).to_csv(
            out / "dropped.csv", index=False, lineterminator="\n")
