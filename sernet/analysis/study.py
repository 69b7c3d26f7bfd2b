"""The powered study record: the paper's Table 4.3 / 4.4 grid, §5.1-5.3 and the cross-corpus pair over seeds.

``sernet study`` trains every run of the grid (the ablations of Table 4.4, the baselines of Table 4.3 and the
eGeMAPS + SVM row a practitioner would try first) over ``train.ablation_seeds``, the second synthetic corpus
of Chapter 9 over the same seeds, and then *collects*: every verdict computed from the runs' predictions with
its interval and rule, written to ``results/<name>.json`` with a Markdown rendering generated from it.

The same functions serve the chapters' live smoke runs (``claims_from_runs``), so a chapter shows the smoke
grid beside the record and draws its verdicts on the paper's claims from the record, whose numbers are read
back exactly on every machine.

Scaling out: ``sernet study --shard i/N`` trains every N-th run (one Slurm-array task each, after one
``sernet study --step prepare``), then ``sernet study --step collect`` writes the record.

Examples
--------
>>> from sernet.analysis import study
>>> sorted(study.VARIANTS)[:3]
['Baseline CNN', 'CNN-LSTM', 'Full Model']
>>> study.TABLE_4_3_ROWS["SER-Net"]
'Full Model'
"""

from __future__ import annotations

import dataclasses
import json
import os
import platform
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sernet import paper, workspace
from sernet.analysis import bootstrap, runs
from sernet.analysis.bootstrap import Interval
from sernet.analysis.verdicts import (
    Verdict,
    combined_difference,
    difference_verdict,
    mean_interval,
    threshold_verdict,
    welch_interval,
)
from sernet.config import Config, override
from sernet.labels import EMOTIONS

RECORD_VERSION = 1
RESULTS_DIR = Path(__file__).resolve().parents[2] / "results"

SVM = "eGeMAPS + SVM"
VARIANTS: dict[str, dict[str, Any]] = {
    **runs.ABLATIONS,
    **{k: v for k, v in runs.BASELINES.items() if k != "SER-Net"},
    SVM: {"model.architecture": "egemaps_svm"},
}
"""Every run of the grid: Table 4.4's rows (``Full Model`` is SER-Net), Table 4.3's baselines, eGeMAPS + SVM."""

TABLE_4_3_ROWS = {"Baseline CNN": "Baseline CNN", "LSTM": "LSTM", "CNN-LSTM": "CNN-LSTM", "SER-Net": "Full Model",
                  SVM: SVM}
"""Table 4.3's model names -> the grid's variant names."""


# ------------------------------------------------------------------------------------------------ runs
@dataclass
class RunSet:
    """The finished runs of one variant over seeds, with their test predictions aligned utterance by utterance.

    ``preds`` [shape=(seeds, n)] and ``y_true`` [shape=(n,)] are class indices; ``groups`` the speakers.
    """

    name: str
    seeds: list[int]
    results: list[Any]
    y_true: np.ndarray
    preds: np.ndarray
    groups: np.ndarray
    classes: tuple[str, ...] = EMOTIONS

    def metric(self, name: str = "uar") -> np.ndarray:
        """Per-seed test metric (fractions)."""
        return np.array([r.metrics["test"][name] for r in self.results])


def load_runset(cfg: Config, store, name: str, overrides: Mapping[str, Any], seeds: Sequence[int], *,
                split: str = "test") -> RunSet:
    """Load the finished runs of ``name`` (no training; see :func:`sernet.analysis.runs.load_finished`)."""
    classes = tuple(getattr(store, "classes", EMOTIONS))
    results, preds, y_true, rows = [], [], None, None
    for seed in seeds:
        result = runs.load_finished(override(cfg, {**overrides, "train.seed": int(seed)}))
        p = result.run_dir.read_predictions()
        p = p[p["split"] == split].sort_values("row")
        if rows is None:
            rows = p["row"].to_numpy()
            y_true = np.array([classes.index(v) for v in p["true"]])
        preds.append(np.array([classes.index(v) for v in p["predicted"]]))
        results.append(result)
    groups = store.index["speaker"].astype(str).to_numpy()[rows]
    return RunSet(name, [int(s) for s in seeds], results, y_true, np.stack(preds), groups, classes)


