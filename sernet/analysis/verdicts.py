"""Verdicts on the paper's claims: an estimate, its interval, a stated rule and the outcome the rule gives.

A verdict renders itself two ways:

* :meth:`Verdict.sentence` — with the numbers ("w/o focal loss: UAR −0.7 points (95 % CI −4.1 … +2.6):
  within noise"), for readers;
* :meth:`Verdict.outcome_sentence` — the claim, the outcome and the rule without the numbers, for text that
  must read the same on every machine (a committed notebook output replayed on another CPU).

Rules (all two-sided, at the interval's confidence):

* :func:`difference_verdict` — a difference is an *effect* only when its interval excludes 0; its direction
  is then compared with the paper's.
* :func:`combined_difference` — for a difference between two systems trained over seeds and tested on the
  same speakers: an effect only when **both** the seed-level Welch interval (initialisation noise) and the
  paired speaker-bootstrap interval (which speakers happen to be tested) exclude 0 on the same side.
* :func:`threshold_verdict` — above / below a reference value (chance, a baseline) when the interval lies
  entirely on one side of it.

Examples
--------
>>> from sernet.analysis.bootstrap import Interval
>>> from sernet.analysis.verdicts import difference_verdict
>>> v = difference_verdict("w/o focal loss", Interval(-0.7, -4.1, 2.6), measure="UAR", paper=-1.9)
>>> v.sentence()
'w/o focal loss: UAR −0.7 points (95 % CI −4.1 … +2.6): within noise (paper: −1.9)'
>>> v.outcome_sentence()
'w/o focal loss: within noise (rule: an effect when the 95 % CI of the difference excludes 0)'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sernet.analysis.bootstrap import DEFAULT_CONFIDENCE, Interval
from sernet.errors import SernetError

WITHIN_NOISE = "within noise"


def signed(value: float, decimals: int = 1) -> str:
    """``+1.2`` / ``−0.7`` (a true minus sign) / ``0.0``."""
    text = f"{abs(value):.{decimals}f}"
    if float(text) == 0:
        return text
    return ("+" if value > 0 else "−") + text


@dataclass(frozen=True)
class Verdict:
    """One claim checked against measured results.

    Attributes
    ----------
    claim : str
        What is checked ("w/o focal loss", "SER-Net vs chance").
    interval : Interval
        The estimate and its interval, in ``unit``.
    outcome : str
        What the rule gave ("within noise", "lower, as in the paper", "above chance", ...).
    rule : str
        The rule in words, stated with every verdict.
    measure : str
        The metric ("UAR").
    unit : str
        ``"points"`` for differences of percentages, ``"%"`` for levels.
    paper : float, optional
        The paper's value of the same quantity.
    difference : bool
        Whether the estimate is a difference (rendered with a sign).
    extra : tuple of Interval
        Further intervals the rule used (e.g. the paired speaker bootstrap beside the seed-level one).
    """

    claim: str
    interval: Interval
    outcome: str
    rule: str
    measure: str = "UAR"
    unit: str = "points"
    paper: float | None = None
    difference: bool = True
    extra: tuple[Interval, ...] = field(default_factory=tuple)

    def _number(self, value: float, decimals: int) -> str:
        return signed(value, decimals) if self.difference else f"{value:.{decimals}f}".replace("-", "−")

    def numbers(self, decimals: int = 1) -> str:
        """``"−0.7 points (95 % CI −4.1 … +2.6)"``."""
        i = self.interval
        pct = round(100 * i.confidence)
        unit = f" {self.unit}" if self.unit != "%" else " %"
        return (f"{self._number(i.estimate, decimals)}{unit} ({pct} % CI {self._number(i.low, decimals)} … "
                f"{self._number(i.high, decimals)})")

    def sentence(self, decimals: int = 1, *, with_rule: bool = False) -> str:
        """The claim with its numbers and outcome (and, optionally, the rule)."""
        text = f"{self.claim}: {self.measure} {self.numbers(decimals)}: {self.outcome}"
        if self.paper is not None and np.isfinite(self.paper):
            text += f" (paper: {self._number(self.paper, decimals)})"
        return text + (f" [rule: {self.rule}]" if with_rule else "")

    def outcome_sentence(self) -> str:
        """The claim, the outcome and the rule, without numbers (machine-independent text)."""
        return f"{self.claim}: {self.outcome} (rule: {self.rule})"

    def to_dict(self) -> dict:
        return {"claim": self.claim, "interval": self.interval.to_dict(), "outcome": self.outcome,
                "rule": self.rule, "measure": self.measure, "unit": self.unit, "paper": self.paper,
                "difference": self.difference, "extra": [e.to_dict() for e in self.extra]}

    @classmethod
    def from_dict(cls, d: dict) -> Verdict:
        return cls(d["claim"], Interval.from_dict(d["interval"]), d["outcome"], d["rule"], d.get("measure", "UAR"),
                   d.get("unit", "points"), d.get("paper"), bool(d.get("difference", True)),
                   tuple(Interval.from_dict(e) for e in d.get("extra", ())))


# ------------------------------------------------------------------------------------------ intervals
def welch_interval(a: Sequence[float], b: Sequence[float], *, confidence: float = DEFAULT_CONFIDENCE
                   ) -> Interval:
    """Interval of ``mean(a) − mean(b)`` by Welch's t (unequal variances, Welch–Satterthwaite df).

    With 3 seeds per system the df is about 2-4, so the 95 % interval is mean ± ~3-4 standard errors, not
    the ± 2 a normal approximation would give. Computed by ``scipy.stats.ttest_ind(equal_var=False)``.
    """
    from scipy import stats

    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if a.size < 2 or b.size < 2:
        raise SernetError(f"welch_interval needs >= 2 values per group, got {a.size} and {b.size}")
    delta = float(a.mean() - b.mean())
    if np.var(a) == 0 and np.var(b) == 0:
        return Interval(delta, delta, delta, confidence, "Welch t over seeds (no variance)", a.size + b.size)
    res = stats.ttest_ind(a, b, equal_var=False)
    ci = res.confidence_interval(confidence)
    return Interval(delta, float(ci.low), float(ci.high), confidence,
                    f"Welch t over seeds ({a.size} vs {b.size}, df {res.df:.1f})", int(a.size + b.size))


def mean_interval(values: Sequence[float], *, confidence: float = DEFAULT_CONFIDENCE,
                  bounds: tuple[float, float] | None = None) -> Interval:
    """Student-t interval of a mean over seeds (``scipy.stats.t``).

    ``bounds`` clips the interval to the range the quantity can take (e.g. ``(0, 100)`` for a share in %):
    with few seeds a t interval of a share can otherwise reach past 100 %.
    """
    from scipy import stats

    v = np.asarray(values, dtype=float)
    if v.size < 2:
        raise SernetError(f"mean_interval needs >= 2 values, got {v.size}")
    m, se = float(v.mean()), float(v.std(ddof=1) / np.sqrt(v.size))
    if se == 0:
        return Interval(m, m, m, confidence, f"t over {v.size} seeds (no variance)", int(v.size))
    low, high = stats.t.interval(confidence, v.size - 1, loc=m, scale=se)
    if bounds is not None:
        low, high = max(low, bounds[0]), min(high, bounds[1])
    return Interval(m, float(low), float(high), confidence, f"t over {v.size} seeds", int(v.size))


# ---------------------------------------------------------------------------------------------- rules
def _direction(delta: float, paper: float | None) -> str:
    word = "higher" if delta > 0 else "lower"
    if paper is None or not np.isfinite(paper) or paper == 0:
        return word
    return f"{word}, as in the paper" if np.sign(paper) == np.sign(delta) else f"{word}, unlike the paper"


def difference_verdict(claim: str, interval: Interval, *, measure: str = "UAR", paper: float | None = None,
                       unit: str = "points") -> Verdict:
    """An effect when the interval of the difference excludes 0; its direction against the paper's."""
    pct = round(100 * interval.confidence)
    rule = f"an effect when the {pct} % CI of the difference excludes 0"
    outcome = WITHIN_NOISE if interval.contains(0.0) else _direction(interval.estimate, paper)
    return Verdict(claim, interval, outcome, rule, measure, unit, paper)


