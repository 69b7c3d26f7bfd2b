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


def test_speaker_zscore_known_answer_uses_each_speakers_own_values():
    # s2 is a held-out speaker: its values are standardised with its own mean/std, not the others'.
    df = pd.DataFrame({"speaker": ["s1", "s1", "s2", "s2", "s2"], "split": ["train", "train", "test", "test", "test"],
                       "x": [1.0, 3.0, 10.0, 20.0, 30.0]})
    z = dataset.speaker_zscore(df, ["x"])["x"].to_numpy()
    np.testing.assert_allclose(z, [-1.0, 1.0, -np.sqrt(1.5), 0.0, np.sqrt(1.5)])
    c = dataset.speaker_centred(df, ["x"])["x"].to_numpy()
    np.testing.assert_allclose(c, [-1.0, 1.0, -10.0, 0.0, 10.0])
    constant = dataset.speaker_zscore(pd.DataFrame({"speaker": ["a", "a"], "x": [4.0, 4.0]}), ["x"])
    np.testing.assert_allclose(constant["x"], 0.0)  # zero spread: centred, not divided by 0


def test_speaker_centring_is_invariant_to_speaker_offsets():
    df = toy_manifest(n=300)
    shifted = df.assign(duration_s=df["duration_s"] + df["speaker"].str[1:].astype(float) * 7.0)
    np.testing.assert_allclose(dataset.speaker_centred(df, ["duration_s"]),
                               dataset.speaker_centred(shifted, ["duration_s"]), atol=1e-9)
    with pytest.raises(ManifestError, match="speaker"):
        dataset.speaker_centred(df.drop(columns="speaker"), ["duration_s"])


def imbalanced_manifest(seed: int = 0, n_speakers: int = 30, per_speaker: int = 64) -> pd.DataFrame:
    """Neutral 7x as frequent as each of two small classes; a weak cue that shifts only the small classes."""
    rng = np.random.default_rng(seed)
    labels = np.array(["neutral"] * 7 + ["sad"] + ["angry"])
    rows = []
    for s in range(n_speakers):
        split = "train" if s < 20 else "test"
        for lab in rng.choice(labels, size=per_speaker):
            cue = {"neutral": 0.0, "sad": -1.0, "angry": 1.0}[lab] + rng.normal(0, 1.0)
            rows.append({"label": lab, "speaker": f"s{s}", "split": split, "cue": cue})
    return pd.DataFrame(rows)


def test_cue_probe_is_balanced_under_imbalance():
    df = imbalanced_manifest()
    balanced = dataset.cue_classifier(df, ["cue"])
    plain = dataset.cue_classifier(df, ["cue"], class_weight=None)
    # Unweighted, the weak cue never outweighs the 7:1 prior: almost everything is called neutral.
    assert (plain["predictions"] == "neutral").mean() > 0.9
    assert (balanced["predictions"] == "neutral").mean() < 0.7
    assert balanced["uar"] > plain["uar"] + 0.1
    assert balanced["chance"] == pytest.approx(1 / 3)
    cv_bal = dataset.cue_classifier_cv(df, ["cue"])
    cv_plain = dataset.cue_classifier_cv(df, ["cue"], class_weight=None)
    assert cv_bal > cv_plain + 0.1
    pred = dataset.cue_classifier_cv_predictions(df, ["cue"])
    assert pred.index.equals(df.index) and set(pred) <= {"neutral", "sad", "angry"}


def test_chance_uar_and_probe_verdict():
    assert dataset.chance_uar(["a", "b", "b", "b", "c"]) == pytest.approx(1 / 3)
    with pytest.raises(ManifestError):
        dataset.chance_uar([])
    df = imbalanced_manifest()
    informative = dataset.probe_verdict(df, dataset.cue_classifier_cv_predictions(df, ["cue"]), "cue", n_resamples=300)
    assert informative.outcome == "above chance" and informative.unit == "%"
    assert informative.interval.low > 100 / 3
    df["noise"] = np.random.default_rng(5).normal(size=len(df))
    noise = dataset.probe_verdict(df, dataset.cue_classifier_cv_predictions(df, ["noise"]), "noise", n_resamples=300)
    assert noise.outcome == "not distinguishable from chance"
    assert noise.interval.contains(100 / 3)
    constant = pd.Series("neutral", index=df.index)  # always the majority class: UAR exactly chance
    assert dataset.probe_verdict(df, constant, "majority", n_resamples=50).interval.estimate == pytest.approx(100 / 3)


def test_detrended_range_known_answers():
    t = np.linspace(0.0, 2.0, 401)
    assert dataset.detrended_range_st(t, 5.0 - 2.5 * t) == pytest.approx(0.0, abs=1e-9)
    wave = np.cos(2 * np.pi * 3 * t)  # symmetric about the centre of t: its least-squares slope is 0
    expected = np.percentile(wave, 95) - np.percentile(wave, 5)
    assert dataset.detrended_range_st(t, wave - 4.0 * t) == pytest.approx(expected, abs=1e-9)
    bumps = np.exp(-0.5 * ((t - 0.4) / 0.1) ** 2)  # any contour: adding a line changes nothing
    assert dataset.detrended_range_st(t, bumps + 3 - 7 * t) == pytest.approx(dataset.detrended_range_st(t, bumps))
    # the trend inflates the plain range well beyond the detrended one
    raw = np.percentile(wave - 4.0 * t, 95) - np.percentile(wave - 4.0 * t, 5)
    assert raw > expected + 4
    with pytest.raises(ValueError):
        dataset.detrended_range_st(t, wave[:-1])


