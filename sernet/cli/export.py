"""``sernet export RUN --out DIR``: SavedModel, LiteRT (fp32, fp16, int8) and ONNX (fp32, int8) exports with
parity checks.

Example::

    sernet export ~/.cache/sernet/runs/base --out export/
    sernet export ~/.cache/sernet/runs/base --out export/ --formats onnx,onnx_int8
    sernet predict --model export/model_int8.tflite a.wav

Parity is measured on real feature windows of the run's corpus (the first ``deploy.parity_samples`` test
utterances of the feature cache); the ONNX int8 activations are calibrated on the first
``deploy.calibration_samples`` training utterances. The exit code is 1 when an export exceeds its tolerance
(or, for ONNX int8, falls below ``deploy.int8_min_agreement``).
"""

from __future__ import annotations

import argparse
import json

from sernet.errors import SernetError


def add_parser(sub) -> None:
    from sernet.deploy.export import FORMATS

    p = sub.add_parser("export", help="export a trained run (SavedModel, LiteRT fp32/fp16/int8, ONNX fp32/int8)",
                       description=__doc__.splitlines()[0], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("run", metavar="RUN", nargs="?",
                   help="run directory or .keras file (default: the base run of this profile)")
    p.add_argument("--out", required=True, metavar="DIR", help="output folder")
    p.add_argument("--formats", default=",".join(FORMATS),
                   help=f"comma-separated subset of {','.join(FORMATS)} (default: all)")
    p.add_argument("--json", action="store_true", help="print the export report as one JSON object")
    p.set_defaults(func=run)


def parity_features(predictor):
    """Normalised parity windows from the feature cache of the run's config (test split first)."""
    import numpy as np

    from sernet import workspace
    from sernet.deploy.export import parity_windows

    store = workspace.feature_store(predictor.cfg)
    rows = np.concatenate([store.split_indices("test"), store.split_indices("val")])
    n = predictor.cfg.deploy.parity_samples
    return parity_windows(predictor, [store.frames(int(i)) for i in rows[:n]], n)


def calibration_features(predictor):
    """Normalised windows of the first ``deploy.calibration_samples`` training utterances (ONNX int8 calibration)."""
    from sernet import workspace
    from sernet.deploy.export import parity_windows

    store = workspace.feature_store(predictor.cfg)
    rows = store.split_indices("train")
    n = predictor.cfg.deploy.calibration_samples
    return parity_windows(predictor, [store.frames(int(i)) for i in rows[:n]], n)


def run(args: argparse.Namespace) -> int:
    import dataclasses
    from dataclasses import asdict

    from sernet.cli import load_config
    from sernet.cli.predict import default_model_path
    from sernet.deploy.export import export_model, size_table
    from sernet.deploy.predictor import Predictor

    cfg = load_config(args)
    predictor = Predictor.load(args.run or default_model_path(cfg))
    if predictor.model is None:
        raise SernetError(f"{args.run}: export needs a run directory or .keras file, not an export")
    # the export settings (parity, calibration, ONNX options) are this invocation's; the run's features and
    # model stay the run's
    predictor.cfg = dataclasses.replace(predictor.cfg, deploy=cfg.deploy)
    formats = tuple(f.strip() for f in args.formats.split(",") if f.strip())
    x, mask = parity_features(predictor)
    calibration = calibration_features(predictor) if "onnx_int8" in formats else None
    results = export_model(predictor, args.out, x, mask, formats, calibration)
    if args.json:
        print(json.dumps({"out": args.out, "parameters": int(predictor.model.count_params()),
                          "exports": [asdict(r) | {"passed": r.passed} for r in results]}, indent=2))
    else:
        import pandas as pd

        table = pd.DataFrame([{"format": r.format, "size_mb": round(r.size_mb, 3),
                               "max_abs_dlogit": f"{r.max_abs_dlogit:.2e}", "tolerance": r.tolerance,
                               "label_agreement": round(r.label_agreement, 3),
                               "min_agreement": r.min_agreement, "near_ties": round(r.near_ties, 3),
                               "passed": r.passed,
                               "path": r.path} for r in results])
        print(table.to_string(index=False))
        print()
        print(size_table(results, predictor.model.count_params()).to_string(index=False))
    return 0 if all(r.passed for r in results) else 1
