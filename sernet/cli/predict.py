"""``sernet predict FILE...``: emotion of audio files with a trained run or an exported model.

Examples::

    sernet predict --model ~/.cache/sernet/runs/base a.wav b.flac          # a table
    sernet predict --model export/model_int8.tflite --json a.wav           # one JSON object

Every file gets a row. A file that cannot be used (missing, corrupt, empty, too short, NaN samples) gets a
one-line error on stderr (and an ``errors`` entry with ``--json``) and the exit code becomes 2; the other
files are still predicted. Silent audio, or audio in which no voiced frame is found, is not an error: its
label is ``no_speech`` (documented in :mod:`sernet.deploy.predictor`).
"""

from __future__ import annotations

import argparse
import json
import sys

from sernet.errors import AudioError, SernetError


def add_parser(sub) -> None:
    p = sub.add_parser("predict", help="predict the emotion of audio files",
                       description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter,
                       epilog="Silent / voiceless audio gives the label 'no_speech'; unusable files exit 2.")
    p.add_argument("files", nargs="+", metavar="FILE", help="audio files (any length; resampled if needed)")
    p.add_argument("--model", metavar="PATH",
                   help="run directory, .keras file, SavedModel directory or .tflite file "
                        "(default: the base run of this config under $SERNET_HOME/runs)")
    p.add_argument("--json", action="store_true", help="print one JSON object instead of a table")
    p.add_argument("--windows", action="store_true", help="also list per-window probabilities (table output)")
    p.set_defaults(func=run)


def default_model_path(cfg):
    """The base run of ``cfg`` (``sernet.analysis.runs.run_path``, as trained by Chapter 5 / ``sernet train``)."""
    from sernet.analysis.runs import run_path

    path = run_path(cfg)
    if not (path / "model.keras").exists():
        raise SernetError(f"{path}: no trained base run for this config; pass --model RUN_DIR (or an export "
                          "from `sernet export`), or train it first")
    return path


def run(args: argparse.Namespace) -> int:
    from sernet.cli import load_config
    from sernet.deploy.predictor import Predictor

    cfg = load_config(args)
    predictor = Predictor.load(args.model or default_model_path(cfg))
    prepared, errors = [], []
    from sernet import progress

    for path in progress.bar(args.files, total=len(args.files), desc="features", unit="file"):
        try:
            prepared.append(predictor.prepare(path))
        except AudioError as exc:
            errors.append({"source": exc.path, "problem": exc.problem, "message": str(exc)})
            print(f"sernet predict: error: {exc}", file=sys.stderr)
    results = predictor.predict_prepared(prepared)
    if args.json:
        print(json.dumps({"model": str(args.model or ""), "classes": list(predictor.classes),
                          "predictions": [r.to_dict() for r in results], "errors": errors}, indent=2))
    elif results:
        print(format_table(results, predictor.classes, windows=args.windows))
    return 2 if errors else 0


def format_table(results, classes, windows: bool = False) -> str:
    """A fixed-width table: file, duration, windows, label, then every class probability (3 decimals)."""
    import pandas as pd

    rows = []
    for r in results:
        row = {"file": r.source, "duration_s": round(r.duration_s, 2), "windows": len(r.window_starts_s),
               "label": r.label}
        row.update({c: (round(r.probabilities[c], 3) if r.speech else float("nan")) for c in classes})
        rows.append(row)
        if windows:
            for s, wp in zip(r.window_starts_s, r.window_probabilities, strict=True):
                wrow = {"file": f"  @ {s:.2f} s", "duration_s": "", "windows": "",
                        "label": classes[int(wp.argmax())]}
                wrow.update({c: round(float(v), 3) for c, v in zip(classes, wp, strict=True)})
                rows.append(wrow)
    return pd.DataFrame(rows).to_string(index=False, na_rep="-")
