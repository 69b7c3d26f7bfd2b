"""``sernet study``: the powered study record — the paper's grid, §5.1-5.3 and the cross-corpus pair over seeds.

Trains every run (finished runs are reused), computes every verdict with its interval and rule, and writes
``results/<name>.json`` plus ``results/<name>.md`` generated from it. The default profile is ``study``
(a larger synthetic corpus, 5 seeds, about an hour on a 2-core CPU); ``--profile full`` with
``SERNET_DATA`` is the real-corpus / GPU run of the same grid.

Examples::

    sernet study                                  # everything, on this machine
    sernet study --step prepare                   # corpora and features only (once, before an array job)
    sernet study --shard 3/16 --step train        # the 3rd of 16 shards (e.g. SLURM_ARRAY_TASK_ID=3)
    sernet study --step collect                   # the record, once every shard has finished

A Slurm array: ``sbatch --array=1-16 --wrap 'sernet study --step train --shard $SLURM_ARRAY_TASK_ID/16'``,
then ``sernet study --step collect``. Runs live under ``$SERNET_HOME/runs`` (a shared file system).
"""

from __future__ import annotations

import argparse
import os
import shlex
import sys
import time
from pathlib import Path

STEPS = ("all", "prepare", "train", "collect")


def add_parser(sub) -> None:
    p = sub.add_parser("study", help="the powered study record (grid over seeds, verdicts, results/*.json)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--name", default=None, help="record name: results/<name>.json (default: the profile name)")
    p.add_argument("--step", choices=STEPS, default="all", help="what to do (default: all)")
    p.add_argument("--shard", default=None, metavar="I/N", help="train only shard I of N (1-based)")
    p.add_argument("--workers", type=int, default=None,
                   help="training processes (default: train.grid_workers)")
    p.add_argument("--out", type=Path, default=None, help="results folder (default: the repository's results/)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sernet.analysis import runs, study
    from sernet.cli import load_config

    if args.profile is None and not os.environ.get("SERNET_PROFILE"):
        args.profile = "study"
    cfg = load_config(args)
    shard = runs.parse_shard(args.shard)
    if shard is not None and args.step == "all":
        args.step = "train"  # a shard trains; the record is collected once all shards are done
    name = args.name or cfg.profile
    t0 = time.perf_counter()
    if args.step == "prepare":
        study.prepare(cfg)
        print("study corpora and features ready")
        return 0
    if args.step in ("all", "train"):
        n = study.train_all(cfg, shard=shard, workers=args.workers)
        wall = round(time.perf_counter() - t0, 1)
        print(f"study: {n} training jobs done{'' if shard is None else f' (shard {shard[0]}/{shard[1]})'} in {wall} s")
        if args.step == "train":
            return 0
    else:
        wall = None
    command = "sernet " + " ".join(shlex.quote(a) for a in sys.argv[1:]) if sys.argv[0].endswith("sernet") \
        else f"sernet --profile {cfg.profile} study --name {name}"
    record = study.collect(cfg, name=name, command=command, wall_s=wall,
                           **({"out_dir": args.out} if args.out else {}))
    out = args.out or study.RESULTS_DIR
    print(f"record written: {Path(out) / (name + '.json')} and {name}.md "
          f"({len(record['runs'])} runs, seeds {record['seeds']})")
    return 0