def combined_difference(claim: str, seeds: Interval, speakers: Interval, *, measure: str = "UAR",
                        paper: float | None = None, unit: str = "points") -> Verdict:
    """An effect only when the seed-level and the speaker-level intervals both exclude 0 on the same side.

    ``seeds`` is :func:`welch_interval` of the per-seed metrics; ``speakers`` the paired speaker bootstrap
    (:func:`sernet.analysis.bootstrap.paired_difference`) of the seed-mean metric. The verdict reports the
    wider of the two as its interval and keeps the other in ``extra``.
    """
    pct = round(100 * seeds.confidence)
    rule = (f"an effect when both the {pct} % Welch CI over seeds and the {pct} % paired speaker-bootstrap "
            "CI exclude 0 on the same side")
    same_side = (seeds.low > 0 and speakers.low > 0) or (seeds.high < 0 and speakers.high < 0)
    outcome = _direction(seeds.estimate, paper) if same_side else WITHIN_NOISE
    main, other = (seeds, speakers) if seeds.half_width >= speakers.half_width else (speakers, seeds)
    return Verdict(claim, main, outcome, rule, measure, unit, paper, True, (other,))


def threshold_verdict(claim: str, interval: Interval, threshold: float, *, name: str, measure: str = "UAR",
                      unit: str = "%", paper: float | None = None) -> Verdict:
    """``above <name>`` / ``below <name>`` when the interval lies on one side of ``threshold``."""
    pct = round(100 * interval.confidence)
    rule = f"above or below {name} when the whole {pct} % CI lies on one side of it"
    if interval.low > threshold:
        outcome = f"above {name}"
    elif interval.high < threshold:
        outcome = f"below {name}"
    else:
        outcome = f"not distinguishable from {name}"
    return Verdict(claim, interval, outcome, rule, measure, unit, paper, difference=False)


def verdict_table(verdicts: Iterable[Verdict], *, decimals: int = 1) -> pd.DataFrame:
    """One row per verdict: estimate, interval, the paper's value and the outcome (for display)."""
    rows = []
    for v in verdicts:
        i = v.interval
        rows.append({"claim": v.claim, "measure": v.measure, "estimate": round(i.estimate, decimals),
                     "CI low": round(i.low, decimals), "CI high": round(i.high, decimals),
                     "paper": np.nan if v.paper is None else v.paper, "outcome": v.outcome})
    return pd.DataFrame(rows).set_index("claim")
