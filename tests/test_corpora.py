"""Corpus preparers on fixture trees built in each corpus's release layout (tests/fixtures_corpora.py).

Checked for every corpus: every label code maps as documented, every defect is reported with its file and
reason, nothing is silently lost (found = kept + dropped), the manifest validates with its class list and
16 kHz audio, and no speaker (or split group) is in two splits.
"""

from __future__ import annotations

import json
import runpy
import sys
from collections import Counter
from pathlib import Path

import pandas as pd
import pytest
import soundfile as sf
from fixtures_corpora import BUILDERS, build_iemocap, build_msp_podcast, build_ravdess, build_tess

from sernet import progress
from sernet.cli import main as cli_main
from sernet.data import read_manifest
from sernet.data.corpora import (
    CORPORA,
    DROP_REASONS,
    PrepareError,
    documented_counts,
    get,
    label_maps,
    prepare,
    read_classes,
    speaker_split,
)
from sernet.data.corpora import msp_podcast as msp
from sernet.errors import ManifestError
from sernet.labels import EMOTIONS

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Each corpus built once and prepared with the defaults (paper split, paper8 labels)."""
    cache = {}

    def run(name):
        if name not in cache:
            base = tmp_path_factory.mktemp(name)
            fx = BUILDERS[name](base / "release")
            summary = prepare(name, fx.root, base / "prepared")
            cache[name] = (fx, summary, base / "prepared")
        return cache[name]

    return run


def _row_key(path: str, key: str) -> bool:
    return path == key or path.endswith("/" + key)


def _by_key(df: pd.DataFrame, keys) -> dict[str, pd.Series]:
    out = {}
    for key in keys:
        hits = [i for i, p in enumerate(df["path"]) if _row_key(p, key)]
        assert len(hits) <= 1, f"{key} matches several manifest rows"
        if hits:
            out[key] = df.iloc[hits[0]]
    return out


# ----------------------------------------------------------------------------- split helper
def test_speaker_split_is_disjoint_deterministic_and_near_the_fractions():
    sizes = {f"spk{i:02d}": 5 + (i * 7) % 13 for i in range(40)}
    a = speaker_split(sizes, seed=3)
    assert a == speaker_split(dict(reversed(list(sizes.items()))), seed=3)  # order of input irrelevant
    assert set(a) == set(sizes) and set(a.values()) == {"train", "val", "test"}
    total = sum(sizes.values())
    share = {s: sum(n for g, n in sizes.items() if a[g] == s) / total for s in ("train", "val", "test")}
    assert share["test"] == pytest.approx(0.1, abs=0.04) and share["val"] == pytest.approx(0.1, abs=0.04)
    assert speaker_split(sizes, seed=4) != a


def test_speaker_split_gives_every_split_a_group_and_needs_three():
    assert Counter(speaker_split({"a": 100, "b": 100, "c": 100}).values()) == {"train": 1, "val": 1, "test": 1}
    with pytest.raises(PrepareError, match="at least 3"):
        speaker_split({"a": 10, "b": 10})
    with pytest.raises(PrepareError, match="fractions"):
        speaker_split({"a": 1, "b": 1, "c": 1}, fractions=(0.8, 0.2))


# ----------------------------------------------------------------------------- every corpus
@pytest.mark.parametrize("name", list(BUILDERS))
def test_labels_drops_and_manifest(prepared, name):
    fx, summary, out = prepared(name)
    spec = CORPORA[name]
    assert summary.found == summary.kept + len(summary.dropped)
    assert read_classes(out) == EMOTIONS
    df = read_manifest(out, classes=read_classes(out), check_audio=True)  # 16 kHz, all files readable
    extra = sum(len(read_manifest(p)) for k, p in summary.manifests.items() if k != "main")
    assert len(df) + extra == summary.kept

    # every native label code maps as documented (or is dropped as not_in_classes)
    rows = _by_key(df, fx.keep)
    extra_rows = {}
    for k, p in summary.manifests.items():
        if k != "main":
            extra_rows |= _by_key(read_manifest(p), fx.keep)
    dropped = {d.file: d for d in summary.dropped}
    for key, native in fx.keep.items():
        row = rows.get(key, extra_rows.get(key))
        target = spec.paper8_map.get(native)
        if target is None:
            assert row is None, f"{key}: native {native!r} has no paper8 class but was kept"
            assert any(_row_key(f, key) and d.reason == "not_in_classes" for f, d in dropped.items()), key
        elif row is None:  # only MSP-Podcast's unknown speaker may be missing under the paper split
            assert name == "msp_podcast" and fx.speaker[key] == "Unknown", f"{key} lost"
            assert any(_row_key(f, key) and d.reason == "unknown_speaker" for f, d in dropped.items())
        else:
            assert row["label"] == target, key
            assert row["sex"] == fx.sex[key] or (pd.isna(row["sex"]) and fx.sex[key] == ""), key
            assert row["corpus"] == name

    # every defect is reported with its file and reason
    for key, reason in fx.drops.items():
        hits = [d for f, d in dropped.items() if _row_key(f, key)]
        assert hits, f"{key}: expected a '{reason}' drop, got none"
        assert hits[0].reason == reason, f"{key}: {hits[0]}"
    audio_problems = {"unreadable", "silent", "empty", "missing", "too_short", "non_finite"}
    assert {d.reason for d in summary.dropped} <= set(DROP_REASONS) | audio_problems

    # speaker-independent (TESS: word-independent) splits
    group = df["word"] if name == "tess" else df["speaker"]
    assert (df.assign(g=group).groupby("g")["split"].nunique() == 1).all()
    assert set(df["split"]) == {"train", "val", "test"}

    # summary: table and files
    table = summary.table()
    for reason in summary.dropped_by_reason():
        assert reason in table
    assert f"found    {summary.found:>8d}" in table
    written = json.loads((out / "summary.json").read_text())
    assert written["kept"] == summary.kept and written["dropped"] == len(summary.dropped)
    assert len(pd.read_csv(out / "dropped.csv")) == len(summary.dropped)
    counts = summary.counts
    assert counts.loc["total", "total"] == summary.kept
    for cls in spec.unsupplied():
        assert counts.loc[cls, "total"] == 0


def test_audio_is_converted_or_referenced_in_place(prepared, tmp_path):
    _, summary, out = prepared("ravdess")  # 48 kHz -> converted
    df = read_manifest(out)
    assert all(p.startswith(str((out / "wav16k").resolve())) for p in df["path"])
    assert summary.converted == summary.kept and summary.referenced == 0
    assert {sf.info(p).samplerate for p in df["path"]} == {16000}
    assert {sf.info(p).channels for p in df["path"]} == {1}  # the stereo source averaged
    fx, summary, out = prepared("crema_d")  # 16 kHz mono -> referenced in place
    df = read_manifest(out)
    assert summary.referenced == summary.kept and summary.converted == 0
    assert all(p.startswith(str(fx.root.resolve())) for p in df["path"])
    assert df["duration_s"].round(3).eq(0.3).all()


def test_rerun_skips_finished_conversions_and_is_identical(tmp_path):
    fx = build_tess(tmp_path / "release")
    first = prepare("tess", fx.root, tmp_path / "out")
    manifest = (tmp_path / "out" / "manifest.csv").read_text()
    second = prepare("tess", fx.root, tmp_path / "out")
    assert first.converted == first.kept and second.converted == 0
    assert (tmp_path / "out" / "manifest.csv").read_text() == manifest


def test_workers_give_the_same_manifest(tmp_path):
    fx = build_tess(tmp_path / "release")
    prepare("tess", fx.root, tmp_path / "one", workers=1)
    prepare("tess", fx.root, tmp_path / "two", workers=2)
    assert (tmp_path / "one" / "manifest.csv").read_text() == (tmp_path / "two" / "manifest.csv").read_text()


def test_native_labels_keep_the_corpus_classes(tmp_path):
    fx = build_ravdess(tmp_path / "release", actors=range(1, 4))
    summary = prepare("ravdess", fx.root, tmp_path / "out", labels="native")
    assert read_classes(tmp_path / "out") == CORPORA["ravdess"].native_classes
    df = read_manifest(tmp_path / "out", classes=read_classes(tmp_path / "out"))
    assert "calm" in set(df["label"]) and summary.counts.loc["calm", "total"] == 3
    assert summary.counts.loc["calm", "documented"] == 192  # the full release, for comparison
    with pytest.raises(ManifestError, match="calm"):  # the class list must be passed on
        read_manifest(tmp_path / "out")


# ----------------------------------------------------------------------------- MSP-Podcast
@pytest.mark.parametrize("old_layout", [False, True], ids=["v1.11-layout", "old-concensus+Partitions"])
def test_msp_podcast_official_partitions(tmp_path, old_layout):
    fx = build_msp_podcast(tmp_path / "release", old_layout=old_layout)
    summary = prepare("msp_podcast", fx.root, tmp_path / "out", split="official")
    df = read_manifest(tmp_path / "out", check_audio=True)
    test2 = read_manifest(tmp_path / "out" / "test2", check_audio=True)
    assert set(test2["split"]) == {"test"} and set(df["split"]) == {"train", "val", "test"}
    expected = {"Train": "train", "Development": "val", "Test1": "test"}
    for key, row in (_by_key(df, fx.keep) | _by_key(test2, fx.keep)).items():
        part = fx.official[key]
        assert row["partition"] in (part, "Validation")
        assert row["split"] == expected.get(part, "test")
        assert (key in set(Path(p).name for p in test2["path"])) == (part == "Test2")
    unknown = df[df["path"].str.endswith("MSP-PODCAST_0900_0001.wav")]
    assert list(unknown["speaker"]) == ["unknown"]  # kept under the official partitions
    assert summary.dropped_by_reason()["not_in_classes"] == 2 * 14  # O and X of every speaker
    assert {"arousal", "valence", "dominance"} <= set(df.columns)  # EmoAct/EmoVal/EmoDom, one name across corpora
    prepare("msp_podcast", fx.root, tmp_path / "out", split="paper")  # re-split: no stale Test2 manifest
    assert not (tmp_path / "out" / "test2" / "manifest.csv").exists()


def test_msp_podcast_label_file_problems(tmp_path):
    with pytest.raises(PrepareError, match="labels_consensus.csv"):
        prepare("msp_podcast", tmp_path, tmp_path.parent / "out-none")
    (tmp_path / "Labels").mkdir()
    (tmp_path / "Labels" / "labels_consensus.csv").write_text("FileName,EmoAct\nMSP-PODCAST_0001_0001.wav,3\n")
    with pytest.raises(PrepareError, match=r"labels_consensus.csv: missing column\(s\) \['EmoClass'\]"):
        prepare("msp_podcast", tmp_path, tmp_path.parent / "out-none")


def test_msp_podcast_paper_vs_releases_note():
    shares = msp.paper_class_shares()
    assert shares["total"].sum() == 90103
    assert (shares["share"] * 100).round(1).tolist() == [12.0, 15.0, 10.0, 35.0, 8.0, 5.0, 8.0, 7.0]
    assert "90,103" in msp.PAPER_VS_RELEASES and "O (other)" in msp.PAPER_VS_RELEASES


def test_msp_podcast_compare_with_paper(prepared):
    _, summary, _ = prepared("msp_podcast")
    table = msp.compare_with_paper(summary.counts)
    assert list(table.index) == list(EMOTIONS)
    assert table["ours_total"].sum() == summary.kept and table["paper_total"].sum() == 90103
    assert table["ours_share"].sum() == pytest.approx(1.0)


# ----------------------------------------------------------------------------- IEMOCAP
def test_iemocap_leave_one_session_out(tmp_path):
    fx = build_iemocap(tmp_path / "release")
    prepare("iemocap", fx.root, tmp_path / "out", split="official", fold=2)
    df = read_manifest(tmp_path / "out")
    assert set(df.loc[df["fold"] != 2, "split"]) == {"train"}
    held = df[df["fold"] == 2]
    assert set(held.loc[held["sex"] == "f", "split"]) == {"val"}
    assert set(held.loc[held["sex"] == "m", "split"]) == {"test"}
    assert set(df["speaker"]) == {f"Ses0{s}{g}" for s in range(1, 6) for g in "FM"}
    assert set(df.loc[df["category"] == "exc", "label"]) == {"happy"}  # excited merged into happy
    assert set(df["label"]) == {"neutral", "angry", "sad", "happy"}
    with pytest.raises(PrepareError, match="fold 6"):
        prepare("iemocap", fx.root, tmp_path / "out", split="official", fold=6)


# ----------------------------------------------------------------------------- errors
def test_preparer_errors_name_the_problem(tmp_path):
    with pytest.raises(PrepareError, match="unknown corpus 'voxceleb'"):
        get("voxceleb")
    assert get("CREMA-D").name == "crema_d"
    with pytest.raises(PrepareError, match="corpus root not found"):
        prepare("ravdess", tmp_path / "nowhere", tmp_path / "out")
    fx = build_ravdess(tmp_path / "release", actors=range(1, 4))
    with pytest.raises(PrepareError, match="must not be inside the corpus root"):
        prepare("ravdess", fx.root, fx.root / "prepared")
    with pytest.raises(PrepareError, match="offers"):
        prepare("ravdess", fx.root, tmp_path / "out", split="official")
    with pytest.raises(PrepareError, match="AudioWAV"):
        prepare("crema_d", fx.root, tmp_path / "out")


# ----------------------------------------------------------------------------- documentation
def test_documented_counts_and_label_maps():
    counts = documented_counts()
    assert counts.loc[["ravdess", "crema_d", "tess", "emodb", "iemocap", "savee"], "total"].tolist() == [
        1440, 7442, 2800, 535, 5531, 480]
    assert (counts[list(EMOTIONS) + ["unmapped"]].sum(axis=1) == counts["total"]).all()
    maps = label_maps()
    assert maps.loc["ravdess", "dropped_under_paper8"] == "calm"
    assert maps.loc["emodb", "cannot_supply"] == "surprise, contempt"
    readme = (REPO / "data_scripts" / "README.md").read_text()
    for name in CORPORA:
        assert (REPO / "data_scripts" / f"prepare_{name}.py").is_file(), name
        assert f"prepare_{name}.py" in readme


# ----------------------------------------------------------------------------- CLI and scripts
@pytest.fixture
def restore_progress():
    yield
    progress.set_enabled(None)  # `-q` switches bars off for the whole process


def test_cli_prints_the_summary_table(tmp_path, capsys, restore_progress):
    fx = build_ravdess(tmp_path / "release", actors=range(1, 4))
    assert cli_main(["-q", "prepare", "ravdess", str(fx.root), "--out", str(tmp_path / "out")]) == 0
    text = capsys.readouterr().out
    assert "found" in text and "not_in_classes" in text and "unreadable" in text and "manifest.csv" in text
    assert cli_main(["-q", "prepare", "ravdess", str(fx.root), "--out", str(tmp_path / "out"), "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["found"] == summary["kept"] + summary["dropped"]
    assert cli_main(["prepare", "ravdess", str(fx.root), "--out", str(tmp_path / "o2"), "--fold", "2"]) == 2
    assert "--fold applies to IEMOCAP only" in capsys.readouterr().err


def test_data_script_runs(tmp_path, monkeypatch, capsys):
    fx = build_tess(tmp_path / "release")
    script = REPO / "data_scripts" / "prepare_tess.py"
    monkeypatch.setattr(sys, "argv", [str(script), str(fx.root), "--out", str(tmp_path / "o")])
    with pytest.raises(SystemExit) as exit_:
        runpy.run_path(str(script), run_name="__main__")
    assert exit_.value.code == 0
    assert "corpus tess" in capsys.readouterr().out
    assert len(read_manifest(tmp_path / "o")) == 2 * 7 * 6
