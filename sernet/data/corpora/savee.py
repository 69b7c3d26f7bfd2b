"""SAVEE: the Surrey Audio-Visual Expressed Emotion database (audio part).

Release layout (``AudioData`` of the registered download)::

    ROOT/AudioData/DC/a01.wav       44.1 kHz mono, 16-bit
    ROOT/AudioData/JE/sa15.wav
    ...

Speakers are four male British English actors (``DC``, ``JE``, ``JK``, ``KL``), one folder each; file
names are an emotion code and a sentence number: ``a`` anger, ``d`` disgust, ``f`` fear, ``h``
happiness, ``n`` neutral (01–30), ``sa`` sadness, ``su`` surprise (01–15 each). 480 utterances:
4 x (30 neutral + 6 x 15). The flattened copies some mirrors distribute (``DC_a01.wav``) are accepted.

Split: 4 speakers, so the speaker-independent ``paper`` split is 2/1/1 speakers (50/25/25 % of the
utterances, the nearest a 4-speaker corpus gets to 80/10/10). Cannot supply: contempt. All male.
"""

from __future__ import annotations

import re
from pathlib import Path

from sernet.data.corpora.base import Candidate, CorpusSpec, Dropped

NAME = re.compile(r"^(?:([A-Z]{2})_)?(a|d|f|h|n|sa|su)(\d\d)\.wav$")
SPEAKERS = ("DC", "JE", "JK", "KL")
EMOTION_CODES: dict[str, str] = {
    "a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral", "sa": "sad", "su": "surprise",
}
NATIVE_CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad", "surprise")
PAPER8_MAP: dict[str, str] = {c: c for c in NATIVE_CLASSES}
DOCUMENTED_COUNTS: dict[str, int] = {c: (120 if c == "neutral" else 60) for c in NATIVE_CLASSES}


def scan(root: Path, **_: object) -> tuple[list[Candidate], list[Dropped]]:
    """Find every ``*.wav`` under ``root``; the speaker is the name prefix or the parent folder."""
    found, dropped = [], []
    for path in sorted(root.rglob("*.wav")):
        m = NAME.match(path.name)
        speaker = (m.group(1) or path.parent.name) if m else ""
        if not m or speaker not in SPEAKERS:
            dropped.append(Dropped(str(path), "malformed_name",
                                   f"expected {{{','.join(SPEAKERS)}}}/<code><NN>.wav, e.g. DC/sa01.wav"))
            continue
        found.append(Candidate(
            source=path, label=EMOTION_CODES[m.group(2)], speaker=f"savee{speaker}", sex="m",
            extras={"sentence": int(m.group(3))},
        ))
    return found, dropped


SPEC = CorpusSpec(
    name="savee",
    title="SAVEE (Surrey Audio-Visual Expressed Emotion)",
    licence="free for research use after registration (University of Surrey); check the terms of your copy",
    url="http://kahlan.eps.surrey.ac.uk/savee/ (registration required)",
    native_rate_hz=44100,
    native_classes=NATIVE_CLASSES,
    paper8_map=PAPER8_MAP,
    documented_counts=DOCUMENTED_COUNTS,
    scan=scan,
    notes="4 male speakers: the paper split is 2/1/1 speakers; no contempt; converted 44.1 kHz -> 16 kHz.",
)
