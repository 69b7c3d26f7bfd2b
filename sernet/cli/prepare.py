"""``sernet prepare CORPUS ROOT --out OUT``: turn a local copy of a public corpus into a 16 kHz manifest.

Prints a summary table (files found, kept, dropped by reason, per-class counts per split) and writes
``OUT/manifest.csv``, ``OUT/classes.txt``, ``OUT/summary.json`` and ``OUT/dropped.csv``. Re-running skips
finished conversions. See ``data_scripts/README.md`` for each corpus's layout, licence and label map.
"""

from __future__ import annotations

import json


def add_parser(sub) -> None:
    from sernet.data.corpora import CORPORA

    corpora = ", ".join(CORPORA)
    p = sub.add_parser(
        "prepare", help="prepare a real corpus (MSP-Podcast, RAVDESS, ...) as a 16 kHz manifest",
        description=__doc__.splitlines()[0] + f"\n\nCorpora: {corpora}.",
    )
    p.add_argument("corpus", help=f"one of: {corpora} (CREMA-D style spellings work too)")
    p.add_argument("root", help="your local copy of the corpus, in its release layout")
    p.add_argument("--out", required=True, help="prepared corpus folder (point SERNET_DATA at it)")
    p.add_argument("--split", choices=("paper", "official"), default="paper",
                   help="paper: speaker-independent 80/10/10 by speaker (default); official: the corpus's "
                        "own partitions (MSP-Podcast, IEMOCAP)")
    p.add_argument("--labels", choices=("paper8", "native"), default="paper8",
                   help="paper8: the paper's 8 classes, classes without a counterpart dropped (default); "
                        "native: the corpus's own classes (written to OUT/classes.txt)")
    p.add_argument("--seed", type=int, default=None, help="speaker shuffle seed of the paper split (default 0)")
    p.add_argument("--fold", type=int, default=None,
                   help="IEMOCAP --split official: held-out session 1-5 (default 5)")
    p.add_argument("--workers", type=int, default=1, help="processes checking/converting audio (default 1)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    p.set_defaults(func=run)


def run(args) -> int:
    from sernet.data import corpora

    spec = corpora.get(args.corpus)
    options = {"split": args.split, "labels": args.labels, "workers": args.workers}
    if args.seed is not None:
        options["seed"] = args.seed
    if args.fold is not None:
        if spec.name != "iemocap":
            raise corpora.PrepareError(f"--fold applies to IEMOCAP only, not {spec.name}")
        options["fold"] = args.fold
    summary = corpora.prepare_corpus(spec, args.root, args.out, **options)
    if args.json:
        print(json.dumps(summary.to_dict()))
    else:
        print(summary.table())
        print(f"\nwrote {summary.manifests['main']}" + "".join(
            f"\nwrote {path} ({name})" for name, path in summary.manifests.items() if name != "main"))
        if summary.dropped:
            print(f"dropped files and reasons: {args.out}/dropped.csv")
    return 0
