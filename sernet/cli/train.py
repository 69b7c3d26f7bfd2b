"""``sernet train``: train (or resume) the run of the configured model and print its test results.

The run directory defaults to ``$SERNET_HOME/runs/<architecture>-seed<seed>-<key>`` (the same cache the
chapters use); a killed run resumes from its last checkpoint when started again. The label set is the
corpus's (its ``classes.txt``; the paper's 8 for the synthetic corpus): the model gets one output per class.
Examples::

    sernet train                                   # smoke profile, synthetic corpus
    sernet --set model.pooling=mean train          # an ablation
    SERNET_PROFILE=full SERNET_DATA=/data/msp sernet train --run-dir runs/base
    sernet train --data prepared/iemocap --init RUN --freeze-epochs 2      # fine-tune RUN on IEMOCAP

Fine-tuning (``--init RUN``) starts from a finished run's weights (copied by layer name); the
classification head is replaced when the label sets differ. ``--norm refit`` (default) normalises with
the new corpus's train-split statistics, ``--norm reuse`` with the base run's; which one is printed.
``--freeze-epochs N`` trains only the head for the first N epochs. A fine-tuned run's default directory is
the config's run directory with ``-ft-<key>`` appended (key: base run, --norm, --freeze-epochs).
"""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("train", help="train (or resume, or fine-tune) a run; print Table 4.3 / per-class results",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--run-dir", default=None, help="run directory (default: the cached run of the config)")
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming (deletes the run)")
    p.add_argument("--workers", type=int, default=1, help="batch prefetching threads (default 1)")
    p.add_argument("--data", default=None, metavar="PREPARED",
                   help="a prepared corpus folder (manifest.csv, classes.txt); default $SERNET_DATA or synthetic")
    p.add_argument("--init", default=None, metavar="RUN", help="fine-tune: start from this finished run")
    p.add_argument("--norm", choices=("refit", "reuse"), default="refit",
                   help="with --init: normalisation statistics refit on this corpus (default) or reused from RUN")
    p.add_argument("--freeze-epochs", type=int, default=0, metavar="N",
                   help="with --init: train only the classification head for the first N epochs (default 0)")
    p.set_defaults(func=run)


def fine_tune_identity(identity: dict, init, norm: str, freeze_epochs: int) -> dict:
    """The identity of a fine-tuned run: the run's own (data, config, versions) plus the *content* of the base
    model it starts from (SHA-256 of its ``model.keras``), ``norm`` and ``freeze_epochs``."""
    from sernet import artifacts
    from sernet.train.run_dir import RunDir

    base = RunDir(init)
    return {**identity, "init": {"model_sha256": artifacts.file_sha256(base.model_file), "norm": norm,
                                 "freeze_epochs": int(freeze_epochs)}}


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import shutil
    from pathlib import Path

    from sernet import artifacts, workspace
    from sernet.analysis import metrics, runs
    from sernet.cli import load_config
    from sernet.errors import SernetError
    from sernet.labels import classes_of
    from sernet.train import train
    from sernet.train.trainer import plan_init

    cfg = load_config(args)
    if args.data:
        cfg = dataclasses.replace(cfg, data_root=str(Path(args.data).expanduser()))
    if args.init is None and (args.norm != "refit" or args.freeze_epochs):
        raise SernetError("--norm and --freeze-epochs apply to fine-tuning only: add --init RUN")
    store = workspace.feature_store(cfg)
    classes = classes_of(store)
    plan = None
    if args.init is not None:
        plan = plan_init(args.init, store, norm=args.norm, freeze_epochs=args.freeze_epochs)
    identity = runs.run_identity(cfg, store)
    if plan is not None:
        identity = fine_tune_identity(identity, args.init, args.norm, args.freeze_epochs)
    suffix = "-ft" if plan is not None else ""
    run_dir = Path(args.run_dir) if args.run_dir else (
        workspace.runs_dir(cfg) / f"{cfg.model.architecture}{suffix}-seed{cfg.train.seed}-{artifacts.key(identity)}")
    if args.fresh and run_dir.exists():
        shutil.rmtree(run_dir)
    artifacts.claim(run_dir, identity, what="run")  # a reused --run-dir of other data or config is refused
    print(f"run directory: {run_dir}")
    print(f"classes ({len(classes)}): {', '.join(classes)}")
    if plan is not None:
        print(plan.describe())
    result = train(cfg, store, run_dir, resume=True, workers=args.workers, init=args.init,
                   norm=args.norm, freeze_epochs=args.freeze_epochs)
    m = result.metrics
    print(f"best epoch {m['best_epoch']} of {m['epochs_run']} (validation UAR {m['best_val_uar']:.3f})")
    name = "SER-Net" if cfg.model.architecture == "sernet" else cfg.model.architecture
    for split in ("val", "test"):
        if split in m and "uar" in m[split]:  # a dimensional-only run (model.tasks) has no class metrics
            print(f"\n{split} split ({m[split]['n']} utterances):")
            print(metrics.format_table(metrics.results_table({name: m[split]})))
        if split in m and "dimensions" in m[split]:
            from sernet.analysis.dimensions import metrics_table

            print(f"\n{split} split, dimensions (CCC, Pearson r; RMSE in scale points):")
            print(metrics.format_table(metrics_table(m[split]["dimensions"]), decimals=3))
    if "test" in m and "uar" in m["test"]:
        print("\nper class (test):")
        print(metrics.format_table(metrics.per_class_table(m["test"])))
    return 0
