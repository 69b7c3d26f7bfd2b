"""Dataset statistics: the paper's Table 2.1/2.2 checks and the same tables for any manifest.

Shared by Chapter 1 (chapters/01_dataset_stats.py) and ``sernet reproduce``. Every function takes a
manifest DataFrame (``sernet.data.manifest.read_manifest``) or class counts and returns a DataFrame, so
the chapter can show it and a test can check it.

Examples
--------
>>> from sernet import paper
>>> from sernet.analysis import dataset
>>> round(dataset.imbalance_ratio(paper.class_counts()["total"]), 2)
7.0
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sernet import paper
from sernet.analysis.bootstrap import DEFAULT_RESAMPLES, Interval, metric_interval
from sernet.analysis.verdicts import Verdict, mean_interval, threshold_verdict
from sernet.data.manifest import SPLITS
from sernet.errors import ManifestError
from sernet.labels import EMOTIONS

if TYPE_CHECKING:
    from sernet.config import Config


def _need(df: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ManifestError(f"{what}: manifest lacks column(s) {missing}")


def corpus_table(manifest_df: pd.DataFrame, classes: Sequence[str] = EMOTIONS) -> pd.DataFrame:
    """Utterances per class and split, like the paper's Table 2.2.

    Parameters
    ----------
    manifest_df : pd.DataFrame
        Needs ``label`` and ``split``.
    classes : sequence of str
        Row order (classes absent from the manifest get zeros).

    Returns
    -------
    pd.DataFrame [shape=(len(classes), 4)]
        Index ``emotion``; int columns ``train, val, test, total`` (same shape as
        ``sernet.paper.class_counts()``).
    """
    _need(manifest_df, ("label", "split"), "corpus_table")
    table = pd.crosstab(manifest_df["label"], manifest_df["split"])
    table = table.reindex(index=list(classes), columns=list(SPLITS), fill_value=0).astype(int)
    table["total"] = table.sum(axis=1)
    table.index.name = "emotion"
    table.columns.name = None
    return table


def with_totals(table: pd.DataFrame) -> pd.DataFrame:
    """``table`` with an ``all`` row of column sums appended."""
    out = table.copy()
    out.loc["all"] = table.sum(axis=0)
    return out


def proportions(table: pd.DataFrame) -> pd.DataFrame:
    """Each class's share (%) of every column of a :func:`corpus_table`-shaped table."""
    return 100.0 * table / table.sum(axis=0)


def imbalance_ratio(counts: pd.Series | Sequence[int]) -> float:
    """Largest class count divided by the smallest non-zero one."""
    c = np.asarray(counts, dtype=float)
    c = c[c > 0]
    return float(c.max() / c.min()) if c.size else float("nan")


def side_by_side(ours: pd.DataFrame, theirs: pd.DataFrame | None = None, column: str = "total") -> pd.DataFrame:
    """Class counts and shares of a corpus next to the paper's (Table 2.2 by default).

    Returns
    -------
    pd.DataFrame
        Index emotion; columns ``paper_n, paper_%, ours_n, ours_%, diff_pp`` (percentage points).
    """
    theirs = paper.class_counts() if theirs is None else theirs
    out = pd.DataFrame(
        {
            "paper_n": theirs[column],
            "paper_%": proportions(theirs[[column]])[column],
            "ours_n": ours[column].reindex(theirs.index, fill_value=0),
        }
    )
    out["ours_%"] = proportions(out[["ours_n"]])["ours_n"]
    out["diff_pp"] = out["ours_%"] - out["paper_%"]
    return out


