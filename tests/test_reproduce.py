"""CLI verbs of training: sernet train / evaluate / bench train / reproduce (tiny model, fake feature store)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from _train_fakes import FakeStore, tiny_cli_args

from sernet import paper, workspace
from sernet.cli import main
from sernet.cli import reproduce as reproduce_cli


@pytest.fixture
def fake_corpus(monkeypatch, tmp_path):
    """SERNET_HOME in tmp, the fake feature store as the configured corpus, no synthesis."""
    store = FakeStore()
    monkeypatch.setenv("SERNET_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("SERNET_PROGRESS", "0")
    monkeypatch.setattr(workspace, "feature_store", lambda cfg, **kw: store)

    def corpus_stub(cfg, state, args):
        state["manifest"] = store.index

    monkeypatch.setitem(reproduce_cli.STEPS, "corpus", corpus_stub)
    return store


def test_evaluate_of_an_unfinished_run_names_it(fake_corpus, tmp_path, capsys):
    assert main(["evaluate", str(tmp_path / "nope")]) == 2
    assert "nope: not a finished run" in capsys.readouterr().err


def test_bench_train_json(fake_corpus, capsys):
    assert main([*tiny_cli_args(), "bench", "train", "--steps", "2", "--warmup", "1", "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["utterances_per_s"] > 0 and report["batch_size"] == 16 and report["frames"] == 32
    assert report["projected_epoch_s_at_paper_scale"] == pytest.approx(
        paper.SPLIT_TOTALS["train"] / report["utterances_per_s"], rel=0.01)


def test_reproduce_writes_a_report_with_every_table(fake_corpus, tmp_path, capsys):
    out = tmp_path / "report"
    args = [*tiny_cli_args(**{"train.epochs": 1}), "reproduce", "--steps", "train,evaluate,ablate,attention,report",
            "--out", str(out)]
    assert main(args) == 0
    printed = capsys.readouterr().out
    text = (out / "report.md").read_text()
    for title in ("Table 4.3, SER-Net row", "Per-class", "§5.2 confusion pairs", "Table 4.4: ablations",
                  "Table 4.3: baselines"):
        assert title in text, title
    for fig in ("learning_curves.png", "lr_schedule.png", "confusion.png", "ablation_deltas.png"):
        assert (out / fig).stat().st_size > 0
    assert "72.4" in text  # the paper's number beside ours
    assert "no silence/accent ground truth" in printed  # the fake corpus is not synthetic
    # A second reproduce reuses every cached run: same report tables.
    assert main(args) == 0
    assert (out / "report.md").read_text() == text
    capsys.readouterr()

    # `sernet train` on the same config finds the finished run; `sernet evaluate` re-evaluates its model.
    tiny = tiny_cli_args(**{"train.epochs": 1})
    assert main([*tiny, "train"]) == 0
    printed = capsys.readouterr().out
    assert "test split" in printed and "paper_UAR" in printed and "per class" in printed
    run_dir = printed.splitlines()[0].split("run directory: ")[1]
    stored = json.loads((Path(run_dir) / "metrics.json").read_text())
    assert main([*tiny, "evaluate", "--split", "both", "--json"]) == 0
    evaluated = json.loads(capsys.readouterr().out)
    assert evaluated["run"] == run_dir
    assert evaluated["test"]["uar"] == pytest.approx(stored["test"]["uar"])
    assert evaluated["val"]["confusion"] == stored["val"]["confusion"]
    assert (Path(run_dir) / "test_per_class.csv").exists() and (Path(run_dir) / "val_confusion.csv").exists()


def test_unknown_step_is_an_error(fake_corpus, capsys):
    assert main(["reproduce", "--steps", "train,nonsense"]) == 2
    assert "nonsense" in capsys.readouterr().err
