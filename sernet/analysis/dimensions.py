"""Dimensional emotion metrics: CCC, Pearson r and RMSE per dimension, with speaker-bootstrap intervals.

The MSP-Podcast challenges rank arousal, valence and dominance by the concordance correlation coefficient
(Lin 1989)::

    CCC = 2 cov(t, p) / (var t + var p + (mean t − mean p)²)          (population moments)

It is Pearson's r shrunk by how far the predictions' mean and spread miss the ratings'
(``CCC = r · 2 s_t s_p / (s_t² + s_p² + (m_t − m_p)²)``), so a model that ranks utterances right but
predicts the scale's middle for all of them scores low. RMSE is reported beside it in scale points.

Intervals resample **speakers** with replacement (as :mod:`sernet.analysis.bootstrap` does for UAR):
each speaker contributes the sufficient statistics of its utterances (n, Σt, Σp, Σt², Σp², Σtp), a
resample is a vector of speaker multiplicities, and its metrics follow from the weighted sums, vectorised
over resamples. Pure NumPy / SciPy / scikit-learn: the trainer uses :func:`dimension_metrics` for its
validation scores. Explained in chapters/10_dimensional.py.

Examples
--------
>>> t = np.array([[1.0], [2.0], [3.0], [4.0]])
>>> round(float(concordance(t, t + 1.0)[0]), 3)   # perfectly correlated, shifted by one point
0.714
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from sernet.analysis.bootstrap import DEFAULT_CONFIDENCE, DEFAULT_RESAMPLES, Interval
from sernet.data.manifest import DIMENSIONS
from sernet.errors import SernetError

DIMENSION_METRICS: tuple[str, ...] = ("ccc", "pearson_r", "rmse")
"""The per-dimension metrics, in report order."""


def concordance(y_true, y_pred) -> np.ndarray:
    """CCC per column (float64; population moments). ``y_true``, ``y_pred``: ``[n]`` or ``[n, D]``."""
    t, p = _as_2d(y_true, y_pred)
    return _from_sums(*_sums(t, p))[0]


def _as_2d(y_true, y_pred) -> tuple[np.ndarray, np.ndarray]:
    t = np.asarray(y_true, dtype=np.float64)
    p = np.asarray(y_pred, dtype=np.float64)
    if t.ndim == 1:
        t, p = t[:, None], p[:, None]
    if t.shape != p.shape or t.ndim != 2 or t.shape[0] == 0:
        raise SernetError(f"dimension metrics: y_true {t.shape} and y_pred {p.shape} must be equal [n, D], n > 0")
    return t, p


def _sums(t: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> tuple[np.ndarray, ...]:
    """Weighted sums (n, Σt, Σp, Σt², Σp², Σtp) per column; ``w`` [..., n] gives [..., D] sums."""
    ok = np.isfinite(t) & np.isfinite(p)
    t0, p0, m = np.where(ok, t, 0.0), np.where(ok, p, 0.0), ok.astype(np.float64)
    if w is None:
        w = np.ones(t.shape[0])
    return tuple(w @ x for x in (m, t0, p0, t0 * t0, p0 * p0, t0 * p0))


def _from_sums(n, st, sp, stt, spp, stp) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CCC, Pearson r and RMSE from the sums (NaN where a column has no pair or no variance)."""
    with np.errstate(invalid="ignore", divide="ignore"):
        mt, mp = st / n, sp / n
        vt, vp = stt / n - mt**2, spp / n - mp**2
        cov = stp / n - mt * mp
        vt, vp = np.maximum(vt, 0.0), np.maximum(vp, 0.0)
        ccc = 2 * cov / (vt + vp + (mt - mp) ** 2)
        r = cov / np.sqrt(vt * vp)
        rmse = np.sqrt(np.maximum((stt - 2 * stp + spp) / n, 0.0))
    return ccc, r, rmse


