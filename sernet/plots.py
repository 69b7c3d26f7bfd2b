"""Shared figures (matplotlib + seaborn): confusion heatmap, learning curves, LR schedule, ablation deltas,
attention over waveform / spectrogram / F0.

Every function draws into ``ax`` (or a new figure) and returns the figure, so chapters stay one line per
figure and ``sernet reproduce`` saves the same figures into its report folder.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

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
                      fmt: str = ".2f", counts: pd.DataFrame | None = None):
    """A row-normalised confusion matrix (``sernet.analysis.metrics.confusion_frame(m, normalize=True)``) as a heatmap.

    ``highlight`` pairs (true, predicted) get a box, both ways (the paper's §5.2 pairs). ``counts`` (the
    un-normalised matrix) adds each cell's utterance count under its rate, and each true class's total to
    its row label, so a rate that rests on two utterances reads as such.
    """
    import seaborn as sns

    fig, ax = _axes(ax, (7.5, 6.5))
    names = list(confusion.index)
    annot: Any = True
    if counts is not None:
        c = counts.reindex(index=confusion.index, columns=confusion.columns).fillna(0).astype(int)
        annot = np.array([[f"{confusion.iat[i, j]:{fmt}}\n({c.iat[i, j]})" for j in range(len(names))]
                          for i in range(len(names))])
        fmt = ""
        rows = [f"{n} (n={int(c.loc[n].sum())})" for n in names]
    else:
        rows = names
    sns.heatmap(confusion, annot=annot, fmt=fmt, cmap="Blues", vmin=0, vmax=1, square=True, ax=ax,
                annot_kws={"size": 7}, cbar_kws={"label": "share of the true class", "shrink": 0.8},
                yticklabels=rows)
    for a, b in highlight:
        if a not in names or b not in names:  # a pair outside the corpus's label set
            continue
        for i, j in ((names.index(a), names.index(b)), (names.index(b), names.index(a))):
            ax.add_patch(_plt().Rectangle((j, i), 1, 1, fill=False, edgecolor="crimson", lw=2))
    ax.set_xticklabels(ax.get_xticklabels(), rotation=45, ha="right")
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


def ablation_deltas(summary: pd.DataFrame, *, ax=None, title: str = ""):
    """Our deltas to the reference (bars with their Welch interval over seeds) beside the paper's (markers).

    ``summary`` comes from ``sernet.analysis.ablations.summarize`` (the reference row is left out).
    """
    rows = summary.dropna(subset=["delta"])
    fig, ax = _axes(ax, (7, 3.5))
    y = np.arange(len(rows))
    err = np.vstack([rows["delta"] - rows["delta_low"], rows["delta_high"] - rows["delta"]])
    ax.barh(y, rows["delta"], xerr=np.nan_to_num(err), color="tab:blue", alpha=0.7, capsize=4,
            label="ours (95 % Welch interval over seeds)")
    ax.scatter(rows["paper_delta"], y, color="crimson", marker="D", zorder=3, label="paper")
    ax.axvline(0, color="black", lw=1)
    ax.set_yticks(y, rows.index)
    ax.invert_yaxis()
    ax.set_xlabel("Δ UAR vs full model (percentage points)")
    ax.set_title(title)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.2), ncol=2, frameon=False)
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
    uniform = 1.0 / max(len(weights), 1)
    for k, ax in enumerate(axes):
        twin = ax.twinx()
        twin.fill_between(t, weights, color="tab:orange", alpha=0.35, step="mid")
        twin.axhline(uniform, color="tab:orange", ls="--", lw=0.8)
        twin.set_ylim(0, max(float(np.max(weights)) * 1.1, 1e-9))
        if k == 1:
            twin.set_ylabel("attention α")
        else:
            twin.set_yticks([])
        for start, end in silence_spans:
            ax.axvspan(start, end, color="tab:blue", alpha=0.12)
        for a in accent_times:
            ax.axvline(a, color="black", ls=":", lw=0.8)
    window_end = len(weights) * hop_s
    axes[0].axvline(0, color="crimson", lw=1)
    axes[0].axvline(window_end, color="crimson", lw=1)
    axes[0].set_title(title + "\n(orange: attention, dashed: uniform 1/T; blue: silence; dotted: accents; "
                      "red: the model's input window)", fontsize=9)
    fig.tight_layout()
    return fig


def class_colours(classes: Sequence[str]) -> dict[str, tuple]:
    """One colour per class (tab10 without its grey and, past 9 classes, husl), none black or grey, so an
    estimate drawn in black and a reference drawn in grey never share a colour with a class."""
    import seaborn as sns

    tab = [c for i, c in enumerate(sns.color_palette("tab10")) if i != 7]
    palette = tab if len(classes) <= len(tab) else sns.color_palette("husl", len(classes))
    return {c: palette[i] for i, c in enumerate(classes)}


def streaming_estimates(*, times_s: np.ndarray, estimate: np.ndarray, probabilities: np.ndarray,
                        truth: np.ndarray, sample_rate_hz: int, classes: Sequence[str], title: str = ""):
    """A stream's estimates over time against the truth, and its class probabilities.

    Parameters
    ----------
    times_s : array [shape=(emissions,)]
        Time of each emission (the end of its window), seconds.
    estimate : array of int [shape=(emissions,)]
        Index into ``classes`` of each emitted label; negative for a label outside them (``no_speech``).
    probabilities : array [shape=(emissions, classes)]
        Each emission's class probabilities (NaN rows allowed).
    truth : array of int [shape=(samples,)]
        The true class index of every audio sample.

    Top panel: the true emotion as thick bands in each class's colour (:func:`class_colours`), the
    streamed estimate as a black step line; bottom: one line per class in the same colours.
    """
    plt = _plt()
    colours = class_colours(classes)
    fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6), sharex=True, dpi=110)
    truth = np.asarray(truth)
    change = np.flatnonzero(np.diff(truth)) + 1
    starts, ends = np.r_[0, change], np.r_[change, len(truth)]
    for s, e in zip(starts, ends, strict=True):
        c = classes[int(truth[s])]
        ax1.hlines(int(truth[s]), s / sample_rate_hz, e / sample_rate_hz, colors=[colours[c]], lw=9, alpha=0.55)
    est = np.where(np.asarray(estimate) >= 0, estimate, np.nan).astype(float)
    (line,) = ax1.step(times_s, est, where="post", color="black", lw=1.5, label="streamed estimate (at window end)")
    ax1.plot(times_s, est, "k.", ms=4)
    ax1.set_yticks(range(len(classes)), classes)
    ax1.set_ylim(-0.6, len(classes) - 0.4)
    from matplotlib.patches import Patch

    band = Patch(color="lightgrey", label="true emotion (a band in its class's colour)")
    ax1.legend(handles=[band, line], loc="upper left", fontsize=8)
    if title:
        ax1.set_title(title)
    for i, c in enumerate(classes):
        ax2.plot(times_s, np.asarray(probabilities)[:, i], color=colours[c], label=c)
    ax2.set_xlabel("time (s)")
    ax2.set_ylabel("probability")
    ax2.set_ylim(0, 1)
    ax2.legend(ncol=4, fontsize=8)
    fig.tight_layout()
    return fig


# ------------------------------------------------------------------ Chapters 1-2: the corpus and its features
def annotated_heatmap(colour: pd.DataFrame, annot: pd.DataFrame | None = None, *, fmt: str = ".2f",
                      cmap: str = "RdBu_r", center: float | None = 0.0, vmin: float | None = None,
                      vmax: float | None = None, cbar_label: str = "", title: str = "", ax=None,
                      figsize: tuple[float, float] = (9, 4.5)):
    """A matrix (rows x columns) as a seaborn heatmap with a labelled colourbar, instead of a wall of numbers.

    ``colour`` sets the cell colours; ``annot`` (same shape, numbers or strings) is written in the cells
    (default: the colour values with ``fmt``). Use a diverging ``cmap`` with ``center`` for signed values.
    """
    import seaborn as sns

    fig, ax = _axes(ax, figsize)
    if annot is None:
        labels, text_fmt = True, fmt
    else:
        labels, text_fmt = annot.reindex(index=colour.index, columns=colour.columns).to_numpy(), ""
        if labels.dtype.kind != "O":
            labels = np.vectorize(lambda v: format(v, fmt))(labels)
    sns.heatmap(colour.astype(float), annot=labels, fmt=text_fmt, cmap=cmap, center=center, vmin=vmin, vmax=vmax,
                cbar_kws={"label": cbar_label}, annot_kws={"size": 8}, linewidths=0.5, ax=ax)
    ax.set_title(title)
    ax.set_xlabel("")
    ax.set_ylabel("")
    ax.tick_params(axis="x", rotation=45)
    for label in ax.get_xticklabels():
        label.set_horizontalalignment("right")
    fig.tight_layout()
    return fig


def utterance_comparison(utterances: Sequence[dict], *, sample_rate_hz: int, hop_s: float, dpi: int = 100):
    """Utterances side by side, one column each, every row on shared axes so they compare at a glance.

    Rows: the waveform (silence spans shaded grey, pitch-accent peaks red), the log-mel spectrogram (dB,
    one colour scale and colourbar for all) and the F0 contour (Hz); time in seconds.

    Parameters
    ----------
    utterances : sequence of dict
        Each with ``title``, ``y`` [shape=(samples,)], ``log_mel`` [shape=(frames, mels)], ``f0_times_s``
        and ``f0_hz`` [shape=(voiced frames,)], optionally ``silence_spans`` ([(start_s, end_s)]) and
        ``accent_times`` (s).
    """
    plt = _plt()
    n = len(utterances)
    fig, axes = plt.subplots(3, n, figsize=(5.5 * n, 6.5), dpi=dpi, sharex=True, sharey="row", squeeze=False,
                             constrained_layout=True)
    vmax = max(float(np.max(u["log_mel"])) for u in utterances)
    image = None
    for col, u in enumerate(utterances):
        y = np.asarray(u["y"])
        wave, mel, f0 = axes[:, col]
        wave.plot(np.arange(y.size) / sample_rate_hz, y, lw=0.4, color="tab:blue")
        for a, b in u.get("silence_spans", ()):
            wave.axvspan(a, b, color="0.85")
        for a in u.get("accent_times", ()):
            wave.axvline(a, color="tab:red", lw=0.8)
        wave.set_title(u["title"])
        log_mel = np.asarray(u["log_mel"])
        image = mel.imshow(log_mel.T, origin="lower", aspect="auto", cmap="magma", vmin=vmax - 80, vmax=vmax,
                           extent=(0, log_mel.shape[0] * hop_s, 0, log_mel.shape[1]))
        f0.plot(u["f0_times_s"], u["f0_hz"], ".", ms=2, color="tab:green")
        f0.set_xlabel("time (s)")
    axes[0, 0].set_ylabel("amplitude")
    axes[1, 0].set_ylabel("mel band")
    axes[2, 0].set_ylabel("true F0 (Hz)")
    fig.colorbar(image, ax=axes[1, :], label="power (dB)", pad=0.01)
    return fig


def feature_grid(rows: Sequence[dict], *, sample_rate_hz: int, hop_s: float, dpi: int = 100,
                 mfcc_limit: float = 3.0):
    """One utterance per row: waveform, log-mel spectrogram, z-scored MFCCs and F0 / energy, time in seconds.

    Parameters
    ----------
    rows : sequence of dict
        Each with ``label``, ``y`` [shape=(samples,)], ``log_mel`` [shape=(frames, mels)], ``mfcc_z``
        [shape=(frames, n_mfcc)], ``f0_st`` [shape=(frames,)] (NaN where unvoiced) and ``energy_db``
        [shape=(frames,)].
    mfcc_limit : float
        The MFCC colour scale spans ± this many standard deviations.

    The image columns share one colour scale each, shown by a colourbar under the column.
    """
    plt = _plt()
    fig, axes = plt.subplots(len(rows), 4, figsize=(13, 1.25 * len(rows) + 1.2), dpi=dpi, sharex=True,
                             squeeze=False, constrained_layout=True)
    vmax = max(float(np.max(r["log_mel"])) for r in rows)
    mel_image = mfcc_image = None
    for ax, r in zip(axes, rows, strict=True):
        y = np.asarray(r["y"])
        step = max(1, y.size // 4000)  # enough points for the envelope
        ax[0].plot(np.arange(0, y.size, step) / sample_rate_hz, y[::step], lw=0.3)
        ax[0].set_ylabel(r["label"])
        log_mel, mfcc_z = np.asarray(r["log_mel"]), np.asarray(r["mfcc_z"])
        end = log_mel.shape[0] * hop_s
        mel_image = ax[1].imshow(log_mel.T, origin="lower", aspect="auto", cmap="magma", vmin=vmax - 80, vmax=vmax,
                                 extent=(0, end, 0, log_mel.shape[1]))
        mfcc_image = ax[2].imshow(mfcc_z.T, origin="lower", aspect="auto", cmap="coolwarm", vmin=-mfcc_limit,
                                  vmax=mfcc_limit, extent=(0, end, 0, mfcc_z.shape[1]))
        t = np.arange(log_mel.shape[0]) * hop_s
        ax[3].plot(t, r["f0_st"], ".", ms=2, color="C3")
        ax[3].set_ylim(0, 40)
        ax[3].twinx().plot(t, r["energy_db"], lw=0.6, color="C0")
    titles = ["waveform", f"log-mel ({np.asarray(rows[0]['log_mel']).shape[1]} bands)",
              f"MFCC 0-{np.asarray(rows[0]['mfcc_z']).shape[1] - 1} (z-scored)", "F0 (st, red) / energy (dB, blue)"]
    for ax, title in zip(axes[0], titles, strict=True):
        ax.set_title(title)
    for ax in axes[-1]:
        ax.set_xlabel("time (s)")
    fig.colorbar(mel_image, ax=axes[:, 1], location="bottom", label="power (dB)", shrink=0.9)
    fig.colorbar(mfcc_image, ax=axes[:, 2], location="bottom", label="standard deviations", shrink=0.9)
    return fig


def real_time_factors(rtf: pd.Series, *, target: float | None = None, ax=None, title: str = ""):
    """Real-time factors (x real time) per stage as points on a log axis, with an optional target line."""
    fig, ax = _axes(ax, (6, 0.45 * len(rtf) + 1.4))
    y = np.arange(len(rtf))
    ax.scatter(rtf.to_numpy(dtype=float), y, color="tab:blue", zorder=3)  # points, not bars: a log axis has no 0
    ax.grid(axis="x", which="both", lw=0.3, alpha=0.5)
    ax.set_xscale("log")
    from matplotlib.ticker import FuncFormatter

    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    ax.xaxis.set_minor_formatter(FuncFormatter(  # label 2x and 5x of each decade only
        lambda v, _: f"{v:g}" if v > 0 and round(v / 10 ** np.floor(np.log10(v))) in (2, 5) else ""))
    ax.set_yticks(y, list(rtf.index))
    ax.invert_yaxis()
    if target is not None:
        ax.axvline(target, color="k", ls="--", lw=0.8, label=f"target ({target:g}x)")
        ax.legend(fontsize=8)
    ax.set_xlabel("x real time (log scale)")
    ax.set_title(title)
    fig.tight_layout()
    return fig


def load_curve(rows: Sequence[dict], *, offline_rps: float | None = None, title: str = ""):
    """A server's load curve: answered requests per second and p50/p95 latency against concurrent clients.

    ``rows`` are :func:`sernet.bench.serve.summarize` rows (``clients``, ``throughput_rps``, ``p50_ms``,
    ``p95_ms``); ``offline_rps`` draws the offline batched predictor's clips per second for comparison.
    """
    plt = _plt()
    clients = [r["clients"] for r in rows]
    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    a.plot(clients, [r["throughput_rps"] for r in rows], "o-", label="served")
    if offline_rps is not None:
        a.axhline(offline_rps, color="k", ls="--", lw=0.8, label="offline batched predictor")
    a.set_xlabel("concurrent clients")
    a.set_ylabel("answered requests / s")
    a.set_ylim(bottom=0)
    a.legend(fontsize=8)
    for key, style in (("p50_ms", "o-"), ("p95_ms", "s--")):
        b.plot(clients, [r[key] for r in rows], style, label=key.split("_")[0])
    b.set_xlabel("concurrent clients")
    b.set_ylabel("latency (ms)")
    b.set_ylim(bottom=0)
    b.legend(fontsize=8)
    for ax in (a, b):
        ax.set_xticks(clients)
        ax.grid(lw=0.3, alpha=0.5)
    fig.suptitle(title)
    fig.tight_layout()
    return fig


def bars_with_spread(mean: pd.DataFrame, spread: pd.DataFrame, *, chance: float | None = None, ax=None,
                     ylabel: str = "", title: str = "", spread_label: str = "± 1 s.d. over seeds"):
    """Grouped bars (rows of ``mean`` = groups on the x axis, columns = one bar each) with error bars.

    ``spread`` has the shape of ``mean`` (e.g. the standard deviation over seeds); ``chance`` draws a
    dashed reference line (e.g. ``1 / n_classes`` for recall and UAR).
    """
    fig, ax = _axes(ax, (7.5, 3.5))
    mean.plot.bar(yerr=spread.loc[mean.index, mean.columns], capsize=3, ax=ax, rot=0, width=0.8,
                  error_kw={"elinewidth": 1})
    if chance is not None:
        ax.axhline(chance, color="k", ls="--", lw=1, label=f"chance ({chance:.3g})")
    ax.set_ylabel(ylabel)
    ax.set_xlabel("")
    ax.set_title(title)
    handles, labels = ax.get_legend_handles_labels()
    ax.legend(handles, labels, fontsize=8, title=spread_label, title_fontsize=8, loc="upper left",
              bbox_to_anchor=(1.01, 1.0))
    fig.tight_layout()
    return fig


def reliability_diagram(tables: dict[str, pd.DataFrame], *, ax=None, title: str = "Reliability"):
    """Accuracy against confidence per bin, one line per model (``sernet.losses.reliability_table``).

    Marker area follows the bin's share of predictions; the diagonal is perfect calibration (points above
    it: under-confident, below: over-confident).
    """
    fig, ax = _axes(ax, (4.8, 4.5))
    ax.plot([0, 1], [0, 1], color="grey", ls="--", lw=1, label="calibrated")
    for i, (name, table) in enumerate(tables.items()):
        share = table["count"] / table["count"].sum()
        ax.plot(table["confidence"], table["accuracy"], color=f"C{i}", lw=1.2, label=name)
        ax.scatter(table["confidence"], table["accuracy"], s=600 * share, color=f"C{i}", alpha=0.6, zorder=3)
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top-class probability)", ylabel="accuracy",
           title=title, aspect="equal")
    ax.legend(fontsize=8, loc="upper left")
    fig.tight_layout()
    return fig


def compact_png(fig, *, colours: int = 128, close: bool = True) -> bytes:
    """The figure as a palette PNG of ``colours`` colours (about a third of a full-colour PNG's bytes).

    For image-heavy figures (spectrograms, feature grids) in committed notebooks:
    ``IPython.display.Image(plots.compact_png(fig))``. Closes the figure unless ``close=False``.
    """
    import io

    from PIL import Image

    buf = io.BytesIO()
    fig.savefig(buf, format="png", bbox_inches="tight")
    if close:
        _plt().close(fig)
    image = Image.open(io.BytesIO(buf.getvalue())).convert("RGB")
    out = io.BytesIO()
    image.quantize(colors=colours, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE).save(
        out, format="PNG", optimize=True)
    return out.getvalue()


def verdict_intervals(verdicts: Sequence, *, ax=None, title: str = "", xlabel: str = "",
                      reference: float | None = 0.0, show_paper: bool = True):
    """Each verdict's estimate with its interval (``sernet.analysis.verdicts.Verdict``), the paper's value
    beside it (diamonds), colour by outcome; the legend sits below the axes, clear of the bars."""
    fig, ax = _axes(ax, (7.5, 0.5 * len(verdicts) + 1.8))
    y = np.arange(len(verdicts))
    for i, v in enumerate(verdicts):
        iv = v.interval
        colour = "tab:grey" if "noise" in v.outcome or "not distinguishable" in v.outcome else "tab:blue"
        ax.errorbar(iv.estimate, i, xerr=[[iv.estimate - iv.low], [iv.high - iv.estimate]], fmt="o",
                    color=colour, capsize=4, lw=2)
    if show_paper:
        papers = [np.nan if v.paper is None else v.paper for v in verdicts]
        ax.scatter(papers, y, color="crimson", marker="D", zorder=3, label="paper")
    if reference is not None:
        ax.axvline(reference, color="black", lw=1)
    ax.set_yticks(y, [v.claim for v in verdicts])
    ax.invert_yaxis()
    ax.set_xlabel(xlabel or f"{verdicts[0].measure} ({verdicts[0].unit})" if verdicts else xlabel)
    ax.errorbar([], [], xerr=[], fmt="o", color="tab:blue", label="ours: effect (interval)")
    ax.errorbar([], [], xerr=[], fmt="o", color="tab:grey", label="ours: within noise")
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.25), ncol=3, frameon=False)
    ax.set_title(title)
    fig.tight_layout()
    return fig


def learning_curves_over_seeds(histories: Mapping[int, pd.DataFrame], *, best_epochs: Mapping[int, int] | None = None,
                               title: str = "", ax=None):
    """Validation UAR per epoch of several seeds (one line each, best epoch marked), to see it flatten."""
    fig, ax = _axes(ax, (7, 3.5))
    for seed, h in histories.items():
        line, = ax.plot(h["epoch"], h["val_uar"], marker=".", label=f"seed {seed}")
        if best_epochs and seed in best_epochs:
            b = best_epochs[seed]
            ax.plot([b], h.loc[h["epoch"] == b, "val_uar"], marker="*", ms=12, color=line.get_color())
    ax.set_xlabel("epoch")
    ax.set_ylabel("validation UAR")
    ax.set_ylim(0, 1)
    ax.legend(fontsize=8, title="★ best epoch", title_fontsize=8)
    ax.set_title(title)
    fig.tight_layout()
    return fig
