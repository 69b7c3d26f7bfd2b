"""Builders of small fixture copies of each public corpus, in its official release layout.

Each builder writes a handful of short generated WAVs (0.3 s tone + noise) at the corpus's native sample
rate, with the release's real file names, folder names and label-file formats, plus a few defects a real
copy can have (malformed names or rows, unknown codes, missing audio, corrupt or silent files). It returns
a :class:`Fixture` saying what a correct preparer must keep (file -> native class) and drop (key -> reason).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import soundfile as sf

DURATION_S = 0.3


@dataclass
class Fixture:
    """What was built: ``keep`` maps audio file name -> the corpus's native class of a usable utterance;
    ``drops`` maps a key (file name, or ``labels-file:line``) -> the expected drop reason."""

    root: Path
    keep: dict[str, str] = field(default_factory=dict)
    drops: dict[str, str] = field(default_factory=dict)
    sex: dict[str, str] = field(default_factory=dict)  # file name -> "m"/"f" where the corpus says
    # file name -> (arousal, valence, dominance) a preparer must write, on the manifest's 1-7 scale (NaN: empty)
    dims: dict[str, tuple[float, float, float]] = field(default_factory=dict)


def tone(sr: int, seed: int, seconds: float = DURATION_S, channels: int = 1) -> np.ndarray:
    """A deterministic, clearly non-silent test signal (a tone plus a little noise)."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * (150 + 10 * (seed % 30)) * t) + 0.01 * rng.standard_normal(t.size)
    y = y.astype(np.float32)
    return np.stack([y, 0.5 * y], axis=1) if channels == 2 else y


def write_tone(path: Path, sr: int, seed: int, channels: int = 1) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(sr, seed, channels=channels), sr, subtype="PCM_16")
    return path


def write_corrupt(path: Path) -> Path:
    """A ``.wav`` that is not audio (a truncated download): libsndfile cannot open it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"RIFF\x10\x00\x00\x00WAVEjunkjunkjunk")
    return path


def write_silent(path: Path, sr: int) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros(int(DURATION_S * sr), dtype=np.float32), sr, subtype="PCM_16")
    return path


def write_empty(path: Path, sr: int) -> Path:
    """A valid WAV header with zero samples."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), np.zeros(0, dtype=np.float32), sr, subtype="PCM_16")
    return path


# --------------------------------------------------------------------------- RAVDESS (48 kHz)
RAVDESS_CLASSES = {1: "neutral", 2: "calm", 3: "happy", 4: "sad", 5: "angry", 6: "fear", 7: "disgust",
                   8: "surprise"}


def build_ravdess(root: Path, actors: range = range(1, 7)) -> Fixture:
    fx = Fixture(root)
    seed = 0
    for actor in actors:
        for emo, cls in RAVDESS_CLASSES.items():
            for intensity in (1, 2) if emo == 3 else (1,):
                name = f"03-01-{emo:02d}-{intensity:02d}-01-01-{actor:02d}.wav"
                # one stereo file: preparers average channels to mono
                write_tone(root / f"Actor_{actor:02d}" / name, 48000, seed, channels=2 if seed == 5 else 1)
                fx.keep[name] = cls
                fx.sex[name] = "m" if actor % 2 else "f"
                seed += 1
    write_tone(root / "Actor_01" / "03-02-05-01-01-01-01.wav", 48000, 99)  # song, not speech
    fx.drops["03-02-05-01-01-01-01.wav"] = "not_speech"
    write_tone(root / "Actor_01" / "03-01-09-01-01-01-01.wav", 48000, 98)  # emotion 09 does not exist
    fx.drops["03-01-09-01-01-01-01.wav"] = "unknown_label_code"
    write_tone(root / "Actor_02" / "03-01-05-01-01.wav", 48000, 97)  # too few fields
    fx.drops["03-01-05-01-01.wav"] = "malformed_name"
    write_corrupt(root / "Actor_03" / "03-01-04-02-02-02-03.wav")
    fx.drops["03-01-04-02-02-02-03.wav"] = "unreadable"
    return fx


# --------------------------------------------------------------------------- CREMA-D (16 kHz)
CREMA_CLASSES = {"ANG": "angry", "DIS": "disgust", "FEA": "fear", "HAP": "happy", "NEU": "neutral", "SAD": "sad"}