def paper_checks() -> pd.DataFrame:
    """The paper's own numbers checked against each other (Tables 2.1, 2.2 and §2.3).

    Returns
    -------
    pd.DataFrame
        One row per check: ``check``, ``paper`` (what the text states), ``computed`` (from Table 2.2),
        ``consistent`` (bool; empty for rows that only report a number) and ``note``.
    """
    t = paper.class_counts()
    sums = t[list(SPLITS)].sum(axis=0)
    total = int(t["total"].sum())
    rows = []
    for split in SPLITS:
        stated = paper.SPLIT_TOTALS[split]
        rows.append((f"{split} column sums to §2.3 count", stated, int(sums[split]), int(sums[split]) == stated, ""))
    rows.append(("total = Table 2.1 utterances", paper.TABLE_2_1["total_utterances"], total,
                 total == paper.TABLE_2_1["total_utterances"], ""))
    for split, stated_pct in zip(SPLITS, (80, 10, 10), strict=True):
        share = round(100 * sums[split] / total, 2)
        rows.append((f"{split} share (%)", stated_pct, share, abs(share - stated_pct) < 0.5, ""))
    per_class = t["train"] / t["total"]
    rows.append(("every class split 80/10/10 (train share range, %)", "80",
                 f"{100 * per_class.min():.2f}-{100 * per_class.max():.2f}",
                 bool((per_class - 0.8).abs().max() < 0.005),
                 "stratified by class: each class is split alike"))
    shares = 100 * t["total"] / total
    off = float((shares - shares.round()).abs().max())
    rows.append(("class shares are whole percentages (max distance, pp)", "-", round(off, 3), "",
                 "shares " + "/".join(f"{v:.0f}" for v in shares) + " %: counts look derived from "
                 "round proportions of 90,103"))
    ratio = imbalance_ratio(t["total"])
    rows.append(("imbalance ratio (largest/smallest class)", "-", round(ratio, 2), "",
                 f"{t['total'].idxmax()} / {t['total'].idxmin()}"))
    same = bool((t.loc["fear", list(SPLITS)] == t.loc["surprise", list(SPLITS)]).all())
    rows.append(("Fear and Surprise counts differ", "-", f"{tuple(t.loc['fear', list(SPLITS)])} vs "
                 f"{tuple(t.loc['surprise', list(SPLITS)])}", not same,
                 "identical in all three splits: unlikely for a naturalistic corpus, but exactly what "
                 "two 8 % shares give (row above)"))
    mean_s = paper.TABLE_2_1["total_duration_h"] * 3600 / total
    rows.append(("mean utterance duration (s) implied by Table 2.1", "-", round(mean_s, 2), "",
                 "113.7 h / 90,103 utterances"))
    rows.append(("speaker-independent split stated", "-", "not stated", False,
                 "§2.3 gives counts only; MSP-Podcast's official partitions are speaker-independent"))
    return pd.DataFrame(rows, columns=["check", "paper", "computed", "consistent", "note"])


def class_weights_table(counts: pd.Series | dict[str, int]) -> pd.DataFrame:
    """Class weights against imbalance, from class counts.

    ``balanced`` is scikit-learn's ``compute_class_weight("balanced")``: ``n_samples / (n_classes * n_c)``
    (the sample-weighted mean weight is 1); ``mean_1`` rescales it so the plain mean over classes is 1
    (``TrainConfig.class_weighting = "balanced"``); ``effective_share`` is each class's share of the total
    weight after weighting (equal for every class).

    Returns
    -------
    pd.DataFrame
        Index class; columns ``count, share_%, balanced, mean_1, effective_share_%``.
    """
    counts = pd.Series(counts, dtype=float)
    if (counts <= 0).any():
        raise ValueError(f"class_weights_table: every class needs a positive count, got {counts.to_dict()}")
    n, k = counts.sum(), len(counts)
    balanced = n / (k * counts)
    out = pd.DataFrame(
        {
            "count": counts.astype(int),
            "share_%": 100 * counts / n,
            "balanced": balanced,
            "mean_1": balanced / balanced.mean(),
        }
    )
    weighted = counts * balanced
    out["effective_share_%"] = 100 * weighted / weighted.sum()
    return out


