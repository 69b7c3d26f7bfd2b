"""Your own corpus: ``sernet prepare folder`` and ``sernet prepare csv`` on generated trees.

Each gotcha (hidden files, non-audio files, corrupt audio, stereo, other rates, mixed-case folders,
missing speakers) is planted in a small tree of tiny tone WAVs and must come out as documented: kept
and converted, or dropped with its reason. The split rules (paper, test, kfold:K, loso, a CSV's own
column), the label map and class order, and idempotence are checked on the same trees.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf
from fixtures_corpora import build_iemocap, build_ravdess

from sernet import progress
from sernet.cli import main as cli_main
from sernet.data import read_manifest
from sernet.data.corpora import (
    PrepareError,
    parse_split,
    prepare,
    prepare_csv,
    prepare_folder,
    read_classes,
    read_label_map,
    speaker_folds,
)


def tone(path: Path, sr: int = 16000, *, channels: int = 1, seed: int = 0, seconds: float = 0.3) -> Path:
    """A short sine-plus-noise WAV (not silent, long enough to pass the audio checks)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * sr)) / sr
    y = 0.3 * np.sin(2 * np.pi * (200 + 20 * seed) * t) + 0.01 * rng.standard_normal(t.size)
    y = np.stack([y] * channels, axis=1) if channels > 1 else y
    sf.write(str(path), y.astype(np.float32), sr, subtype="PCM_16")
    return path


def speaker_tree(root: Path, speakers: int = 5, per_class: int = 2) -> dict[str, str]:
    """ROOT/spkN/<Label>/take*.wav with every gotcha planted; returns {relative path: expected drop reason}."""
    seed = 0
    for s in range(1, speakers + 1):
        for label in ("angry", "happy", "sad"):
            folder = label.capitalize() if label == "angry" and s % 2 else label  # Angry/ and angry/
            for j in range(per_class):
                tone(root / f"spk{s}" / folder / f"take{j}.wav", seed=seed)
                seed += 1
    tone(root / "spk3" / "angry" / "extra.wav", seed=99)  # spk3 has both Angry/ and angry/
    tone(root / "spk3" / "happy" / "stereo.wav", channels=2, seed=98)
    tone(root / "spk4" / "sad" / "rate.wav", sr=44100, seed=97)
    sf.write(str(root / "spk5" / "happy" / "silent.wav"), np.zeros(4800, dtype=np.float32), 16000)
    (root / "spk2" / "sad" / "broken.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEjunk" + bytes(40))
    (root / ".DS_Store").write_bytes(b"\x00\x01")
    (root / "spk1" / "Angry" / "._take0.wav").write_bytes(b"\x00\x05\x16\x07")
    tone(root / "__MACOSX" / "spk1" / "Angry" / "take0.wav", seed=96)
    (root / "spk1" / "notes.txt").write_text("recorded in a quiet room\n")
    (root / "spk2" / "happy" / "cover.jpg").write_bytes(b"\xff\xd8\xff")
    tone(root / "loose.wav", seed=95)
    return {
        ".DS_Store": "hidden_file", "spk1/Angry/._take0.wav": "hidden_file",
        "__MACOSX/spk1/Angry/take0.wav": "hidden_file", "spk1/notes.txt": "not_audio",
        "spk2/happy/cover.jpg": "not_audio", "spk2/sad/broken.wav": "unreadable",
        "spk5/happy/silent.wav": "silent", "loose.wav": "no_label",
    }


def _reasons(summary, root: Path) -> dict[str, str]:
    return {Path(d.file).relative_to(root).as_posix(): d.reason for d in summary.dropped}


@pytest.fixture(scope="module")
def tree(tmp_path_factory):
    base = tmp_path_factory.mktemp("folder")
    drops = speaker_tree(base / "mine")
    summary = prepare_folder(base / "mine", base / "out", layout="speaker/label")
    return base, drops, summary


