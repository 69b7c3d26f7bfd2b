"""Evaluation metrics of the paper's §4.2 (UAR, WAR, macro-F1, per-class, confusion), from scikit-learn.

UAR is scikit-learn's ``balanced_accuracy_score`` (the mean of per-class recalls), WAR is
``accuracy_score``, macro-F1 is ``f1_score(average="macro")``. Tables are laid out like the paper's
Table 4.3 (overall) and per-class table, with the paper's numbers beside ours.

Examples
--------
>>> from sernet.analysis.metrics import evaluate_predictions
>>> m = evaluate_predictions([0, 1, 1, 2], [0, 1, 2, 2], n_classes=3)
>>> round(m["uar"], 3), round(m["war"], 3)
(0.833, 0.75)
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.metrics import (
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    f1_score,
    precision_recall_fscore_support,
)

from sernet import paper
from sernet.errors import SernetError
from sernet.labels import EMOTIONS


def evaluate_predictions(y_true: Sequence[int] | np.ndarray, y_pred: Sequence[int] | np.ndarray, *,
                         n_classes: int | None = None,
                         classes: Sequence[str] | None = None) -> dict[str, Any]:
    """Every §4.2 metric of integer predictions, computed by scikit-learn.

    Parameters
    ----------
    y_true, y_pred : array-like of int [shape=(n,)]
        True and predicted class indices.
    n_classes : int, optional
        Number of classes (default: ``len(classes)``, i.e. 8). Classes absent from ``y_true`` are left out
        of UAR (``balanced_accuracy_score`` averages the classes present in ``y_true``) and of macro-F1
        (averaged over the same classes); predicting an absent class still counts as an error of the true
        class. On a 6-class corpus a perfect model scores UAR = macro-F1 = 1.
    classes : sequence of str, optional
        Class names in index order (default :data:`sernet.labels.EMOTIONS`).

    Returns
    -------
    dict
        ``uar``, ``war``, ``macro_f1`` (fractions in [0, 1]), ``n`` (number of predictions),
        ``per_class`` (name -> precision/recall/f1/support), ``confusion`` (list of rows: true class,
        columns: predicted class, counts), ``classes``.

    Raises
    ------
    SernetError
        If the arrays differ in length or are empty, or hold an index outside ``[0, n_classes)``.
    """
    classes = tuple(classes or EMOTIONS[: n_classes or len(EMOTIONS)])
    if n_classes is None:
        n_classes = len(classes)
    elif len(classes) != n_classes:
        classes = tuple(f"class_{i}" for i in range(n_classes))
    y_true = np.asarray(y_true).astype(int).ravel()
    y_pred = np.asarray(y_pred).astype(int).ravel()
    if y_true.shape != y_pred.shape or y_true.size == 0:
        raise SernetError(f"evaluate_predictions: y_true {y_true.shape} and y_pred {y_pred.shape} must be "
                          "equally long and non-empty")
    for name, arr in (("y_true", y_true), ("y_pred", y_pred)):
        if arr.min() < 0 or arr.max() >= n_classes:
            raise SernetError(f"evaluate_predictions: {name} holds class indices outside [0, {n_classes})")
    labels = list(range(n_classes))
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0)
    with warnings.catch_warnings():  # "y_pred contains classes not in y_true": expected on small splits
        warnings.simplefilter("ignore", UserWarning)
        uar = float(balanced_accuracy_score(y_true, y_pred))
    return {
        "uar": uar,
        "war": float(accuracy_score(y_true, y_pred)),
        # Over the classes present in y_true, as UAR: a class the corpus lacks is not a class the model failed.
        "macro_f1": float(f1_score(y_true, y_pred, labels=sorted(set(y_true.tolist())), average="macro",
                                   zero_division=0)),
        "n": int(y_true.size),
        "per_class": {
            classes[i]: {"precision": float(precision[i]), "recall": float(recall[i]), "f1": float(f1[i]),
                         "support": int(support[i])}
            for i in labels
        },
        "confusion": confusion_matrix(y_true, y_pred, labels=labels).tolist(),
        "classes": list(classes),
    }


def evaluate_probabilities(y_true: np.ndarray, probabilities: np.ndarray,
                           classes: Sequence[str] | None = None) -> dict[str, Any]:
    """:func:`evaluate_predictions` of the argmax of ``probabilities`` [shape=(n, classes)].

    ``classes`` names the columns (default: the paper's 8 for 8 columns).
    """
    probabilities = np.asarray(probabilities)
    if classes is not None and len(classes) != probabilities.shape[-1]:
        raise SernetError(f"evaluate_probabilities: {probabilities.shape[-1]} probability columns for "
                          f"{len(classes)} classes {list(classes)}")
    return evaluate_predictions(y_true, probabilities.argmax(axis=-1), n_classes=probabilities.shape[-1],
                                classes=None if classes is None else tuple(classes))


def overall_row(metrics: Mapping[str, Any]) -> dict[str, float]:
    """UAR / WAR / macro-F1 of one evaluation, in % (the columns of Table 4.3)."""
    return {"UAR": 100 * metrics["uar"], "WAR": 100 * metrics["war"], "macro_F1": 100 * metrics["macro_f1"]}


def results_table(rows: Mapping[str, Mapping[str, Any]], *, paper_names: Mapping[str, str] | None = None,
                  decimals: int = 1) -> pd.DataFrame:
    """Table 4.3 laid out with ours beside the paper's.

    Parameters
    ----------
    rows : mapping
        Our model name -> metrics dict (from :func:`evaluate_predictions`).
    paper_names : mapping, optional
        Our model name -> the paper's row name in ``sernet.paper.TABLE_4_3`` (default: the same name).

    Returns
    -------
    pandas.DataFrame
        Index: model; columns ``UAR``, ``WAR``, ``macro_F1`` (ours, %) and ``paper_UAR`` ... (the paper's, %).
    """
    paper_names = dict(paper_names or {})
    out = []
    for name, metrics in rows.items():
        row = {"model": name, **overall_row(metrics)}
        ref = paper.TABLE_4_3.get(paper_names.get(name, name))
        for col, value in zip(("UAR", "WAR", "macro_F1"), ref or (np.nan,) * 3, strict=True):
            row[f"paper_{col}"] = value
        out.append(row)
    return pd.DataFrame(out).set_index("model").round(decimals)


def per_class_table(metrics: Mapping[str, Any], *, decimals: int = 1) -> pd.DataFrame:
    """The paper's per-class table (precision / recall / F1, %) with ours beside it, plus support."""
    rows = []
    for name, m in metrics["per_class"].items():
        ref = paper.PER_CLASS.get(name, (np.nan,) * 3)
        rows.append({"emotion": name, "precision": 100 * m["precision"], "recall": 100 * m["recall"],
                     "F1": 100 * m["f1"], "paper_precision": ref[0], "paper_recall": ref[1],
                     "paper_F1": ref[2], "support": m["support"]})
    return pd.DataFrame(rows).set_index("emotion").round(decimals)


def confusion_frame(metrics: Mapping[str, Any], *, normalize: bool = False) -> pd.DataFrame:
    """The confusion matrix as a labelled DataFrame (rows: true, columns: predicted).

    With ``normalize=True`` each row is divided by its total (row = recall profile of a true class);
    rows of classes absent from the data stay 0.
    """
    cm = np.asarray(metrics["confusion"], dtype=float)
    if normalize:
        totals = cm.sum(axis=1, keepdims=True)
        cm = np.divide(cm, totals, out=np.zeros_like(cm), where=totals > 0)
    names = list(metrics["classes"])
    frame = pd.DataFrame(cm, index=pd.Index(names, name="true"), columns=pd.Index(names, name="predicted"))
    return frame


def pair_confusions(metrics: Mapping[str, Any], pairs: Sequence[tuple[str, str]] = tuple(paper.CONFUSIONS_5_2),
                    ) -> pd.DataFrame:
    """How often the paper's §5.2 pairs are confused, both ways, against the typical off-diagonal cell.

    Returns
    -------
    pandas.DataFrame
        One row per pair: ``a->b`` and ``b->a`` (fraction of true-class utterances predicted as the other),
        ``rank`` (the pair's combined confusion rank among all unordered class pairs, 1 = most confused)
        and ``mean_off_diagonal`` (the average off-diagonal rate, for scale). Pairs naming a class outside
        the metrics' label set (a corpus with its own classes) are left out; the frame may be empty.
    """
    cm = confusion_frame(metrics, normalize=True)
    names = list(cm.index)
    values = cm.to_numpy()
    off = values[~np.eye(len(names), dtype=bool)]
    combined = {}
    for i in range(len(names)):
        for j in range(i + 1, len(names)):
            combined[(names[i], names[j])] = values[i, j] + values[j, i]
    order = sorted(combined, key=lambda k: -combined[k])
    rows = []
    for a, b in pairs:
        if a not in names or b not in names:
            continue
        key = (a, b) if (a, b) in combined else (b, a)
        rows.append({"pair": f"{a} <-> {b}", "a->b": cm.loc[a, b], "b->a": cm.loc[b, a],
                     "rank": order.index(key) + 1, "of_pairs": len(order),
                     "mean_off_diagonal": float(off.mean())})
    columns = ["a->b", "b->a", "rank", "of_pairs", "mean_off_diagonal"]
    if not rows:
        return pd.DataFrame(columns=columns, index=pd.Index([], name="pair"))
    return pd.DataFrame(rows).set_index("pair")[columns]


def save_metrics(metrics: Mapping[str, Any], out_dir: str | Path, *, prefix: str = "") -> dict[str, Path]:
    """Write ``<prefix>metrics.json``, ``<prefix>per_class.csv`` and ``<prefix>confusion.csv`` to ``out_dir``.

    Returns the written paths by kind.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = {"json": out / f"{prefix}metrics.json", "per_class": out / f"{prefix}per_class.csv",
             "confusion": out / f"{prefix}confusion.csv"}
    paths["json"].write_text(json.dumps(metrics, indent=2))
    per_class_table(metrics, decimals=3).to_csv(paths["per_class"])
    confusion_frame(metrics).astype(int).to_csv(paths["confusion"])
    return paths


def format_table(frame: pd.DataFrame, *, decimals: int = 1) -> str:
    """A plain-text rendering (no extra dependency) of a results table, numbers to ``decimals``."""
    return frame.to_string(float_format=lambda v: f"{v:.{decimals}f}")


def markdown_table(frame: pd.DataFrame, *, decimals: int = 1) -> str:
    """A GitHub-markdown rendering of a table (for ``report.md``), numbers to ``decimals``."""
    def cell(v: Any) -> str:
        if isinstance(v, float | np.floating):
            return "–" if np.isnan(v) else f"{v:.{decimals}f}"
        return str(v)

    index_name = frame.index.name or ""
    header = [index_name, *map(str, frame.columns)]
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    for idx, row in frame.iterrows():
        lines.append("| " + " | ".join([str(idx), *(cell(v) for v in row.tolist())]) + " |")
    return "\n".join(lines)
