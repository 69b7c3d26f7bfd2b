"""``sernet pretrain``: self-supervised pre-training of the SER-Net encoder by masked-frame reconstruction
(Mockingjay / TERA), on any corpus, its labels ignored; resumable.

The unlabelled corpus is ``--data PREPARED`` (a prepared folder of your own recordings: ``manifest.csv``;
labels, if any, are not read), else the synthetic corpus at ``pretrain.corpus_factor`` times the labelled
size (``pretrain.corpus_seed``; 0: the labelled corpus's own train split). The run directory (default
``$SERNET_HOME/runs/pretrain-seed<seed>-<key>``) holds a SER-Net whose encoder carries the pre-trained
weights; fine-tune it with ``sernet train --init RUN``. A killed pre-training resumes from its last epoch.
Examples::

    sernet pretrain                                              # smoke profile, synthetic corpus
    sernet --set pretrain.epochs=40 pretrain --data prepared/my-recordings --run-dir runs/ssl
    sernet train --init runs/ssl                                 # fine-tune on the labelled corpus
    sernet pretrain --label-efficiency                           # + the fractions x seeds curve (Ch. 11)
"""

from __future__ import annotations

import argparse


def add_parser(sub) -> None:
    p = sub.add_parser("pretrain", help="self-supervised masked-frame pre-training of the encoder (resumable)",
                       description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--data", default=None, metavar="PREPARED",
                   help="unlabelled corpus: a prepared folder (manifest.csv); default: synthetic")
    p.add_argument("--run-dir", default=None, help="run directory (default: the cached pre-training run)")
    p.add_argument("--fresh", action="store_true", help="start over instead of resuming (deletes the run)")
    p.add_argument("--label-efficiency", action="store_true",
                   help="then fine-tune and train from scratch on pretrain.label_fractions x pretrain.seeds of "
                        "the labelled corpus and print the curve with intervals")
    p.add_argument("--workers", type=int, default=None,
                   help="feature-extraction processes when the corpus is new (default: one per core)")
    p.add_argument("--record", default=None, metavar="NAME",
                   help="with --label-efficiency: also write the result as the record results/NAME.json (profile, command, "
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
    from sernet.analysis import self_supervised as ssl
    from sernet.cli import load_config
    from sernet.errors import SernetError
    from sernet.train.pretrain import pretrain

    if args.record and not args.label_efficiency:  # before any corpus is built or run trained
        raise SernetError("--record NAME needs --label-efficiency (the record is the curve)")
    cfg = load_config(args)
    if args.data:
        ucfg = dataclasses.replace(cfg, data_root=str(Path(args.data).expanduser()))
        store = workspace.feature_store(ucfg, workers=args.workers)
    else:
        ucfg = cfg
        store = ssl.unlabelled_store(cfg, workers=args.workers)
    run_dir = Path(args.run_dir) if args.run_dir else ssl.pretrain_run_path(ucfg, store)
    if not args.json:
        print(f"run directory: {run_dir}")
        print(f"unlabelled corpus: {getattr(store, 'path', None) or 'in memory'}: "
              f"{len(store.split_indices('train'))} train utterances (labels not read)")
    t0 = time.perf_counter()
    result = pretrain(cfg, store, run_dir, resume=not args.fresh)
    out = {"run_dir": str(result.run_dir.path), "metrics": result.metrics}
    if args.label_efficiency:
        labelled = workspace.feature_store(cfg)
        table = ssl.label_efficiency(cfg, labelled, result.run_dir.path)
        verdicts = ssl.efficiency_verdicts(cfg, table, labelled)
        out["label_efficiency"] = ssl.curve_table(cfg, table, labelled).to_dict(orient="records")
        out["verdicts"] = [v.to_dict() for v in verdicts]
    if args.record:
        from sernet.analysis.study import write_record

        body = {"pretrain": {"metrics": result.metrics},
                "label_efficiency": out["label_efficiency"], "verdicts": out["verdicts"],
                "corpus": ssl.corpus_sizes(labelled)}
        path = write_record(cfg, args.record, body, command=" ".join(["sernet", *sys.argv[1:]]),
                            wall_s=round(time.perf_counter() - t0, 1))
        if not args.json:
            print(f"record: {path}")
    if args.json:
        print(json.dumps(out, indent=2, default=float))
        return 0
    m = result.metrics
    if "val" in m:
        print(f"held-out masked L1: {m['val']['masked_l1']:.3f} (predicting the mean: "
              f"{m['val']['mean_baseline_l1']:.3f}) after {m['epochs_run']} epochs")
    print(f"fine-tune with: sernet train --init {result.run_dir.path}")
    if args.label_efficiency:
        print()
        print(table.pivot_table(index="fraction", columns="init", values="test_uar", aggfunc="mean").to_string())
        for v in verdicts:
            print(v.sentence(with_rule=True))
    return 0