def build_crema_d(root: Path, actors: tuple[int, ...] = (1001, 1002, 1003, 1004, 1005)) -> Fixture:
    fx = Fixture(root)
    sexes = {a: "Male" if a % 2 else "Female" for a in actors}
    root.mkdir(parents=True, exist_ok=True)
    with (root / "VideoDemographics.csv").open("w", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["ActorID", "Age", "Sex", "Race", "Ethnicity"])
        for a in actors:
            w.writerow([a, 30, sexes[a], "Caucasian", "Not Hispanic"])
    seed = 0
    for a in actors:
        for code, cls in CREMA_CLASSES.items():
            for sentence, level in (("DFA", "XX"), ("IEO", "HI")) if code == "ANG" else (("DFA", "XX"),):
                name = f"{a}_{sentence}_{code}_{level}.wav"
                write_tone(root / "AudioWAV" / name, 16000, seed)
                fx.keep[name] = cls
                fx.sex[name] = "m" if sexes[a] == "Male" else "f"
                seed += 1
    write_silent(root / "AudioWAV" / f"{actors[0]}_MTI_SAD_XX.wav", 16000)  # like the real 1076_MTI_SAD_XX
    fx.drops[f"{actors[0]}_MTI_SAD_XX.wav"] = "silent"
    write_tone(root / "AudioWAV" / f"{actors[1]}_DFA_SUR_XX.wav", 16000, 90)
    fx.drops[f"{actors[1]}_DFA_SUR_XX.wav"] = "unknown_label_code"
    write_tone(root / "AudioWAV" / f"{actors[1]}_DFA_ANG.wav", 16000, 91)
    fx.drops[f"{actors[1]}_DFA_ANG.wav"] = "malformed_name"
    return fx


# --------------------------------------------------------------------------- TESS (24,414 Hz)
TESS_FOLDERS = {  # the release's own folder spellings (they vary)
    "OAF": {"angry": "OAF_angry", "disgust": "OAF_disgust", "fear": "OAF_Fear", "happy": "OAF_happy",
            "neutral": "OAF_neutral", "ps": "OAF_Pleasant_surprise", "sad": "OAF_Sad"},
    "YAF": {"angry": "YAF_angry", "disgust": "YAF_disgust", "fear": "YAF_fear", "happy": "YAF_happy",
            "neutral": "YAF_neutral", "ps": "YAF_pleasant_surprised", "sad": "YAF_sad"},
}
TESS_WORDS = ("back", "bar", "base", "bath", "bean", "beg")
TESS_CLASSES = {"angry": "angry", "disgust": "disgust", "fear": "fear", "happy": "happy",
                "neutral": "neutral", "ps": "surprise", "sad": "sad"}


def build_tess(root: Path) -> Fixture:
    fx = Fixture(root)
    base = root / "TESS Toronto emotional speech set data"
    seed = 0
    for spk, folders in TESS_FOLDERS.items():
        for emo, folder in folders.items():
            for word in TESS_WORDS:
                name = f"{spk}_{word}_{emo}.wav"
                write_tone(base / folder / name, 24414, seed)
                fx.keep[name] = TESS_CLASSES[emo]
                fx.sex[name] = "f"
                seed += 1
    write_tone(base / "YAF_sad" / "YAF_bored_sad_x.wav", 24414, 90)
    fx.drops["YAF_bored_sad_x.wav"] = "malformed_name"
    write_tone(base / "YAF_sad" / "YAF_back_bored.wav", 24414, 91)
    fx.drops["YAF_back_bored.wav"] = "unknown_label_code"
    return fx


# --------------------------------------------------------------------------- EmoDB (16 kHz)
EMODB_CLASSES = {"W": "angry", "L": "boredom", "E": "disgust", "A": "fear", "F": "happy", "T": "sad", "N": "neutral"}
EMODB_SEX = {"03": "m", "08": "f", "09": "f", "10": "m", "11": "m", "12": "m"}


def build_emodb(root: Path) -> Fixture:
    fx = Fixture(root)
    seed = 0
    for spk, sex in EMODB_SEX.items():
        for letter, cls in EMODB_CLASSES.items():
            for text in ("a01", "b02"):
                name = f"{spk}{text}{letter}a.wav"
                write_tone(root / "wav" / name, 16000, seed)
                fx.keep[name] = cls
                fx.sex[name] = sex
                seed += 1
    write_tone(root / "wav" / "03a01Xa.wav", 16000, 90)
    fx.drops["03a01Xa.wav"] = "unknown_label_code"
    write_tone(root / "wav" / "03a01F.wav", 16000, 91)
    fx.drops["03a01F.wav"] = "malformed_name"
    write_empty(root / "wav" / "16a01Wb.wav", 16000)
    fx.drops["16a01Wb.wav"] = "empty"
    (root / "lablaut").mkdir(parents=True, exist_ok=True)  # present in the release, unused
    return fx


# --------------------------------------------------------------------------- SAVEE (44.1 kHz)
SAVEE_CODES = {"a": "angry", "d": "disgust", "f": "fear", "h": "happy", "n": "neutral", "sa": "sad", "su": "surprise"}


