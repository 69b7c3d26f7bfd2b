"""IEMOCAP: the Interactive Emotional Dyadic Motion Capture database (speech, standard 4-class setup).

Release layout (``IEMOCAP_full_release``)::

    ROOT/Session1/dialog/EmoEvaluation/Ses01F_impro01.txt     one file per dialogue
    ROOT/Session1/sentences/wav/Ses01F_impro01/Ses01F_impro01_F000.wav   16 kHz mono
    ... Session2 .. Session5

Each evaluation file holds one summary line per utterance, tab-separated::

    [6.2901 - 8.2357]	Ses01F_impro01_F000	neu	[2.5000, 2.5000, 2.5000]

(start and end in seconds, utterance id, consensus category, [valence, activation, dominance] on 1–5);
the ratings are kept as ``emoval, emoact, emodom`` (1–5, as read) and mapped linearly onto the manifest's
1–7 scale as ``valence, arousal, dominance`` (``1 + 1.5 (x − 1)``, :func:`to_manifest_scale`; a rating
outside 1–5 is clipped to the scale);
the raters' individual lines that follow (``C-E1:``, ``A-E2:``, ...) are skipped. Categories: ``neu``
neutral, ``hap`` happiness, ``exc`` excited, ``sad``, ``ang`` anger, ``fru`` frustration, ``sur``
surprise, ``fea`` fear, ``dis`` disgust, ``oth`` other, ``xxx`` no agreement.

The standard 4-class setup keeps neutral, angry, sad and happy, with **excited merged into happy**:
5,531 utterances (1,708 / 1,103 / 1,084 / 1,636). Everything else is dropped as ``not_in_classes``,
under both ``--labels native`` (4 classes) and ``paper8`` (the same 4, in the paper's 8-class index
space; fear, disgust, surprise and contempt get no data).

Speakers: each session has one female and one male actor; the utterance id's last field (``F000`` /
``M012``) says who speaks, so the speaker is ``Ses01F`` etc. (10 speakers). The ``fold`` column is the
session (1–5) for leave-one-session-out cross-validation.

Splits: ``paper`` = speaker-independent 80/10/10 by speaker (8/1/1 speakers). ``official`` = one
leave-one-session-out fold (``fold=5`` by default, ``--fold K`` on the command line): the four other
sessions train; of the held-out session the female actor is the validation set and the male actor the
test set (so validation and test are speaker-independent of training and of each other, as in
SpeechBrain's IEMOCAP recipe). For the classic LOSO protocol run all five folds.
"""

from __future__ import annotations

import re
from pathlib import Path

from sernet.data.corpora.base import Candidate, CorpusSpec, Dropped, PrepareError
from sernet.data.manifest import DIMENSION_SCALE

SESSIONS = (1, 2, 3, 4, 5)
LINE = re.compile(
    r"^\[\s*(\d+(?:\.\d+)?)\s*-\s*(\d+(?:\.\d+)?)\s*\]\t(Ses0[1-5][MF]_\S+)\t(\w+)\t"
    r"\[\s*([-\d.]+)\s*,\s*([-\d.]+)\s*,\s*([-\d.]+)\s*\]\s*$"
)
SPEAKER = re.compile(r"_([MF])\d+$")
CATEGORIES: dict[str, str] = {  # code -> native name; only the 4-class subset is in NATIVE_CLASSES
    "neu": "neutral", "ang": "angry", "sad": "sad", "hap": "happy", "exc": "happy",  # exc -> happy
    "fru": "frustrated", "sur": "surprised", "fea": "fearful", "dis": "disgusted",
    "oth": "other", "xxx": "no_agreement",
}
NATIVE_CLASSES = ("neutral", "angry", "sad", "happy")
PAPER8_MAP: dict[str, str] = {c: c for c in NATIVE_CLASSES}
DOCUMENTED_COUNTS: dict[str, int] = {"neutral": 1708, "angry": 1103, "sad": 1084, "happy": 1636}
DEFAULT_FOLD = 5
RATING_SCALE = (1.0, 5.0)  # IEMOCAP's self-assessment-manikin scale of the [V, A, D] ratings


