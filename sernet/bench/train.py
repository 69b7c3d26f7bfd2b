"""Training throughput: utterances per second of the configured model's training step on this device, and
the projected time per epoch at the paper's scale (72,082 training utterances, §2.3).

The step is the trainer's own (``sernet.train.trainer``: SpecAugment layer, loss, AdamW schedule, mixed
precision when a GPU is present), fed ``--steps`` random batches of ``features.max_length`` frames; with
``--pipeline`` the input pipeline (feature cache → batches) of the configured corpus is timed too.
Timings are printed, never asserted. Examples::

    sernet bench train                              # smoke profile model
    sernet --profile full bench train --json        # paper-width model, one JSON object
"""

from __future__ import annotations

import argparse
import json
import platform
import time

import numpy as np


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--steps", type=int, default=20, help="timed training steps (default 20)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first (tracing; default 3)")
    parser.add_argument("--batch-size", type=int, default=None, help="default: train.batch_size")
    parser.add_argument("--pipeline", action="store_true",
                        help="also time the input pipeline on the configured corpus' feature cache")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def _device() -> str:
    from sernet.backend import backend_name
    from sernet.train.trainer import gpu_available

    kind = "GPU" if gpu_available() else "CPU"
    return f"{kind} ({platform.processor() or platform.machine()}), Keras backend {backend_name()}"


def run(args: argparse.Namespace) -> int:
    from sernet import paper
    from sernet.backend import keras
    from sernet.bench import format_table
    from sernet.cli import load_config
    from sernet.config import override
    from sernet.labels import NUM_CLASSES
    from sernet.train.augment import MaskSpec
    from sernet.train.trainer import _compiled_model, set_precision

    k = keras()
    cfg = load_config(args)
    if args.batch_size:
        cfg = override(cfg, {"train.batch_size": args.batch_size})
    batch, frames = cfg.train.batch_size, cfg.features.max_length
    policy = set_precision(cfg.train.mixed_precision)
    k.utils.set_random_seed(cfg.train.seed)
    counts = np.ones(NUM_CLASSES, dtype=int)
    n_steps = args.warmup + args.steps
    train_model, model = _compiled_model(cfg, counts, max(1, n_steps), policy, None)
    rng = np.random.default_rng(0)
    spec = MaskSpec.from_config(cfg.train)
    x = {"features": rng.normal(size=(batch, frames, 268)).astype("float32"),
         "mask": np.ones((batch, frames), "float32"),
         "draws": spec.draws(batch, 0)}
    y = np.eye(NUM_CLASSES, dtype="float32")[rng.integers(0, NUM_CLASSES, batch)]
    for _ in range(args.warmup):
        train_model.train_on_batch(x, y)
    t0 = time.perf_counter()
    for _ in range(args.steps):
        loss = train_model.train_on_batch(x, y)
    np.asarray(loss)  # wait for the device
    seconds = time.perf_counter() - t0
    ups = args.steps * batch / seconds
    report = {
        "device": _device(), "profile": cfg.profile, "dtype_policy": policy,
        "parameters": int(model.count_params()), "batch_size": batch, "frames": frames,
        "steps": args.steps, "seconds": round(seconds, 3), "utterances_per_s": round(ups, 1),
        "ms_per_step": round(1000 * seconds / args.steps, 2),
        "paper_train_utterances": paper.SPLIT_TOTALS["train"],
        "projected_epoch_s_at_paper_scale": round(paper.SPLIT_TOTALS["train"] / ups, 1),
        "projected_run_h_at_paper_scale": round(paper.SPLIT_TOTALS["train"] / ups * cfg.train.epochs / 3600, 2),
        "epochs": cfg.train.epochs,
    }
    if args.pipeline:
        from sernet import workspace
        from sernet.train.batches import split_batches

        store = workspace.feature_store(cfg)
        ds = split_batches(store, "train", cfg, training=True)
        n = min(len(ds), args.steps)
        t0 = time.perf_counter()
        for b in range(n):
            ds[b]
        pipe = time.perf_counter() - t0
        report["pipeline_utterances_per_s"] = round(sum(len(ds.batch_indices(b)) for b in range(n)) / pipe, 1)
    if args.json:
        print(json.dumps(report))
        return 0
    print(f"training throughput — {report['device']}, profile {cfg.profile}, policy {policy}")
    rows = [{"quantity": key, "value": value} for key, value in report.items() if key != "device"]
    print(format_table(rows, ["quantity", "value"]))
    return 0
