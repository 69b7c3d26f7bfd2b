"""EmoDB: the Berlin Database of Emotional Speech (German).

Release layout (``download.zip`` from the authors' site)::

    ROOT/wav/03a01Fa.wav        16 kHz mono, 16-bit
    ROOT/lablaut/..., ROOT/silb/...   (phonetic labels, unused)

File names are ``SSTTTEV.wav``: speaker (``03``, ``08``–``16``), text (``a01``, ``a02``, ``a04``,
``a05``, ``a07``, ``b01``–``b03``, ``b09``, ``b10``), emotion letter (German initials: ``W`` Ärger =
anger, ``L`` Langeweile = boredom, ``E`` Ekel = disgust, ``A`` Angst = fear, ``F`` Freude = happiness,
``T`` Trauer = sadness, ``N`` neutral) and version (``a``, ``b``, ...). 535 utterances, 10 actors
(5 male: 03, 10, 11, 12, 15; 5 female: 08, 09, 13, 14, 16).

Under ``--labels paper8`` boredom is dropped; surprise and contempt cannot be supplied.
Split: speaker-independent 80/10/10 by speaker (10 speakers: typically 8/1/1).
"""

from __future__ import annotations

import re
from pathlib import Path

from sernet.data.corpora.base import Candidate, CorpusSpec, Dropped, PrepareError

AUDIO_DIR = "wav"
NAME = re.compile(r"^(\d\d)([ab]\d\d)([A-Z])([a-z])\.wav$")
EMOTION_CODES: dict[str, str] = {
    "W": "angry", "L": "boredom", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral",
}
SPEAKER_SEX: dict[str, str] = {
    "03": "m", "08": "f", "09": "f", "10": "m", "11": "m", "12": "m", "13": "f", "14": "f", "15": "m", "16": "f",
}
NATIVE_CLASSES = ("angry", "boredom", "disgust", "fear", "happy", "sad", "neutral")
PAPER8_MAP: dict[str, str] = {c: c for c in NATIVE_CLASSES if c != "boredom"}
DOCUMENTED_COUNTS: dict[str, int] = {
    "angry": 127, "boredom": 81, "disgust": 46, "fear": 69, "happy": 71, "sad": 62, "neutral": 79,
}


def scan(root: Path, **_: object) -> tuple[list[Candidate], list[Dropped]]:
    """Find ``wav/*.wav`` and parse each name (see the module docstring)."""
    audio = root / AUDIO_DIR
    if not audio.is_dir():
        raise PrepareError(f"{audio}: not found; EmoDB's WAVs are in {AUDIO_DIR}/ of the release")
    found, dropped = [], []
    for path in sorted(audio.glob("*.wav")):
        m = NAME.match(path.name)
        if not m:
            dropped.append(Dropped(str(path), "malformed_name", "expected SSTTTEV.wav, e.g. 03a01Fa.wav"))
            continue
        speaker, text, emotion, version = m.groups()
        if emotion not in EMOTION_CODES:
            dropped.append(Dropped(str(path), "unknown_label_code", f"emotion letter {emotion!r}"))
            continue
        found.append(Candidate(
            source=path, label=EMOTION_CODES[emotion], speaker=f"emodb{speaker}",
            sex=SPEAKER_SEX.get(speaker, ""), extras={"text": text, "version": version},
        ))
    return found, dropped


SPEC = CorpusSpec(
    name="emodb",
    title="EmoDB (Berlin Database of Emotional Speech)",
    licence="free for research per the authors (http://emodb.bilderbar.info); check the terms of your copy",
    url="http://emodb.bilderbar.info/download/ (download.zip)",
    native_rate_hz=16000,
    native_classes=NATIVE_CLASSES,
    paper8_map=PAPER8_MAP,
    documented_counts=DOCUMENTED_COUNTS,
    scan=scan,
    notes="80/10/10 by speaker; boredom dropped under paper8; no surprise or contempt; German speech.",
)
