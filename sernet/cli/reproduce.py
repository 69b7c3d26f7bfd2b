"""``sernet reproduce``: rebuild the paper's tables step by step, each beside the paper's numbers.

Steps (run in order; ``--steps`` picks a subset)::

    corpus    the configured corpus: $SERNET_DATA/manifest.csv, else the synthetic corpus (generated once)
    dataset   dataset statistics (Tables 2.1/2.2 and the paper's internal checks)
    features  the feature cache of the corpus (extracted once)
    train     the base SER-Net run (cached under $SERNET_HOME/runs; a killed run resumes)
    evaluate  Table 4.3 row, per-class table, §5.2 confusions, §5.3 errors by cause (synthetic corpus)
    ablate    Table 4.4 ablations and Table 4.3 baselines over seeds (smoke: the first seed only)
    attention the §5.1 attention claims as sign tests (synthetic corpus only)
    report    write <out>/report.md with every table beside the paper's, and the figures

Every step reads what earlier steps left in ``state`` and prints a table; nothing is hard-coded.
Cached corpora, features and runs make a second ``sernet reproduce`` fast.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from sernet.config import Config

State = dict[str, object]


def _header(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, 70 - len(title)))


# -- step: corpus -----------------------------------------------------------------------------------------
def step_corpus(cfg: Config, state: State, args: argparse.Namespace) -> None:
    """Locate (or generate) the corpus manifest."""
    from sernet import workspace
    from sernet.data.manifest import read_manifest

    _header("corpus")
    manifest = workspace.corpus_manifest(cfg, workers=args.workers)
    from sernet.labels import corpus_classes

    classes = corpus_classes(manifest)
    df = read_manifest(manifest, classes=classes)
    state["manifest_path"] = manifest
    state["manifest"] = df
    state["classes"] = classes
    source = cfg.data_root or "synthetic corpus (sernet.data.synthetic)"
    print(f"profile {cfg.profile}; corpus: {source}")
    print(f"manifest: {manifest} ({len(df)} utterances)")


# -- step: dataset statistics ------------------------------------------------------------------------------
def step_dataset(cfg: Config, state: State, args: argparse.Namespace) -> None:
    """Tables 2.1 and 2.2 beside ours, and the paper's internal checks."""
    import pandas as pd

    from sernet import paper
    from sernet.analysis import dataset
    from sernet.labels import EMOTIONS

    df = state["manifest"]
    classes = tuple(state.get("classes") or EMOTIONS)
    with pd.option_context("display.width", 120, "display.precision", 2):
        _header("Table 2.1: corpus overview (paper vs ours)")
        print(dataset.corpus_overview(df).to_string())
        _header(f"Table 2.2: utterances per class and split (ours, {len(classes)} classes)")
        print(dataset.with_totals(dataset.corpus_table(df, classes)).to_string())
        _header("Table 2.2: paper")
        print(dataset.with_totals(paper.class_counts()).to_string())
        if set(classes) == set(EMOTIONS):
            _header("class shares, paper vs ours (%)")
            print(dataset.side_by_side(dataset.corpus_table(df)).round(2).to_string())
        else:
            print(f"\n(the corpus's own label set {list(classes)} is not the paper's 8: no side-by-side shares)")
        _header("the paper's internal checks")
        print(dataset.paper_checks().to_string(index=False))
        _header("speaker overlap between splits (ours; 0 = speaker-independent)")
        print(dataset.split_speaker_overlap(df).to_string())


def _report(state: State):
    from sernet.report import Report

    if "report" not in state:
        state["report"] = Report("SER-Net reproduction (sernet reproduce)")
    return state["report"]


# -- step: features ----------------------------------------------------------------------------------------
def step_features(cfg: Config, state: State, args: argparse.Namespace) -> None:
    """The corpus' feature cache (extracted on first use)."""
    from sernet import workspace

    _header("features")
    store = workspace.feature_store(cfg, workers=args.workers)
    state["store"] = store
    print(f"{store.n} utterances in the feature cache "
          f"({', '.join(f'{s}: {len(store.split_indices(s))}' for s in ('train', 'val', 'test'))})")


def _store(cfg: Config, state: State, args: argparse.Namespace):
    if "store" not in state:
        step_features(cfg, state, args)
    return state["store"]


