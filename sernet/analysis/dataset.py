"""Dataset statistics: the paper's Table 2.1/2.2 checks and the same tables for any manifest.

Shared by Chapter 1 (chapters/01_dataset_stats.py) and ``sernet reproduce``. Every function takes a
manifest DataFrame (``sernet.data.manifest.read_manifest``) or class counts and returns a DataFrame, so
the chapter can show it and a test can check it.

Examples
--------
>>> from sernet import paper, stats
>>> round(dataset.imbalance_ratio(paper.class_counts()["total"]), 2)
7.0
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sernet import paper
from sernet.data.manifest import SPLITS
from sernet.errors import ManifestError
from sernet.labels import EMOTIONS


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

    Uses no labels, so it is legitimate on test speakers too (as a deployed system would after hearing a
    few utterances of a speaker).
    """
    _need(manifest_df, ("speaker", *columns), "speaker_zscore")
    x = manifest_df[list(columns)].astype(float)
    g = x.groupby(manifest_df["speaker"])
    std = g.transform("std", ddof=0).replace(0.0, 1.0).fillna(1.0)
    return (x - g.transform("mean")) / std


def cue_classifier(
    manifest_df: pd.DataFrame,
    columns: Sequence[str],
    *,
    speaker_normalise: bool = False,
    seed: int = 0,
    classes: Sequence[str] = EMOTIONS,
) -> dict[str, object]:
    """Speaker-independent difficulty probe: standardise + logistic regression on utterance cues.

    Fits on the ``train`` split, scores the ``test`` split (scikit-learn ``balanced_accuracy_score`` =
    UAR). ``f0_mean_hz`` is used in semitones (log scale).

    Returns
    -------
    dict
        ``uar``, ``war`` (accuracy), ``confusion`` (DataFrame, rows true, columns predicted), ``n_train``,
        ``n_test``.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import accuracy_score, balanced_accuracy_score, confusion_matrix
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _need(manifest_df, ("label", "split", *columns), "cue_classifier")
    x = _cue_matrix(manifest_df, columns, speaker_normalise)
    train = (manifest_df["split"] == "train").to_numpy()
    test = (manifest_df["split"] == "test").to_numpy()
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, random_state=seed))
    model.fit(x[train], manifest_df["label"][train])
    y_true, y_pred = manifest_df["label"][test], model.predict(x[test])
    labels = [c for c in classes if c in set(manifest_df["label"])]
    confusion = pd.DataFrame(confusion_matrix(y_true, y_pred, labels=labels), index=labels, columns=labels)
    return {
        "uar": float(balanced_accuracy_score(y_true, y_pred)),
        "war": float(accuracy_score(y_true, y_pred)),
        "confusion": confusion,
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


def cue_classifier_cv(
    manifest_df: pd.DataFrame,
    columns: Sequence[str],
    *,
    speaker_normalise: bool = False,
    folds: int = 5,
    seed: int = 0,
) -> float:
    """UAR of :func:`cue_classifier`'s model under speaker-grouped cross-validation over the whole corpus.

    Every utterance is predicted once by a model that never saw its speaker (``GroupKFold`` by speaker),
    so small corpora give a steadier estimate than one test split of a few speakers.
    """
    from sklearn.linear_model import LogisticRegression
    from sklearn.metrics import balanced_accuracy_score
    from sklearn.model_selection import GroupKFold, cross_val_predict
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    _need(manifest_df, ("label", "speaker", *columns), "cue_classifier_cv")
    x = _cue_matrix(manifest_df, columns, speaker_normalise)
    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=5000, random_state=seed))
    folds = min(folds, manifest_df["speaker"].nunique())
    pred = cross_val_predict(model, x, manifest_df["label"], groups=manifest_df["speaker"],
                             cv=GroupKFold(n_splits=folds))
    return float(balanced_accuracy_score(manifest_df["label"], pred))