# ----------------------------------------------------------------------------- folder mode
def test_folder_gotchas_each_kept_or_dropped_with_its_reason(tree):
    base, drops, summary = tree
    root, out = base / "mine", base / "out"
    assert summary.found == summary.kept + len(summary.dropped)
    assert _reasons(summary, root) == drops  # every gotcha named, nothing else dropped
    broken = next(d for d in summary.dropped if d.file.endswith("broken.wav"))
    assert broken.detail  # libsndfile's own words
    assert read_classes(out) == ("angry", "happy", "sad")  # Angry/ and angry/ are one label
    df = read_manifest(out, classes=read_classes(out), check_audio=True)  # 16 kHz, readable
    assert len(df) == summary.kept == 5 * 3 * 2 + 3
    assert (df.groupby("speaker")["split"].nunique() == 1).all()  # speaker-independent
    assert set(df["split"]) == {"train", "val", "test"}
    assert set(df["speaker"]) == {f"spk{s}" for s in range(1, 6)}
    spk3 = df[df["speaker"] == "spk3"]
    assert (spk3["label"] == "angry").sum() == 3  # spk3/Angry/take0-1 + spk3/angry/extra
    # stereo mixed down, 44.1 kHz resampled: converted into OUT/wav16k, counted in the summary
    assert summary.mixed_down == 1 and summary.resampled == {44100: 1} and summary.converted == 2
    for name in ("stereo.wav", "rate.wav"):
        path = df.loc[df["path"].str.endswith(name), "path"].item()
        assert "wav16k" in path and sf.info(path).channels == 1 and sf.info(path).samplerate == 16000
    assert df.loc[df["path"].str.endswith("rate.wav"), "duration_s"].item() == pytest.approx(0.3, abs=1e-3)
    table = summary.table()
    for reason in set(drops.values()):
        assert reason in table
    assert "mixed down to mono: 1" in table and "1 from 44100 Hz" in table
    assert not summary.warnings  # a speaker level was given
    written = json.loads((out / "summary.json").read_text())
    assert written["mixed_down"] == 1 and written["manifest_state"] == "new"
    assert set(pd.read_csv(out / "dropped.csv")["reason"]) == set(drops.values())


def test_folder_rerun_changes_nothing_and_says_so(tree, tmp_path):
    base, _, first = tree
    root, out = base / "mine", tmp_path / "out"
    one = prepare_folder(root, out, layout="speaker/label")
    manifest = (out / "manifest.csv").read_bytes()
    two = prepare_folder(root, out, layout="speaker/label")
    assert one.manifest_state == "new" and two.manifest_state == "unchanged"
    assert one.converted == 2 and two.converted == 0
    assert (out / "manifest.csv").read_bytes() == manifest
    assert "unchanged: identical to the previous run" in two.table()
    assert "0 converted to 16 kHz this run, 2 converted by an earlier run" in two.table()
    three = prepare_folder(root, out, layout="speaker/label", classes="sad,happy,angry")
    assert three.manifest_state == "changed" and read_classes(out) == ("sad", "happy", "angry")


def test_folder_without_speakers_warns_the_split_is_not_speaker_independent(tmp_path):
    for i in range(12):
        tone(tmp_path / "mine" / ("Calm" if i % 3 else "bored") / f"{i}.wav", seed=i)
    tone(tmp_path / "mine" / "calm" / "x.wav", seed=50)
    summary = prepare_folder(tmp_path / "mine", tmp_path / "out")
    assert summary.kept == 13 and read_classes(tmp_path / "out") == ("bored", "calm")
    assert any("NOT speaker-independent" in w for w in summary.warnings)
    assert "warning: no speaker given" in summary.table()
    df = read_manifest(tmp_path / "out", classes=read_classes(tmp_path / "out"))
    assert df["speaker"].nunique() == 13  # each file its own speaker


