"""``sernet bench latency``: model-only and end-to-end inference latency (paper Table 6.1), a benchmark.

Measures, for windows of ``cfg.features.max_length`` frames (300 = 3 s), at each batch size of
``cfg.deploy.bench_batch_sizes`` (1 and 32, the paper's):

- **model-only** latency of every way to run the Keras model - eager ``model(x, training=False)``,
  ``model.predict``, ``model.predict_on_batch``, a compiled forward pass (``tf.function`` / ``jax.jit``: what
  :class:`sernet.deploy.runners.KerasRunner` uses), the same with XLA - and of the LiteRT exports (fp32, fp16,
  dynamic-range int8), on the CPU and on a GPU when TensorFlow/JAX sees one;
- **end-to-end** latency (audio -> features -> prediction through :class:`sernet.deploy.predictor.Predictor`) and its
  real-time factor (seconds of audio per second of compute), with the feature extraction split into its
  spectral (librosa) and prosodic (Praat) parts, which names the bound;
- the **compute bound**: the model's FLOPs (``sernet.model.cost``) over the machine's measured fp32 matmul
  throughput gives the fastest a batch can possibly run; ``achieved_gflops`` says how close each path gets;
- **paper-size** SER-Nets beside Table 6.1 (``paper_size``; skip with ``--no-paper-size``): the ``full``
  profile's widths and 300-frame windows with the stated 3-tap kernels, and with the kernel size whose
  parameter count matches the paper's 2.3 M (Table 6.2; ``cost.matching_kernel_size``, k = 16), compiled,
  each batch's p50 as a ratio to the paper's figure for the same batch.

- with ``--reference``, the **plain build** (:func:`sernet.bench.reference.plain_sernet`: the same diagram and
  widths as plain Keras layers without masking) timed in the same run beside sernet's compiled and XLA paths,
  bf16 (the model built under Keras' ``mixed_bfloat16`` policy; the plain build too), and ONNX Runtime fp32
  and static int8 (:mod:`sernet.deploy.export`), each row with its ratio to the plain build at the same batch
  and its parity with sernet's compiled float32 path (max |Δlogit| and label agreement on random windows:
  ragged masks for the masked paths, full windows for the plain build, which has no mask).

p50 and p90 are over ``--repeats`` warm runs after ``--warmup`` untimed runs. ``--cores 1`` pins the process to
one core (``os.sched_setaffinity``) and sets one TensorFlow / LiteRT thread: the "one core" figures.
Timings are printed, never asserted. ``--json`` prints one JSON object. Explained in chapters/08_deployment.py.

Example::

    sernet bench latency                    # every path, table
    sernet bench latency --cores 1 --json   # one core, machine-readable
    sernet --profile full bench latency --reference --paths compiled --no-end-to-end --no-paper-size
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

MODEL_PATHS = ("call", "predict", "predict_on_batch", "compiled", "xla", "litert_fp32", "litert_fp16",
               "litert_int8")
# Targets of the issue for this 2-core CPU (ms at p50, 300-frame windows) and the end-to-end real-time factor.
TARGETS_MS = {1: 2.0, 32: 35.0}
TARGET_RTF = 50.0


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH",
                        help="run directory or .keras file (default: an untrained build_sernet(cfg); latency does "
                             "not depend on the weights)")
    parser.add_argument("--batch-sizes", metavar="N,N", help="default: deploy.bench_batch_sizes")
    parser.add_argument("--repeats", type=int, help="timed runs per measurement (default: deploy.bench_repeats)")
    parser.add_argument("--warmup", type=int, help="untimed runs first (default: deploy.bench_warmup)")
    parser.add_argument("--paths", default=",".join(MODEL_PATHS),
                        help=f"model-only paths to time, a subset of {','.join(MODEL_PATHS)}")
    parser.add_argument("--cores", type=int, help="pin to this many cores and threads (e.g. 1)")
    parser.add_argument("--no-end-to-end", action="store_true", help="skip the audio -> prediction timings")
    parser.add_argument("--layers", action="store_true",
                        help="also profile the compiled model layer by layer at the largest batch size")
    parser.add_argument("--no-paper-size", action="store_true",
                        help="skip the paper-size models (k = 3 and the 2.3 M-parameter kernel size) beside Table 6.1")
    parser.add_argument("--reference", action="store_true",
                        help="also time the plain build (no masking) beside sernet's compiled, XLA, bf16 and ONNX "
                             "Runtime fp32/int8 paths, with ratios and parity")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of tables")


def percentiles_ms(samples_s: list[float]) -> dict[str, float]:
    """p50, p90 and the fastest run (``best_ms``) in ms of wall-clock samples in seconds."""
    ms = np.asarray(samples_s) * 1000.0
    return {"p50_ms": float(np.percentile(ms, 50)), "p90_ms": float(np.percentile(ms, 90)),
            "best_ms": float(ms.min())}


def time_calls(fn: Callable[[], object], warmup: int, repeats: int) -> dict[str, float]:
    """Run ``fn`` ``warmup`` times untimed, then ``repeats`` times timed; p50/p90 in ms."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return percentiles_ms(samples)


