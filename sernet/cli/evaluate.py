"""``sernet evaluate``: evaluate a finished run's best model; print the paper's Table 4.3 and per-class
tables beside ours and save them as JSON/CSV.

Examples::

    sernet evaluate                        # the cached run of the configured model, test split
    sernet evaluate runs/base --split val --out eval/
    sernet evaluate --json                 # one JSON object (metrics of every split asked for)
"""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="UAR/WAR/macro-F1, per-class and confusion of a run (JSON/CSV)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", nargs="?", default=None, help="run directory (default: the config's cached run)")
    p.add_argument("--split", choices=("test", "val", "both"), default="test")
    p.add_argument("--out", default=None, help="folder for <split>_metrics.json, _per_class.csv, "
                                               "_confusion.csv (default: the run directory)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses

    from sernet import workspace
    from sernet.analysis import metrics, runs
    from sernet.cli import load_config
    from sernet.errors import SernetError
    from sernet.train import RunDir, evaluate_run

    cfg = load_config(args)
    run = RunDir(args.run_dir or runs.run_path(cfg))
    if not run.complete:
        raise SernetError(f"{run.path}: not a finished run (no model.keras/metrics.json); run `sernet train`")
    run_cfg = dataclasses.replace(run.read_config(), data_root=cfg.data_root, home=cfg.home)
    store = workspace.feature_store(run_cfg)
    splits = ("val", "test") if args.split == "both" else (args.split,)
    results = evaluate_run(run.path, store, splits=splits)
    out = args.out or run.path
    for split, m in results.items():
        metrics.save_metrics(m, out, prefix=f"{split}_")
    if args.json:
        print(json.dumps({"run": str(run.path), **results}))
        return 0
    name = "SER-Net" if run_cfg.model.architecture == "sernet" else run_cfg.model.architecture
    for split, m in results.items():
        print(f"{split} split ({m['n']} utterances), Table 4.3 format (%):")
        print(metrics.format_table(metrics.results_table({name: m})))
        print(f"\nper-class ({split}, %):")
        print(metrics.format_table(metrics.per_class_table(m)))
        print()
    print(f"saved to {out}")
    return 0
