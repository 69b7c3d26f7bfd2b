"""``sernet reproduce``: rebuild the paper's tables step by step, each beside the paper's numbers.

Steps (run in order; ``--steps`` picks a subset)::

    corpus    the configured corpus: $SERNET_DATA/manifest.csv, else the synthetic corpus (generated once)
    dataset   dataset statistics (Tables 2.1/2.2 and the paper's internal checks)

Later steps (features, training, Table 4.3/4.4, deployment) are added here by their stages.
Every step reads what earlier steps left in ``state`` and prints a table; nothing is hard-coded.
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
    df = read_manifest(manifest)
    state["manifest_path"] = manifest
    state["manifest"] = df
    source = cfg.data_root or "synthetic corpus (sernet.data.synthetic)"
    print(f"profile {cfg.profile}; corpus: {source}")
    print(f"manifest: {manifest} ({len(df)} utterances)")


# -- step: dataset statistics ------------------------------------------------------------------------------
def step_dataset(cfg: Config, state: State, args: argparse.Namespace) -> None:
    """Tables 2.1 and 2.2 beside ours, and the paper's internal checks."""
    import pandas as pd

    from sernet import paper, stats

    df = state["manifest"]
    with pd.option_context("display.width", 120, "display.precision", 2):
        _header("Table 2.1: corpus overview (paper vs ours)")
        print(stats.corpus_overview(df).to_string())
        _header("Table 2.2: utterances per class and split (ours)")
        print(stats.with_totals(stats.corpus_table(df)).to_string())
        _header("Table 2.2: paper")
        print(stats.with_totals(paper.class_counts()).to_string())
        _header("class shares, paper vs ours (%)")
        print(stats.side_by_side(stats.corpus_table(df)).round(2).to_string())
        _header("the paper's internal checks")
        print(stats.paper_checks().to_string(index=False))
        _header("speaker overlap between splits (ours; 0 = speaker-independent)")
        print(stats.split_speaker_overlap(df).to_string())


STEPS: dict[str, Callable[[Config, State, argparse.Namespace], None]] = {
    "corpus": step_corpus,
    "dataset": step_dataset,
}


def add_parser(sub) -> None:
    p = sub.add_parser("reproduce", help="rebuild the paper's tables beside the paper's numbers",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--steps", default=",".join(STEPS),
                   help=f"comma-separated steps to run, in order (default: all: {','.join(STEPS)})")
    p.add_argument("--workers", type=int, default=None, help="worker processes for corpus/feature work")
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
        needs_corpus = name != "corpus" and "manifest" not in state
        if name in wanted or (needs_corpus and any(w != "corpus" for w in wanted)):
            step(cfg, state, args)
    return 0