def test_folder_pattern_on_file_names_and_relative_paths(tmp_path):
    root = tmp_path / "flat"
    for s in range(1, 4):
        for label in ("Angry", "neutral"):
            tone(root / f"spk{s:02d}_{label}_01.wav", seed=s)
    tone(root / "README.wav", seed=9)
    summary = prepare_folder(root, tmp_path / "out", pattern=r"^(?P<speaker>spk\d+)_(?P<label>[A-Za-z]+)_")
    df = read_manifest(tmp_path / "out", classes=read_classes(tmp_path / "out"))
    assert set(df["speaker"]) == {"spk01", "spk02", "spk03"} and set(df["label"]) == {"angry", "neutral"}
    assert _reasons(summary, root) == {"README.wav": "malformed_name"}
    assert not summary.warnings

    nested = tmp_path / "nested"
    for s in ("anna", "ben", "cleo"):
        tone(nested / s / "calm_1.wav"), tone(nested / s / "bored_1.wav", seed=1)
    prepare_folder(nested, tmp_path / "out2", pattern=r"^(?P<speaker>[^/]+)/(?P<label>[a-z]+)_")
    df = read_manifest(tmp_path / "out2", classes=read_classes(tmp_path / "out2"))
    assert set(df["speaker"]) == {"anna", "ben", "cleo"} and set(df["label"]) == {"bored", "calm"}

    # the speaker from the pattern, the label from the folder (layout "label" by default)
    for s in ("a", "b", "c"):
        tone(tmp_path / "mixed" / "Happy" / f"{s}-1.wav")
    prepare_folder(tmp_path / "mixed", tmp_path / "out3", pattern=r"^(?P<speaker>[a-z])-")
    df = read_manifest(tmp_path / "out3", classes=read_classes(tmp_path / "out3"))
    assert sorted(df["speaker"]) == ["a", "b", "c"] and set(df["label"]) == {"happy"}


def test_folder_option_errors(tmp_path):
    tone(tmp_path / "mine" / "angry" / "a.wav")
    with pytest.raises(PrepareError, match="named group"):
        prepare_folder(tmp_path / "mine", tmp_path / "o", pattern=r"\d+")
    with pytest.raises(PrepareError, match="not a regular expression"):
        prepare_folder(tmp_path / "mine", tmp_path / "o", pattern=r"(?P<label>")
    with pytest.raises(PrepareError, match="no label source"):
        prepare_folder(tmp_path / "mine", tmp_path / "o", layout="speaker")
    with pytest.raises(PrepareError, match="clash with manifest columns"):
        prepare_folder(tmp_path / "mine", tmp_path / "o", layout="split/label")
    with pytest.raises(PrepareError, match="must not be inside the corpus root"):
        prepare_folder(tmp_path / "mine", tmp_path / "mine" / "out")
    with pytest.raises(PrepareError, match="corpus root not found"):
        prepare_folder(tmp_path / "nowhere", tmp_path / "o")


# ----------------------------------------------------------------------------- label map and classes
@pytest.mark.parametrize("kind", ["json", "csv"])
def test_label_map_maps_and_drops(tree, tmp_path, kind):
    base, _, _ = tree
    if kind == "json":
        mapping = tmp_path / "map.json"
        mapping.write_text(json.dumps({"Angry": "anger", "sad": "drop"}))
    else:
        mapping = tmp_path / "map.csv"
        mapping.write_text("native,target\nAngry,anger\nsad,\n")
    assert read_label_map(mapping) == {"angry": "anger", "sad": None}
    summary = prepare_folder(base / "mine", tmp_path / "out", layout="speaker/label", label_map=mapping)
    assert read_classes(tmp_path / "out") == ("anger", "happy")
    df = read_manifest(tmp_path / "out", classes=read_classes(tmp_path / "out"))
    assert set(df["label"]) == {"anger", "happy"}
    by_reason = summary.dropped_by_reason()
    assert by_reason["label_map_drop"] == 5 * 2 + 2  # every sad file (rate.wav, broken.wav too)
    assert summary.found == summary.kept + len(summary.dropped)


def test_label_map_leaves_unlisted_labels_and_classes_order_drops_the_rest(tree, tmp_path):
    base, _, _ = tree
    summary = prepare_folder(base / "mine", tmp_path / "out", layout="speaker/label",
                             label_map={"angry": "anger"}, classes="happy, Anger")
    assert read_classes(tmp_path / "out") == ("happy", "anger")  # the order asked for
    assert any("not in the label map" in w and "happy" in w for w in summary.warnings)
    assert summary.dropped_by_reason()["not_in_classes"] == 5 * 2 + 2  # sad: not in --classes