# -- step: train -------------------------------------------------------------------------------------------
def step_train(cfg: Config, state: State, args: argparse.Namespace) -> None:
    """Train (or load) the base run."""
    import matplotlib

    matplotlib.use("Agg")
    from sernet import plots
    from sernet.analysis import runs
    from sernet.train.schedule import schedule_curve

    _header(f"training SER-Net ({cfg.model.architecture}, seed {cfg.train.seed})")
    store = _store(cfg, state, args)
    result = runs.run_or_load(cfg, store)
    state["result"] = result
    m = result.metrics
    print(f"run: {result.run_dir.path}")
    print(f"best epoch {m['best_epoch']} of {m['epochs_run']}, validation UAR {m['best_val_uar']:.3f}")
    rep = _report(state)
    rep.heading("Training")
    rep.text(f"Profile `{cfg.profile}`, run `{result.run_dir.path.name}`: best epoch {m['best_epoch']} of "
             f"{m['epochs_run']} (early stopping on validation UAR, patience {cfg.train.early_stopping_patience}).")
    rep.figure("learning_curves", plots.learning_curves(result.history, best_epoch=result.best_epoch),
               caption="training loss and validation UAR/WAR per epoch")
    steps_per_epoch = int(-(-len(store.split_indices("train")) // cfg.train.batch_size))
    steps, rates = schedule_curve(cfg.train, steps_per_epoch)
    rep.figure("lr_schedule", plots.lr_schedule(steps, rates, steps_per_epoch=steps_per_epoch),
               caption="warmup + cosine learning-rate schedule")


# -- step: evaluate ----------------------------------------------------------------------------------------
def step_evaluate(cfg: Config, state: State, args: argparse.Namespace) -> None:
    """Table 4.3 (our row), per-class, confusions and error causes."""
    from sernet import paper, plots
    from sernet.analysis import errors, metrics

    if "result" not in state:
        step_train(cfg, state, args)
    result, store = state["result"], _store(cfg, state, args)
    test = result.metrics["test"]
    rep = _report(state)
    rep.heading("Evaluation (test split)")
    overall = metrics.results_table({"SER-Net": test})
    per_class = metrics.per_class_table(test)
    pairs = metrics.pair_confusions(test)
    n_classes = len(test["classes"])
    _header("Table 4.3 row (test, %), paper beside")
    print(metrics.format_table(overall))
    _header("per-class (test, %), paper beside")
    print(metrics.format_table(per_class))
    rep.table("Table 4.3, SER-Net row (%)", overall,
              note=f"{test['n']} test utterances; {n_classes} classes, chance UAR {100 / n_classes:.1f} %.")
    rep.table("Per-class precision / recall / F1 (%)", per_class)
    if len(pairs):
        _header(f"§5.2 confusion pairs (row-normalised rates; rank among {n_classes * (n_classes - 1) // 2} pairs)")
        print(pairs.round(3).to_string())
        rep.table("§5.2 confusion pairs", pairs, decimals=3)
    else:
        print("\n(none of the paper's §5.2 pairs is in this corpus's label set)")
    rep.figure("confusion", plots.confusion_heatmap(metrics.confusion_frame(test, normalize=True),
                                                    highlight=paper.CONFUSIONS_5_2),
               caption="row-normalised confusion matrix; boxes: the paper's §5.2 pairs")
    if "blend_label" in store.index.columns:
        causes = errors.errors_by_cause(result.run_dir.read_predictions(),
                                             errors.synthetic_causes(store.index, crop_s=cfg.features.window_s))
        _header("§5.3 errors by cause (val + test, %)")
        print(causes.round(1).to_string())
        rep.table("§5.3 errors by cause (val + test, %)", causes,
                  note="Causes are recorded facts of the synthetic utterances; an error may carry several.")


# -- step: ablate ------------------------------------------------------------------------------------------
def step_ablate(cfg: Config, state: State, args: argparse.Namespace) -> None:
    """Table 4.4 and Table 4.3 over seeds."""
    from sernet import paper, plots
    from sernet.analysis import ablations, runs

    store = _store(cfg, state, args)
    seeds = tuple(cfg.train.ablation_seeds)
    if args.ablation_seeds is not None:
        seeds = seeds[: args.ablation_seeds]
    elif cfg.profile == "smoke":
        seeds = seeds[:1]
    rep = _report(state)
    rep.heading(f"Ablations and baselines ({len(seeds)} seed(s): {list(seeds)})")
    grid = runs.run_grid(cfg, runs.ABLATIONS, seeds, store=store, desc="ablations")
    summary = ablations.summarize(grid, reference="Full Model", paper_uar=paper.TABLE_4_4)
    _header(f"Table 4.4 (test UAR %, {len(seeds)} seed(s)), paper beside")
    cols = ["seeds", "mean", "std", "delta", "delta_low", "delta_high", "paper", "paper_delta", "verdict"]
    print(summary[cols].round(1).to_string())
    rep.table("Table 4.4: ablations (test UAR %)", summary[cols],
              note="verdict: within noise when the 95 % Welch interval of the delta over seeds contains 0; "
                   "with one seed there is no noise estimate (add seeds with --ablation-seeds; `sernet study` "
                   "runs five).")
    rep.figure("ablation_deltas", plots.ablation_deltas(summary), caption="Δ UAR vs the full model")
    base = runs.run_grid(cfg, runs.BASELINES, seeds, store=store, desc="baselines")
    table = ablations.summarize_table_4_3(base)
    _header("Table 4.3 (test, %, mean and std over seeds), paper beside")
    print(table.round(1).to_string())
    rep.table("Table 4.3: baselines (test, %)", table)


# -- step: attention ---------------------------------------------------------------------------------------
def step_attention(cfg: Config, state: State, args: argparse.Namespace) -> None:
    """§5.1 claims on the synthetic corpus' ground truth."""
    import numpy as np

    from sernet.analysis import attention

    store = _store(cfg, state, args)
    if "silence_spans" not in store.index.columns:
        print("attention: the corpus has no silence/accent ground truth (not synthetic); skipped")
        return
    if "result" not in state:
        step_train(cfg, state, args)
    rows = np.concatenate([store.split_indices("val"), store.split_indices("test")])
    items = attention.attention_frames(state["result"].load_model(), store, cfg, rows)
    claims = attention.attention_claims(attention.attention_checks(items))
    _header("§5.1 attention claims (sign tests over utterances)")
    print(claims.round(3).to_string())
    _report(state).table("§5.1 attention claims", claims, decimals=3)


# -- step: report ------------------------------------------------------------------------------------------
def step_report(cfg: Config, state: State, args: argparse.Namespace) -> None:
    """Write report.md and the figures."""
    from sernet import config as config_lib

    rep = _report(state)
    rep.heading("Configuration")
    rep.text("```\n" + config_lib.describe(cfg) + "\n```")
    path = rep.write(args.out)
    _header("report")
    print(f"wrote {path} ({len(rep.figures)} figures)")


STEPS: dict[str, Callable[[Config, State, argparse.Namespace], None]] = {
    "corpus": step_corpus,
    "dataset": step_dataset,
    "features": step_features,
    "train": step_train,
    "evaluate": step_evaluate,
    "ablate": step_ablate,
    "attention": step_attention,
    "report": step_report,
}


def add_parser(sub) -> None:
    p = sub.add_parser("reproduce", help="rebuild the paper's tables beside the paper's numbers",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", default=",".join(STEPS),
                   help=f"comma-separated steps to run, in order (default: all: {','.join(STEPS)})")
    p.add_argument("--workers", type=int, default=None, help="worker processes for corpus/feature work")
    p.add_argument("--out", default="sernet-report", help="report folder (default: ./sernet-report)")
    p.add_argument("--ablation-seeds", type=int, default=None,
                   help="how many of train.ablation_seeds the ablate step runs (default: all; smoke: 1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sernet.cli import load_config
    from sernet.errors import ConfigError

    cfg = load_config(args)
    wanted = [s.strip() for s in args.steps.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STEPS]
    if unknown:
        raise ConfigError(f"--steps: unknown step(s) {unknown}; expected some of {list(STEPS)}")
    state: State = {}
    for name, step in STEPS.items():
        if name in wanted or name == "corpus":  # every step works on the corpus: locate it first
            step(cfg, state, args)
    return 0
