"""Bootstrap intervals, verdict rules and metrics on corpora that lack classes: known answers."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats
from sklearn.metrics import accuracy_score, balanced_accuracy_score, f1_score

from sernet.analysis import bootstrap, verdicts
from sernet.analysis.bootstrap import Interval
from sernet.analysis.metrics import evaluate_predictions


def _data(n=300, k=4, seed=0, speakers=30):
    rng = np.random.default_rng(seed)
    y = rng.integers(0, k, n)
    pred = np.where(rng.random(n) < 0.6, y, rng.integers(0, k, n))
    groups = rng.integers(0, speakers, n)
    return y, pred, groups


@pytest.mark.parametrize("metric,reference", [
    ("uar", balanced_accuracy_score), ("war", accuracy_score),
    ("macro_f1", lambda a, b: f1_score(a, b, average="macro")),
])
def test_confusion_metrics_equal_scikit_learn(metric, reference):
    y, pred, groups = _data()
    ci = bootstrap.metric_interval(y, pred, groups, metric=metric, n_resamples=200)
    assert ci.estimate == pytest.approx(reference(y, pred))
    assert ci.low < ci.estimate < ci.high


def test_ungrouped_bootstrap_matches_scipy_percentile_interval():
    y, pred, _ = _data(n=400, seed=1)
    ours = bootstrap.metric_interval(y, pred, None, metric="war", n_resamples=4000, seed=3)
    correct = (y == pred).astype(float)
    ref = stats.bootstrap((correct,), np.mean, n_resamples=4000, method="percentile", confidence_level=0.95,
                          random_state=np.random.default_rng(7)).confidence_interval
    # two Monte-Carlo estimates of the same interval: equal within resampling noise
    assert ours.low == pytest.approx(ref.low, abs=0.01)
    assert ours.high == pytest.approx(ref.high, abs=0.01)


def test_speaker_grouping_widens_the_interval_when_speakers_differ():
    rng = np.random.default_rng(2)
    groups = np.repeat(np.arange(10), 30)
    skill = rng.uniform(0.2, 0.95, 10)[groups]  # some speakers are easy, some hard
    y = rng.integers(0, 4, groups.size)
    pred = np.where(rng.random(groups.size) < skill, y, (y + 1) % 4)
    grouped = bootstrap.metric_interval(y, pred, groups, metric="war", n_resamples=2000)
    plain = bootstrap.metric_interval(y, pred, None, metric="war", n_resamples=2000)
    assert grouped.half_width > 1.5 * plain.half_width
    assert grouped.groups == 10 and plain.groups == groups.size


def test_paired_difference_of_identical_systems_is_exactly_zero_and_detects_a_real_gap():
    y, pred, groups = _data(seed=4)
    same = bootstrap.paired_difference(y, pred, pred, groups, n_resamples=300)
    assert (same.estimate, same.low, same.high) == (0.0, 0.0, 0.0)
    perfect = bootstrap.paired_difference(y, y, pred, groups, n_resamples=300)
    assert perfect.low > 0
    assert perfect.estimate == pytest.approx(1 - balanced_accuracy_score(y, pred))


def test_seed_mean_interval_averages_runs():
    y, pred, groups = _data(seed=5)
    both = bootstrap.seed_mean_interval(y, np.stack([y, pred]), groups, n_resamples=200)
    assert both.estimate == pytest.approx((1 + balanced_accuracy_score(y, pred)) / 2)


def test_bootstrap_is_deterministic_and_rejects_bad_input():
    y, pred, groups = _data(seed=6)
    a = bootstrap.metric_interval(y, pred, groups, n_resamples=100, seed=9)
    b = bootstrap.metric_interval(y, pred, groups, n_resamples=100, seed=9)
    assert a == b
    with pytest.raises(Exception, match="equally long"):
        bootstrap.metric_interval(y, pred[:-1], groups)
    with pytest.raises(Exception, match="unknown metric"):
        bootstrap.metric_interval(y, pred, groups, metric="auc")


def test_welch_interval_equals_scipy_ttest_ind():
    a, b = [50.1, 48.3, 53.0], [47.2, 49.9, 45.1, 46.0]
    ci = verdicts.welch_interval(a, b)
    res = stats.ttest_ind(a, b, equal_var=False)
    ref = res.confidence_interval(0.95)
    assert (ci.low, ci.high) == pytest.approx((ref.low, ref.high))
    assert f"df {res.df:.1f}" in ci.method
    # with 3 seeds a side, the 95 % interval is far wider than +/- 2 standard errors
    se = np.sqrt(np.var(a, ddof=1) / 3 + np.var(b, ddof=1) / 4)
    assert ci.half_width > 2 * se


def test_mean_interval_equals_scipy_t_interval():
    v = [1.0, 2.5, 0.5, 3.0, 2.0]
    ci = verdicts.mean_interval(v)
    low, high = stats.t.interval(0.95, 4, loc=np.mean(v), scale=stats.sem(v))
    assert (ci.low, ci.high) == pytest.approx((low, high))


def test_difference_rule_and_rendering():
    noise = verdicts.difference_verdict("w/o focal loss", Interval(-0.7, -4.1, 2.6), paper=-1.9)
    assert noise.outcome == "within noise"
    assert noise.sentence() == ("w/o focal loss: UAR −0.7 points (95 % CI −4.1 … +2.6): within noise "
                                "(paper: −1.9)")
    assert "0" not in noise.outcome_sentence().split("rule")[0]  # no numbers before the rule
    lower = verdicts.difference_verdict("w/o prosody", Interval(-9.0, -12.0, -6.0), paper=-1.5)
    assert lower.outcome == "lower, as in the paper"
    unlike = verdicts.difference_verdict("w/o augmentation", Interval(3.0, 1.0, 5.0), paper=-3.2)
    assert unlike.outcome == "higher, unlike the paper"
    assert verdicts.Verdict.from_dict(unlike.to_dict()) == unlike


def test_combined_rule_needs_both_intervals_on_one_side():
    seeds = Interval(-5.0, -9.0, -1.0)
    assert verdicts.combined_difference("x", seeds, Interval(-5.0, -8.0, -2.0)).outcome == "lower"
    assert verdicts.combined_difference("x", seeds, Interval(-5.0, -8.0, 0.5)).outcome == "within noise"
    assert verdicts.combined_difference("x", seeds, Interval(5.0, 2.0, 8.0)).outcome == "within noise"


def test_threshold_rule():
    assert verdicts.threshold_verdict("c", Interval(40, 30, 50), 12.5, name="chance").outcome == "above chance"
    assert verdicts.threshold_verdict("c", Interval(13, 10, 16), 12.5, name="chance").outcome == \
        "not distinguishable from chance"
    assert verdicts.threshold_verdict("c", Interval(5, 2, 8), 12.5, name="chance").outcome == "below chance"


def test_metrics_on_a_corpus_that_lacks_classes():
    # 6 of 8 classes present (no contempt, no disgust), a perfect model: every metric is 1
    y = np.array([0, 1, 2, 3, 4, 6] * 5)
    m = evaluate_predictions(y, y, n_classes=8)
    assert m["uar"] == 1.0 and m["war"] == 1.0 and m["macro_f1"] == 1.0
    # predicting an absent class is an error of the true class, not a free class
    pred = y.copy()
    pred[0] = 7
    m = evaluate_predictions(y, pred, n_classes=8)
    assert m["uar"] == pytest.approx(balanced_accuracy_score(y, pred))
    assert m["macro_f1"] == pytest.approx(f1_score(y, pred, labels=[0, 1, 2, 3, 4, 6], average="macro"))
    assert m["macro_f1"] < 1.0
    ci = bootstrap.metric_interval(y, pred, None, metric="macro_f1", n_classes=8, n_resamples=100)
    assert ci.estimate == pytest.approx(m["macro_f1"])


def test_ablation_summary_uses_welch_not_two_standard_errors():
    import pandas as pd

    from sernet.analysis.ablations import summarize

    full, abl = [50.0, 52.0, 48.0], [45.0, 47.5, 46.0]
    grid = pd.DataFrame({"variant": ["Full Model"] * 3 + ["w/o X"] * 3, "seed": [0, 1, 2] * 2, "UAR": full + abl})
    s = summarize(grid, reference="Full Model", paper_uar={"Full Model": 72.4, "w/o X": 70.0})
    ref = stats.ttest_ind(abl, full, equal_var=False).confidence_interval(0.95)
    assert (s.loc["w/o X", "delta_low"], s.loc["w/o X", "delta_high"]) == pytest.approx((ref.low, ref.high))
    # |delta| is beyond 2 standard errors here, but the Welch interval (df ~ 3) still contains 0
    se = np.sqrt(np.var(full, ddof=1) / 3 + np.var(abl, ddof=1) / 3)
    assert abs(np.mean(abl) - np.mean(full)) > 2 * se
    assert ref.low < 0 < ref.high
    assert s.loc["w/o X", "verdict"] == "within noise"
    assert s.loc["Full Model", "verdict"] == "reference"