def test_label_map_errors(tmp_path):
    with pytest.raises(PrepareError, match="no such file"):
        read_label_map(tmp_path / "none.csv")
    (tmp_path / "bad.json").write_text("{not json")
    with pytest.raises(PrepareError, match="not valid JSON"):
        read_label_map(tmp_path / "bad.json")
    (tmp_path / "three.csv").write_text("a,b,c\n")
    with pytest.raises(PrepareError, match="three.csv:1"):
        read_label_map(tmp_path / "three.csv")
    (tmp_path / "twice.csv").write_text("a,b\nA,c\n")
    with pytest.raises(PrepareError, match="mapped twice"):
        read_label_map(tmp_path / "twice.csv")


# ----------------------------------------------------------------------------- CSV mode
def csv_corpus(base: Path, *, split_column: bool = True, speaker_column: bool = True) -> tuple[Path, dict]:
    """base/list/labels.csv listing clips under base/list/clips (relative) and base/elsewhere (absolute)."""
    rows, drops = [], {}
    for s in range(1, 5):
        for j, label in enumerate(("Angry", "calm", "calm")):
            rel = f"clips/s{s}_{j}.wav"
            tone(base / "list" / rel, sr=22050 if s == 4 else 16000, seed=s * 10 + j)
            rows.append([rel, label, f"spk{s}", ("train", "validation", "test", "train")[s - 1]])
    far = tone(base / "elsewhere" / "s1_0.wav", seed=77)  # same name as a clip: no clash in wav16k
    rows.append([str(far), "angry", "spk1", "train"])
    stereo = tone(base / "elsewhere" / "stereo.wav", channels=2, seed=78)
    rows.append([str(stereo), "calm", "spk2", "dev"])
    (base / "list" / "clips" / "bad.wav").write_bytes(b"not a wav file at all" * 3)
    tone(base / "list" / "clips" / "odd_split.wav", seed=79)
    tone(base / "list" / "clips" / "nolabel.wav", seed=80)
    (base / "list" / "clips" / "notes.txt").write_text("x")
    rows += [
        ["", "angry", "spk1", "train"],
        ["clips/s1_0.wav", "calm", "spk1", "train"],  # listed twice
        ["clips/gone.wav", "angry", "spk1", "train"],
        ["clips/notes.txt", "angry", "spk1", "train"],
        ["clips/._s1_0.wav", "angry", "spk1", "train"],
        ["clips/nolabel.wav", "", "spk1", "train"],
        ["clips/bad.wav", "angry", "spk2", "train"],
        ["clips/odd_split.wav", "angry", "spk3", "holdout"],
    ]
    drops = {"labels.csv:16": "malformed_row", "clips/s1_0.wav": "duplicate_row",
             "clips/gone.wav": "missing_audio", "clips/notes.txt": "not_audio", "clips/._s1_0.wav": "hidden_file",
             "clips/nolabel.wav": "no_label", "clips/bad.wav": "unreadable",
             "clips/odd_split.wav": "unknown_partition"}
    cols = ["path", "label", "speaker", "split"]
    table = pd.DataFrame(rows, columns=cols)
    if not split_column:
        table = table.drop(columns="split")
        drops.pop("clips/odd_split.wav")
    if not speaker_column:
        table = table.drop(columns="speaker")
    table.insert(2, "Session", "s1")  # an extra column, kept
    path = base / "list" / "labels.csv"
    table.to_csv(path, index=False)
    return path, drops


def _csv_reasons(summary, csv_file: Path) -> dict[str, str]:
    out = {}
    for d in summary.dropped:
        f = d.file
        key = Path(f).name if f.startswith(str(csv_file)) else Path(f).relative_to(csv_file.parent).as_posix()
        out.setdefault(key, d.reason)
    return out