def _boot(cfg: Config, rs: RunSet) -> dict[str, Any]:
    a = cfg.analysis
    return {"n_resamples": a.bootstrap_resamples, "confidence": a.confidence, "seed": a.bootstrap_seed,
            "n_classes": len(rs.classes)}


def level(rs: RunSet, cfg: Config, metric: str = "uar") -> dict[str, Interval]:
    """A model's level: the seed-mean metric with a t interval over seeds and a speaker-bootstrap interval."""
    values = 100 * rs.metric(metric)
    speakers = bootstrap.seed_mean_interval(rs.y_true, rs.preds, rs.groups, metric=metric, **_boot(cfg, rs))
    seeds = mean_interval(values, confidence=cfg.analysis.confidence) if len(values) > 1 else \
        Interval(float(values[0]), float(values[0]), float(values[0]), cfg.analysis.confidence, "one seed", 1)
    return {"seeds": seeds, "speakers": speakers.scaled(100)}


def compare(a: RunSet, b: RunSet, cfg: Config, *, claim: str, paper_delta: float | None = None,
            metric: str = "uar") -> Verdict:
    """``a − b`` in points, by the combined rule (Welch over seeds and paired speaker bootstrap)."""
    speakers = bootstrap.paired_difference(a.y_true, a.preds, b.preds, a.groups, metric=metric,
                                           **_boot(cfg, a)).scaled(100)
    va, vb = 100 * a.metric(metric), 100 * b.metric(metric)
    if np.var(va) > 0 and np.var(vb) > 0:
        seeds = welch_interval(va, vb, confidence=cfg.analysis.confidence)
    else:  # one system is deterministic (the SVM): a one-sample t interval of the per-seed differences
        seeds = mean_interval(va - vb, confidence=cfg.analysis.confidence)
    return combined_difference(claim, seeds, speakers, measure=metric.upper().replace("MACRO_F1", "macro-F1"),
                               paper=paper_delta)


# ------------------------------------------------------------------------------------------ the claims
def chance_verdict(rs: RunSet, cfg: Config, *, claim: str = "SER-Net vs chance") -> Verdict:
    lv = level(rs, cfg)["speakers"]
    n_classes = len(np.unique(rs.y_true))
    return threshold_verdict(claim, lv, 100.0 / n_classes, name="chance")


def table_4_3(sets: Mapping[str, RunSet], cfg: Config) -> dict[str, Any]:
    """Table 4.3: each model's UAR / WAR / macro-F1 (seed mean, intervals) and its difference to SER-Net."""
    ref = sets["Full Model"]
    rows, verdicts = [], []
    for model, variant in TABLE_4_3_ROWS.items():
        if variant not in sets:
            continue
        rs = sets[variant]
        row: dict[str, Any] = {"model": model, "seeds": len(rs.seeds)}
        for metric, col in (("uar", "UAR"), ("war", "WAR"), ("macro_f1", "macro_F1")):
            lv = level(rs, cfg, metric)
            row[col] = lv["speakers"].estimate
            row[f"{col}_low"], row[f"{col}_high"] = lv["speakers"].low, lv["speakers"].high
            row[f"{col}_seed_sd"] = float(np.std(100 * rs.metric(metric), ddof=1)) if len(rs.seeds) > 1 else 0.0
            row[f"paper_{col}"] = paper.TABLE_4_3.get(model, (np.nan,) * 3)[["UAR", "WAR", "macro_F1"].index(col)]
        rows.append(row)
        if variant != "Full Model":
            p = paper.TABLE_4_3.get(model)
            paper_delta = None if p is None else p[0] - paper.TABLE_4_3["SER-Net"][0]
            verdicts.append(compare(rs, ref, cfg, claim=f"{model} − SER-Net", paper_delta=paper_delta))
    return {"rows": rows, "verdicts": [v.to_dict() for v in verdicts],
            "chance": chance_verdict(ref, cfg).to_dict()}


