"""Training throughput: utterances per second of the configured model's training step on this device, and
the projected time per epoch at the paper's scale (72,082 training utterances, §2.3).

The step is the trainer's own (``sernet.train.trainer``: SpecAugment layer, loss, AdamW schedule, mixed
precision when a GPU is present), fed ``--steps`` random batches of ``features.max_length`` frames; with
``--pipeline`` the input pipeline (feature cache → batches) of the configured corpus is timed too.
With ``--reference`` the plain build (:func:`sernet.bench.reference.plain_sernet`: the same diagram and
widths, no masking, no SpecAugment) is trained with Keras' ``model.fit`` on the same batches (same batch size,
optimizer class and dtype policy) in the same run, and ``ratio_to_reference`` is sernet's throughput over it.
``--set train.mixed_precision=mixed_bfloat16`` trains both in bf16 mixed precision (CPUs with AVX512_BF16 or
AMX), ``mixed_float16`` with dynamic loss scaling (the paper's GPU path). Timings are printed, never asserted.
Examples::

    sernet bench train                              # smoke profile model
    sernet --profile full bench train --json        # paper-width model, one JSON object
    sernet --profile full bench train --reference --set train.mixed_precision=mixed_bfloat16
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
    parser.add_argument("--reference", action="store_true",
                        help="also time the plain build's model.fit on the same batches (ratio to it)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


def _device() -> str:
    from sernet.backend import backend_name
    from sernet.train.trainer import gpu_available

    kind = "GPU" if gpu_available() else "CPU"
    return f"{kind} ({platform.processor() or platform.machine()}), Keras backend {backend_name()}"


def reference_fit(cfg, features: np.ndarray, y: np.ndarray, warmup: int, steps: int) -> dict[str, float]:
    """Throughput of the plain build's ``model.fit`` on ``steps`` copies of one batch (after ``warmup`` steps).

    The plain build is compiled with the trainer's optimizer class (AdamW, ``cfg.train`` learning rate and
    weight decay) and categorical cross-entropy, under the current dtype policy (Keras wraps the optimizer
    for loss scaling under ``mixed_float16``).
    """
    from sernet.backend import keras
    from sernet.bench.reference import plain_sernet

    k = keras()
    plain = plain_sernet(cfg, y.shape[1])
    plain.compile(optimizer=k.optimizers.AdamW(cfg.train.learning_rate, weight_decay=cfg.train.weight_decay),
                  loss=k.losses.CategoricalCrossentropy(from_logits=True))
    batch = len(features)
    xs, ys = np.concatenate([features] * max(1, warmup)), np.concatenate([y] * max(1, warmup))
    plain.fit(xs, ys, batch_size=batch, epochs=1, verbose=0, shuffle=False)  # traces the step
    xs, ys = np.concatenate([features] * steps), np.concatenate([y] * steps)
    t0 = time.perf_counter()
    plain.fit(xs, ys, batch_size=batch, epochs=1, verbose=0, shuffle=False)
    seconds = time.perf_counter() - t0
    return {"reference_seconds": round(seconds, 3),
            "reference_utterances_per_s": round(steps * batch / seconds, 1),
            "reference_ms_per_step": round(1000 * seconds / steps, 2),
            "reference_parameters": int(plain.count_params())}


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
    if args.reference:
        report |= reference_fit(cfg, x["features"], y, args.warmup, args.steps)
        report["ratio_to_reference"] = round(ups / report["reference_utterances_per_s"], 3)
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