def test_csv_rows_checked_and_its_split_column_used(tmp_path):
    csv_file, drops = csv_corpus(tmp_path)
    out = csv_file.parent / "prepared"  # inside the CSV's folder is fine: the files are listed
    summary = prepare_csv(csv_file, out)
    assert summary.split == "official" and summary.found == summary.kept + len(summary.dropped)
    assert _csv_reasons(summary, csv_file) == drops
    df = read_manifest(out, classes=read_classes(out), check_audio=True)
    assert read_classes(out) == ("angry", "calm")
    assert len(df) == 4 * 3 + 2
    split_of = df.groupby("speaker")["split"].agg(set).to_dict()
    assert split_of == {"spk1": {"train"}, "spk2": {"val"}, "spk3": {"test"}, "spk4": {"train"}}
    assert df["session"].eq("s1").all()
    assert summary.resampled == {22050: 3} and summary.mixed_down == 1
    far = df.loc[df["path"].str.contains("_outside_root"), "path"]
    assert len(far) == 0 or far.str.contains("elsewhere").all()
    assert df["path"].nunique() == len(df)  # clips/s1_0.wav and elsewhere/s1_0.wav both kept
    assert prepare_csv(csv_file, out).manifest_state == "unchanged"


def test_csv_without_split_or_speaker_columns(tmp_path):
    csv_file, _ = csv_corpus(tmp_path, split_column=False)
    summary = prepare_csv(csv_file, tmp_path / "out")
    assert summary.split == "paper"
    df = read_manifest(tmp_path / "out", classes=read_classes(tmp_path / "out"))
    assert (df.groupby("speaker")["split"].nunique() == 1).all()
    with pytest.raises(PrepareError, match="needs a 'split' column"):
        prepare_csv(csv_file, tmp_path / "out", split="official")

    csv_file, _ = csv_corpus(tmp_path / "b", split_column=False, speaker_column=False)
    summary = prepare_csv(csv_file, tmp_path / "out2")
    assert any("NOT speaker-independent" in w for w in summary.warnings)


def test_csv_errors(tmp_path):
    with pytest.raises(PrepareError, match="CSV file not found"):
        prepare_csv(tmp_path / "none.csv", tmp_path / "out")
    (tmp_path / "x.csv").write_text("file,emotion\na.wav,angry\n")
    with pytest.raises(PrepareError, match=r"missing column\(s\) \['path', 'label'\]"):
        prepare_csv(tmp_path / "x.csv", tmp_path / "out")
    (tmp_path / "manifest.csv").write_text("path,label\na.wav,angry\n")
    with pytest.raises(PrepareError, match="would overwrite"):
        prepare_csv(tmp_path / "manifest.csv", tmp_path)


# ----------------------------------------------------------------------------- splits
def test_parse_split_and_speaker_folds():
    assert parse_split("kfold:4") == ("kfold", 4) and parse_split("LOSO") == ("loso", None)
    for bad in ("kfold", "kfold:1", "kfold:x", "random"):
        with pytest.raises(PrepareError, match="--split"):
            parse_split(bad)
    sizes = {f"s{i}": 10 + i for i in range(7)}
    folds = speaker_folds(sizes, 3, seed=0)
    assert folds == speaker_folds(dict(reversed(list(sizes.items()))), 3, seed=0)
    load = [sum(n for g, n in sizes.items() if folds[g] == f) for f in range(3)]
    assert set(folds.values()) == {0, 1, 2} and max(load) - min(load) <= max(sizes.values())
    with pytest.raises(PrepareError, match=r"kfold:3, --split loso"):
        speaker_folds({"a": 1, "b": 1, "c": 1}, 4)