def best_ms(fn: Callable[[], object], warmup: int, repeats: int) -> float:
    """The fastest of ``repeats`` timed runs (ms) after ``warmup`` untimed ones."""
    for _ in range(warmup):
        fn()
    best = float("inf")
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best * 1000.0


_BLAS_LIMIT = None  # keeps the threadpoolctl limit alive for the process


def pin_cores(n: int | None) -> list[int] | None:
    """Restrict this process to its first ``n`` allowed cores, ``n`` TensorFlow threads and ``n`` BLAS threads.

    The BLAS limit matters: NumPy's OpenBLAS otherwise keeps one thread per visible core, and on a pinned
    (or busy) core its threads wait for each other - the 128 x 257 mel filterbank product of one utterance
    then takes several times longer than single-threaded.
    """
    global _BLAS_LIMIT
    if not n:
        return None
    cores = sorted(os.sched_getaffinity(0))[:n]
    os.sched_setaffinity(0, cores)
    try:
        from threadpoolctl import threadpool_limits

        _BLAS_LIMIT = threadpool_limits(limits=n)
    except ImportError:  # threadpoolctl comes with scikit-learn; without it BLAS keeps its default
        pass
    from sernet.backend import keras

    if keras().backend.backend() == "tensorflow":
        import tensorflow as tf

        try:
            tf.config.threading.set_intra_op_parallelism_threads(n)
            tf.config.threading.set_inter_op_parallelism_threads(n)
        except RuntimeError:  # TensorFlow already initialised its pools: affinity still applies
            pass
    return cores


def machine() -> dict[str, object]:
    """A description of the machine and stack the numbers were taken on."""
    from sernet.backend import cpu_model, keras

    cpu = cpu_model()
    k = keras()
    info: dict[str, object] = {
        "cpu": cpu,
        "cores_visible": os.cpu_count(),
        "cores_used": len(os.sched_getaffinity(0)),
        "python": platform.python_version(),
        "keras": k.__version__,
        "backend": k.backend.backend(),
        "gpus": gpu_names(),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "TF_ENABLE_ONEDNN_OPTS": os.environ.get("TF_ENABLE_ONEDNN_OPTS", "(unset: oneDNN on)"),
    }
    if info["backend"] == "tensorflow":
        import tensorflow as tf

        info["tensorflow"] = tf.__version__
    return info


def gpu_names() -> list[str]:
    """GPUs the active Keras backend can use (empty on this CPU machine)."""
    from sernet.backend import backend_name

    if backend_name() == "tensorflow":
        import tensorflow as tf

        return [d.name for d in tf.config.list_physical_devices("GPU")]
    if backend_name() == "jax":
        import jax

        return [str(d) for d in jax.devices() if d.platform == "gpu"]
    return []


PAPER_PLATFORM = {"cpu": "CPU (Intel i9)", "gpu": "GPU (RTX 3090)"}
"""The row of the paper's Table 6.1 each of our devices is set beside."""


@dataclasses.dataclass(frozen=True)
class PaperSizeModel:
    """One paper-size SER-Net to time beside Table 6.1 (untrained: latency does not depend on the weights)."""

    name: str
    cfg: object  # sernet.config.Config
    model: object  # keras.Model
    parameters: int
    flops: float  # per window of cfg.features.max_length frames

    def row(self) -> dict[str, object]:
        """The model's exact, machine-independent description."""
        return {"model": self.name, "kernel_size": self.cfg.model.kernel_size, "parameters": self.parameters,
                "frames": self.cfg.features.max_length, "gflop_per_utterance": self.flops / 1e9}


def paper_size_models(cfg, n_params: float | None = None) -> list[PaperSizeModel]:
    """The paper-size SER-Nets: the ``full`` profile's features and model, at its stated kernel size (3) and
    at the kernel size whose parameter count is nearest ``n_params`` (default: the paper's Base, 2.3 M).

    The other sections (deploy, seeds) stay ``cfg``'s. Chapter 3 explains why the stated design has about a
    quarter of the paper's parameters and FLOPs, and why ``k ≈ 16`` closes the gap.
    """
    from sernet import config, paper
    from sernet.model import build_sernet
    from sernet.model.cost import flops_per_utterance, matching_kernel_size

    full = config.load("full")
    stated = dataclasses.replace(cfg, features=full.features, model=full.model)
    n_params = paper.TABLE_6_2["SER-Net Base"][0] if n_params is None else n_params
    k = matching_kernel_size(stated, n_params)
    variants = [(f"k={stated.model.kernel_size} (stated design)", stated)]
    if k != stated.model.kernel_size:
        variants.append((f"k={k} ({n_params / 1e6:.1f} M parameters)",
                         config.override(stated, {"model.kernel_size": k})))
    out = []
    for name, c in variants:
        model = build_sernet(c)
        flops = float(flops_per_utterance(c, model=model).loc["total", "flops"])
        out.append(PaperSizeModel(name, c, model, int(model.count_params()), flops))
    return out