def test_f0_contour_ranges_match_manifest_ground_truth():
    import sernet
    from sernet.data import synthetic

    cfg = sernet.config.override(sernet.config.load("smoke"), {"synth.n_utterances": 24, "synth.n_speakers": 6})
    rows = [synthetic.synthesize_utterance(i, cfg)[1] for i in range(6)]
    df = pd.DataFrame(rows)
    ranges = dataset.f0_contour_ranges(df, cfg)
    np.testing.assert_allclose(ranges["f0_range_st"], df["f0_range_st"], atol=1e-6)
    assert (ranges["f0_range_detrended_st"] > 0).all()
    assert list(ranges["label"]) == list(df["label"])


def test_speaker_paired_difference_known_answer():
    table = pd.DataFrame({
        "speaker": ["a", "a", "a", "b", "b", "c"],
        "label": ["sad", "sad", "neutral", "sad", "neutral", "sad"],  # c has no neutral: left out
        "v": [3.0, 5.0, 1.0, 10.0, 4.0, 99.0],
    })
    interval = dataset.speaker_paired_difference(table, "v", "sad", "neutral")
    assert interval.estimate == pytest.approx(((4 - 1) + (10 - 4)) / 2)  # a: 3, b: 6
    assert interval.groups == 2 and interval.low < interval.estimate < interval.high
    with pytest.raises(ManifestError):
        dataset.speaker_paired_difference(table, "v", "sad", "angry")


def test_class_shift_known_answer_and_invariance():
    t = pd.DataFrame({"label": ["neutral"] * 3 + ["sad"] * 3 + ["angry"] * 3,
                      "x": [0.0, 1.0, 2.0, -4.0, -3.0, -2.0, 5.0, 6.0, 7.0]})
    shift = dataset.class_shift(t, ["x"])
    sd = np.sqrt(2 / 3)  # every class deviates -1, 0, +1 from its mean
    assert list(shift.index) == ["angry", "sad", "neutral"]
    np.testing.assert_allclose(shift["x"].to_numpy(), [5 / sd, -4 / sd, 0.0])
    scaled = dataset.class_shift(t.assign(x=10 * t["x"] + 3), ["x"])  # unit-free
    np.testing.assert_allclose(scaled.to_numpy(), shift.to_numpy())
    with pytest.raises(ManifestError, match="reference"):
        dataset.class_shift(t, ["x"], reference="fear")


def test_group_separation_outcomes():
    shift = pd.DataFrame({"up": [2.0, 1.0, -1.0, -2.0], "down": [-2.0, -1.0, 1.0, 2.0], "mixed": [2.0, -1.5, -1.0, 1.0]},
                         index=["angry", "happy", "sad", "contempt"])
    sep = dataset.group_separation(shift, ["angry", "happy"], ["sad", "contempt"])
    assert sep.loc["up", "outcome"] == "upper above lower" and sep.loc["up", "gap"] == pytest.approx(2.0)
    assert sep.loc["down", "outcome"] == "upper below lower" and sep.loc["down", "reverse_gap"] == pytest.approx(2.0)
    assert sep.loc["mixed", "outcome"] == "overlap: happy, sad, contempt"  # happy lies below sad and contempt


def test_same_speaker_examples_prefers_one_speaker():
    df = pd.DataFrame({"speaker": ["b", "a", "b", "c", "a"], "label": ["angry", "angry", "sad", "sad", "sad"]},
                      index=[10, 11, 12, 13, 14])
    assert dataset.same_speaker_examples(df, ["angry", "sad"]) == {"angry": 11, "sad": 14}
    no_pair = df[df["speaker"] != "a"].replace({"speaker": {"b": "x"}}).drop(index=12)
    assert dataset.same_speaker_examples(no_pair, ["angry", "sad"]) == {"angry": 10, "sad": 13}
    with pytest.raises(ManifestError, match="fear"):
        dataset.same_speaker_examples(df, ["fear"])


def test_class_distances_known_answer():
    shift = pd.DataFrame({"a": [0.0, 3.0, 0.0], "b": [0.0, 4.0, 1.0]}, index=["neutral", "angry", "sad"])
    d = dataset.class_distances(shift)
    assert d.loc["neutral", "angry"] == pytest.approx(np.sqrt((9 + 16) / 2))
    assert d.loc["sad", "neutral"] == pytest.approx(np.sqrt(0.5))
    np.testing.assert_allclose(d.to_numpy(), d.to_numpy().T)
    np.testing.assert_allclose(np.diag(d), 0.0)