def duration_summary(manifest_df: pd.DataFrame, by: str | None = "label") -> pd.DataFrame:
    """Duration statistics (s) per group (``by``: ``"label"``, ``"split"`` or None), plus an ``all`` row.

    Returns
    -------
    pd.DataFrame
        Columns ``n, hours, mean_s, std_s, min_s, median_s, max_s``.
    """
    _need(manifest_df, ("duration_s",) + ((by,) if by else ()), "duration_summary")

    def stats(d: pd.Series) -> dict[str, float]:
        return {
            "n": int(d.size), "hours": d.sum() / 3600, "mean_s": d.mean(), "std_s": d.std(ddof=0),
            "min_s": d.min(), "median_s": d.median(), "max_s": d.max(),
        }

    rows = {}
    if by:
        order = list(EMOTIONS) if by == "label" else list(SPLITS) if by == "split" else None
        groups = dict(tuple(manifest_df.groupby(by)["duration_s"]))
        for key in order or sorted(groups):
            if key in groups:
                rows[key] = stats(groups[key])
    rows["all"] = stats(manifest_df["duration_s"])
    out = pd.DataFrame.from_dict(rows, orient="index")
    out["n"] = out["n"].astype(int)
    out.index.name = by or "corpus"
    return out


def corpus_overview(manifest_df: pd.DataFrame) -> pd.DataFrame:
    """A Table 2.1-like summary of a manifest next to the paper's values.

    Returns
    -------
    pd.DataFrame
        Index statistic; columns ``paper`` and ``ours``.
    """
    _need(manifest_df, ("label", "duration_s"), "corpus_overview")
    speakers = manifest_df["speaker"].nunique() if "speaker" in manifest_df else "?"
    ours = {
        "total_utterances": len(manifest_df),
        "total_duration_h": round(float(manifest_df["duration_s"].sum()) / 3600, 3),
        "speakers": speakers,
        "emotions": int(manifest_df["label"].nunique()),
    }
    return pd.DataFrame(
        {"paper": [paper.TABLE_2_1[k] for k in ours], "ours": list(ours.values())}, index=list(ours), dtype=object
    )


def split_speaker_overlap(manifest_df: pd.DataFrame) -> pd.DataFrame:
    """Speakers per split and how many each pair of splits share (0 everywhere = speaker-independent).

    Returns
    -------
    pd.DataFrame [shape=(3, 4)]
        Index split; column ``speakers`` and one column per split with the shared-speaker count.
    """
    _need(manifest_df, ("speaker", "split"), "split_speaker_overlap")
    sets = {s: set(manifest_df.loc[manifest_df["split"] == s, "speaker"]) for s in SPLITS}
    out = pd.DataFrame(
        {"speakers": {s: len(sets[s]) for s in SPLITS}}
        | {b: {a: (len(sets[a] & sets[b]) if a != b else 0) for a in SPLITS} for b in SPLITS}
    )
    out.index.name = "split"
    return out