def table_4_4(sets: Mapping[str, RunSet], cfg: Config) -> dict[str, Any]:
    """Table 4.4: each ablation's UAR change against the full model, with the paper's change beside."""
    ref = sets["Full Model"]
    verdicts = []
    for name in runs.ABLATIONS:
        if name == "Full Model" or name not in sets:
            continue
        paper_delta = paper.TABLE_4_4[name] - paper.TABLE_4_4["Full Model"]
        verdicts.append(compare(sets[name], ref, cfg, claim=name, paper_delta=paper_delta))
    return {"verdicts": [v.to_dict() for v in verdicts]}


def learning(sets: Mapping[str, RunSet]) -> dict[str, Any]:
    """Per variant: how many runs early stopping ended before the epoch cap, best epochs, validation curves."""
    out = {}
    for name, rs in sets.items():
        curves = [r.history["val_uar"].round(4).tolist() if "val_uar" in r.history else [] for r in rs.results]
        out[name] = {"stopped_early": int(sum(bool(r.metrics.get("stopped_early")) for r in rs.results)),
                     "runs": len(rs.results), "best_epochs": [int(r.metrics["best_epoch"]) for r in rs.results],
                     "epochs_run": [int(r.metrics["epochs_run"]) for r in rs.results], "val_uar_curves": curves}
    return out


def errors(rs: RunSet, cfg: Config, store) -> dict[str, Any]:
    """§5.3: for each cause, the error rate with it minus without it (points), t interval over seeds."""
    from sernet.analysis.errors import errors_by_cause, synthetic_causes

    causes = synthetic_causes(store.index, crop_s=cfg.features.window_s)
    per_seed = []
    for r in rs.results:
        p = r.run_dir.read_predictions()
        per_seed.append(errors_by_cause(p[p["split"] == "test"], causes))
    verdicts, shares = [], {}
    for cause in causes.columns:
        diffs = [t.loc[cause, "error_rate"] - t.loc[cause, "error_rate_without"] for t in per_seed]
        diffs = [d for d in diffs if np.isfinite(d)]
        if len(diffs) < 2:
            continue
        verdicts.append(difference_verdict(f"errors with '{cause}' − without", mean_interval(
            diffs, confidence=cfg.analysis.confidence), measure="error rate"))
        shares[cause] = {"share_of_errors": float(np.mean([t.loc[cause, "share_of_errors"] for t in per_seed])),
                         "utterances": int(per_seed[0].loc[cause, "n"]),
                         "paper_share": float(per_seed[0].loc[cause, "paper_share"])}
    return {"verdicts": [v.to_dict() for v in verdicts], "shares": shares}


def confusions(rs: RunSet, cfg: Config) -> dict[str, Any]:
    """§5.2: each paper pair's two-way confusion rate minus the mean off-diagonal rate, t interval over seeds."""
    from sernet.analysis.metrics import pair_confusions

    tables = [pair_confusions(r.metrics["test"]) for r in rs.results]
    verdicts, ranks = [], {}
    for pair in tables[0].index:
        excess = [100 * ((t.loc[pair, "a->b"] + t.loc[pair, "b->a"]) / 2 - t.loc[pair, "mean_off_diagonal"])
                  for t in tables]
        verdicts.append(difference_verdict(f"{pair} confusion − average pair", mean_interval(
            excess, confidence=cfg.analysis.confidence), measure="confusion rate"))
        ranks[pair] = [int(t.loc[pair, "rank"]) for t in tables]
    return {"verdicts": [v.to_dict() for v in verdicts], "ranks": ranks,
            "of_pairs": int(tables[0]["of_pairs"].iloc[0])}


