"""Ablation and baseline tables over seeds (the paper's Table 4.3 and Table 4.4), with verdicts.

Input: a grid from :func:`sernet.analysis.runs.run_grid` (one row per variant x seed).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd

from sernet import paper


def summarize(grid: pd.DataFrame, *, reference: str, paper_uar: Mapping[str, float] | None = None,
              metric: str = "UAR", confidence: float = 0.95) -> pd.DataFrame:
    """Mean ± std over seeds, the delta to ``reference`` with its Welch interval, and the paper beside it.

    The verdict is :func:`sernet.analysis.verdicts.difference_verdict` on the Welch t interval of the
    difference of the two means over seeds (Welch–Satterthwaite df: with 3 seeds a side about ±3-4 standard
    errors at 95 %, not ±2): ``within noise`` when it contains 0, else the direction against the paper's.
    Rows with one seed get ``one seed: no noise estimate``. (The study record adds the speakers' share of
    the noise: :func:`sernet.analysis.study.compare`.)

    Returns
    -------
    pandas.DataFrame
        Index: variant; columns ``seeds``, ``mean``, ``std``, ``delta``, ``delta_low``, ``delta_high``,
        ``paper``, ``paper_delta``, ``verdict`` (metric in %).
    """
    from sernet.analysis.verdicts import difference_verdict, welch_interval

    stats = grid.groupby("variant", observed=True)[metric].agg(["count", "mean", "std"])
    stats["std"] = stats["std"].fillna(0.0)
    ref = stats.loc[reference]
    ref_values = grid.loc[grid["variant"] == reference, metric].to_numpy()
    paper_uar = dict(paper_uar or {})
    rows = []
    for name, s in stats.iterrows():
        delta = s["mean"] - ref["mean"]
        p_delta = paper_uar.get(name, np.nan) - paper_uar.get(reference, np.nan)
        low = high = np.nan
        if name == reference:
            verdict = "reference"
        elif s["count"] < 2 or ref["count"] < 2:
            verdict = "one seed: no noise estimate"
        else:
            values = grid.loc[grid["variant"] == name, metric].to_numpy()
            iv = welch_interval(values, ref_values, confidence=confidence)
            low, high = iv.low, iv.high
            verdict = difference_verdict(str(name), iv, paper=None if np.isnan(p_delta) else p_delta).outcome
        rows.append({"variant": name, "seeds": int(s["count"]), "mean": s["mean"], "std": s["std"],
                     "delta": delta if name != reference else np.nan, "delta_low": low, "delta_high": high,
                     "paper": paper_uar.get(name, np.nan),
                     "paper_delta": p_delta if name != reference else np.nan, "verdict": verdict})
    return pd.DataFrame(rows).set_index("variant")


def summarize_table_4_3(grid: pd.DataFrame) -> pd.DataFrame:
    """Table 4.3 over seeds: mean ± std of UAR / WAR / macro-F1 per model, the paper's values beside."""
    agg = grid.groupby("variant", observed=True)[["UAR", "WAR", "macro_F1"]].agg(["mean", "std"])
    rows = []
    for name, r in agg.iterrows():
        ref = paper.TABLE_4_3.get(name, (np.nan,) * 3)
        row: dict[str, Any] = {"model": name}
        for i, col in enumerate(("UAR", "WAR", "macro_F1")):
            row[col] = r[(col, "mean")]
            row[f"{col}_std"] = 0.0 if np.isnan(r[(col, "std")]) else r[(col, "std")]
            row[f"paper_{col}"] = ref[i]
        rows.append(row)
    return pd.DataFrame(rows).set_index("model")


def mean_pm_std(summary: pd.DataFrame, *, decimals: int = 1) -> pd.Series:
    """``"mean ± std"`` strings of a :func:`summarize` table, for display."""
    return summary.apply(lambda r: f"{r['mean']:.{decimals}f} ± {r['std']:.{decimals}f}", axis=1)