def test_small_corpus_names_what_is_possible_and_test_split_works(tmp_path):
    for s in ("anna", "ben"):
        for label in ("calm", "bored"):
            tone(tmp_path / "two" / s / label / "1.wav")
    with pytest.raises(PrepareError, match=r"at least 3.*--split test.*--split loso"):
        prepare_folder(tmp_path / "two", tmp_path / "out", layout="speaker/label")
    summary = prepare_folder(tmp_path / "two", tmp_path / "out", layout="speaker/label", split="test")
    df = read_manifest(tmp_path / "out", classes=read_classes(tmp_path / "out"))
    assert set(df["split"]) == {"test"} and len(df) == 4 and summary.counts.loc["total", "test"] == 4
    summary = prepare_folder(tmp_path / "two", tmp_path / "loso", layout="speaker/label", split="loso")
    df = read_manifest(tmp_path / "loso", classes=read_classes(tmp_path / "loso"))
    assert df.groupby("speaker")["fold"].first().to_dict() == {"anna": 0, "ben": 1}
    assert set(df.loc[df["speaker"] == "anna", "split"]) == {"test"} and set(df["split"]) == {"test", "train"}
    assert any("no validation split" in w for w in summary.warnings)
    one = tmp_path / "one"
    tone(one / "anna" / "calm" / "1.wav")
    with pytest.raises(PrepareError, match="--split test"):
        prepare_folder(one, tmp_path / "o1", layout="speaker/label", split="loso")
    prepare_folder(one, tmp_path / "o1", layout="speaker/label", split="test")  # one speaker: evaluation only


def test_kfold_and_loso_folds_by_speaker(tree, tmp_path):
    base, _, _ = tree
    root = base / "mine"
    prepare_folder(root, tmp_path / "k", layout="speaker/label", split="kfold:3")
    df = read_manifest(tmp_path / "k", classes=read_classes(tmp_path / "k"))
    assert list(df.columns[:8]) == ["path", "label", "speaker", "split", "duration_s", "sex", "corpus", "fold"]
    assert (df.groupby("speaker")["fold"].nunique() == 1).all() and set(df["fold"]) == {0, 1, 2}
    want = {0: "test", 1: "val", 2: "train"}
    assert (df["split"] == df["fold"].map(want)).all()
    prepare_folder(root, tmp_path / "k2", layout="speaker/label", split="kfold:3", test_fold=2)
    df2 = read_manifest(tmp_path / "k2", classes=read_classes(tmp_path / "k2"))
    assert (df2["fold"] == df["fold"]).all()  # the same folds, rotated roles
    assert (df2["split"] == df2["fold"].map({2: "test", 0: "val", 1: "train"})).all()
    with pytest.raises(PrepareError, match=r"kfold:6 needs at least 6 speakers.*kfold:5"):
        prepare_folder(root, tmp_path / "k6", layout="speaker/label", split="kfold:6")
    with pytest.raises(PrepareError, match="--fold 3"):
        prepare_folder(root, tmp_path / "k3", layout="speaker/label", split="kfold:3", test_fold=3)

    prepare_folder(root, tmp_path / "l", layout="speaker/label", split="loso", test_fold=1)
    df = read_manifest(tmp_path / "l", classes=read_classes(tmp_path / "l"))
    assert df.groupby("speaker")["fold"].first().to_dict() == {f"spk{s}": s - 1 for s in range(1, 6)}
    assert df.groupby("speaker")["split"].first().to_dict() == {
        "spk1": "train", "spk2": "test", "spk3": "val", "spk4": "train", "spk5": "train"}


def test_generic_splits_on_a_registry_corpus(tmp_path):
    fx = build_ravdess(tmp_path / "release", actors=range(1, 3))
    with pytest.raises(PrepareError, match=r"--split test.*--split loso"):
        prepare("ravdess", fx.root, tmp_path / "out")
    summary = prepare("ravdess", fx.root, tmp_path / "out", split="test")
    assert set(read_manifest(tmp_path / "out")["split"]) == {"test"} and summary.split == "test"
    prepare("ravdess", fx.root, tmp_path / "loso", split="loso")
    df = read_manifest(tmp_path / "loso")
    assert df.groupby("speaker")["fold"].first().to_dict() == {"ravdess01": 0, "ravdess02": 1}


def test_kfold_keeps_a_corpus_own_fold_column(tmp_path):
    fx = build_iemocap(tmp_path / "release")
    prepare("iemocap", fx.root, tmp_path / "out", split="kfold:5", test_fold=4)
    df = read_manifest(tmp_path / "out")
    assert set(df["corpus_fold"]) == {1, 2, 3, 4, 5}  # the sessions, renamed
    assert (df.groupby("speaker")["fold"].nunique() == 1).all() and set(df["fold"]) == set(range(5))
    assert set(df.loc[df["fold"] == 4, "split"]) == {"test"}


