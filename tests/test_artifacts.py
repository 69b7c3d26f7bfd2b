"""Artefact identity (``sernet.artifacts``): keys from content, identities written into artefacts and checked on
read and on resume. A corpus re-prepared in place never reuses a stale feature cache or run; a changed config
never reads back a run."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest
from _train_fakes import tiny_cli_args, tiny_config
from fixtures_corpora import build_iemocap

from sernet import artifacts, workspace
from sernet.analysis import runs
from sernet.cli import main as cli_main
from sernet.data.corpora import prepare
from sernet.data.manifest import manifest_path, read_manifest
from sernet.features.cache import FeatureStore, manifest_sha256


def test_keys_are_canonical_and_sensitive():
    assert artifacts.key({"a": 1, "b": (1, 2)}) == artifacts.key({"b": [1, 2], "a": 1})
    assert artifacts.key({"a": 1}) != artifacts.key({"a": 1.5})
    assert artifacts.key({"a": [1, 2]}) != artifacts.key({"a": [2, 1]})
    assert len(artifacts.key({})) == artifacts.KEY_LENGTH


def test_claim_records_accepts_the_same_and_refuses_another_identity(tmp_path):
    folder = tmp_path / "run"
    identity = {"data": {"manifest_sha256": "ab"}, "model": {"dropout": 0.1, "heads": 4}}
    artifacts.claim(folder, identity)
    assert json.loads((folder / artifacts.IDENTITY_FILE).read_text()) == identity
    artifacts.claim(folder, json.loads(json.dumps(identity)))  # the same, after a JSON round trip
    changed = {"data": {"manifest_sha256": "cd"}, "model": {"dropout": 0.1, "heads": 4}}
    with pytest.raises(artifacts.StaleArtifactError, match=r"run: .*data\.manifest_sha256: 'ab' != 'cd'"):
        artifacts.claim(folder, changed)
    assert json.loads((folder / artifacts.IDENTITY_FILE).read_text()) == identity  # nothing overwritten


def test_claim_refuses_a_folder_with_files_but_no_identity(tmp_path):
    (tmp_path / "old").mkdir()
    (tmp_path / "old" / "model.keras").write_bytes(b"weights of unknown origin")
    with pytest.raises(artifacts.StaleArtifactError, match="records no identity"):
        artifacts.claim(tmp_path / "old", {"a": 1})
    (tmp_path / "empty").mkdir()
    artifacts.claim(tmp_path / "empty", {"a": 1})  # an empty folder is fine


def test_unreadable_identity_names_the_file(tmp_path):
    (tmp_path / artifacts.IDENTITY_FILE).write_text("{not json")
    with pytest.raises(artifacts.SernetError, match=r"identity\.json: unreadable"):
        artifacts.claim(tmp_path, {"a": 1})


def _store(seed=0, n=12):
    rng = np.random.default_rng(seed)
    return FeatureStore.from_arrays([rng.normal(size=(20, 268)) for _ in range(n)], ["angry", "sad", "happy"] * (n // 3),
                                    speakers=[f"s{i % 6}" for i in range(n)])


def test_in_memory_store_identity_follows_its_content():
    a, b, c = _store(0), _store(0), _store(1)
    assert a.identity() == b.identity() != c.identity()
    cfg = tiny_config()
    assert runs.run_key(cfg, a) == runs.run_key(cfg, b) != runs.run_key(cfg, c)


def test_run_key_changes_with_every_result_deciding_setting_but_not_scheduling():
    cfg, store = tiny_config(), _store()
    base = runs.run_key(cfg, store)
    for change in ({"model.dropout_rate": 0.2}, {"train.seed": 1}, {"features.max_length": 120},
                   {"train.loss": "ce"}, {"features.n_mfcc": 20}):
        assert runs.run_key(dataclasses.replace(cfg), store) == base
        assert runs.run_key(tiny_config(**change), store) != base, change
    assert runs.run_key(tiny_config(**{"train.grid_workers": 1}), store) == base


def test_corpus_reprepared_in_place_gets_new_features_and_runs(tmp_path):
    """The issue's case: IEMOCAP prepared with the paper split, then re-prepared *in place* with the official
    (leave-one-session-out) split. Before, the run directory was keyed by the data path, so the second
    ``sernet train`` reported the first run and evaluated it on a test split holding its training speakers."""
    fx = build_iemocap(tmp_path / "release")
    out = tmp_path / "prepared"
    prepare("iemocap", fx.root, out, split="paper")
    cfg = dataclasses.replace(tiny_config(), data_root=str(out), home=str(tmp_path / "home"))
    paper_split = read_manifest(out)[["path", "split"]]
    features_a, run_a = workspace.features_dir(cfg, out), runs.run_path(cfg)
    store_a = workspace.feature_store(cfg)
    assert store_a.path == features_a and store_a.identity() == workspace.data_identity(cfg, out)

    prepare("iemocap", fx.root, out, split="official")
    official = read_manifest(out)[["path", "split"]]
    assert not paper_split.equals(official)  # the same folder now holds other splits
    features_b, run_b = workspace.features_dir(cfg, out), runs.run_path(cfg)
    assert features_b != features_a and run_b != run_a
    store_b = workspace.feature_store(cfg)
    assert store_b.path == features_b
    assert store_b.identity()["manifest_sha256"] == manifest_sha256(manifest_path(out))
    assert list(store_b.splits) == list(official.set_index("path").loc[store_b.index["path"], "split"])
    # the first cache is untouched (and still says what it was made from)
    assert FeatureStore.open(features_a).identity() == store_a.identity()
    # a run claimed under the first corpus refuses the second corpus's identity
    artifacts.claim(run_a, runs.run_identity(cfg, store_a), what="run")
    with pytest.raises(artifacts.StaleArtifactError, match="data.manifest_sha256"):
        artifacts.claim(run_a, runs.run_identity(cfg, store_b), what="run")


def test_changed_config_never_reads_back_a_run(tmp_path, capsys):
    """``sernet train --run-dir X`` once, then again with another dropout: refused before any training, naming
    the setting; and the config's own cached run is another directory."""
    home = tmp_path / "home"
    common = [*tiny_cli_args(**{"train.epochs": 1, "synth.n_utterances": 48, "synth.n_speakers": 12}),
              "--set", f"home={home}"]
    run_dir = tmp_path / "run"
    assert cli_main([*common, "train", "--run-dir", str(run_dir)]) == 0
    recorded = artifacts.read_identity(run_dir)
    assert recorded["model"]["dropout_rate"] == tiny_config().model.dropout_rate
    assert (run_dir / "metrics.json").exists()
    capsys.readouterr()
    assert cli_main([*common, "--set", "model.dropout_rate=0.05", "train", "--run-dir", str(run_dir)]) == 2
    err = capsys.readouterr().err
    assert "model.dropout_rate" in err and str(run_dir) in err and "not reused" in err
    assert artifacts.read_identity(run_dir) == recorded


def _build_once(folder: str) -> str:
    """Build ``folder`` unless it is built: what a run or cache build does under the lock."""
    import os
    import time
    from pathlib import Path

    with artifacts.locked(folder):
        marker = Path(folder) / "built_by"
        if marker.exists():
            return "found"
        time.sleep(0.3)  # long enough for the other process to be waiting
        marker.parent.mkdir(parents=True, exist_ok=True)
        marker.write_text(str(os.getpid()))
        return "built"


def test_two_processes_asking_for_one_artefact_build_it_once(tmp_path):
    import multiprocessing

    with multiprocessing.get_context("spawn").Pool(2) as pool:
        outcomes = pool.map(_build_once, [str(tmp_path / "cache")] * 2)
    assert sorted(outcomes) == ["built", "found"]