def build_savee(root: Path) -> Fixture:
    fx = Fixture(root)
    seed = 0
    for spk in ("DC", "JE", "JK", "KL"):
        for code, cls in SAVEE_CODES.items():
            for k in (1, 2):
                name = f"{code}{k:02d}.wav"
                write_tone(root / "AudioData" / spk / name, 44100, seed)
                fx.keep[f"{spk}/{name}"] = cls
                fx.sex[f"{spk}/{name}"] = "m"
                seed += 1
    write_tone(root / "AudioData" / "XY" / "a01.wav", 44100, 90)
    fx.drops["XY/a01.wav"] = "malformed_name"
    write_tone(root / "AudioData" / "DC" / "zz01.wav", 44100, 91)
    fx.drops["DC/zz01.wav"] = "malformed_name"
    return fx


# --------------------------------------------------------------------------- IEMOCAP (16 kHz)
IEMOCAP_CLASSES = {"neu": "neutral", "ang": "angry", "sad": "sad", "hap": "happy", "exc": "happy",
                   "fru": "frustrated", "sur": "surprised", "fea": "fearful", "dis": "disgusted",
                   "oth": "other", "xxx": "no_agreement"}
IEMOCAP_CODES = tuple(IEMOCAP_CLASSES)


def build_iemocap(root: Path) -> Fixture:
    """Five sessions, one improvised dialogue each; every speaker says one utterance per category."""
    fx = Fixture(root)
    seed = 0
    for session in range(1, 6):
        dialog = f"Ses0{session}F_impro01"
        evaluation = root / f"Session{session}" / "dialog" / "EmoEvaluation" / f"{dialog}.txt"
        lines = ["% [START_TIME - END_TIME] TURN_NAME EMOTION [V, A, D]", ""]
        t = 0.0
        for who in ("F", "M"):
            for i, code in enumerate(IEMOCAP_CODES):
                utt = f"{dialog}_{who}{i:03d}"
                # [V, A, D] on IEMOCAP's 1-5 scale, varied per utterance; one arousal of 5.5 (real files hold a
                # few ratings above 5): clipped to 7 on the manifest's scale
                v, a, d = 1 + (seed % 9) * 0.5, 1 + (2 * seed % 9) * 0.5, 1 + (4 * seed % 9) * 0.5
                a = 5.5 if seed == 3 else a
                fx.dims[f"{utt}.wav"] = tuple(min(1 + 1.5 * (x - 1), 7.0) for x in (a, v, d))
                lines += [f"[{t:.4f} - {t + 2.1:.4f}]\t{utt}\t{code}\t[{v:.4f}, {a:.4f}, {d:.4f}]",
                          "C-E1:\tNeutral;\t()", "A-E2:\tval 3; act 3; dom  3;\t()", ""]
                write_tone(root / f"Session{session}" / "sentences" / "wav" / dialog / f"{utt}.wav", 16000, seed)
                fx.keep[f"{utt}.wav"] = IEMOCAP_CLASSES[code]
                fx.sex[f"{utt}.wav"] = who.lower()
                t += 2.5
                seed += 1
        if session == 1:  # defects, each on a known line
            n = len(lines)
            lines.append(f"[90.0000 - 91.0000]\t{dialog}_F050\tneu")  # no [V, A, D]
            fx.drops[f"{evaluation}:{n + 1}"] = "malformed_row"
            lines.append(f"[1.0000 - 2.0000]\t{dialog}_F000\tang\t[2.0000, 2.0000, 2.0000]")  # duplicate
            fx.drops[f"{evaluation}:{n + 2}"] = "duplicate_row"
            lines.append(f"[92.0000 - 93.0000]\t{dialog}_M051\tzzz\t[2.0000, 2.0000, 2.0000]")
            fx.drops[f"{evaluation}:{n + 3}"] = "unknown_label_code"
            lines.append(f"[94.0000 - 95.0000]\t{dialog}_M052\tneu\t[2.0000, 2.0000, 2.0000]")  # no wav
            fx.drops[f"{dialog}_M052.wav"] = "missing_audio"
        evaluation.parent.mkdir(parents=True, exist_ok=True)
        evaluation.write_text("\n".join(lines) + "\n")
        (evaluation.parent / "Categorical").mkdir(exist_ok=True)  # present in the release, not read
    return fx


# --------------------------------------------------------------------------- MSP-Podcast (16 kHz)
MSP_CODES = {"A": "angry", "H": "happy", "S": "sad", "N": "neutral", "F": "fear", "D": "disgust",
             "U": "surprise", "C": "contempt", "O": "other", "X": "no_agreement"}
MSP_COLUMNS = ["FileName", "EmoClass", "EmoAct", "EmoVal", "EmoDom", "SpkrID", "Gender", "Split_Set"]
MSP_PARTITIONS = ("Train", "Train", "Train", "Train", "Development", "Test1", "Test2")


