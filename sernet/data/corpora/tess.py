"""TESS: the Toronto Emotional Speech Set.

Release layout (University of Toronto Dataverse; one folder per speaker and emotion)::

    ROOT/OAF_angry/OAF_back_angry.wav           24,414 Hz mono, 16-bit
    ROOT/OAF_Pleasant_surprise/OAF_back_ps.wav
    ROOT/YAF_fear/YAF_back_fear.wav
    ...

File names are ``SPK_word_emotion.wav``: speaker ``OAF`` (older actress, 64) or ``YAF`` (younger
actress, 26), one of 200 target words from the carrier phrase "Say the word ...", and the emotion
(``angry``, ``disgust``, ``fear``, ``happy``, ``neutral``, ``ps`` = pleasant surprise, ``sad``; case
varies between folders). 2,800 files: 2 speakers x 7 emotions x 200 words. Folder names are not trusted
(their spelling varies); the label comes from the file name.

Split: TESS has only two speakers, so no speaker-independent three-way split exists. The ``paper`` split
keeps each *target word* in one split (80/10/10 by word): train and test share both voices but no word.
Report results on TESS accordingly. Cannot supply: contempt.
"""

from __future__ import annotations

import re
from pathlib import Path

from sernet.data.corpora.base import Candidate, CorpusSpec, Dropped

NAME = re.compile(r"^(OAF|YAF)_([A-Za-z]+)_([A-Za-z]+)\.wav$", re.IGNORECASE)
EMOTION_CODES: dict[str, str] = {
    "angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
    "neutral": "neutral", "ps": "surprise", "sad": "sad",
}
NATIVE_CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "surprise", "sad")
PAPER8_MAP: dict[str, str] = {c: c for c in NATIVE_CLASSES}
DOCUMENTED_COUNTS: dict[str, int] = {c: 400 for c in NATIVE_CLASSES}


def scan(root: Path, **_: object) -> tuple[list[Candidate], list[Dropped]]:
    """Find every ``*.wav`` under ``root`` and parse its name (see the module docstring)."""
    found, dropped = [], []
    for path in sorted(root.rglob("*.wav")):
        m = NAME.match(path.name)
        if not m:
            dropped.append(Dropped(str(path), "malformed_name", "expected OAF|YAF_word_emotion.wav"))
            continue
        speaker, word, emotion = m.group(1).upper(), m.group(2).lower(), m.group(3).lower()
        if emotion not in EMOTION_CODES:
            dropped.append(Dropped(str(path), "unknown_label_code", f"emotion {emotion!r}"))
            continue
        found.append(Candidate(
            source=path, label=EMOTION_CODES[emotion], speaker=f"tess{speaker}", sex="f",
            group=f"word:{word}", extras={"word": word},
        ))
    return found, dropped


SPEC = CorpusSpec(
    name="tess",
    title="TESS (Toronto Emotional Speech Set)",
    licence="CC BY-NC-ND 4.0",
    url="https://doi.org/10.5683/SP2/E8H2MF (University of Toronto Dataverse)",
    native_rate_hz=24414,
    native_classes=NATIVE_CLASSES,
    paper8_map=PAPER8_MAP,
    documented_counts=DOCUMENTED_COUNTS,
    scan=scan,
    notes="2 speakers only: the paper split is 80/10/10 by target word (not speaker-independent); "
          "ps = pleasant surprise -> surprise; converted 24.414 kHz -> 16 kHz.",
)
