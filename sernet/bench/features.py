"""Feature extraction speed: real-time factor of spectral, prosodic and whole-pipeline extraction.

The real-time factor (RTF) is audio seconds processed per second: per core it is audio seconds per
CPU-second of one single-threaded process; with all cores it is audio seconds per wall-clock second of a
process pool (one process per core, BLAS limited to one thread each). Audio: utterances of the synthetic
corpus (``sernet.data.synthetic.synthesize_utterance``), so speech-like pitch, pauses and noise.

The breakdown times the pipeline's parts (per core) and names the one that bounds it. Timings vary with
the machine and its load: never compare numbers from different machines.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import time
from concurrent.futures import ProcessPoolExecutor
from multiprocessing import get_context

import numpy as np

TARGET_PER_CORE_RTF = 200.0  # the target for the whole pipeline
STAGES: tuple[str, ...] = ("spectral", "prosodic", "pipeline")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--utterances", type=int, default=48, help="synthetic utterances to time (default 48)")
    parser.add_argument("--workers", type=int, help="processes for the all-cores run (default: all cores)")
    parser.add_argument("--repeats", type=int, default=2, help="timed passes per measurement; the best counts")


def _stage_fn(stage: str):
    from sernet.features.extract import extract_utterance
    from sernet.features.prosody import prosodic_features
    from sernet.features.spectral import spectral_features

    return {"spectral": spectral_features, "prosodic": prosodic_features, "pipeline": extract_utterance}[stage]


def _cpu_seconds(stage: str, signals: list[np.ndarray], fcfg, repeats: int) -> float:
    """Best-of-``repeats`` CPU seconds of one single-threaded pass over ``signals``."""
    from sernet.features.cache import _single_threaded

    _single_threaded()
    fn = _stage_fn(stage)
    fn(signals[0], fcfg)  # warm-up (imports, caches)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.process_time()
        for y in signals:
            fn(y, fcfg)
        best = min(best, time.process_time() - t0)
    return best


def _breakdown(signals: list[np.ndarray], fcfg, repeats: int) -> dict[str, float]:
    """Per-core CPU milliseconds per audio second of the pipeline's parts."""
    import parselmouth

    from sernet.features import prosody, spectral

    parts = {
        "spectral (librosa STFT, mel, MFCC, deltas)": lambda y: spectral.spectral_features(y, fcfg),
        "Praat To Pitch (ac)": lambda y: parselmouth.Sound(y.astype(np.float64), fcfg.sample_rate_hz)
        .to_pitch_ac(time_step=fcfg.hop_ms / 1000, pitch_floor=fcfg.pitch_floor_hz,
                     pitch_ceiling=fcfg.pitch_ceiling_hz),
        "frame energy + syllable nuclei": lambda y: prosody.frame_energy_db(y, fcfg),
    }
    audio_s = sum(len(y) for y in signals) / fcfg.sample_rate_hz
    out = {}
    for name, fn in parts.items():
        fn(signals[0])
        best = float("inf")
        for _ in range(repeats):
            t0 = time.process_time()
            for y in signals:
                fn(y)
            best = min(best, time.process_time() - t0)
        out[name] = 1000 * best / audio_s
    sounds = [parselmouth.Sound(y.astype(np.float64), fcfg.sample_rate_hz) for y in signals]
    pitches = [s.to_pitch_ac(time_step=fcfg.hop_ms / 1000, pitch_floor=fcfg.pitch_floor_hz,
                             pitch_ceiling=fcfg.pitch_ceiling_hz) for s in sounds]
    t0 = time.process_time()
    for s, p in zip(sounds, pitches, strict=True):
        prosody._jitter_shimmer(s, p)
    out["Praat pulses + jitter + shimmer"] = 1000 * (time.process_time() - t0) / audio_s
    t0 = time.process_time()
    for s in sounds:
        s.to_harmonicity_cc(time_step=fcfg.hop_ms / 1000, minimum_pitch=fcfg.pitch_floor_hz)
    out["(not used) Praat To Harmonicity (cc)"] = 1000 * (time.process_time() - t0) / audio_s
    return out


def _worker_init() -> None:
    from sernet.features.cache import _single_threaded

    _single_threaded()


