"""The label-efficiency study of self-supervised pre-training (Chapter 11, ``sernet pretrain``): the
unlabelled corpus, the cached pre-training run, fine-tuning and training from scratch on fractions of the
labels over seeds, and the verdicts on their difference.

Pre-training itself is :mod:`sernet.train.pretrain`; fine-tuning is :func:`sernet.train.train` with
``init=`` the pre-training run (weights copied by layer name). Every run is cached under ``$SERNET_HOME``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from sernet import artifacts, workspace
from sernet.config import Config, override
from sernet.train.pretrain import PretrainResult, label_fraction_store, pretrain, pretrain_key
from sernet.train.run_dir import RunDir


def pretrain_run_path(cfg: Config, store=None) -> Path:
    """``$SERNET_HOME/runs/pretrain-seed<seed>-<key>``."""
    return workspace.runs_dir(cfg) / f"pretrain-seed{cfg.train.seed}-{pretrain_key(cfg, store)}"


def unlabelled_config(cfg: Config) -> Config:
    """The config of the unlabelled corpus: ``cfg`` itself for a prepared corpus (``data_root``) or
    ``pretrain.corpus_factor = 0``; else a synthetic corpus of ``corpus_factor`` times the utterances and
    speakers, drawn with ``pretrain.corpus_seed``."""
    p = cfg.pretrain
    if cfg.data_root or p.corpus_factor == 0:
        return cfg
    return override(cfg, {"synth.n_utterances": cfg.synth.n_utterances * p.corpus_factor,
                          "synth.n_speakers": cfg.synth.n_speakers * p.corpus_factor, "synth.seed": p.corpus_seed})


def unlabelled_store(cfg: Config, *, workers: int | None = None):
    """The feature store pre-training reads (see :func:`unlabelled_config`; built and cached on first use)."""
    return workspace.feature_store(unlabelled_config(cfg), workers=workers)



def run_or_load_pretrain(cfg: Config, store=None) -> PretrainResult:
    """Pre-train on :func:`unlabelled_store` (or ``store``) under :func:`pretrain_run_path`, or load it."""
    store = store if store is not None else unlabelled_store(cfg)
    return pretrain(cfg, store, pretrain_run_path(cfg, store), resume=True)



def _efficiency_dir(cfg: Config, init: str, fraction: float, pretrain_dir: Path | None) -> Path:
    from sernet.analysis import runs

    base = None if pretrain_dir is None else artifacts.file_sha256(RunDir(pretrain_dir).model_file)
    key = artifacts.key({"run": runs.run_key(cfg), "fraction": fraction, "init": init, "pretrained_model_sha256": base})
    return (workspace.runs_dir(cfg) / "label-efficiency"
            / f"{init}-f{fraction:g}-seed{cfg.train.seed}-{key}")


def label_efficiency(cfg: Config, store, pretrain_dir: str | Path, *, fractions=None, seeds=None,
                     verbose: int = 0) -> pd.DataFrame:
    """Train from scratch and fine-tune from ``pretrain_dir`` on each label fraction and seed (cached runs).

    Parameters
    ----------
    cfg : Config
        The labelled run's config; fractions and seeds default to ``cfg.pretrain.label_fractions`` and
        ``cfg.pretrain.seeds``. Training from scratch on all labels is the cached run of
        :func:`sernet.analysis.runs.run_or_load` (Chapter 5's run for the smoke seeds).
    store : FeatureStore
        The labelled corpus.
    pretrain_dir : path
        A finished :func:`pretrain` run (its ``model.keras`` initialises the fine-tuned runs).

    Returns
    -------
    pandas.DataFrame
        One row per (init, fraction, seed): ``init`` ("scratch" / "pretrained"), ``fraction``, ``seed``,
        ``labelled`` (train utterances with labels), ``test_uar``, ``run_dir``.
    """
    from sernet.analysis import runs
    from sernet.train import train

    fractions = cfg.pretrain.label_fractions if fractions is None else tuple(fractions)
    seeds = cfg.pretrain.seeds if seeds is None else tuple(seeds)
    pretrain_dir = Path(pretrain_dir)
    rows = []
    for seed in seeds:
        scfg = override(cfg, {"train.seed": int(seed)})
        for fraction in fractions:
            sub = label_fraction_store(store, fraction, seed)
            for init in ("scratch", "pretrained"):
                if init == "scratch" and fraction == 1:
                    result = runs.run_or_load(scfg, store, verbose=verbose)
                else:
                    run_dir = _efficiency_dir(scfg, init, fraction, pretrain_dir if init == "pretrained" else None)
                    result = train(scfg, sub, run_dir, verbose=verbose,
                                   init=pretrain_dir if init == "pretrained" else None)
                rows.append({"init": init, "fraction": float(fraction), "seed": int(seed),
                             "labelled": int(len(sub.split_indices("train"))),
                             "test_uar": float(result.metrics["test"]["uar"]),
                             "run_dir": str(result.run_dir.path)})
    return pd.DataFrame(rows)


def test_predictions(run_dir: str | Path) -> pd.DataFrame:
    """A finished run's test predictions (``predictions.csv``), ordered by store row."""
    from sernet.train import RunDir

    pred = RunDir(run_dir).read_predictions()
    return pred[pred["split"] == "test"].sort_values("row").reset_index(drop=True)


def curve_table(cfg: Config, table: pd.DataFrame, store) -> pd.DataFrame:
    """:func:`label_efficiency`'s rows with each run's test UAR interval (speaker bootstrap of its test
    predictions: ``low``, ``high``, at ``cfg.analysis.confidence``), without the run directories: what the
    curve is drawn from and what a record keeps."""
    from sernet.analysis.bootstrap import metric_interval

    a = cfg.analysis
    speakers = np.asarray(store.speakers)
    rows = []
    for _, r in table.iterrows():
        p = test_predictions(r["run_dir"])
        classes = [c[len("prob_"):] for c in p.columns if c.startswith("prob_")]
        ci = metric_interval([classes.index(c) for c in p["true"]], [classes.index(c) for c in p["predicted"]],
                             speakers[p["row"].to_numpy()], n_classes=len(classes),
                             n_resamples=a.bootstrap_resamples, confidence=a.confidence, seed=a.bootstrap_seed)
        rows.append({**r.drop("run_dir").to_dict(), "low": ci.low, "high": ci.high})
    return pd.DataFrame(rows)


def corpus_sizes(store) -> dict[str, int]:
    """Utterances per split and test speakers of a labelled corpus (a record's ``corpus``)."""
    sizes = {s: int(len(store.split_indices(s))) for s in ("train", "val", "test")}
    sizes["test_speakers"] = int(len(set(np.asarray(store.speakers)[store.split_indices("test")])))
    return sizes


def plot_curve(curve: pd.DataFrame, fractions, *, chance: float, reference: float | None = None,
               confidence: float = 0.95, ax=None):
    """The label-efficiency figure: test UAR (%) against the labelled share, one line per ``init``, the mean
    over seeds with the mean of the runs' speaker-bootstrap intervals; ``reference`` (UAR, 0-1) and
    ``chance`` as horizontal lines. Returns the axes."""
    import matplotlib.pyplot as plt

    if ax is None:
        _, ax = plt.subplots(figsize=(6.5, 4))
    for init, marker in (("scratch", "o"), ("pretrained", "s")):
        g = curve[curve["init"] == init].groupby("fraction")[["test_uar", "low", "high"]].mean()
        ax.errorbar(100 * g.index, 100 * g["test_uar"],
                    yerr=[100 * (g["test_uar"] - g["low"]), 100 * (g["high"] - g["test_uar"])],
                    marker=marker, capsize=3, label=init)
    if reference is not None:
        ax.axhline(100 * reference, color="grey", ls="--", label="from scratch, all labels (Chapter 5)")
    ax.axhline(100 * chance, color="grey", ls=":", label="chance")
    ax.set(xscale="log", xlabel="labelled share of the train split (%)", ylabel="test UAR (%)",
           title=f"label efficiency ({confidence:.0%} speaker-bootstrap intervals)")
    ax.set_xticks([100 * f for f in fractions], [f"{100 * f:g}" for f in fractions])
    ax.minorticks_off()
    ax.legend(fontsize=8)
    return ax


def efficiency_verdicts(cfg: Config, table: pd.DataFrame, store) -> list:
    """Per label fraction: pre-trained minus scratch test UAR (points), a verdict with intervals.

    With at least 2 seeds per arm the rule is :func:`sernet.analysis.verdicts.combined_difference` (Welch
    over seeds and the paired speaker bootstrap of the seed means must both exclude 0); with one seed, the
    paired speaker bootstrap alone (:func:`~sernet.analysis.verdicts.difference_verdict`).

    Parameters
    ----------
    cfg : Config
        ``analysis`` (confidence, resamples, bootstrap seed).
    table : pandas.DataFrame
        :func:`label_efficiency`'s rows.
    store : FeatureStore
        The labelled corpus (its test speakers are resampled).

    Returns
    -------
    list of Verdict
        In the order of the fractions.
    """
    from sernet.analysis.bootstrap import paired_difference
    from sernet.analysis.verdicts import combined_difference, difference_verdict, welch_interval

    a = cfg.analysis
    speakers_of = np.asarray(store.speakers)
    verdicts = []
    for fraction, group in table.groupby("fraction", sort=True):
        arms = {init: group[group["init"] == init].sort_values("seed") for init in ("pretrained", "scratch")}
        preds, y_true, rows = {}, None, None
        for init, g in arms.items():
            frames = [test_predictions(r) for r in g["run_dir"]]
            rows = frames[0]["row"].to_numpy()
            classes = [c[len("prob_"):] for c in frames[0].columns if c.startswith("prob_")]
            y_true = np.array([classes.index(c) for c in frames[0]["true"]])
            preds[init] = np.stack([[classes.index(c) for c in f["predicted"]] for f in frames])
        speakers = paired_difference(y_true, preds["pretrained"], preds["scratch"], speakers_of[rows],
                                     n_classes=len(classes), n_resamples=a.bootstrap_resamples,
                                     confidence=a.confidence, seed=a.bootstrap_seed).scaled(100)
        claim = f"pre-trained vs from scratch, {fraction:.0%} of the labels"
        u_pre, u_scr = arms["pretrained"]["test_uar"], arms["scratch"]["test_uar"]
        if len(u_pre) >= 2 and len(u_scr) >= 2:
            seeds = welch_interval(100 * u_pre.to_numpy(), 100 * u_scr.to_numpy(), confidence=a.confidence)
            verdicts.append(combined_difference(claim, seeds, speakers))
        else:
            verdicts.append(difference_verdict(claim, speakers))
    return verdicts
