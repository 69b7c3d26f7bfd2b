"""Dataset statistics: tables, the paper's checks, class weights, durations, the cue classifier."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.utils.class_weight import compute_class_weight

from sernet import paper
from sernet.analysis import dataset
from sernet.errors import ManifestError
from sernet.labels import EMOTIONS


def toy_manifest(seed: int = 0, n: int = 400) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    speakers = np.array([f"s{k}" for k in range(20)])
    spk = speakers[rng.integers(0, 20, size=n)]
    split = np.where(np.isin(spk, speakers[:16]), "train", np.where(np.isin(spk, speakers[16:18]), "val", "test"))
    return pd.DataFrame(
        {
            "path": [f"{i}.wav" for i in range(n)],
            "label": rng.choice(EMOTIONS[:6], size=n),  # 'surprise' and 'contempt' absent
            "speaker": spk,
            "split": split,
            "duration_s": rng.uniform(1, 3, size=n),
        }
    )


def test_corpus_table_counts_every_class_and_split():
    df = toy_manifest()
    t = dataset.corpus_table(df)
    assert list(t.index) == list(EMOTIONS) and list(t.columns) == ["train", "val", "test", "total"]
    assert t.loc[["surprise", "contempt"]].to_numpy().sum() == 0
    assert t["total"].sum() == len(df)
    assert t.loc["angry", "val"] == ((df["label"] == "angry") & (df["split"] == "val")).sum()
    assert (t[["train", "val", "test"]].sum(axis=1) == t["total"]).all()
    assert dataset.with_totals(t).loc["all", "total"] == len(df)


def test_corpus_table_of_the_paper_shape_matches_paper_class_counts():
    rows = [(e, s) for e, counts in paper.TABLE_2_2.items() for s, c in zip(("train", "val", "test"), counts,
                                                                            strict=True) for _ in range(c // 100)]
    df = pd.DataFrame(rows, columns=["label", "split"])
    t = dataset.corpus_table(df)
    assert t.shape == paper.class_counts().shape
    assert t.loc["neutral", "train"] == 25236 // 100


def test_missing_column_raises_manifest_error():
    with pytest.raises(ManifestError, match="split"):
        dataset.corpus_table(pd.DataFrame({"label": ["sad"]}))


def test_paper_checks_find_what_the_tables_say():
    checks = dataset.paper_checks().set_index("check")
    sums = checks[checks.index.str.contains("sums to")]
    assert len(sums) == 3 and sums["consistent"].all()
    assert checks.loc["total = Table 2.1 utterances", "computed"] == 90103
    assert checks.loc["Fear and Surprise counts differ", "consistent"] is False
    assert checks.loc["imbalance ratio (largest/smallest class)", "computed"] == pytest.approx(7.0, abs=0.01)
    assert checks.loc["class shares are whole percentages (max distance, pp)", "computed"] <= 0.011


def test_imbalance_ratio_ignores_empty_classes():
    assert dataset.imbalance_ratio([10, 0, 5, 40]) == 8.0


def test_side_by_side_shares_sum_to_100():
    ours = dataset.corpus_table(toy_manifest())
    sbs = dataset.side_by_side(ours)
    assert sbs["paper_%"].sum() == pytest.approx(100) and sbs["ours_%"].sum() == pytest.approx(100)
    assert sbs.loc["surprise", "ours_n"] == 0


def test_class_weights_equal_scikit_learn_balanced():
    counts = paper.class_counts()["train"]
    table = dataset.class_weights_table(counts)
    y = np.repeat(np.arange(len(counts)), counts.to_numpy())
    expected = compute_class_weight("balanced", classes=np.arange(len(counts)), y=y)
    np.testing.assert_allclose(table["balanced"].to_numpy(), expected)
    assert table["mean_1"].mean() == pytest.approx(1.0)
    np.testing.assert_allclose(table["effective_share_%"].to_numpy(), 100 / len(counts))
    assert table["balanced"].idxmax() == "disgust" and table["balanced"].idxmin() == "neutral"


def test_class_weights_reject_empty_class():
    with pytest.raises(ValueError, match="positive count"):
        dataset.class_weights_table({"sad": 3, "happy": 0})


def test_duration_summary():
    df = toy_manifest()
    by_label = dataset.duration_summary(df)
    assert by_label.loc["all", "n"] == len(df)
    assert by_label.loc["all", "hours"] == pytest.approx(df["duration_s"].sum() / 3600)
    assert by_label.drop("all")["n"].sum() == len(df)
    assert by_label.loc["sad", "max_s"] == pytest.approx(df.loc[df["label"] == "sad", "duration_s"].max())
    assert list(dataset.duration_summary(df, by="split").index) == ["train", "val", "test", "all"]
    assert list(dataset.duration_summary(df, by=None).index) == ["all"]


def test_split_speaker_overlap_detects_shared_speakers():
    df = toy_manifest()
    clean = dataset.split_speaker_overlap(df)
    assert clean[["train", "val", "test"]].to_numpy().sum() == 0
    first_train = df.index[df["split"] == "train"][0]
    df.loc[first_train, "split"] = "test"  # one utterance of a training speaker leaks into test
    leaky = dataset.split_speaker_overlap(df)
    assert leaky.loc["train", "test"] == 1 and leaky.loc["test", "train"] == 1


def test_speaker_zscore_standardises_within_speakers():
    df = toy_manifest()
    z = dataset.speaker_zscore(df, ["duration_s"])
    g = z["duration_s"].groupby(df["speaker"])
    np.testing.assert_allclose(g.mean().to_numpy(), 0, atol=1e-12)
    np.testing.assert_allclose(g.std(ddof=0).to_numpy(), 1, atol=1e-12)


def test_cue_classifier_separable_vs_random_cues():
    df = toy_manifest(n=800)
    rng = np.random.default_rng(1)
    codes = df["label"].map({e: i for i, e in enumerate(EMOTIONS)}).to_numpy()
    df["signal"] = codes * 10.0 + rng.normal(0, 0.1, len(df))
    df["signal2"] = (codes % 2) * 10.0 + rng.normal(0, 0.1, len(df))
    df["noise"] = rng.normal(size=len(df))
    good = dataset.cue_classifier(df, ["signal", "signal2"])
    bad = dataset.cue_classifier(df, ["noise"])
    assert good["uar"] > 0.95 and bad["uar"] < 0.4
    assert good["confusion"].to_numpy().sum() == good["n_test"]
    with pytest.raises(ManifestError):
        dataset.cue_classifier(df, ["jitter_local"])


def test_speaker_normalisation_removes_speaker_offsets():
    df = toy_manifest(n=1200, seed=3)
    rng = np.random.default_rng(0)
    offset = df["speaker"].map({f"s{k}": rng.normal(0, 20) for k in range(20)})
    codes = df["label"].map({e: i for i, e in enumerate(EMOTIONS)}).to_numpy()
    df["cue"] = codes + offset + rng.normal(0, 0.3, len(df))
    raw = dataset.cue_classifier(df, ["cue"])["uar"]
    normed = dataset.cue_classifier(df, ["cue"], speaker_normalise=True)["uar"]
    assert normed > raw + 0.2
    raw_cv = dataset.cue_classifier_cv(df, ["cue"])
    normed_cv = dataset.cue_classifier_cv(df, ["cue"], speaker_normalise=True)
    assert normed_cv > raw_cv + 0.2


def test_cli_reproduce_prints_the_dataset_tables_of_a_prepared_corpus(tmp_path, monkeypatch, capsys):
    from sernet.cli import main

    df = toy_manifest(n=200)
    for p in df["path"]:
        (tmp_path / p).write_bytes(b"")  # read_manifest does not open audio here
    df.to_csv(tmp_path / "manifest.csv", index=False)
    monkeypatch.setenv("SERNET_DATA", str(tmp_path))
    assert main(["--quiet", "reproduce", "--steps", "corpus,dataset"]) == 0
    out = capsys.readouterr().out
    assert "Table 2.2" in out and "Fear and Surprise" in out and "speaker overlap" in out
    assert "(200 utterances)" in out
    assert main(["reproduce", "--steps", "nonsense"]) == 2
    assert "unknown step" in capsys.readouterr().err