@dataclass
class MspFixture(Fixture):
    official: dict[str, str] = field(default_factory=dict)  # file name -> Split_Set
    speaker: dict[str, str] = field(default_factory=dict)  # file name -> SpkrID


def build_msp_podcast(root: Path, *, old_layout: bool = False) -> MspFixture:
    """Fourteen speakers, each in one partition, each with one segment per class code (A..X).

    ``old_layout``: the earlier releases' ``labels_concensus.csv`` without ``Split_Set``, plus
    ``Partitions.txt`` (``Test1; MSP-PODCAST_0001_0008.wav``).
    """
    fx = MspFixture(root)
    rows, seed = [], 0
    for spk in range(1, 15):
        partition = MSP_PARTITIONS[spk % len(MSP_PARTITIONS)]
        gender = "Male" if spk % 2 else "Female"
        for j, code in enumerate(MSP_CODES):
            name = f"MSP-PODCAST_{spk:04d}_{j + 1:04d}.wav"
            write_tone(root / "Audios" / name, 16000, seed)
            act, val, dom = 1.5 + (seed % 7) * 0.8, 1.2 + (3 * seed % 11) * 0.5, 2.0 + (seed % 5) * 0.9
            dom_cell = "" if seed == 4 else f"{dom:.1f}"  # an unrated dominance stays empty in the manifest
            rows.append([name, code, f"{act:.1f}", f"{val:.1f}", dom_cell, str(spk * 7), gender, partition])
            fx.dims[name] = (round(act, 1), round(val, 1), float("nan") if seed == 4 else round(dom, 1))
            fx.keep[name] = MSP_CODES[code]
            fx.official[name] = partition
            fx.speaker[name] = str(spk * 7)
            fx.sex[name] = gender[0].lower()
            seed += 1
    # An unknown speaker: kept under --split official, dropped (unknown_speaker) under the paper split.
    name = "MSP-PODCAST_0900_0001.wav"
    write_tone(root / "Audios" / name, 16000, seed)
    rows.append([name, "N", "3.0", "4.0", "4.0", "Unknown", "Unknown", "Train"])
    fx.keep[name], fx.official[name], fx.speaker[name], fx.sex[name] = "neutral", "Train", "Unknown", ""
    fx.dims[name] = (3.0, 4.0, 4.0)
    first_line = len(rows) + 2  # 1-based line of the next appended row (after the header)
    defects = [
        (["MSP-PODCAST_0001_0001.wav", "H", "3.0", "4.0", "4.0", "7", "Male", "Train"], "duplicate_row"),
        (["MSP-PODCAST_0950_0001.wav", "A", "3.0", "4.0"], "malformed_row"),  # too few fields
        (["MSP-PODCAST_0951_0001.wav", "A", "high", "4.0", "4.0", "951", "Male", "Train"], "malformed_row"),
        (["MSP-PODCAST_0952_0001.wav", "Z", "3.0", "4.0", "4.0", "952", "Male", "Train"], "unknown_label_code"),
        (["", "A", "3.0", "4.0", "4.0", "953", "Male", "Train"], "malformed_row"),  # empty FileName
    ]
    label_name = "labels_concensus.csv" if old_layout else "labels_consensus.csv"
    label_file = root / "Labels" / label_name
    for k, (row, reason) in enumerate(defects):
        rows.append(row)
        fx.drops[f"{label_file}:{first_line + k}"] = reason
    rows.append(["MSP-PODCAST_0954_0001.wav", "S", "3.0", "4.0", "4.0", "954", "Female", "Test1"])  # no audio
    fx.drops["MSP-PODCAST_0954_0001.wav"] = "missing_audio"
    label_file.parent.mkdir(parents=True, exist_ok=True)
    with label_file.open("w", newline="") as fh:
        w = csv.writer(fh)
        if old_layout:
            w.writerow(MSP_COLUMNS[:-1])
            w.writerows(r[:-1] if len(r) == len(MSP_COLUMNS) else r for r in rows)
        else:
            w.writerow(MSP_COLUMNS)
            w.writerows(rows)
    if old_layout:
        old_names = {"Development": "Validation"}  # the earlier releases' name of the partition
        lines = [f"{old_names.get(fx.official.get(r[0], 'Train'), fx.official.get(r[0], 'Train'))}; {r[0]}"
                 for r in rows if r[0]]
        (root / "Partitions.txt").write_text("\n".join(lines) + "\n")
    return fx


BUILDERS = {
    "msp_podcast": build_msp_podcast, "ravdess": build_ravdess, "crema_d": build_crema_d, "tess": build_tess,
    "emodb": build_emodb, "iemocap": build_iemocap, "savee": build_savee,
}