def attention(rs: RunSet, cfg: Config, store) -> dict[str, Any]:
    """§5.1: per claim, the share of test utterances whose attention goes the claimed way (t over seeds), for
    the trained models and for the same architecture untrained (what the architecture does by itself)."""
    from sernet.analysis.attention import attention_checks, attention_claims, attention_frames
    from sernet.backend import keras
    from sernet.model import build_sernet

    rows = store.split_indices("test")
    if cfg.analysis.attention_utterances:
        rows = rows[: cfg.analysis.attention_utterances]
    shares: dict[str, dict[str, list[float]]] = {}
    for r, seed in zip(rs.results, rs.seeds, strict=True):
        keras().utils.set_random_seed(seed)
        untrained = build_sernet(override(cfg, {"train.seed": seed}))
        for kind, model in (("trained", r.load_model()), ("untrained", untrained)):
            claims = attention_claims(attention_checks(attention_frames(model, store, cfg, rows)))
            for claim, row in claims.iterrows():
                shares.setdefault(claim, {}).setdefault(kind, []).append(float(row["share_in_direction"]))
    verdicts = []
    for claim, kinds in shares.items():
        for kind, values in kinds.items():
            iv = mean_interval(100 * np.asarray(values), confidence=cfg.analysis.confidence, bounds=(0, 100))
            verdicts.append(threshold_verdict(f"{claim} ({kind})", iv, 50.0, name="half of utterances",
                                              measure="utterances in the claimed direction"))
    return {"verdicts": [v.to_dict() for v in verdicts], "utterances_per_run": int(len(rows))}


def cross_corpus(cfg: Config, seeds: Sequence[int]) -> dict[str, Any]:
    """Chapter 9's pair over seeds: UAR of each train -> test cell (source and target normalisation) and the
    in-corpus minus cross-corpus difference of each training corpus (paired by seed)."""
    from sernet.analysis.cross_corpus import cross_corpus_matrix, load_corpora

    corpora = load_corpora(cfg)
    cells: dict[str, dict[str, list[float]]] = {}
    for norm in ("source", "target"):
        for seed in seeds:
            res = cross_corpus_matrix(override(cfg, {"train.seed": int(seed), "cross.normalization": norm}),
                                      corpora=corpora)
            m = res.matrix("uar")
            for a in m.index:
                for b in m.columns:
                    cells.setdefault(norm, {}).setdefault(f"{a}->{b}", []).append(100 * float(m.loc[a, b]))
    names = list(corpora)
    verdicts = []
    for norm, table in cells.items():
        for a in names:
            for b in names:
                if a == b:
                    continue
                drop = np.subtract(table[f"{a}->{a}"], table[f"{a}->{b}"])
                verdicts.append(difference_verdict(f"trained on {a}: in-corpus − on {b} ({norm} normalisation)",
                                                   mean_interval(drop, confidence=cfg.analysis.confidence)))
    means = {norm: {k: mean_interval(v, confidence=cfg.analysis.confidence).to_dict() for k, v in t.items()}
             for norm, t in cells.items()}
    return {"corpora": names, "cells": means, "verdicts": [v.to_dict() for v in verdicts]}


def claims_from_runs(cfg: Config, store, seeds: Sequence[int], variants: Mapping[str, Mapping[str, Any]], *,
                     with_attention: bool = True) -> dict[str, Any]:
    """Every section of a record from finished runs of ``variants`` x ``seeds`` (no training)."""
    sets = {name: load_runset(cfg, store, name, ov, seeds) for name, ov in variants.items()}
    full = sets["Full Model"]
    out = {"table_4_3": table_4_3(sets, cfg), "table_4_4": table_4_4(sets, cfg), "learning": learning(sets),
           "confusions": confusions(full, cfg), "errors": errors(full, cfg, store),
           "runs": [runs.grid_row(name, seed, r) for name, rs in sets.items()
                    for seed, r in zip(rs.seeds, rs.results, strict=True)]}
    if with_attention:
        out["attention"] = attention(full, cfg, store)
    return out


# -------------------------------------------------------------------------------------- the whole study
def jobs(cfg: Config, store) -> list[tuple[str, Config, str | None]]:
    """Every training job of the study, in a fixed order (shards take every N-th)."""
    configs = runs.grid_configs(cfg, VARIANTS, cfg.train.ablation_seeds)
    neural = [("grid", c, str(store.path)) for name, _, c in configs if name != SVM]
    classic = [("grid", c, str(store.path)) for name, _, c in configs if name == SVM]
    cross = [("cross", override(cfg, {"train.seed": int(s)}), None) for s in cfg.train.ablation_seeds]
    return neural + classic + cross