def to_manifest_scale(x: float) -> float:
    """An IEMOCAP rating (1–5) on the manifest's 1–7 scale (linear; clipped to it).

    Examples
    --------
    >>> to_manifest_scale(1.0), to_manifest_scale(3.0), to_manifest_scale(5.0)
    (1.0, 4.0, 7.0)
    """
    lo, hi = DIMENSION_SCALE
    y = lo + (x - RATING_SCALE[0]) * (hi - lo) / (RATING_SCALE[1] - RATING_SCALE[0])
    return float(min(max(y, lo), hi))


def official_split(session: int, sex: str, fold: int = DEFAULT_FOLD) -> str:
    """The leave-one-session-out split of a speaker: held-out session -> female val, male test."""
    if session != fold:
        return "train"
    return "val" if sex == "f" else "test"


def scan(root: Path, *, fold: int = DEFAULT_FOLD, **_: object) -> tuple[list[Candidate], list[Dropped]]:
    """Read every ``Session*/dialog/EmoEvaluation/*.txt`` summary line (see the module docstring)."""
    if fold not in SESSIONS:
        raise PrepareError(f"IEMOCAP fold {fold}: expected a session number in {SESSIONS}")
    files = sorted(root.glob("Session[1-5]/dialog/EmoEvaluation/*.txt"))
    if not files:
        raise PrepareError(f"{root}: no Session*/dialog/EmoEvaluation/*.txt; point ROOT at IEMOCAP_full_release")
    found, dropped, seen = [], [], set()
    for txt in files:
        session = int(txt.parts[-4][-1])
        for lineno, line in enumerate(txt.read_text(errors="replace").splitlines(), start=1):
            if not line.startswith("["):
                continue  # headers, blank lines and the raters' lines
            where = f"{txt}:{lineno}"
            m = LINE.match(line)
            if not m:
                dropped.append(Dropped(where, "malformed_row", f"cannot parse {line[:80]!r}"))
                continue
            start, end, utt, code, val, act, dom = m.groups()
            who = SPEAKER.search(utt)
            if who is None or utt[:5] != f"Ses0{session}":
                dropped.append(Dropped(where, "malformed_row", f"utterance id {utt!r} names no speaker of "
                                                              f"Session{session}"))
                continue
            if utt in seen:
                dropped.append(Dropped(where, "duplicate_row", f"{utt} already labelled"))
                continue
            seen.add(utt)
            if code not in CATEGORIES:
                dropped.append(Dropped(where, "unknown_label_code", f"{utt}: category {code!r}"))
                continue
            dialog = utt.rsplit("_", 1)[0]
            wav = root / f"Session{session}" / "sentences" / "wav" / dialog / f"{utt}.wav"
            if not wav.is_file():
                dropped.append(Dropped(str(wav), "missing_audio", f"labelled in {where}"))
                continue
            sex = who.group(1).lower()
            found.append(Candidate(
                source=wav, label=CATEGORIES[code], speaker=f"Ses0{session}{who.group(1)}", sex=sex,
                official=official_split(session, sex, fold),
                extras={"fold": session, "category": code, "emoval": float(val), "emoact": float(act),
                        "emodom": float(dom), "start_s": float(start), "end_s": float(end),
                        "arousal": to_manifest_scale(float(act)), "valence": to_manifest_scale(float(val)),
                        "dominance": to_manifest_scale(float(dom))},
            ))
    return found, dropped


SPEC = CorpusSpec(
    name="iemocap",
    title="IEMOCAP (speech, 4-class: neutral/angry/sad/happy+excited)",
    licence="USC SAIL release agreement (research use; no redistribution)",
    url="https://sail.usc.edu/iemocap/iemocap_release.htm (request form)",
    native_rate_hz=16000,
    native_classes=NATIVE_CLASSES,
    paper8_map=PAPER8_MAP,
    documented_counts=DOCUMENTED_COUNTS,
    scan=scan,
    splits=("paper", "official"),
    notes="4-class with exc->happy; paper split 80/10/10 by speaker; official = leave-one-session-out "
          "fold K (default 5): other sessions train, held-out female val, male test; fold column = session.",
)