def _worker_pass(stage: str, signals: list[np.ndarray], fcfg) -> int:
    fn = _stage_fn(stage)
    for y in signals:
        fn(y, fcfg)
    return len(signals)


def _all_cores_wall_seconds(stage: str, signals: list[np.ndarray], fcfg, workers: int, pool) -> float:
    parts = [signals[i::workers] for i in range(workers)]
    list(pool.map(_worker_pass, [stage] * workers, [p[:1] for p in parts], [fcfg] * workers))  # warm
    t0 = time.perf_counter()
    list(pool.map(_worker_pass, [stage] * workers, parts, [fcfg] * workers))
    return time.perf_counter() - t0


def measure(cfg, *, n_utterances: int = 48, workers: int | None = None, repeats: int = 2,
            all_cores: bool = True) -> dict:
    """Run the benchmark; return the result object that ``--json`` prints.

    ``all_cores=False`` skips the process-pool run (``all_cores_rtf`` is then None).
    """
    from sernet.data.synthetic import synthesize_utterance

    fcfg = cfg.features
    signals = [np.asarray(synthesize_utterance(i, cfg)[0], dtype=np.float32) for i in range(n_utterances)]
    audio_s = sum(len(y) for y in signals) / fcfg.sample_rate_hz
    workers = workers or os.cpu_count() or 1
    stages = {}
    for stage in STAGES:
        cpu = _cpu_seconds(stage, signals, fcfg, repeats)
        stages[stage] = {"per_core_rtf": audio_s / cpu, "cpu_ms_per_audio_s": 1000 * cpu / audio_s}
        stages[stage]["all_cores_rtf"] = None
    if all_cores:
        with ProcessPoolExecutor(max_workers=workers, mp_context=get_context("spawn"),
                                 initializer=_worker_init) as pool:
            for stage in STAGES:
                wall = _all_cores_wall_seconds(stage, signals, fcfg, workers, pool)
                stages[stage]["all_cores_rtf"] = audio_s / wall
    breakdown = _breakdown(signals, fcfg, repeats)
    used = {k: v for k, v in breakdown.items() if not k.startswith("(not used)")}
    bound = max(used, key=used.get)
    return {
        "benchmark": "features",
        "n_utterances": n_utterances,
        "audio_s": audio_s,
        "workers": workers,
        "cpu_count": os.cpu_count(),
        "machine": f"{platform.machine()} {platform.processor() or ''}".strip(),
        "hop_ms": fcfg.hop_ms,
        "stages": stages,
        "breakdown_cpu_ms_per_audio_s": breakdown,
        "bound": bound,
        "target_per_core_rtf": TARGET_PER_CORE_RTF,
        "meets_target": stages["pipeline"]["per_core_rtf"] >= TARGET_PER_CORE_RTF,
    }


def format_result(r: dict) -> str:
    from sernet.bench import format_table

    rows = [{"stage": s, "per-core RTF": f"{v['per_core_rtf']:.0f}x",
             f"all-cores RTF ({r['workers']} proc)":
                 "-" if v["all_cores_rtf"] is None else f"{v['all_cores_rtf']:.0f}x",
             "CPU ms / audio s": f"{v['cpu_ms_per_audio_s']:.2f}"} for s, v in r["stages"].items()]
    lines = [f"feature extraction, {r['n_utterances']} synthetic utterances ({r['audio_s']:.1f} s audio), "
             f"hop {r['hop_ms']} ms, {r['cpu_count']} cores",
             format_table(rows, list(rows[0])), "",
             "breakdown (per core, CPU ms per audio second):"]
    lines += [f"  {k:45s} {v:6.2f}" for k, v in r["breakdown_cpu_ms_per_audio_s"].items()]
    verdict = "meets" if r["meets_target"] else "misses"
    lines.append(f"whole pipeline {verdict} the {r['target_per_core_rtf']:.0f}x-per-core target; "
                 f"largest part: {r['bound']}")
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    from sernet.cli import load_config

    result = measure(load_config(args), n_utterances=args.utterances, workers=args.workers, repeats=args.repeats)
    print(json.dumps(result) if args.json else format_result(result))
    return 0
