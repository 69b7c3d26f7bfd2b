"""``sernet prepare CORPUS ROOT --out OUT``: turn a local copy of a public corpus, or your own recordings
(``folder ROOT``, ``csv FILE``), into a 16 kHz manifest.

Prints a summary table (files found, kept, dropped by reason, per-class counts per split) and writes
``OUT/manifest.csv``, ``OUT/classes.txt``, ``OUT/summary.json`` and ``OUT/dropped.csv``. Re-running skips
finished conversions and says when nothing changed. See ``data_scripts/README.md`` for each corpus's
layout, licence and label map, and for your own folder or CSV corpus.
"""

from __future__ import annotations

import json

CUSTOM = ("folder", "csv")
CUSTOM_OPTIONS = ("pattern", "layout", "classes", "label_map", "name")


def add_parser(sub) -> None:
    from sernet.data.corpora import CORPORA

    corpora = ", ".join(CORPORA)
    p = sub.add_parser(
        "prepare", help="prepare a real corpus (MSP-Podcast, RAVDESS, ...) or your own folder/CSV corpus",
        description=__doc__.splitlines()[0] + f"\n\nCorpora: {corpora}; folder; csv.",
    )
    p.add_argument("corpus", help=f"one of: {corpora} (CREMA-D style spellings work too); "
                                  "folder (ROOT/<label>/*.wav, or --pattern); csv (FILE: path,label[,speaker][,split])")
    p.add_argument("root", help="your local copy of the corpus, in its release layout (csv: the CSV file)")
    p.add_argument("--out", required=True, help="prepared corpus folder (point SERNET_DATA at it)")
    p.add_argument("--split", default=None,
                   help="paper: speaker-independent 80/10/10 by speaker (default); official: the corpus's "
                        "own partitions (MSP-Podcast, IEMOCAP, a CSV's split column: its default); test: every "
                        "utterance in test (evaluation only, any number of speakers); kfold:K: K folds by "
                        "speaker (a fold column; fold --fold is test, the next val, the rest train); loso: "
                        "leave one speaker out (fold = speaker index)")
    p.add_argument("--labels", choices=("paper8", "native"), default=None,
                   help="paper8: the paper's 8 classes, classes without a counterpart dropped (default); "
                        "native: the corpus's own classes (written to OUT/classes.txt); folder/csv corpora "
                        "always keep their own labels (map them with --label-map)")
    p.add_argument("--seed", type=int, default=None, help="speaker shuffle seed of the paper split (default 0)")
    p.add_argument("--fold", type=int, default=None,
                   help="--split kfold:K / loso: the fold (speaker index) in test (default 0); "
                        "IEMOCAP --split official: held-out session 1-5 (default 5)")
    p.add_argument("--workers", type=int, default=1, help="processes checking/converting audio (default 1)")
    p.add_argument("--json", action="store_true", help="print the summary as one JSON object")
    g = p.add_argument_group("folder and csv corpora")
    g.add_argument("--pattern", default=None,
                   help="folder: a regular expression with named groups label and/or speaker, searched in "
                        "the file name (in the path relative to ROOT when it contains a /)")
    g.add_argument("--layout", default=None,
                   help="folder: the folder levels above each file, e.g. label (default), speaker/label, "
                        "label/speaker")
    g.add_argument("--classes", default=None,
                   help="the class list in this order, comma-separated (default: the labels found, sorted); "
                        "other labels are dropped")
    g.add_argument("--label-map", dest="label_map", default=None,
                   help="CSV (native,target) or JSON file mapping labels; an empty target or 'drop' drops; "
                        "for a registry corpus it maps the native labels (implies --labels native)")
    g.add_argument("--name", default=None, help="the manifest's corpus name (default: ROOT's or FILE's name)")
    p.set_defaults(func=run)


def run(args) -> int:
    from sernet.data import corpora
    from sernet.data.corpora.base import parse_split

    kind = args.corpus.strip().lower()
    options: dict = {"workers": args.workers}
    if args.seed is not None:
        options["seed"] = args.seed
    rule = parse_split(args.split)[0] if args.split is not None else None
    if args.fold is not None:
        if rule in ("kfold", "loso"):
            options["test_fold"] = args.fold
        elif kind != "iemocap":
            raise corpora.PrepareError("--fold applies to IEMOCAP only (--split official), or to --split "
                                       f"kfold:K / loso; not {args.corpus} --split {args.split or 'paper'}")
        else:
            options["fold"] = args.fold
    custom = {k: getattr(args, k) for k in CUSTOM_OPTIONS if getattr(args, k) is not None}
    if kind in CUSTOM:
        if args.labels == "paper8":
            raise corpora.PrepareError(f"{kind} corpora keep their own labels; map them to the paper's "
                                       "names with --label-map")
        if kind == "csv":
            if "pattern" in custom or "layout" in custom:
                raise corpora.PrepareError("--pattern and --layout apply to folder corpora, not csv")
            summary = corpora.prepare_csv(args.root, args.out, split=args.split, **custom, **options)
        else:
            summary = corpora.prepare_folder(args.root, args.out, split=args.split or "paper", **custom,
                                             **options)
    else:
        label_map = custom.pop("label_map", None)
        if custom:
            raise corpora.PrepareError(f"--{', --'.join(k.replace('_', '-') for k in custom)}: only for "
                                       "folder and csv corpora")
        spec = corpora.get(args.corpus)
        summary = corpora.prepare_corpus(spec, args.root, args.out, split=args.split or "paper",
                                         labels=args.labels or ("native" if label_map else "paper8"),
                                         label_map=label_map, **options)
    if args.json:
        print(json.dumps(summary.to_dict()))
    else:
        print(summary.table())
        print(f"\nwrote {summary.manifests['main']}" + "".join(
            f"\nwrote {path} ({name})" for name, path in summary.manifests.items() if name != "main"))
        if summary.dropped:
            print(f"dropped files and reasons: {args.out}/dropped.csv")
    return 0