def prepare(cfg: Config):
    """Corpora and feature caches of the study (idempotent; run once before the shards of an array job)."""
    from sernet.analysis.cross_corpus import load_corpora

    store = workspace.feature_store(cfg)
    load_corpora(cfg)
    return store


def train_all(cfg: Config, *, shard: tuple[int, int] | None = None, workers: int | None = None) -> int:
    """Train this shard's runs (finished runs are skipped); returns the number of jobs in the shard.

    Cross-corpus jobs train the second corpus's model only after the first corpus's (the grid's Full Model)
    has finished, so shards never train the same run directory at once: they come last in the job list and
    :func:`train_all` runs the grid jobs of its shard first.
    """
    store = prepare(cfg)
    mine = runs.take_shard(jobs(cfg, store), shard)
    grid = [j for j in mine if j[0] == "grid"]
    cross = [j for j in mine if j[0] == "cross"]
    n = cfg.train.grid_workers if workers is None else workers
    runs.execute(grid, workers=n, desc="study grid")
    for job in cross:  # the Full Model run of the job's seed first (no-op when another shard made it)
        runs.run_or_load(job[1], store)
    runs.execute(cross, workers=n, desc="study cross-corpus")
    return len(mine)


def machine() -> dict[str, Any]:
    """The machine and software the record was made on."""
    import importlib.metadata as md

    from sernet.backend import cpu_model

    cpu = cpu_model()
    versions = {}
    for pkg in ("numpy", "scipy", "scikit-learn", "tensorflow", "keras", "librosa", "praat-parselmouth",
                "opensmile", "pandas"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = None
    from sernet import __version__
    from sernet.backend import backend_name

    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": sys.version.split()[0], "sernet": __version__, "backend": backend_name(),
            "versions": versions}


def collect(cfg: Config, *, name: str = "study", command: str = "", wall_s: float | None = None,
            out_dir: str | Path = RESULTS_DIR) -> dict[str, Any]:
    """Compute every verdict from the finished runs and write ``<out_dir>/<name>.json`` and ``.md``."""
    from sernet.artifacts import atomic_write_text
    from sernet.train.run_dir import git_commit

    store = workspace.feature_store(cfg)
    seeds = list(cfg.train.ablation_seeds)
    t0 = time.perf_counter()
    record: dict[str, Any] = {
        "version": RECORD_VERSION, "name": name, "profile": cfg.profile, "command": command,
        "config_fingerprint": cfg.fingerprint(), "git_commit": git_commit(), "machine": machine(),
        "seeds": seeds, "date": time.strftime("%Y-%m-%d"),
        "corpus": {s: int(len(store.split_indices(s))) for s in ("train", "val", "test")} | {
            "test_speakers": int(store.index.loc[store.split_indices("test"), "speaker"].nunique())},
        **claims_from_runs(cfg, store, seeds, VARIANTS),
        "cross_corpus": cross_corpus(cfg, seeds),
    }
    record["wall_s"] = {"train": wall_s, "collect": round(time.perf_counter() - t0, 1)}
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out / f"{name}.json", json.dumps(record, indent=1, default=_json_default))
    atomic_write_text(out / f"{name}.md", markdown(record))
    return record


def _json_default(v: Any) -> Any:
    if isinstance(v, np.integer | np.floating):
        return v.item()
    if isinstance(v, np.ndarray):
        return v.tolist()
    if dataclasses.is_dataclass(v):
        return dataclasses.asdict(v)
    raise TypeError(type(v))


def write_record(cfg: Config, name: str, body: Mapping[str, Any], *, command: str = "",
                 wall_s: float | None = None, out_dir: str | Path = RESULTS_DIR) -> Path:
    """Write ``<out_dir>/<name>.json``: ``body`` under the header every record carries (profile, command, config
    fingerprint, git commit, machine, date, wall time), for the larger runs of a chapter's curve
    (``sernet pretrain --label-efficiency --record NAME``, ``sernet distill --compare --record NAME``).

    Returns the path; read it back with :func:`load_record`.
    """
    from sernet.artifacts import atomic_write_text
    from sernet.train.run_dir import git_commit

    record = {"version": RECORD_VERSION, "name": name, "profile": cfg.profile, "command": command,
              "config_fingerprint": cfg.fingerprint(), "git_commit": git_commit(), "machine": machine(),
              "date": time.strftime("%Y-%m-%d"), "wall_s": wall_s, **body}
    path = Path(out_dir) / f"{name}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps(record, indent=1, default=_json_default) + "\n")
    return path


