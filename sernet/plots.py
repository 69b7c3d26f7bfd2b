"""Shared figures (matplotlib + seaborn): confusion heatmap, learning curves, LR schedule, ablation deltas,
attention over waveform / spectrogram / F0.

Every function draws into ``ax`` (or a new figure) and returns the figure, so chapters stay one line per
figure and ``sernet reproduce`` saves the same figures into its report folder.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd


def _plt():
    import matplotlib.pyplot as plt

    return plt


def _axes(ax, figsize):
    plt = _plt()
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize)
    return ax.figure, ax


def confusion_heatmap(confusion: pd.DataFrame, *, ax=None, title: str = "", highlight: Sequence[tuple[str, str]] = (),
                      fmt: str = ".2f"):
    """A row-normalised confusion matrix (``sernet.analysis.metrics.confusion_frame(m, normalize=True)``) as a heatmap.

    ``highlight`` pairs (true, predicted) get a box, both ways (the paper's §5.2 pairs).
    """
    import seaborn as sns

    fig, ax = _axes(ax, (7, 6))
    sns.heatmap(confusion, annot=True, fmt=fmt, cmap="Blues", vmin=0, vmax=1, square=True, cbar=False, ax=ax,
                annot_kws={"size": 8})
    names = list(confusion.index)
    for a, b in highlight:
        for i, j in ((names.index(a), names.index(b)), (names.index(b), names.index(a))):
            ax.add_patch(_plt().Rectangle((j, i), 1, 1, fill=False, edgecolor="crimson", lw=2))
    ax.set_xlabel("predicted")
    ax.set_ylabel("true")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def learning_curves(history: pd.DataFrame, *, best_epoch: int | None = None, title: str = ""):
    """Training loss and validation UAR / WAR per epoch (``run_dir/history.csv``)."""
    plt = _plt()
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(10, 3.5))
    a1.plot(history["epoch"], history["loss"], marker="o", label="training loss")
    a1.set_xlabel("epoch")
    a1.set_ylabel("loss")
    a1.legend()
    for col, label in (("val_uar", "validation UAR"), ("val_war", "validation WAR"), ("accuracy",
                                                                                       "training accuracy")):
        if col in history:
            a2.plot(history["epoch"], history[col], marker="o", label=label)
    if best_epoch:
        a2.axvline(best_epoch, color="grey", ls="--", lw=1, label=f"best epoch ({best_epoch})")
    a2.set_xlabel("epoch")
    a2.set_ylim(0, 1)
    a2.legend(fontsize=8)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def lr_schedule(steps: np.ndarray, rates: np.ndarray, *, warmup_steps: int | None = None,
                steps_per_epoch: int | None = None, ax=None, title: str = "learning rate"):
    """The warmup + cosine schedule (``sernet.train.schedule.schedule_curve``)."""
    fig, ax = _axes(ax, (6, 3))
    ax.plot(steps, rates)
    if warmup_steps:
        ax.axvline(warmup_steps, color="grey", ls="--", lw=1, label=f"end of warmup ({warmup_steps} steps)")
        ax.legend()
    ax.set_xlabel("optimizer step" + (f" ({steps_per_epoch} per epoch)" if steps_per_epoch else ""))
    ax.set_ylabel("learning rate")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def ablation_deltas(summary: pd.DataFrame, *, ax=None, title: str = "", z: float = 2.0):
    """Our deltas to the reference (bars, ± ``z`` standard errors) beside the paper's (markers).

    ``summary`` comes from ``sernet.analysis.runs.summarize`` (the reference row is left out).
    """
    rows = summary.dropna(subset=["delta"])
    fig, ax = _axes(ax, (7, 3.5))
    y = np.arange(len(rows))
    ax.barh(y, rows["delta"], xerr=z * rows["delta_se"], color="tab:blue", alpha=0.7, capsize=4,
            label=f"ours (± {z:g} s.e. over seeds)")
    ax.scatter(rows["paper_delta"], y, color="crimson", marker="D", zorder=3, label="paper")
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, rows.index)
    ax.invert_yaxis()
    ax.set_xlabel("Δ UAR vs full model (percentage points)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def attention_panels(*, waveform: np.ndarray, sample_rate_hz: int, log_mel: np.ndarray, f0_hz: np.ndarray,
                     weights: np.ndarray, hop_s: float, silence_spans: Sequence[tuple[float, float]] = (),
                     accent_times: Sequence[float] = (), title: str = ""):
    """One utterance: waveform, log-mel spectrogram and F0, each with the attention weights over time.

    Parameters
    ----------
    log_mel : array [shape=(frames, mels)]
    f0_hz : array [shape=(frames,)]
        0 (or NaN) where unvoiced.
    weights : array [shape=(frames,)]
        Temporal attention weights of the frames (sum 1 over real frames).
    silence_spans, accent_times : seconds
        Ground truth of the synthetic corpus: shaded spans and dotted lines.
    """
    plt = _plt()
    fig, axes = plt.subplots(3, 1, figsize=(9, 6), sharex=True)
    t_wave = np.arange(len(waveform)) / sample_rate_hz
    t = np.arange(len(weights)) * hop_s
    axes[0].plot(t_wave, waveform, lw=0.4, color="grey")
    axes[0].set_ylabel("waveform")
    axes[1].imshow(log_mel.T, origin="lower", aspect="auto", cmap="magma",
                   extent=(0, log_mel.shape[0] * hop_s, 0, log_mel.shape[1]))
    axes[1].set_ylabel("mel band")
    f0 = np.where(np.asarray(f0_hz) > 0, f0_hz, np.nan)
    axes[2].plot(np.arange(len(f0)) * hop_s, f0, color="tab:green")
    axes[2].set_ylabel("F0 (Hz)")
    axes[2].set_xlabel("time (s)")
    for ax in axes:
        twin = ax.twinx()
        twin.fill_between(t, weights, color="tab:orange", alpha=0.35, step="mid")
        twin.set_yticks([])
        twin.set_ylim(0, max(float(np.max(weights)) * 1.1, 1e-9))
        for start, end in silence_spans:
            ax.axvspan(start, end, color="tab:blue", alpha=0.12)
        for a in accent_times:
            ax.axvline(a, color="black", ls=":", lw=0.8)
    axes[0].set_title(title + "  (orange: attention; blue: silence; dotted: accents)")
    fig.tight_layout()
    return fig