# ----------------------------------------------------------------------------- CLI
@pytest.fixture
def restore_progress():
    yield
    progress.set_enabled(None)


def test_cli_folder_and_csv(tree, tmp_path, capsys, restore_progress):
    base, _, _ = tree
    args = ["-q", "prepare", "folder", str(base / "mine"), "--out", str(tmp_path / "f"), "--layout", "speaker/label"]
    assert cli_main(args) == 0
    text = capsys.readouterr().out
    assert "hidden_file" in text and "not_audio" in text and "manifest.csv" in text
    assert cli_main(args) == 0
    assert "unchanged" in capsys.readouterr().out
    assert cli_main([*args[:-2], "--layout", "speaker/label", "--split", "kfold:3", "--fold", "1", "--json",
                     "--out", str(tmp_path / "k")]) == 0
    assert json.loads(capsys.readouterr().out)["split"] == "kfold:3"
    assert set(read_manifest(tmp_path / "k", classes=read_classes(tmp_path / "k")).query("fold == 1")["split"]) \
        == {"test"}

    csv_file, _ = csv_corpus(tmp_path / "c")
    assert cli_main(["-q", "prepare", "csv", str(csv_file), "--out", str(tmp_path / "c_out"),
                     "--classes", "calm,angry", "--name", "My List"]) == 0
    capsys.readouterr()
    assert read_classes(tmp_path / "c_out") == ("calm", "angry")
    assert set(read_manifest(tmp_path / "c_out", classes=("calm", "angry"))["corpus"]) == {"my_list"}

    assert cli_main(["prepare", "folder", str(base / "mine"), "--out", str(tmp_path / "x"),
                     "--labels", "paper8"]) == 2
    assert "--label-map" in capsys.readouterr().err
    assert cli_main(["prepare", "ravdess", str(base / "mine"), "--out", str(tmp_path / "x"),
                     "--pattern", "(?P<label>x)"]) == 2
    assert "only for folder and csv" in capsys.readouterr().err
    assert cli_main(["prepare", "csv", str(csv_file), "--out", str(tmp_path / "x"), "--layout", "label"]) == 2
    assert cli_main(["prepare", "folder", str(base / "mine"), "--out", str(tmp_path / "x"),
                     "--split", "halves"]) == 2
    assert "kfold:K" in capsys.readouterr().err


def test_label_map_on_a_registry_corpus(tmp_path, capsys, restore_progress):
    """RAVDESS with its native labels and a user map: calm -> neutral, surprise dropped; the classes follow the
    native order of the targets; a map naming a label the corpus does not have is refused."""
    fx = build_ravdess(tmp_path / "release")
    mapping = tmp_path / "map.csv"
    mapping.write_text("native,target\ncalm,neutral\nsurprise,drop\n")
    summary = prepare("ravdess", fx.root, tmp_path / "out", labels="native", label_map=mapping)
    expected = tuple(c for c in ("neutral", "happy", "sad", "angry", "fear", "disgust"))
    assert summary.classes == expected == read_classes(tmp_path / "out")
    df = read_manifest(tmp_path / "out")
    assert "calm" not in set(df["label"]) and "surprise" not in set(df["label"])
    assert {d.reason for d in summary.dropped} >= {"label_map_drop"}
    with pytest.raises(PrepareError, match=r"\['boredom'\] are not labels of ravdess"):
        prepare("ravdess", fx.root, tmp_path / "bad", labels="native", label_map={"boredom": "neutral"})
    with pytest.raises(PrepareError, match="use it with --labels native"):
        prepare("ravdess", fx.root, tmp_path / "bad", labels="paper8", label_map=mapping)
    assert cli_main(["prepare", "ravdess", str(fx.root), "--out", str(tmp_path / "cli"), "--label-map",
                     str(mapping), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["classes"] == list(expected)
