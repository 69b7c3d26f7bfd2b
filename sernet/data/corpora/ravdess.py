"""RAVDESS: the Ryerson Audio-Visual Database of Emotional Speech and Song (speech, audio-only part).

Release layout (``Audio_Speech_Actors_01-24.zip``)::

    ROOT/Actor_01/03-01-01-01-01-01-01.wav     48 kHz, 16-bit
    ...
    ROOT/Actor_24/...

File names are seven two-digit fields ``MM-VV-EE-II-SS-RR-AA``: modality (``03`` audio-only), vocal
channel (``01`` speech, ``02`` song), emotion (``01`` neutral, ``02`` calm, ``03`` happy, ``04`` sad,
``05`` angry, ``06`` fearful, ``07`` disgust, ``08`` surprised), intensity (``01`` normal, ``02`` strong;
neutral has no strong take), statement (``01`` "Kids are talking by the door", ``02`` "Dogs are sitting
by the door"), repetition (``01``/``02``) and actor (``01``–``24``; odd male, even female).
1,440 speech files: 24 actors x 60.

Under ``--labels paper8`` calm is dropped (no counterpart; merging it into neutral would change what
"neutral" means); contempt cannot be supplied. ``--labels native`` keeps all 8 RAVDESS classes.
Split: speaker-independent 80/10/10 by actor.
"""

from __future__ import annotations

import re
from pathlib import Path

from sernet.data.corpora.base import Candidate, CorpusSpec, Dropped

NAME = re.compile(r"^(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)-(\d\d)\.wav$", re.IGNORECASE)
EMOTION_CODES: dict[str, str] = {
    "01": "neutral", "02": "calm", "03": "happy", "04": "sad",
    "05": "angry", "06": "fear", "07": "disgust", "08": "surprise",
}
INTENSITY_CODES: dict[str, str] = {"01": "normal", "02": "strong"}
NATIVE_CLASSES = ("neutral", "calm", "happy", "sad", "angry", "fear", "disgust", "surprise")
PAPER8_MAP: dict[str, str] = {c: c for c in NATIVE_CLASSES if c != "calm"}
# 24 actors x (4 neutral + 7 emotions x 2 intensities x 4) = 96 neutral, 192 for each other class.
DOCUMENTED_COUNTS: dict[str, int] = {c: (96 if c == "neutral" else 192) for c in NATIVE_CLASSES}


def parse_name(name: str) -> dict[str, str] | None:
    """The fields of a RAVDESS file name, or None when it does not follow the scheme.

    >>> parse_name("03-01-06-02-01-02-12.wav")["emotion"]
    '06'
    """
    m = NAME.match(name)
    if not m:
        return None
    keys = ("modality", "channel", "emotion", "intensity", "statement", "repetition", "actor")
    return dict(zip(keys, m.groups(), strict=True))


def scan(root: Path, **_: object) -> tuple[list[Candidate], list[Dropped]]:
    """Find every ``*.wav`` under ``root`` and parse its name (see the module docstring)."""
    found, dropped = [], []
    for path in sorted(root.rglob("*.wav")):
        f = parse_name(path.name)
        if f is None or f["intensity"] not in INTENSITY_CODES or not 1 <= int(f["actor"]) <= 99:
            dropped.append(Dropped(str(path), "malformed_name", "expected MM-VV-EE-II-SS-RR-AA.wav"))
        elif f["modality"] != "03" or f["channel"] != "01":
            dropped.append(Dropped(str(path), "not_speech",
                                   f"modality {f['modality']}, vocal channel {f['channel']}; want 03-01"))
        elif f["emotion"] not in EMOTION_CODES:
            dropped.append(Dropped(str(path), "unknown_label_code", f"emotion code {f['emotion']!r}"))
        else:
            actor = int(f["actor"])
            found.append(Candidate(
                source=path, label=EMOTION_CODES[f["emotion"]], speaker=f"ravdess{actor:02d}",
                sex="m" if actor % 2 else "f",
                extras={"intensity": INTENSITY_CODES[f["intensity"]], "statement": int(f["statement"]),
                        "repetition": int(f["repetition"])},
            ))
    return found, dropped


SPEC = CorpusSpec(
    name="ravdess",
    title="RAVDESS (speech, audio-only)",
    licence="CC BY-NC-SA 4.0",
    url="https://zenodo.org/record/1188976 (Audio_Speech_Actors_01-24.zip)",
    native_rate_hz=48000,
    native_classes=NATIVE_CLASSES,
    paper8_map=PAPER8_MAP,
    documented_counts=DOCUMENTED_COUNTS,
    scan=scan,
    notes="80/10/10 by actor; calm dropped under paper8; converted 48 kHz -> 16 kHz into OUT/wav16k.",
)