def paper_size(models: list[PaperSizeModel], batch_sizes: list[int], warmup: int, repeats: int,
               roof: float, threads: int | None = None) -> list[dict]:
    """Compiled model-only latency of each paper-size model beside the paper's Table 6.1.

    Rows as :func:`model_only` (one per model, device and batch) plus the model's description,
    ``compute_floor_ms`` (FLOPs over ``roof``, the CPU matmul roof; CPU rows only), the Table 6.1 figure of
    the same batch on the paper's platform of that device (``paper_platform``, ``paper_ms``; None where the
    paper has no such batch) and ``ratio_to_paper`` (our p50 / the paper's).
    """
    from sernet import paper

    rows = []
    for m in models:
        for r in model_only(m.model, m.cfg, ["compiled"], batch_sizes, warmup, repeats, None, threads, m.flops):
            platform = PAPER_PLATFORM[r["device"]]
            paper_ms = paper.TABLE_6_1.get((platform, r["batch"]))
            rows.append({**m.row(), **r,
                         "compute_floor_ms": m.flops * r["batch"] / roof / 1e6 if r["device"] == "cpu" else None,
                         "paper_platform": platform, "paper_ms": paper_ms,
                         "ratio_to_paper": r["p50_ms"] / paper_ms if paper_ms else None})
    return rows


def describe_paper_size(rows: list[dict], machine_info: dict) -> list[str]:
    """One sentence per paper-size model and device: measured p50 as ratios to Table 6.1, and the bound.

    The bound compares like with like: the roof is the best of its runs, so the batch's fastest run
    (``best_ms``, the least disturbed by other processes) is set against the compute floor. Within 2x of
    the floor (at least half the roof) the batch is called bound by arithmetic (a faster chip, not a faster
    call path, would help); further from it, by overheads. The machine is named in each sentence.
    """
    where = (f"{machine_info.get('cpu', '?')}, {machine_info.get('cores_used', '?')} cores, "
             f"{machine_info.get('backend', '?')} compiled forward pass")
    out = []
    keys = dict.fromkeys((r["model"], r["device"]) for r in rows)
    for name, device in keys:
        group = [r for r in rows if r["model"] == name and r["device"] == device]
        first = group[0]
        parts = []
        for r in group:
            text = f"batch {r['batch']} p50 {r['p50_ms']:.1f} ms"
            if r["ratio_to_paper"] is not None:
                text += f" = {r['ratio_to_paper']:.2f}x the paper's {r['paper_ms']:g} ms"
            if r["compute_floor_ms"]:
                fastest = r.get("best_ms", r["p50_ms"])
                share = r["compute_floor_ms"] / fastest
                bound = "arithmetic" if share >= 0.5 else "overheads"
                text += (f" (compute floor {r['compute_floor_ms']:.1f} ms; its fastest run, {fastest:.1f} ms, "
                         f"reaches {share:.0%} of the roof: bound by {bound})")
            parts.append(text)
        device_text = where if device == "cpu" else f"GPU {', '.join(machine_info.get('gpus') or ['?'])}"
        out.append(f"{name}: {first['parameters']:,} parameters, {first['gflop_per_utterance']:.3f} GFLOP per "
                   f"{first['frames']}-frame window; on {device_text}, against the paper's "
                   f"{first['paper_platform']}: " + "; ".join(parts) + ".")
    return out


def matmul_gflops(n: int = 512, repeats: int = 50) -> float:
    """Measured fp32 matmul throughput (GFLOP/s, best of ``repeats``) of the backend on the CPU: the compute roof.

    A compiled ``n x n`` matmul (``tf.function`` on TensorFlow, ``jax.jit`` on JAX, NumPy otherwise), timed
    after a warm-up; the best run is taken because the roof is what the hardware *can* do. The compute
    floors of CPU rows divide by it, so it is measured on the CPU even where a GPU is visible.
    """
    from sernet.backend import backend_name

    rng = np.random.default_rng(0)
    a = rng.standard_normal((n, n), dtype=np.float32)
    b = rng.standard_normal((n, n), dtype=np.float32)
    if backend_name() == "tensorflow":
        import tensorflow as tf

        with tf.device("/CPU:0"):
            a, b = tf.constant(a), tf.constant(b)
        mm = tf.function(lambda x, y: tf.reduce_sum(tf.matmul(x, y)))

        def fn():
            with tf.device("/CPU:0"):
                return mm(a, b).numpy()
    elif backend_name() == "jax":
        import jax
        import jax.numpy as jnp

        cpu = jax.devices("cpu")[0]
        a, b = jax.device_put(a, cpu), jax.device_put(b, cpu)
        mm = jax.jit(lambda x, y: jnp.sum(x @ y))
        fn = lambda: mm(a, b).block_until_ready()  # noqa: E731
    else:
        fn = lambda: a @ b  # noqa: E731
    best_s = best_ms(fn, warmup=3, repeats=repeats) / 1000.0
    return 2.0 * n**3 / best_s / 1e9


