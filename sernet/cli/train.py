"""``sernet train``: train (or resume) the run of the configured model and print its test results.

The run directory defaults to ``$SERNET_HOME/runs/<architecture>-seed<seed>-<key>`` (the same cache the
chapters use); a killed run resumes from its last checkpoint when started again. Examples::

    sernet train                                   # smoke profile, synthetic corpus
    sernet --set model.pooling=mean train          # an ablation
    SERNET_PROFILE=full SERNET_DATA=/data/msp sernet train --run-dir runs/base
"""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train (or resume) a run; print Table 4.3 / per-class results",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", default=None, help="run directory (default: the cached run of the config)")
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming (deletes the run)")
    p.add_argument("--workers", type=int, default=1, help="batch prefetching threads (default 1)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sernet import workspace
    from sernet.analysis import metrics, runs
    from sernet.cli import load_config
    from sernet.train import train

    cfg = load_config(args)
    store = workspace.feature_store(cfg)
    run_dir = args.run_dir or runs.run_path(cfg)
    print(f"run directory: {run_dir}")
    result = train(cfg, store, run_dir, resume=not args.fresh, workers=args.workers)
    m = result.metrics
    print(f"best epoch {m['best_epoch']} of {m['epochs_run']} (validation UAR {m['best_val_uar']:.3f})")
    name = "SER-Net" if cfg.model.architecture == "sernet" else cfg.model.architecture
    for split in ("val", "test"):
        if split in m:
            print(f"\n{split} split ({m[split]['n']} utterances):")
            print(metrics.format_table(metrics.results_table({name: m[split]})))
    if "test" in m:
        print("\nper class (test):")
        print(metrics.format_table(metrics.per_class_table(m["test"])))
    return 0
