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
              metric: str = "UAR", noise_z: float = 2.0) -> pd.DataFrame:
    """Mean ± std over seeds, the delta to ``reference`` with its standard error, and the paper beside it.

    The verdict compares our delta with the paper's: ``within noise`` when
    ``|delta| < noise_z x se`` (se: Welch standard error of the difference of the two means over seeds),
    otherwise ``same sign as paper`` or ``opposite sign``.

    Returns
    -------
    pandas.DataFrame
        Index: variant; columns ``seeds``, ``mean``, ``std``, ``delta``, ``delta_se``, ``paper``,
        ``paper_delta``, ``verdict`` (metric in %).
    """
    stats = grid.groupby("variant", observed=True)[metric].agg(["count", "mean", "std"])
    stats["std"] = stats["std"].fillna(0.0)
    ref = stats.loc[reference]
    paper_uar = dict(paper_uar or {})
    rows = []
    for name, s in stats.iterrows():
        delta = s["mean"] - ref["mean"]
        se = float(np.sqrt(s["std"] ** 2 / s["count"] + ref["std"] ** 2 / ref["count"]))
        p = paper_uar.get(name, np.nan)
        p_ref = paper_uar.get(reference, np.nan)
        p_delta = p - p_ref
        if name == reference:
            verdict = "reference"
        elif s["count"] < 2 or ref["count"] < 2:
            verdict = "one seed: no noise estimate"
        elif abs(delta) < noise_z * se or se == 0 and delta == 0:
            verdict = "within noise"
        elif np.isnan(p_delta):
            verdict = "no paper value"
        else:
            verdict = "same sign as paper" if np.sign(delta) == np.sign(p_delta) else "opposite sign"
        rows.append({"variant": name, "seeds": int(s["count"]), "mean": s["mean"], "std": s["std"],
                     "delta": delta if name != reference else np.nan,
                     "delta_se": se if name != reference else np.nan,
                     "paper": p, "paper_delta": p_delta if name != reference else np.nan, "verdict": verdict})
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