def _runner(path: str, model, cfg, export_dir: Path | None, threads: int | None):
    from sernet.deploy.runners import KerasRunner, LiteRTRunner

    if path.startswith("litert_"):
        return LiteRTRunner(export_dir / f"model_{path.split('_')[1]}.tflite", num_threads=threads)
    if path in ("compiled", "xla", "call", "predict_on_batch"):
        return KerasRunner(model, cfg.features.max_length, path)
    return None  # "predict": model.predict


def model_only(model, cfg, paths: list[str], batch_sizes: list[int], warmup: int, repeats: int,
               export_dir: Path | None, threads: int | None, flops: float) -> list[dict]:
    """Model-only latency rows (path, device, batch, p50/p90, per-utterance ms, achieved GFLOP/s)."""
    from sernet import progress
    from sernet.deploy.runners import mask_dtype

    rng = np.random.default_rng(0)
    length, d = cfg.features.max_length, int(model.input["features"].shape[-1])
    devices = ["cpu"] + (["gpu"] if gpu_names() else [])
    rows = []
    jobs = [(p, dev, b) for p in paths for dev in devices for b in batch_sizes
            if not (dev == "gpu" and p.startswith("litert_"))]
    for path, device, batch in progress.bar(jobs, total=len(jobs), desc="model-only", unit="case"):
        x = rng.standard_normal((batch, length, d), dtype=np.float32)
        mask = np.ones((batch, length), dtype=mask_dtype(model))
        reps = repeats if path not in ("predict", "call") else max(3, repeats // 5)  # slow paths: fewer
        with _device(device):
            runner = _runner(path, model, cfg, export_dir, threads)
            if runner is None:
                fn = lambda x=x, m=mask, b=batch: model.predict({"features": x, "mask": m}, batch_size=b, verbose=0)  # noqa: E731
            else:
                fn = lambda r=runner, x=x, m=mask: r.logits(x, m)  # noqa: E731
            stats = time_calls(fn, warmup, reps)
        rows.append({"path": path, "device": device, "batch": batch, **stats,
                     "per_utterance_ms": stats["p50_ms"] / batch, "repeats": reps,
                     "achieved_gflops": flops * batch / (stats["p50_ms"] / 1000.0) / 1e9})
    return rows


REFERENCE_PATHS = ("reference", "reference_bf16", "compiled", "compiled_masked", "xla", "compiled_bf16", "onnx_fp32",
                   "onnx_int8")
"""The rows of ``--reference``: the plain build (float32, bf16) and sernet's paths timed beside it.

``compiled`` is what :class:`sernet.deploy.predictor.Predictor` runs: on the timed batches (full windows) its
unmasked twin (:func:`sernet.model.unmasked_twin`); ``compiled_masked`` is the masked graph on the same
batches, what a batch with padded windows costs."""


def random_windows(rng, n: int, length: int, d: int, ragged: bool) -> tuple[np.ndarray, np.ndarray]:
    """``n`` standard-normal windows (z-scored features look like this) with masks: ragged (a random third to
    all of the frames real, padding zeroed) or all ones."""
    x = rng.standard_normal((n, length, d), dtype=np.float32)
    real = rng.integers(length // 3, length + 1, n) if ragged else np.full(n, length)
    mask = (np.arange(length)[None, :] < real[:, None]).astype(np.float32)
    return x * mask[..., None], mask


_BF16_PROBE = """
import numpy as np, tensorflow as tf
x = tf.constant(np.ones((4, 8, 8), np.float32))
tf.function(lambda a: tf.matmul(tf.cast(a, tf.bfloat16), tf.cast(a, tf.bfloat16)))(x).numpy()
"""
_BF16: bool | None = None


def bf16_available() -> bool:
    """Whether TensorFlow can run a bfloat16 matmul on this CPU under this process's oneDNN dispatch.

    Probed in a subprocess, because where oneDNN has no bf16 kernel (e.g. under ``ONEDNN_MAX_CPU_ISA=AVX2``)
    it aborts the process instead of raising. Cached for the process.
    """
    global _BF16
    if _BF16 is None:
        import subprocess
        import sys

        env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "3"}
        try:
            done = subprocess.run([sys.executable, "-c", _BF16_PROBE], env=env, capture_output=True, timeout=300)
            _BF16 = done.returncode == 0
        except (OSError, subprocess.TimeoutExpired):
            _BF16 = False
    return _BF16


def bf16_twin(model, cfg):
    """``model`` rebuilt under Keras' ``mixed_bfloat16`` policy with the same weights (logits stay float32)."""
    from sernet.backend import keras
    from sernet.deploy.runners import output_width
    from sernet.model import build_sernet

    k = keras()
    previous = k.mixed_precision.dtype_policy()
    k.mixed_precision.set_dtype_policy("mixed_bfloat16")
    try:
        twin = build_sernet(cfg, n_classes=output_width(model))
    finally:
        k.mixed_precision.set_dtype_policy(previous)
    twin.set_weights(model.get_weights())
    return twin


def reference_runners(model, cfg, tmp: Path, threads: int | None, calibration) -> dict[str, object]:
    """Runners for :data:`REFERENCE_PATHS` (ONNX files exported into ``tmp``; int8 calibrated on
    ``calibration``); the bf16 rows only where :func:`bf16_available`."""
    from sernet.backend import keras
    from sernet.bench.reference import PlainRunner, copy_weights, plain_sernet
    from sernet.deploy.export import WindowCalibration, export_onnx, quantize_onnx_int8
    from sernet.deploy.runners import KerasRunner, OnnxRuntimeRunner, mask_dtype, output_width
    from sernet.model import unmasked_twin

    length = cfg.features.max_length
    plain = plain_sernet(cfg, output_width(model))
    copy_weights(model, plain)
    k = keras()
    bf16 = bf16_available()
    fp32 = export_onnx(model, tmp / "model.onnx", length, cfg.deploy.onnx_opset)
    reader = WindowCalibration(*calibration, max(cfg.deploy.bench_batch_sizes), mask_dtype(model))
    int8 = quantize_onnx_int8(fp32, tmp / "model_int8.onnx", reader, cfg.deploy.onnx_int8_ops)
    opt, spin = cfg.deploy.onnx_optimization, cfg.deploy.onnx_allow_spinning
    runners = {"reference": PlainRunner(plain, length)}
    if bf16:
        previous = k.mixed_precision.dtype_policy()
        k.mixed_precision.set_dtype_policy("mixed_bfloat16")
        try:
            plain_bf16 = plain_sernet(cfg, output_width(model))
        finally:
            k.mixed_precision.set_dtype_policy(previous)
        plain_bf16.set_weights(plain.get_weights())
        runners["reference_bf16"] = PlainRunner(plain_bf16, length)
    twin = unmasked_twin(model, cfg, output_width(model))
    runners |= {"compiled": KerasRunner(model, length, "compiled", unmasked=twin),
                "compiled_masked": KerasRunner(model, length, "compiled"),
                "xla": KerasRunner(model, length, "xla", unmasked=twin)}
    if bf16:
        model_bf16 = bf16_twin(model, cfg)
        runners["compiled_bf16"] = KerasRunner(model_bf16, length, "compiled",
                                               unmasked=unmasked_twin(model_bf16, cfg, output_width(model)))
    runners |= {
        "onnx_fp32": OnnxRuntimeRunner(fp32, num_threads=threads, optimization=opt, allow_spinning=spin),
        "onnx_int8": OnnxRuntimeRunner(int8, num_threads=threads, optimization=opt, allow_spinning=spin),
    }
    return runners


def ratio_interval(samples: np.ndarray, reference: np.ndarray, n_boot: int = 2000, seed: int = 0) -> tuple[float, float]:
    """95 % bootstrap interval of ``median(samples) / median(reference)``, resampling the timing *rounds*.

    ``samples[i]`` and ``reference[i]`` were timed in the same round (one call of each path in turn), so a
    round's load affects both; resampling rounds keeps those pairs together.

    Examples
    --------
    >>> lo, hi = ratio_interval(np.full(20, 2.0), np.full(20, 1.0))
    >>> lo, hi
    (2.0, 2.0)
    """
    samples, reference = np.asarray(samples, float), np.asarray(reference, float)
    idx = np.random.default_rng(seed).integers(0, len(samples), size=(n_boot, len(samples)))
    ratios = np.median(samples[idx], axis=1) / np.median(reference[idx], axis=1)
    lo, hi = np.percentile(ratios, [2.5, 97.5])
    return float(lo), float(hi)


def reference_comparison(model, cfg, batch_sizes: list[int], warmup: int, repeats: int,
                         threads: int | None = None, n_parity: int = 64) -> list[dict]:
    """Rows of :data:`REFERENCE_PATHS` at each batch: p50/p90/best (ms), ``ratio_to_reference`` (p50 over the
    plain build's p50 at that batch) with its 95 % bootstrap interval (``ratio_ci95``, :func:`ratio_interval`)
    and parity with sernet's compiled float32 path on ``n_parity`` random windows (``max_abs_dlogit``,
    ``label_agreement``; ``parity_masks`` says ragged or full).

    The paths are timed in rounds, A B C ... A B C ...: each round calls every path once on the same batch,
    so a change of the machine's load or clock during the run falls on all of them alike.
    """
    from sernet.deploy.export import check_parity
    from sernet.deploy.runners import KerasRunner

    rng = np.random.default_rng(0)
    length, d = cfg.features.max_length, int(model.input["features"].shape[-1])
    ragged = random_windows(rng, n_parity, length, d, ragged=True)
    full = random_windows(rng, n_parity, length, d, ragged=False)
    calibration = random_windows(rng, n_parity, length, d, ragged=True)
    base = KerasRunner(model, length, "compiled")
    reference = {name: base.logits(*w) for name, w in (("ragged", ragged), ("full", full))}
    batch = max(cfg.deploy.bench_batch_sizes)
    with tempfile.TemporaryDirectory() as tmp:
        runners = reference_runners(model, cfg, Path(tmp), threads, calibration)
        parity = {}
        for name, runner in runners.items():
            masks = "full" if name.startswith("reference") else "ragged"
            x, m = full if masks == "full" else ragged
            dmax, agree = check_parity(reference[masks], runner, x, m, batch)
            parity[name] = {"max_abs_dlogit": dmax, "label_agreement": agree, "parity_masks": masks}
        rows = []
        for b in batch_sizes:
            x = rng.standard_normal((b, length, d), dtype=np.float32)
            mask = np.ones((b, length), np.float32)
            for runner in runners.values():
                for _ in range(warmup):
                    runner.logits(x, mask)
            samples: dict[str, list[float]] = {name: [] for name in runners}
            for _ in range(repeats):
                for name, runner in runners.items():
                    t0 = time.perf_counter()
                    runner.logits(x, mask)
                    samples[name].append(time.perf_counter() - t0)
            ref = np.asarray(samples["reference"])
            for name, values in samples.items():
                stats = percentiles_ms(values)
                lo, hi = ratio_interval(np.asarray(values), ref)
                rows.append({"path": name, "batch": b, **stats, "per_utterance_ms": stats["p50_ms"] / b,
                             "ratio_to_reference": float(np.median(values) / np.median(ref)),
                             "ratio_ci95": [lo, hi], **parity[name]})
    return rows


class _device:
    """``tf.device`` for TensorFlow; a no-op elsewhere (JAX places on its default device)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._ctx = None

    def __enter__(self):
        from sernet.backend import backend_name

        if backend_name() == "tensorflow":
            import tensorflow as tf

            self._ctx = tf.device("/GPU:0" if self.name == "gpu" else "/CPU:0")
            self._ctx.__enter__()
        return self

    def __exit__(self, *exc):
        if self._ctx is not None:
            self._ctx.__exit__(*exc)


def layer_profile(model, cfg, batch: int, warmup: int, repeats: int, flops_table=None) -> list[dict]:
    """Where the compiled forward pass spends its time, stage by stage.

    Times the compiled prefix of the model up to each stage's output (``tf.function`` / ``jax.jit`` of a
    functional sub-model whose output is summed to a scalar) and takes differences: a stage's time is what
    adding it to the prefix costs. Best of ``repeats`` runs (the least disturbed by other processes).
    Beside it, the stage's share of the FLOPs (``sernet.model.cost``): a stage whose time share is far above
    its FLOP share is bound by something other than arithmetic (memory traffic, small kernels, overheads).
    """
    from sernet.backend import keras
    from sernet.deploy.runners import KerasRunner, mask_dtype

    k = keras()
    names = [layer.name for layer in model.layers if layer.name not in ("features", "mask")]
    trunk = [n for n in names if n in ("frame_features", "multiscale_conv", "singlescale_conv", "projection",
                                       "self_attention", "temporal_pooling", "dense", "logits")
             or n.startswith("residual_") or n.startswith("conv_") or n.startswith("lstm")]
    rng = np.random.default_rng(0)
    length, d = cfg.features.max_length, int(model.input["features"].shape[-1])
    x = rng.standard_normal((batch, length, d), dtype=np.float32)
    mask = np.ones((batch, length), dtype=mask_dtype(model))
    rows, previous = [], 0.0
    for name in trunk:
        out = model.get_layer(name).output
        out = out[0] if isinstance(out, (list, tuple)) else out
        sub = k.Model(model.input, k.ops.sum(out))  # a scalar out: no activation copy in the timing
        runner = KerasRunner(sub, length)
        runner.n_features = d
        t = best_ms(lambda r=runner: r.logits(x, mask), warmup, repeats)
        share = None
        if flops_table is not None and name in flops_table.index:
            share = float(flops_table.loc[name, "share"])
        rows.append({"stage": name, "cumulative_ms": t, "stage_ms": max(t - previous, 0.0), "flop_share": share})
        previous = max(previous, t)
    total = rows[-1]["cumulative_ms"] if rows else 1.0
    for r in rows:
        r["time_share"] = r["stage_ms"] / total
    return rows


def benchmark_audio(cfg) -> np.ndarray:
    """Exactly ``max_length`` frames of speech ((max_length - 1) * hop samples) from the synthetic voice."""
    from sernet.data.synthetic import synthesize_utterance

    n = (cfg.features.max_length - 1) * cfg.features.hop_length
    pieces, i, total = [], 0, 0
    while total < n:
        y = synthesize_utterance(i, cfg)[0]
        pieces.append(y)
        total += len(y)
        i += 1
    return np.concatenate(pieces)[:n].astype(np.float32)


def end_to_end(predictor, cfg, batch_sizes: list[int], warmup: int, repeats: int) -> tuple[list[dict], dict]:
    """End-to-end rows (audio -> prediction) and the batch-1 breakdown (spectral / prosody / model, ms)."""
    from sernet.deploy.runners import single_threaded_blas
    from sernet.features.prosody import prosodic_features
    from sernet.features.spectral import spectral_features
    from sernet.features.windows import frame_windows

    y = benchmark_audio(cfg)
    audio_s = len(y) / cfg.features.sample_rate_hz
    reps = max(3, repeats // 5)
    rows = []
    for batch in batch_sizes:
        items = [y] * batch
        stats = time_calls(lambda items=items, b=batch: predictor.predict(items, batch_size=b), min(warmup, 2),
                           reps if batch == 1 else max(2, reps // 4))
        rows.append({"path": "end_to_end", "device": "cpu", "batch": batch, **stats,
                     "per_utterance_ms": stats["p50_ms"] / batch,
                     "real_time_factor": audio_s * batch / (stats["p50_ms"] / 1000.0), "audio_s": audio_s})
    raw = predictor.features(y)
    x, m = frame_windows(predictor.normalise(raw), np.zeros(1, np.int64), predictor.max_length)
    with single_threaded_blas():  # as Predictor.features runs them
        parts = {
            "spectral_ms": time_calls(lambda: spectral_features(y, cfg.features), 1, reps)["p50_ms"],
            "prosody_ms": time_calls(lambda: prosodic_features(y, cfg.features), 1, reps)["p50_ms"],
        }
    parts["model_ms"] = time_calls(lambda: predictor.runner.logits(x, m), 1, reps)["p50_ms"]
    parts["bound"] = max(("spectral_ms", "prosody_ms", "model_ms"), key=parts.get).removesuffix("_ms")
    return rows, parts


def run(args: argparse.Namespace) -> int:
    from sernet import paper
    from sernet.cli import load_config

    cfg = load_config(args)
    cores = pin_cores(args.cores)
    from sernet.backend import keras
    from sernet.deploy.predictor import Predictor, load_keras_model, read_metadata

    k = keras()
    k.utils.set_random_seed(cfg.train.seed)
    if args.model:
        path = Path(args.model)
        path = path / "model.keras" if path.is_dir() else path
        cfg, mean, std = read_metadata(path.parent)
        model = load_keras_model(path)
    else:
        from sernet.model import build_sernet

        model = build_sernet(cfg)
        mean, std = np.zeros(268, np.float32), np.ones(268, np.float32)
    batch_sizes = ([int(b) for b in args.batch_sizes.split(",")] if args.batch_sizes
                   else list(cfg.deploy.bench_batch_sizes))
    warmup = cfg.deploy.bench_warmup if args.warmup is None else args.warmup
    repeats = cfg.deploy.bench_repeats if args.repeats is None else args.repeats
    paths = [p.strip() for p in args.paths.split(",") if p.strip()]
    unknown = sorted(set(paths) - set(MODEL_PATHS))
    if unknown:
        from sernet.errors import SernetError

        raise SernetError(f"--paths: unknown {unknown}; expected some of {MODEL_PATHS}")
    from sernet.model.cost import flops_per_utterance

    flops = float(flops_per_utterance(cfg, model=model).loc["total", "flops"])
    predictor = Predictor.from_model(model, cfg, mean, std)
    with tempfile.TemporaryDirectory() as tmp:
        export_dir = None
        if any(p.startswith("litert_") for p in paths):
            from sernet.deploy.export import convert_tflite, export_saved_model

            export_dir = Path(tmp)
            saved = export_saved_model(model, export_dir / "saved_model", cfg.features.max_length)
            for p in paths:
                if p.startswith("litert_"):
                    q = p.split("_")[1]
                    convert_tflite(saved, export_dir / f"model_{q}.tflite", q)
        rows = model_only(model, cfg, paths, batch_sizes, warmup, repeats, export_dir, args.cores, flops)
    e2e, parts = ([], {}) if args.no_end_to_end else end_to_end(predictor, cfg, batch_sizes, warmup, repeats)
    layers = []
    if args.layers:
        table = flops_per_utterance(cfg, model=model)
        layers = layer_profile(model, cfg, max(batch_sizes), warmup, repeats, table)
    compared = (reference_comparison(model, cfg, batch_sizes, warmup, repeats, args.cores)
                if args.reference else [])
    roof = matmul_gflops()
    sized = [] if args.no_paper_size else paper_size(paper_size_models(cfg), batch_sizes, warmup, repeats, roof,
                                                     args.cores)
    info = machine() | {"cores_pinned": cores, "matmul_gflops": roof}
    report = {
        "machine": info,
        "frames": cfg.features.max_length,
        "parameters": int(model.count_params()),
        "gflop_per_utterance": flops / 1e9,
        "model_only": rows,
        "end_to_end": e2e,
        "end_to_end_breakdown_ms": parts,
        "layer_profile": layers,
        "targets": targets(rows, e2e, flops, roof),
        "reference": compared,
        "paper_size": sized,
        "paper_size_summary": describe_paper_size(sized, info),
        "paper_table_6_1": [{"platform": p, "batch": b, "latency_ms": ms}
                            for (p, b), ms in paper.TABLE_6_1.items()],
    }
    if args.json:
        print(json.dumps(report, indent=2))
    else:
        print(format_report(report))
    return 0


def targets(rows: list[dict], e2e: list[dict], flops: float, roof: float) -> list[dict]:
    """Each target: the best measured value, met or not, and the compute floor that bounds it."""
    out = []
    for batch, target in TARGETS_MS.items():
        cands = [r for r in rows if r["batch"] == batch and r["device"] == "cpu"]
        if not cands:
            continue
        best = min(cands, key=lambda r: r["p50_ms"])
        floor = flops * batch / roof / 1e6
        out.append({"target": f"model-only batch {batch} p50 <= {target} ms", "best_path": best["path"],
                    "measured_ms": best["p50_ms"], "met": best["p50_ms"] <= target,
                    "compute_floor_ms": floor,
                    "bound": "compute (FLOPs / measured matmul roof)" if floor > target else "overheads"})
    one = [r for r in e2e if r["batch"] == 1]
    if one:
        out.append({"target": f"end-to-end >= {TARGET_RTF:g}x real time", "best_path": "end_to_end",
                    "measured_x": one[0]["real_time_factor"], "met": one[0]["real_time_factor"] >= TARGET_RTF})
    return out


def format_report(report: dict) -> str:
    """The human-readable tables."""
    import pandas as pd

    m = report["machine"]
    lines = [f"machine: {m['cpu']}, {m['cores_used']}/{m['cores_visible']} cores used, "
             f"GPUs: {m['gpus'] or 'none'}, keras {m['keras']} ({m['backend']}), load {m['load_average']}",
             f"model: {report['parameters']:,} parameters, {report['gflop_per_utterance']:.3f} GFLOP per "
             f"{report['frames']}-frame window; measured fp32 matmul roof {m['matmul_gflops']:.1f} GFLOP/s", ""]
    cols = ["path", "device", "batch", "p50_ms", "p90_ms", "per_utterance_ms", "achieved_gflops"]
    lines += ["model-only latency (ms):", pd.DataFrame(report["model_only"])[cols].round(3).to_string(index=False)]
    if report["end_to_end"]:
        e = pd.DataFrame(report["end_to_end"])[["path", "batch", "p50_ms", "p90_ms", "per_utterance_ms",
                                                "real_time_factor"]]
        lines += ["", f"end-to-end latency, {report['end_to_end'][0]['audio_s']:.2f} s of audio per utterance:",
                  e.round(2).to_string(index=False),
                  "batch-1 breakdown (ms): " + ", ".join(f"{k} {v:.1f}" if isinstance(v, float) else f"{k}: {v}"
                                                       for k, v in report["end_to_end_breakdown_ms"].items())]
    if report.get("layer_profile"):
        lines += ["", f"compiled forward pass by stage, batch {max(r['batch'] for r in report['model_only'])}:",
                  pd.DataFrame(report["layer_profile"]).round(3).to_string(index=False)]
    if report.get("reference"):
        cols = ["path", "batch", "p50_ms", "p90_ms", "best_ms", "ratio_to_reference", "ratio_ci95", "max_abs_dlogit",
                "label_agreement", "parity_masks"]
        table = pd.DataFrame(report["reference"])[cols]
        table["ratio_ci95"] = [f"{lo:.3f}-{hi:.3f}" for lo, hi in table["ratio_ci95"]]
        lines += ["", "beside the plain build (no masking; ratio = p50 / the plain build's p50 at the same batch, "
                  "95 % bootstrap interval over the interleaved rounds; parity against sernet's compiled float32 "
                  "path):", table.to_string(index=False, float_format=lambda v: f"{v:.4g}")]
    lines += ["", "paper Table 6.1 (ms):", pd.DataFrame(report["paper_table_6_1"]).to_string(index=False)]
    if report.get("paper_size"):
        cols = ["model", "parameters", "gflop_per_utterance", "device", "batch", "p50_ms", "p90_ms", "best_ms",
                "compute_floor_ms", "paper_platform", "paper_ms", "ratio_to_paper"]
        lines += ["", "paper-size SER-Net beside Table 6.1 (compiled, ms):",
                  pd.DataFrame(report["paper_size"])[cols].round(3).to_string(index=False),
                  *report["paper_size_summary"]]
    lines += ["", "targets:", pd.DataFrame(report["targets"]).round(3).to_string(index=False)]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """``python -m sernet.bench.latency`` (same options as ``sernet bench latency``)."""
    parser = argparse.ArgumentParser(prog="sernet bench latency", description=__doc__.splitlines()[0])
    parser.add_argument("--profile")
    parser.add_argument("--set", dest="overrides", action="append", default=[])
    add_arguments(parser)
    return run(parser.parse_args(argv))


if __name__ == "__main__":
    raise SystemExit(main())
