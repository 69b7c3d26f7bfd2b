"""``sernet evaluate``: evaluate a finished run's best model; print the paper's Table 4.3 and per-class
tables beside ours and save them as JSON/CSV.

With ``--data PREPARED`` the run is scored on any prepared corpus (features extracted with the run's recipe,
cached), over the classes the run and the corpus share; the shared classes, and those left out, are named.
The run's own normalisation statistics are used unless ``--norm data``.

A run with the dimensional head (``--set model.tasks=multitask`` or ``dimensional`` at training) also prints
CCC, Pearson r and RMSE per dimension (arousal, valence, dominance) when the data carries ratings, and saves
them as ``<split>_dimensions.csv``.

Examples::

    sernet evaluate                        # the cached run of the configured model, test split
    sernet evaluate runs/base --split val --out eval/
    sernet evaluate --json                 # one JSON object (metrics of every split asked for)
    sernet evaluate --run runs/base --data prepared/emodb      # another corpus, shared classes
"""

from __future__ import annotations

import argparse
import json


def add_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="UAR/WAR/macro-F1, per-class and confusion of a run (JSON/CSV)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run_dir", nargs="?", default=None, help="run directory (default: the config's cached run)")
    p.add_argument("--run", dest="run_opt", default=None, metavar="RUN", help="run directory (same as RUN_DIR)")
    p.add_argument("--data", default=None, metavar="PREPARED",
                   help="score the run on this prepared corpus (shared classes) instead of its own")
    p.add_argument("--norm", choices=("run", "data"), default="run",
                   help="with --data: normalise with the run's statistics (default) or the corpus's own")
    p.add_argument("--split", choices=("test", "val", "both"), default="test")
    p.add_argument("--out", default=None, help="folder for <split>_metrics.json, _per_class.csv, "
                                               "_confusion.csv (default: the run directory)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of tables")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    from pathlib import Path

    from sernet import workspace
    from sernet.analysis import dimensions, metrics, runs
    from sernet.cli import load_config
    from sernet.errors import SernetError
    from sernet.train import RunDir, evaluate_run
    from sernet.train.trainer import evaluate_run_on

    cfg = load_config(args)
    if args.run_dir and args.run_opt and Path(args.run_dir) != Path(args.run_opt):
        raise SernetError(f"two runs given: {args.run_dir} and --run {args.run_opt}")
    run = RunDir(args.run_opt or args.run_dir or runs.run_path(cfg, workspace.feature_store(cfg)))
    if not run.complete:
        raise SernetError(f"{run.path}: not a finished run (no model.keras/metrics.json); run `sernet train`")
    splits = ("val", "test") if args.split == "both" else (args.split,)
    data_root = str(Path(args.data).expanduser()) if args.data else cfg.data_root
    run_cfg = dataclasses.replace(run.read_config(), data_root=data_root, home=cfg.home)
    store = workspace.feature_store(run_cfg)
    if args.data:
        out_all = evaluate_run_on(run.path, store, splits=splits, norm=args.norm)
        results = {s: out_all[s] for s in splits}
    else:
        out_all = None
        results = evaluate_run(run.path, store, splits=splits)
        results = {s: results[s] for s in splits}
    out = args.out or run.path
    prefix = "data_" if args.data else ""
    for split, m in results.items():
        if "uar" in m:  # a dimensional-only run has no class metrics
            metrics.save_metrics(m, out, prefix=f"{prefix}{split}_")
        else:
            Path(out).mkdir(parents=True, exist_ok=True)
            (Path(out) / f"{prefix}{split}_metrics.json").write_text(json.dumps(m, indent=2))
        if "dimensions" in m:
            dimensions.metrics_table(m["dimensions"]).to_csv(Path(out) / f"{prefix}{split}_dimensions.csv")
    if args.json:
        extra = {} if out_all is None else {k: v for k, v in out_all.items() if k not in splits}
        print(json.dumps({"run": str(run.path), **({"data": data_root} if args.data else {}), **extra, **results}))
        return 0
    if out_all is not None:
        shared = out_all["shared_classes"]
        print(f"run {run.path} on {data_root}")
        print(f"shared classes ({len(shared)}): {', '.join(shared)}")
        left_run = [c for c in out_all["run_classes"] if c not in shared]
        left_data = [c for c in out_all["data_classes"] if c not in shared]
        if left_run:
            print(f"run classes not scored (absent from the data's {', '.join(splits)}): {', '.join(left_run)}")
        if left_data:
            print(f"data classes the run does not know (left out): {', '.join(left_data)}")
        print(f"normalisation: {'the run' if args.norm == 'run' else 'the data'}'s train-split statistics\n")
    name = "SER-Net" if run_cfg.model.architecture == "sernet" else run_cfg.model.architecture
    for split, m in results.items():
        if "uar" in m:
            print(f"{split} split ({m['n']} utterances), Table 4.3 format (%):")
            print(metrics.format_table(metrics.results_table({name: m})))
            print(f"\nper-class ({split}, %):")
            print(metrics.format_table(metrics.per_class_table(m)))
            print()
        if "dimensions" in m:
            print(f"{split} split, dimensions (CCC, Pearson r; RMSE in scale points, 1-7; "
                  f"mean CCC {m['dimensions']['mean_ccc']:.3f}):")
            print(metrics.format_table(dimensions.metrics_table(m["dimensions"]), decimals=3))
            print()
    print(f"saved to {out}")
    return 0