def load_record(name: str = "study", *, results_dir: str | Path = RESULTS_DIR) -> dict[str, Any]:
    """A committed record (``results/<name>.json``)."""
    path = Path(results_dir) / f"{name}.json"
    if not path.exists():
        from sernet.errors import SernetError

        raise SernetError(f"{path}: no study record; make it with `sernet study --name {name}`")
    return json.loads(path.read_text())


def verdicts(section: Mapping[str, Any]) -> list[Verdict]:
    """The :class:`Verdict` objects of a record section."""
    return [Verdict.from_dict(d) for d in section.get("verdicts", [])]


# ---------------------------------------------------------------------------------------------- markdown
def markdown(record: Mapping[str, Any]) -> str:
    """The record as Markdown (generated; never edited by hand)."""
    m = record["machine"]
    lines = [f"# Study record `{record['name']}` (generated from `{record['name']}.json`; do not edit)", "",
             f"- command: `{record['command']}`", f"- profile: `{record['profile']}`, config fingerprint "
             f"`{record['config_fingerprint']}`, git commit `{record['git_commit']}`, date {record['date']}",
             f"- machine: {m['cpu']}, {m['cores']} cores, {m['platform']}; Python {m['python']}, backend "
             f"{m['backend']}; " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v),
             "- wall time: training " + (f"{record['wall_s']['train']} s" if record["wall_s"]["train"] else
                                         "not measured (collected separately)")
             + f", collection {record['wall_s']['collect']} s",
             f"- seeds: {record['seeds']}; corpus: {record['corpus']}", ""]
    t43 = record["table_4_3"]
    lines += ["## Table 4.3 — models (test split; speaker-bootstrap 95 % CI of the seed mean)", "",
              "| model | UAR | WAR | macro-F1 | paper UAR |", "|---|---|---|---|---|"]
    for r in t43["rows"]:
        cells = [f"{r[c]:.1f} [{r[c + '_low']:.1f}, {r[c + '_high']:.1f}]" for c in ("UAR", "WAR", "macro_F1")]
        paper_uar = r["paper_UAR"]
        paper_text = "–" if paper_uar is None or paper_uar != paper_uar else f"{paper_uar}"
        lines.append(f"| {r['model']} | " + " | ".join(cells) + f" | {paper_text} |")
    lines += [""] + [f"- {Verdict.from_dict(t43['chance']).sentence()}"]
    lines += [f"- {v.sentence()}" for v in verdicts(t43)]
    rule = verdicts(t43)[0].rule if t43["verdicts"] else ""
    lines += ["", f"Rule: {rule}.", ""]
    for title, key in (("Table 4.4 — ablations (UAR change against the full model)", "table_4_4"),
                       ("§5.1 — attention", "attention"), ("§5.2 — confusions", "confusions"),
                       ("§5.3 — errors by cause", "errors"), ("Cross-corpus (Chapter 9)", "cross_corpus")):
        if key not in record:
            continue
        vs = verdicts(record[key])
        lines += [f"## {title}", ""] + [f"- {v.sentence()}" for v in vs]
        if vs:
            lines += ["", f"Rule: {vs[0].rule}.", ""]
    lines += ["## Learning curves", "", "| variant | runs ended by early stopping | best epochs | epochs run |",
              "|---|---|---|---|"]
    for name, d in record["learning"].items():
        if name == SVM:  # not trained by epochs
            continue
        lines.append(f"| {name} | {d['stopped_early']} of {d['runs']} | {d['best_epochs']} | {d['epochs_run']} |")
    return "\n".join(lines) + "\n"


def runs_frame(record: Mapping[str, Any]) -> pd.DataFrame:
    """The record's per-run rows as a DataFrame."""
    return pd.DataFrame(record["runs"])