def dimension_metrics(y_true, y_pred, names: Sequence[str] = DIMENSIONS) -> dict[str, dict[str, float]]:
    """CCC, Pearson r (``scipy.stats.pearsonr``) and RMSE (scikit-learn) per dimension.

    Rows where a dimension's rating (or prediction) is not finite are left out of that dimension.

    Parameters
    ----------
    y_true, y_pred : array-like [shape=(n, D)]
        Ratings and predictions (D = len(names), arousal/valence/dominance by default).
    names : sequence of str

    Returns
    -------
    dict
        ``{name: {"ccc", "pearson_r", "rmse", "n"}}`` plus ``"mean_ccc"`` (mean over the dimensions).

    Raises
    ------
    SernetError
        Shapes that differ, or a column count other than ``len(names)``.

    Examples
    --------
    >>> m = dimension_metrics([[1.0, 2.0, 3.0], [3.0, 4.0, 4.0], [5.0, 5.0, 6.0]],
    ...                       [[1.5, 2.0, 3.5], [3.0, 3.0, 4.5], [4.5, 5.0, 5.5]])
    >>> round(m["arousal"]["ccc"], 3), round(m["valence"]["rmse"], 3)
    (0.96, 0.577)
    """
    from scipy import stats
    from sklearn.metrics import mean_squared_error

    t, p = _as_2d(y_true, y_pred)
    if t.shape[1] != len(names):
        raise SernetError(f"dimension metrics: {t.shape[1]} columns, expected {len(names)} ({list(names)})")
    out: dict = {}
    ccc = concordance(t, p)
    for d, name in enumerate(names):
        ok = np.isfinite(t[:, d]) & np.isfinite(p[:, d])
        td, pd_ = t[ok, d], p[ok, d]
        constant = td.size < 2 or np.ptp(td) == 0 or np.ptp(pd_) == 0
        out[name] = {
            "ccc": float(ccc[d]),
            "pearson_r": float("nan") if constant else float(stats.pearsonr(td, pd_).statistic),
            "rmse": float(np.sqrt(mean_squared_error(td, pd_))) if td.size else float("nan"),
            "n": int(td.size),
        }
    out["mean_ccc"] = float(np.nanmean([out[n]["ccc"] for n in names]))
    return out


def dimension_intervals(y_true, y_pred, groups: Sequence | None = None, *, names: Sequence[str] = DIMENSIONS,
                        n_resamples: int = DEFAULT_RESAMPLES, confidence: float = DEFAULT_CONFIDENCE,
                        seed: int = 0) -> dict[str, dict[str, Interval]]:
    """Speaker-bootstrap percentile intervals of CCC, Pearson r and RMSE per dimension.

    Parameters
    ----------
    y_true, y_pred : array-like [shape=(n, D)]
    groups : array-like [shape=(n,)], optional
        The speaker of each utterance (None: each utterance its own group, the ordinary bootstrap).
    names : sequence of str
    n_resamples, confidence, seed
        Bootstrap size, two-sided coverage and resampling seed (deterministic).

    Returns
    -------
    dict
        ``{name: {"ccc": Interval, "pearson_r": Interval, "rmse": Interval}}``; estimates are the metrics
        on the original data.
    """
    t, p = _as_2d(y_true, y_pred)
    g = np.arange(t.shape[0]) if groups is None else np.asarray(groups).ravel()
    if g.size != t.shape[0]:
        raise SernetError(f"dimension intervals: {g.size} groups for {t.shape[0]} utterances")
    if t.shape[1] != len(names):
        raise SernetError(f"dimension intervals: {t.shape[1]} columns, expected {len(names)} ({list(names)})")
    _, gidx = np.unique(g, return_inverse=True)
    n_groups = int(gidx.max()) + 1
    member = np.zeros((n_groups, t.shape[0]))
    member[gidx, np.arange(t.shape[0])] = 1.0
    per_group = _sums(t, p, member)  # each [G, D]
    estimate = _from_sums(*(s.sum(axis=0) for s in per_group))
    rng = np.random.default_rng(seed)
    weights = rng.multinomial(n_groups, np.full(n_groups, 1.0 / n_groups), size=n_resamples).astype(float)
    resampled = _from_sums(*(weights @ s for s in per_group))  # each [R, D]
    a = (1 - confidence) / 2
    method = f"speaker bootstrap, {n_resamples} resamples"
    out: dict[str, dict[str, Interval]] = {}
    for d, name in enumerate(names):
        out[name] = {}
        for m, metric in enumerate(DIMENSION_METRICS):
            values = resampled[m][:, d]
            values = values[np.isfinite(values)]
            low, high = (float(np.quantile(values, a)), float(np.quantile(values, 1 - a))) if values.size \
                else (float("nan"), float("nan"))
            out[name][metric] = Interval(float(estimate[m][d]), low, high, confidence, method, n_groups)
    return out


def intervals_table(intervals: dict[str, dict[str, Interval]], digits: int = 3):
    """A table (dimension x metric) of ``estimate [low, high]`` strings from :func:`dimension_intervals`."""
    rows = {name: {metric: f"{iv.estimate:.{digits}f} [{iv.low:.{digits}f}, {iv.high:.{digits}f}]"
                   for metric, iv in by_metric.items()} for name, by_metric in intervals.items()}
    return pd.DataFrame(rows).T[list(DIMENSION_METRICS)]