def speaker_zscore(manifest_df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``columns`` standardised within each speaker (mean 0, std 1 over the speaker's utterances).

    Every speaker, in every split, is normalised with the statistics of its *own* utterances. Uses no
    labels, so it is legitimate on test speakers too (as a deployed system would after hearing a few
    utterances of a speaker). A speaker whose values are all equal gets std 1 (values become 0).

    Examples
    --------
    >>> df = pd.DataFrame({"speaker": ["a", "a", "b", "b"], "x": [1.0, 3.0, 10.0, 20.0]})
    >>> speaker_zscore(df, ["x"])["x"].tolist()
    [-1.0, 1.0, -1.0, 1.0]
    """
    _need(manifest_df, ("speaker", *columns), "speaker_zscore")
    x = manifest_df[list(columns)].astype(float)
    g = x.groupby(manifest_df["speaker"])
    std = g.transform("std", ddof=0).replace(0.0, 1.0).fillna(1.0)
    return (x - g.transform("mean")) / std


def speaker_centred(manifest_df: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """``columns`` minus each speaker's own mean over all of its utterances (units kept, no scaling).

    Like :func:`speaker_zscore`, every speaker (training, validation or test) is centred on its own
    utterances, never on the corpus mean or on another split's statistics.

    Examples
    --------
    >>> df = pd.DataFrame({"speaker": ["a", "a", "b", "b"], "x": [1.0, 3.0, 10.0, 20.0]})
    >>> speaker_centred(df, ["x"])["x"].tolist()
    [-1.0, 1.0, -5.0, 5.0]
    """
    _need(manifest_df, ("speaker", *columns), "speaker_centred")
    x = manifest_df[list(columns)].astype(float)
    return x - x.groupby(manifest_df["speaker"]).transform("mean")


# ---------------------------------------------------------------------------- the cue probe
PROBE_CLASS_WEIGHT = "balanced"
"""The probe weights classes inversely to their training counts (scikit-learn's ``"balanced"``), so under
the corpus's 7 : 1 imbalance it cannot score by answering the majority class; its UAR is then compared
with :func:`chance_uar`."""


def chance_uar(labels: Sequence[str] | pd.Series) -> float:
    """UAR of a guess that ignores the input: ``1 / K`` for the ``K`` classes present in ``labels``.

    Any constant answer (e.g. always the majority class) and any random guess independent of the input
    score this in expectation, whatever the class shares.
    """
    k = len(set(labels))
    if k == 0:
        raise ManifestError("chance_uar: no labels")
    return 1.0 / k


def _probe_model(seed: int, class_weight: str | None):
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(),
                         LogisticRegression(max_iter=5000, class_weight=class_weight, random_state=seed))


def cue_classifier(
    manifest_df: pd.DataFrame,
    columns: Sequence[str],
    *,
    speaker_normalise: bool = False,
    seed: int = 0,
    classes: Sequence[str] = EMOTIONS,
    class_weight: str | None = PROBE_CLASS_WEIGHT,
) -> dict[str, object]:
    """Speaker-independent difficulty probe: standardise + logistic regression on utterance cues.

    Fits on the ``train`` split, scores the ``test`` split (scikit-learn ``balanced_accuracy_score`` =
    UAR). ``f0_mean_hz`` is used in semitones (log scale). Classes are weighted ``"balanced"`` by default
    (:data:`PROBE_CLASS_WEIGHT`); ``class_weight=None`` gives the unweighted model for comparison.

    Returns
    -------
    dict
        ``uar``, ``war`` (accuracy), ``chance`` (:func:`chance_uar` of the test labels), ``confusion``
        (DataFrame, rows true, columns predicted), ``predictions`` (Series on the test rows), ``n_train``,
        ``n_test``.
    """
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix

    _need(manifest_df, ("label", "split", *columns), "cue_classifier")
    x = _cue_matrix(manifest_df, columns, speaker_normalise)
    train = (manifest_df["split"] == "train").to_numpy()
    test = (manifest_df["split"] == "test").to_numpy()
    model = _probe_model(seed, class_weight)
    model.fit(x[train], manifest_df["label"][train])
    y_true = manifest_df["label"][test]
    y_pred = pd.Series(model.predict(x[test]), index=y_true.index, name="predicted")
    labels = [c for c in classes if c in set(manifest_df["label"])]
    confusion = pd.DataFrame(confusion_matrix(y_true, y_pred, labels=labels), index=labels, columns=labels)
    return {
        "uar": float(balanced_accuracy_score(y_true, y_pred)),
        "war": float(accuracy_score(y_true, y_pred)),
        "chance": chance_uar(y_true),
        "confusion": confusion,
        "predictions": y_pred,
        "n_train": int(train.sum()),
        "n_test": int(test.sum()),
    }


def _cue_matrix(manifest_df: pd.DataFrame, columns: Sequence[str], speaker_normalise: bool) -> pd.DataFrame:
    x = manifest_df[list(columns)].astype(float).copy()
    if "f0_mean_hz" in x:
        x["f0_mean_hz"] = 12 * np.log2(x["f0_mean_hz"] / 55.0)
    if speaker_normalise:
        x = speaker_zscore(pd.concat([x, manifest_df[["speaker"]]], axis=1), list(columns))
    return x


def cue_classifier_cv_predictions(
    manifest_df: pd.DataFrame,
    columns: Sequence[str],
    *,
    speaker_normalise: bool = False,
    folds: int = 5,
    seed: int = 0,
    class_weight: str | None = PROBE_CLASS_WEIGHT,
) -> pd.Series:
    """Every utterance's label predicted by :func:`cue_classifier`'s model trained without its speaker.

    Speaker-grouped cross-validation over the whole corpus (``GroupKFold`` by speaker, ``folds`` capped
    at the number of speakers). Returns a Series of predicted labels on ``manifest_df``'s index.
    """
    from sklearn.model_selection import GroupKFold, cross_val_predict

    _need(manifest_df, ("label", "speaker", *columns), "cue_classifier_cv")
    x = _cue_matrix(manifest_df, columns, speaker_normalise)
    folds = min(folds, manifest_df["speaker"].nunique())
    pred = cross_val_predict(_probe_model(seed, class_weight), x, manifest_df["label"],
                             groups=manifest_df["speaker"], cv=GroupKFold(n_splits=folds))
    return pd.Series(pred, index=manifest_df.index, name="predicted")


def cue_classifier_cv(
    manifest_df: pd.DataFrame,
    columns: Sequence[str],
    *,
    speaker_normalise: bool = False,
    folds: int = 5,
    seed: int = 0,
    class_weight: str | None = PROBE_CLASS_WEIGHT,
) -> float:
    """UAR of :func:`cue_classifier`'s model under speaker-grouped cross-validation over the whole corpus.

    Every utterance is predicted once by a model that never saw its speaker (``GroupKFold`` by speaker),
    so small corpora give a steadier estimate than one test split of a few speakers.
    """
    from sklearn.metrics import balanced_accuracy_score

    pred = cue_classifier_cv_predictions(manifest_df, columns, speaker_normalise=speaker_normalise,
                                         folds=folds, seed=seed, class_weight=class_weight)
    return float(balanced_accuracy_score(manifest_df["label"], pred))


def probe_verdict(
    manifest_df: pd.DataFrame,
    predictions: pd.Series,
    claim: str,
    *,
    n_resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
) -> Verdict:
    """UAR of probe ``predictions`` (rows of ``manifest_df``) with a speaker-bootstrap CI, against chance.

    The interval resamples speakers (:func:`sernet.analysis.bootstrap.metric_interval`); the outcome is
    ``above chance`` / ``below chance`` when the whole CI lies on one side of :func:`chance_uar`, else
    ``not distinguishable from chance``. In percent.
    """
    _need(manifest_df, ("label", "speaker"), "probe_verdict")
    y_true = manifest_df.loc[predictions.index, "label"]
    classes = sorted(set(y_true) | set(predictions))
    code = {c: i for i, c in enumerate(classes)}
    interval = metric_interval(y_true.map(code).to_numpy(), predictions.map(code).to_numpy(),
                               manifest_df.loc[predictions.index, "speaker"].to_numpy(), metric="uar",
                               n_classes=len(classes), n_resamples=n_resamples, seed=seed)
    return threshold_verdict(claim, interval.scaled(100), 100 * chance_uar(y_true), name="chance")


# ------------------------------------------------------------------- F0 range and declination
def detrended_range_st(times_s: np.ndarray, values_st: np.ndarray, percentiles: tuple[float, float] = (5, 95)
                       ) -> float:
    """Percentile range of a contour after removing its least-squares line over time.

    Parameters
    ----------
    times_s, values_st : np.ndarray [shape=(n,)]
        Frame times and contour values (e.g. F0 in semitones).
    percentiles : (float, float)
        The range is ``p_high - p_low`` of the residual (5th-95th, as the manifest's ``f0_range_st``).

    Returns
    -------
    float
        The range the contour would have without a linear trend (declination, slope).

    Examples
    --------
    >>> t = np.linspace(0, 2, 201)
    >>> round(detrended_range_st(t, -3.0 * t), 6)  # a pure declination has no range left
    0.0
    """
    t = np.asarray(times_s, dtype=float)
    v = np.asarray(values_st, dtype=float)
    if t.shape != v.shape or t.size < 2:
        raise ValueError(f"detrended_range_st: need >= 2 equally many times and values, got {t.shape}, {v.shape}")
    residual = v - np.polyval(np.polyfit(t, v, 1), t)
    low, high = np.percentile(residual, percentiles)
    return float(high - low)


def f0_contour_ranges(manifest_df: pd.DataFrame, cfg: Config) -> pd.DataFrame:
    """The F0 range of each synthetic utterance with and without its linear trend, from its true contour.

    Re-synthesises each row's utterance (``sernet.data.synthetic.synthesize_details``, deterministic) and
    reads the F0 contour the glottal pulses follow at the voiced frame times (the manifest's definition).

    Returns
    -------
    pd.DataFrame
        On ``manifest_df``'s index: ``label``, ``speaker``, ``f0_range_st`` (5th-95th percentile range in
        semitones, equal to the manifest column), ``f0_range_detrended_st`` (the same after removing the
        utterance's least-squares line), ``trend_st`` (the line's rise over the voiced span; negative =
        falling).
    """
    from sernet.data import synthetic

    _need(manifest_df, ("label", "speaker", "index"), "f0_contour_ranges")
    rows = []
    for i in manifest_df["index"]:
        d = synthetic.synthesize_details(int(i), cfg)
        t = np.asarray(d.frame_times_s, dtype=float)
        st = 12 * np.log2(np.asarray(d.frame_f0_hz, dtype=float) / synthetic.ST_REF_HZ)
        p5, p95 = np.percentile(st, [5, 95])
        slope = np.polyfit(t, st, 1)[0]
        rows.append((float(p95 - p5), detrended_range_st(t, st), float(slope * (t.max() - t.min()))))
    out = pd.DataFrame(rows, columns=["f0_range_st", "f0_range_detrended_st", "trend_st"], index=manifest_df.index)
    return pd.concat([manifest_df[["label", "speaker"]], out], axis=1)


def speaker_paired_difference(table: pd.DataFrame, column: str, a: str, b: str, *,
                              label_column: str = "label") -> Interval:
    """Mean over speakers of (speaker's mean ``column`` on class ``a``) − (the same on class ``b``).

    Only speakers with utterances of both classes count; the interval is Student's t over those speakers
    (:func:`sernet.analysis.verdicts.mean_interval`), so each speaker is one independent observation and
    speaker-level offsets cancel.
    """
    _need(table, ("speaker", label_column, column), "speaker_paired_difference")
    means = table[table[label_column].isin([a, b])].groupby(["speaker", label_column])[column].mean().unstack()
    if a not in means or b not in means:
        raise ManifestError(f"speaker_paired_difference: no utterances of {a!r} or {b!r}")
    diff = (means[a] - means[b]).dropna()
    interval = mean_interval(diff.to_numpy())
    return Interval(interval.estimate, interval.low, interval.high, interval.confidence,
                    f"t over {diff.size} speakers with both classes", int(diff.size))


# ------------------------------------------------------------------------- cues by class
def class_shift(table: pd.DataFrame, columns: Sequence[str], *, reference: str = "neutral",
                label_column: str = "label", classes: Sequence[str] = EMOTIONS) -> pd.DataFrame:
    """Each class's mean of each cue relative to ``reference``, in units of the within-class spread.

    ``(mean_c - mean_reference) / s`` where ``s`` is the pooled within-class standard deviation of the cue
    (the standard deviation of its deviations from the class means), a standardised mean difference.

    Returns
    -------
    pd.DataFrame [shape=(classes present, len(columns))]
        Index class (in ``classes`` order), one column per cue; the reference row is 0.

    Examples
    --------
    >>> t = pd.DataFrame({"label": ["neutral", "neutral", "sad", "sad"], "x": [0.0, 2.0, 4.0, 6.0]})
    >>> class_shift(t, ["x"])["x"].to_dict()  # within-class std 1; rows in the paper's class order
    {'sad': 4.0, 'neutral': 0.0}
    """
    _need(table, (label_column, *columns), "class_shift")
    x = table[list(columns)].astype(float)
    groups = table[label_column]
    if reference not in set(groups):
        raise ManifestError(f"class_shift: reference class {reference!r} has no rows")
    means = x.groupby(groups).mean()
    spread = (x - x.groupby(groups).transform("mean")).std(ddof=0).replace(0.0, np.nan)
    order = [c for c in classes if c in means.index] + [c for c in means.index if c not in classes]
    return ((means - means.loc[reference]) / spread).loc[order]


def group_separation(shift: pd.DataFrame, upper: Sequence[str], lower: Sequence[str]) -> pd.DataFrame:
    """Does each cue (column of :func:`class_shift`) put every class of ``upper`` above every class of ``lower``?

    Returns
    -------
    pd.DataFrame
        One row per cue: ``gap`` = lowest ``upper`` value minus highest ``lower`` value (> 0: the groups
        separate upwards), ``reverse_gap`` the same the other way round (> 0: they separate downwards), and
        ``outcome``: ``"upper above lower"``, ``"upper below lower"`` or ``"overlap: <classes>"`` naming the
        classes on the wrong side of the other group's nearest class.
    """
    upper = [c for c in upper if c in shift.index]
    lower = [c for c in lower if c in shift.index]
    rows = {}
    for cue in shift.columns:
        u, v = shift.loc[upper, cue], shift.loc[lower, cue]
        gap, reverse = float(u.min() - v.max()), float(v.min() - u.max())
        if gap > 0:
            outcome = "upper above lower"
        elif reverse > 0:
            outcome = "upper below lower"
        else:
            # name the classes that break the better of the two orderings
            if u.median() >= v.median():
                wrong = list(u.index[u <= v.max()]) + list(v.index[v >= u.min()])
            else:
                wrong = list(u.index[u >= v.min()]) + list(v.index[v <= u.max()])
            outcome = "overlap: " + ", ".join(wrong)
        rows[cue] = {"gap": gap, "reverse_gap": reverse, "outcome": outcome}
    return pd.DataFrame.from_dict(rows, orient="index")


def same_speaker_examples(manifest_df: pd.DataFrame, labels: Sequence[str]) -> dict[str, int]:
    """One utterance (row index) per label, all from the same speaker where one speaker has them all.

    Takes the first speaker (sorted by id) with every label, and the first such utterance of each label;
    when no speaker has them all, the first utterance of each label from any speaker.
    """
    _need(manifest_df, ("label", "speaker"), "same_speaker_examples")
    rows = manifest_df[manifest_df["label"].isin(labels)]
    missing = [lab for lab in labels if lab not in set(rows["label"])]
    if missing:
        raise ManifestError(f"same_speaker_examples: no utterance of {missing}")
    have = rows.groupby("speaker")["label"].agg(set)
    complete = sorted(s for s, got in have.items() if set(labels) <= got)
    if complete:
        rows = rows[rows["speaker"] == complete[0]]
    return {lab: int(rows.index[rows["label"] == lab][0]) for lab in labels}


def class_distances(shift: pd.DataFrame) -> pd.DataFrame:
    """Root-mean-square difference between every two classes' rows of :func:`class_shift` (over its cues).

    In units of the within-class standard deviation: 0 = the two classes have the same mean on every cue.

    Returns
    -------
    pd.DataFrame [shape=(classes, classes)]
        Symmetric, zero diagonal; cues with a NaN shift are left out.
    """
    x = shift.dropna(axis=1, how="any").to_numpy(dtype=float)
    if x.shape[1] == 0:
        raise ValueError("class_distances: no cue without NaN")
    d = np.sqrt(((x[:, None, :] - x[None, :, :]) ** 2).mean(axis=-1))
    return pd.DataFrame(d, index=shift.index, columns=shift.index)
