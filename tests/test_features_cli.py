"""``sernet features`` and ``sernet bench features`` from the command line, and the hop_ms=32 reading."""

from __future__ import annotations

import json

import numpy as np
import pytest
from test_features_cache import N_GOOD, _make_corpus  # tests/ is on sys.path (pytest rootdir-relative import)

import sernet.config
from sernet.cli import main
from sernet.features.cache import FeatureStore, extract_corpus


@pytest.fixture(scope="module")
def corpus(tmp_path_factory):
    return _make_corpus(tmp_path_factory.mktemp("clicorpus"), bad=False)


def test_features_cli_shards_then_completes(corpus, tmp_path, capsys):
    out = tmp_path / "feats"
    args = ["-q", "features", "--manifest", str(corpus), "--out", str(out), "--workers", "1", "--chunk-size", "3"]
    assert main([*args, "--shard", "1/2"]) == 0
    assert "chunks done" in capsys.readouterr().out
    assert main([*args, "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["complete"] and summary["n_ok"] == N_GOOD and summary["n_failed"] == 0
    assert FeatureStore.open(out).n == N_GOOD


def test_features_cli_rejects_a_bad_shard(corpus, tmp_path, capsys):
    assert main(["features", "--manifest", str(corpus), "--out", str(tmp_path), "--shard", "2/2"]) == 2
    assert "--shard" in capsys.readouterr().err


def test_hop_32_ms_end_to_end(corpus, tmp_path):
    cfg = sernet.config.override(sernet.config.load("smoke"), {"features.hop_ms": "32"})
    extract_corpus(corpus, tmp_path, cfg, workers=1)
    store = FeatureStore.open(tmp_path)
    samples = np.round(store.index["duration_s"].to_numpy() * cfg.features.sample_rate_hz).astype(int)
    np.testing.assert_array_equal(store.lengths, 1 + samples // 512)
    assert store.info["features"]["hop_ms"] == 32.0
    assert np.all(np.isfinite(np.asarray(store.frames(0), dtype=np.float32)))


def test_bench_features_json(capsys):
    pytest.importorskip("sernet.data.synthetic")
    assert main(["bench", "features", "--json", "--utterances", "2", "--repeats", "1", "--workers", "1"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert set(r["stages"]) == {"spectral", "prosodic", "pipeline"}
    for v in r["stages"].values():
        assert v["per_core_rtf"] > 0 and v["all_cores_rtf"] > 0
    assert r["bound"] in r["breakdown_cpu_ms_per_audio_s"] and isinstance(r["meets_target"], bool)
