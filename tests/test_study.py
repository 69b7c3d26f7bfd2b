"""The study record: shards partition the grid, the committed Markdown is generated from the committed JSON."""

from __future__ import annotations

import numpy as np
import pytest

from sernet.analysis import runs, study
from sernet.analysis.verdicts import Verdict
from sernet.errors import SernetError
from sernet.features.cache import FeatureStore


def test_shards_partition_the_jobs():
    jobs = list(range(23))
    shards = [runs.take_shard(jobs, (i, 5)) for i in range(1, 6)]
    assert sorted(j for s in shards for j in s) == jobs
    assert all(set(a).isdisjoint(b) for k, a in enumerate(shards) for b in shards[k + 1:])
    assert runs.take_shard(jobs, None) == jobs


@pytest.mark.parametrize("text,expected", [("1/4", (1, 4)), ("4/4", (4, 4)), (None, None), ("", None)])
def test_parse_shard(text, expected):
    assert runs.parse_shard(text) == expected


@pytest.mark.parametrize("text", ["0/4", "5/4", "a/b", "3"])
def test_parse_shard_rejects_bad_input(text):
    with pytest.raises(SernetError, match="--shard"):
        runs.parse_shard(text)


def test_grid_is_seed_major_and_names_every_variant():
    from sernet import config

    cfg = config.load("smoke")
    grid = runs.grid_configs(cfg, study.VARIANTS, (0, 1))
    assert [n for n, s, _ in grid[: len(study.VARIANTS)]] == list(study.VARIANTS)
    assert {s for _, s, _ in grid[: len(study.VARIANTS)]} == {0}
    assert grid[len(study.VARIANTS)][2].train.seed == 1
    # scheduling fields never change which run a config names
    a = config.override(cfg, {"train.grid_workers": 1, "train.ablation_seeds": (0, 1, 2, 3, 4)})
    rng = np.random.default_rng(0)
    store = FeatureStore.from_arrays([rng.normal(size=(20, 268)) for _ in range(9)], ["angry", "sad", "happy"] * 3,
                                     speakers=[f"s{i}" for i in range(9)])
    assert runs.run_key(a, store) == runs.run_key(cfg, store)
    assert runs.run_key(config.override(cfg, {"train.seed": 1}), store) != runs.run_key(cfg, store)


def test_committed_record_and_its_markdown_agree():
    record = study.load_record("study")
    md = (study.RESULTS_DIR / "study.md").read_text()
    assert md == study.markdown(record), "results/study.md is generated: rerun `sernet study --step collect`"
    assert len(record["seeds"]) >= 3 and record["machine"]["cpu"]
    for section in ("table_4_3", "table_4_4", "attention", "confusions", "errors", "cross_corpus"):
        for v in study.verdicts(record[section]):
            assert isinstance(v, Verdict) and v.rule and v.interval.low <= v.interval.high
    models = {r["model"] for r in record["table_4_3"]["rows"]}
    assert {"SER-Net", "Baseline CNN", "LSTM", "CNN-LSTM", study.SVM} <= models
