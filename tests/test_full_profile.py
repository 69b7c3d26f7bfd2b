"""The full profile on real-corpus layouts: ``sernet prepare`` -> ``SERNET_DATA`` -> reproduce, features,
training and cross-corpus evaluation, shrunk by ``--set`` overrides so it takes seconds."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from fixtures_corpora import build_crema_d, build_ravdess

import sernet
from sernet import workspace
from sernet.analysis import cross_corpus
from sernet.cli import main as cli_main
from sernet.data import corpora
from sernet.data.manifest import read_manifest
from sernet.labels import EMOTIONS
from sernet.train import train

# Paper-scale widths, lengths and epochs shrunk to seconds; everything else stays the full profile's.
TINY = {
    "model.conv_filters": "4,4,4", "model.channels": "8", "model.residual_blocks": "1",
    "model.attention_heads": "1", "model.dense_units": "8", "model.pooling_units": "8",
    "model.mel_projection_dim": "4", "model.cnn_filters": "4,8", "model.lstm_units": "8",
    "features.max_length": "32", "train.batch_size": "8", "train.epochs": "1", "train.warmup_steps": "2",
    "train.early_stopping_patience": "2", "train.mixed_precision": "float32", "train.ablation_seeds": "0",
}


@pytest.fixture(scope="module")
def prepared(tmp_path_factory):
    """Two corpora in their release layouts, prepared by the CLI as a user would."""
    base = tmp_path_factory.mktemp("real")
    out = {}
    small = {"ravdess": lambda root: build_ravdess(root, actors=range(1, 5)),
             "crema_d": lambda root: build_crema_d(root, actors=(1001, 1002, 1003, 1004))}
    for name, build in small.items():
        fx = build(base / f"{name}-release")
        assert cli_main(["-q", "prepare", name, str(fx.root), "--out", str(base / name)]) == 0
        out[name] = base / name
    return out


@pytest.fixture(scope="module")
def home(tmp_path_factory):
    """One SERNET_HOME for the module, so the RAVDESS feature cache is extracted once."""
    return tmp_path_factory.mktemp("home")


def full_config(home, data, **changes):
    cfg = sernet.config.load("full", SERNET_DATA=str(data), SERNET_HOME=str(home))
    return sernet.config.override(cfg, {**TINY, **changes})


def test_reproduce_runs_end_to_end_on_a_prepared_corpus(prepared, home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("SERNET_DATA", str(prepared["ravdess"]))
    monkeypatch.setenv("SERNET_HOME", str(home))
    monkeypatch.chdir(tmp_path)
    sets = [arg for key, value in TINY.items() for arg in ("--set", f"{key}={value}")]
    assert cli_main(["--profile", "full", "-q", *sets, "reproduce", "--workers", "1"]) == 0
    out = capsys.readouterr().out
    n = len(read_manifest(prepared["ravdess"]))
    assert "profile full" in out
    assert f"{prepared['ravdess']}" in out and f"({n} utterances)" in out
    assert "synthetic" not in out.split("== Table 2.1")[0]  # the real corpus, not the generator
    from sernet.cli.reproduce import STEPS
    from sernet.train import RunDir

    if "train" in STEPS:  # the standard run, trained in the full profile on the prepared corpus
        runs = [RunDir(p) for p in (home / "runs").iterdir() if not p.name.startswith(("cross-", "full-tiny"))]
        saved = [json.loads(r.config_json.read_text())["config"] for r in runs if r.complete]
        assert any(c["profile"] == "full" and c["data_root"] == str(prepared["ravdess"]) for c in saved)
    if "report" in STEPS:  # the report folder (default ./sernet-report) holds the full profile's report
        reports = [*tmp_path.rglob("report.md"), *home.rglob("report.md")]
        assert reports, "sernet reproduce wrote no report.md"
        assert "profile: full" in reports[0].read_text()


def test_features_and_training_in_the_full_profile(prepared, home):
    cfg = full_config(home, prepared["ravdess"])
    assert cfg.profile == "full" and cfg.train.epochs == 1
    manifest = read_manifest(prepared["ravdess"], classes=corpora.read_classes(prepared["ravdess"]))
    store = workspace.feature_store(cfg, workers=1)
    assert store.n + int((~store.failures["kept"].astype(bool)).sum()) == len(manifest)
    assert set(store.index["label"]) <= set(corpora.get("ravdess").paper8_map.values())  # calm dropped
    result = train(cfg, store, workspace.runs_dir(cfg) / "full-tiny", verbose=0)
    run = result.run_dir
    assert run.complete and run.norm_stats.exists() and run.history_csv.exists()
    saved = json.loads(run.config_json.read_text())
    assert saved["config"]["profile"] == "full"
    assert saved["config"]["data_root"] == str(prepared["ravdess"])
    for split in ("val", "test"):
        assert 0.0 <= result.metrics[split]["uar"] <= 1.0
        assert result.metrics[split]["n"] == len(store.split_indices(split))
    predictions = run.read_predictions()
    assert len(predictions) == len(store.split_indices("val")) + len(store.split_indices("test"))
    assert "contempt" not in set(predictions["true"])  # RAVDESS cannot supply it


def test_cross_corpus_matrix_on_two_prepared_corpora(prepared, home):
    entries = ",".join(f"{name}={path}" for name, path in prepared.items())
    cfg = full_config(home, prepared["ravdess"], **{"cross.corpora": entries})
    result = cross_corpus.cross_corpus_matrix(cfg, workers=1)
    rav, crema = (set(corpora.get(n).paper8_map.values()) for n in ("ravdess", "crema_d"))
    assert result.classes == tuple(e for e in EMOTIONS if e in rav & crema)  # from the preparers' label maps
    uar = result.matrix("uar")
    assert list(uar.index) == ["ravdess", "crema_d"] == list(uar.columns)
    assert uar.notna().all().all()
    test_sizes = {name: int((pd.read_csv(p / "manifest.csv")["split"] == "test").sum()) for name, p in prepared.items()}
    for (_, tested_on), m in result.metrics.items():
        assert 0 < m["n"] <= test_sizes[tested_on]


def test_a_native_label_corpus_keeps_its_classes_and_a_label_outside_them_is_refused(home, tmp_path):
    """A corpus prepared with ``--labels native`` (RAVDESS with calm) is its own label set; a manifest label
    that its ``classes.txt`` does not declare stops feature extraction naming the file and the label."""
    fx = build_ravdess(tmp_path / "release", actors=range(1, 4))
    native = tmp_path / "ravdess-native"
    assert cli_main(["-q", "prepare", "ravdess", str(fx.root), "--out", str(native), "--labels", "native"]) == 0
    store = workspace.feature_store(full_config(home, native), workers=1)
    assert "calm" in store.classes and "contempt" not in store.classes
    broken = tmp_path / "ravdess-broken"
    assert cli_main(["-q", "prepare", "ravdess", str(fx.root), "--out", str(broken), "--labels", "native"]) == 0
    classes = (broken / "classes.txt").read_text().split()
    (broken / "classes.txt").write_text("\n".join(c for c in classes if c != "calm") + "\n")
    with pytest.raises(sernet.errors.ManifestError, match=r"manifest\.csv.*'calm'"):
        workspace.feature_store(full_config(home, broken), workers=1)