def metrics_table(metrics: dict) -> pd.DataFrame:  # noqa: F821 - pandas imported lazily
    """The ``"dimensions"`` entry of a split's metrics (:func:`dimension_metrics`) as a table: one row per
    dimension, columns ``ccc``, ``pearson_r``, ``rmse``, ``n``."""
    names = [k for k in metrics if k != "mean_ccc"]
    return pd.DataFrame({name: metrics[name] for name in names}).T[[*DIMENSION_METRICS, "n"]]


# ------------------------------------------------------------------------ Chapter 10: tasks over seeds
TASK_VARIANTS: dict[str, dict[str, str]] = {"categorical": {}, "multitask": {"model.tasks": "multitask"}}
"""The two arms of the single-task vs multi-task comparison (everything else equal)."""


def comparison_config(cfg):
    """``cfg`` with the comparison's epochs (``cfg.dimensional.epochs``; 0 keeps ``train.epochs``)."""
    from sernet.config import override

    epochs = cfg.dimensional.epochs or cfg.train.epochs
    return override(cfg, {"train.epochs": epochs})


def task_grid(cfg, *, store=None, workers: int | None = None) -> pd.DataFrame:
    """Train (or load) both arms of :data:`TASK_VARIANTS` over ``cfg.dimensional.seeds``
    (:func:`sernet.analysis.runs.run_grid`; cached runs are reused). One row per run, test-split metrics."""
    from sernet.analysis import runs

    return runs.run_grid(comparison_config(cfg), TASK_VARIANTS, cfg.dimensional.seeds, store=store,
                         desc="tasks", workers=workers)


def split_predictions(run_dir, split: str = "test") -> pd.DataFrame:
    """The ``split`` rows of a run's ``predictions.csv``."""
    from sernet.train.run_dir import RunDir

    preds = pd.read_csv(RunDir(run_dir).predictions_csv)
    return preds[preds["split"] == split].reset_index(drop=True)


def seed_ccc(grid: pd.DataFrame, variant: str = "multitask") -> pd.DataFrame:
    """Test CCC per dimension (columns) of every seed (rows) of ``variant``'s runs in ``grid``."""
    rows = {}
    for _, r in grid[grid["variant"] == variant].iterrows():
        p = split_predictions(r["run"])
        rows[int(r["seed"])] = concordance(p[[f"true_{d}" for d in DIMENSIONS]].to_numpy(),
                                           p[[f"pred_{d}" for d in DIMENSIONS]].to_numpy())
    return pd.DataFrame.from_dict(rows, orient="index", columns=list(DIMENSIONS)).sort_index()


def uar_verdict(grid: pd.DataFrame, *, confidence: float = DEFAULT_CONFIDENCE):
    """Does the dimensional task change categorical UAR? Welch interval over seeds of multitask − categorical
    test UAR (points), judged by :func:`sernet.analysis.verdicts.difference_verdict`."""
    from sernet.analysis.verdicts import difference_verdict, welch_interval

    uar = {v: grid.loc[grid["variant"] == v, "UAR"].to_numpy() for v in TASK_VARIANTS}
    interval = welch_interval(uar["multitask"], uar["categorical"], confidence=confidence)
    return difference_verdict("multi-task vs categorical-only training", interval, measure="test UAR")


def valence_gap_verdict(ccc: pd.DataFrame, *, confidence: float = DEFAULT_CONFIDENCE):
    """Is valence harder than arousal? t interval over seeds of the paired difference arousal CCC − valence CCC,
    judged by :func:`sernet.analysis.verdicts.difference_verdict` (unit: CCC)."""
    from sernet.analysis.verdicts import difference_verdict, mean_interval

    interval = mean_interval((ccc["arousal"] - ccc["valence"]).to_numpy(), confidence=confidence)
    return difference_verdict("arousal CCC minus valence CCC (multi-task runs)", interval, measure="test CCC",
                              unit="CCC")


PUBLISHED_CONTEXT: list[dict[str, object]] = [
    {"source": "Wagner et al. 2023, IEEE TPAMI 45(9) 'Dawn of the transformer era in speech emotion "
               "recognition: closing the valence gap'",
     "data": "MSP-Podcast (real podcast speech, listener ratings)",
     "system": "wav2vec 2.0 / HuBERT fine-tuned on arousal, dominance, valence; audio only",
     "figure": "valence CCC .638 (their abstract: the top audio-only valence result they knew of)"},
    {"source": "Odyssey 2024 and Interspeech 2025 MSP-Podcast SER challenges, task 2",
     "data": "MSP-Podcast challenge partitions",
     "system": "emotional attribute prediction (arousal, valence, dominance, 1-7), ranked by CCC",
     "figure": "leaderboards on the challenge pages (odyssey2024.org, lab-msp.com); not reproduced here"},
]
"""Published dimensional results on real data, quoted for context in Chapter 10 (different data: no verdict)."""
