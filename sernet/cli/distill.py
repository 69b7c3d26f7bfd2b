"""``sernet distill --teacher RUN``: knowledge distillation (Hinton et al. 2015) of a finished run into a
student SER-Net of at most ``distill.max_param_ratio`` of its parameters (widths ``distill.student_*``).

The student trains on the labelled corpus (the teacher's) with ``distill.alpha * T^2 * KL(teacher_T ||
student_T) + (1 - alpha) * CE(hard labels)`` at ``T = distill.temperature``. ``--compare`` also trains the
same student alone (``sernet train`` with the student's widths), exports all three as int8 LiteRT and prints
parameters, file size, batch-1 latency on one core and test UAR with speaker-bootstrap intervals.
Examples::

    sernet distill --teacher RUN
    sernet --set distill.temperature=2 distill --teacher RUN --run-dir runs/student-t2
    sernet distill --compare                  # teacher: the config's cached run (trained when missing)
"""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("distill", help="distil a trained run into a small student (Hinton et al. 2015)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--teacher", default=None, metavar="RUN",
                   help="the teacher run (default: the config's cached run, trained when missing)")
    p.add_argument("--data", default=None, metavar="PREPARED",
                   help="the labelled corpus: a prepared folder (default $SERNET_DATA or synthetic)")
    p.add_argument("--run-dir", default=None, help="the student's run directory (default: cached under runs/)")
    p.add_argument("--fresh", action="store_true", help="retrain the student even when it has finished")
    p.add_argument("--compare", action="store_true",
                   help="also the student alone and the int8 exports: size, latency, UAR table")
    p.add_argument("--out", default=None, help="with --compare: folder of the int8 exports "
                                               "(default: <student run>/edge)")
    p.add_argument("--record", default=None, metavar="NAME",
                   help="with --compare: also write the result as the record results/NAME.json (profile, command, "
                        "commit, machine, date; chapters read it)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    import json
    import sys
    import time
    from pathlib import Path

    from sernet import workspace
    from sernet.analysis import edge, runs
    from sernet.cli import load_config
    from sernet.errors import SernetError
    from sernet.train import RunDir
    from sernet.train.distill import distill, student_config

    if args.record and not args.compare:  # before the teacher is looked up or trained
        raise SernetError("--record NAME needs --compare (the record is the comparison)")
    cfg = load_config(args)
    if args.teacher and not RunDir(args.teacher).complete:
        raise SernetError(f"--teacher {args.teacher}: not a finished run (no model.keras/metrics.json)")
    if args.data:
        cfg = dataclasses.replace(cfg, data_root=str(Path(args.data).expanduser()))
    store = workspace.feature_store(cfg)
    teacher = Path(args.teacher) if args.teacher else runs.run_or_load(cfg, store).run_dir.path
    run_dir = Path(args.run_dir) if args.run_dir else edge.distill_run_path(cfg, teacher)
    if not args.json:
        print(f"teacher: {teacher}\nstudent run directory: {run_dir}")
    t0 = time.perf_counter()
    result = distill(cfg, store, teacher, run_dir, resume=not args.fresh)
    m = result.metrics
    out = {"run_dir": str(run_dir), "params": m["params"], "teacher_params": m["teacher_params"],
           "test": m.get("test")}
    if args.compare:
        alone = runs.run_or_load(student_config(cfg), store)
        table = edge.edge_table(cfg, store, {"teacher": teacher, "distilled student": run_dir,
                                             "student alone": alone.run_dir.path},
                                Path(args.out) if args.out else Path(run_dir) / "edge")
        out["edge"] = table.to_dict(orient="records")
        out["verdicts"] = [edge.student_verdict(cfg, store, run_dir, alone.run_dir.path).to_dict()]
    if args.record:
        from sernet.analysis.self_supervised import corpus_sizes
        from sernet.analysis.study import write_record

        body = {"student": {k: out[k] for k in ("params", "teacher_params", "test")},
                "edge": out["edge"], "verdicts": out["verdicts"], "corpus": corpus_sizes(store)}
        path = write_record(cfg, args.record, body, command=" ".join(["sernet", *sys.argv[1:]]),
                            wall_s=round(time.perf_counter() - t0, 1))
        if not args.json:
            print(f"record: {path}")
    if args.json:
        print(json.dumps(out, indent=2, default=float))
        return 0
    print(f"student: {m['params']} parameters ({m['params'] / m['teacher_params']:.1%} of the teacher's "
          f"{m['teacher_params']}); test UAR {m['test']['uar']:.3f}")
    if args.compare:
        print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0
