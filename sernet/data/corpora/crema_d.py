"""CREMA-D: the Crowd-sourced Emotional Multimodal Actors Dataset (audio part).

Release layout (the GitHub / git-lfs repository ``CheyneyComputerScience/CREMA-D``)::

    ROOT/AudioWAV/1001_DFA_ANG_XX.wav       16 kHz mono, 16-bit
    ROOT/VideoDemographics.csv              ActorID,Age,Sex,Race,Ethnicity (Sex: Male/Female)

File names are ``AAAA_SSS_EMO_LVL.wav``: actor (``1001``–``1091``), sentence (``IEO``, ``TIE``, ``IOM``,
``IWW``, ``TAI``, ``MTI``, ``IWL``, ``ITH``, ``DFA``, ``ITS``, ``TSI``, ``WSI``), acted emotion (``ANG``,
``DIS``, ``FEA``, ``HAP``, ``NEU``, ``SAD``) and intensity (``LO``, ``MD``, ``HI``, ``XX`` unspecified).
7,442 clips from 91 actors (48 male, 43 female). The labels are the *acted* emotions; the crowd's
perceived labels (``processedResults/summaryTable.csv``) are not used here.

Known defect: ``1076_MTI_SAD_XX.wav`` has no signal; it is dropped as ``silent`` (listed in dropped.csv).
Cannot supply: surprise, contempt. Split: speaker-independent 80/10/10 by actor.
"""

from __future__ import annotations

import csv
import re
from pathlib import Path

from sernet.data.corpora.base import Candidate, CorpusSpec, Dropped, PrepareError

AUDIO_DIR = "AudioWAV"
DEMOGRAPHICS = "VideoDemographics.csv"
NAME = re.compile(r"^(\d{4})_([A-Z]{3})_([A-Z]{3})_([A-Z]{2})\.wav$")
EMOTION_CODES: dict[str, str] = {
    "ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad",
}
INTENSITY_CODES: dict[str, str] = {"LO": "low", "MD": "medium", "HI": "high", "XX": "unspecified"}
SENTENCES = ("IEO", "TIE", "IOM", "IWW", "TAI", "MTI", "IWL", "ITH", "DFA", "ITS", "TSI", "WSI")
NATIVE_CLASSES = ("angry", "disgust", "fear", "happy", "neutral", "sad")
PAPER8_MAP: dict[str, str] = {c: c for c in NATIVE_CLASSES}
DOCUMENTED_COUNTS: dict[str, int] = {c: (1087 if c == "neutral" else 1271) for c in NATIVE_CLASSES}


def read_sexes(root: Path) -> dict[str, str]:
    """ActorID -> ``"m"``/``"f"`` from ``VideoDemographics.csv`` (empty when the file is absent)."""
    path = root / DEMOGRAPHICS
    if not path.is_file():
        return {}
    with path.open(newline="") as fh:
        rows = list(csv.DictReader(fh))
    sex = {"male": "m", "female": "f"}
    return {str(r.get("ActorID", "")).strip(): sex.get(str(r.get("Sex", "")).strip().lower(), "") for r in rows}


def scan(root: Path, **_: object) -> tuple[list[Candidate], list[Dropped]]:
    """Find ``AudioWAV/*.wav`` and parse each name (see the module docstring)."""
    audio = root / AUDIO_DIR
    if not audio.is_dir():
        raise PrepareError(f"{audio}: not found; CREMA-D's 16 kHz WAVs are in {AUDIO_DIR}/ of the release")
    sexes = read_sexes(root)
    found, dropped = [], []
    for path in sorted(audio.glob("*.wav")):
        m = NAME.match(path.name)
        if not m or m.group(2) not in SENTENCES or m.group(4) not in INTENSITY_CODES:
            dropped.append(Dropped(str(path), "malformed_name", "expected AAAA_SSS_EMO_LVL.wav"))
            continue
        actor, sentence, emotion, level = m.groups()
        if emotion not in EMOTION_CODES:
            dropped.append(Dropped(str(path), "unknown_label_code", f"emotion code {emotion!r}"))
            continue
        found.append(Candidate(
            source=path, label=EMOTION_CODES[emotion], speaker=f"crema{actor}", sex=sexes.get(actor, ""),
            extras={"sentence": sentence, "intensity": INTENSITY_CODES[level]},
        ))
    return found, dropped


SPEC = CorpusSpec(
    name="crema_d",
    title="CREMA-D",
    licence="Open Database License (ODbL) v1.0; contents under Database Contents License v1.0",
    url="https://github.com/CheyneyComputerScience/CREMA-D (git lfs) or https://doi.org/10.1109/TAFFC.2014.2336244",
    native_rate_hz=16000,
    native_classes=NATIVE_CLASSES,
    paper8_map=PAPER8_MAP,
    documented_counts=DOCUMENTED_COUNTS,
    scan=scan,
    notes="80/10/10 by actor; 16 kHz WAVs referenced in place; no surprise or contempt.",
)
