"""``sernet bench serve``: a bounded load test of ``sernet serve`` against the offline batched predictor.

Starts ``sernet serve MODEL --port 0`` as a subprocess on a free localhost port and drives it from client
threads (``httpx``) with WAV uploads of mixed lengths (``serve.bench_clip_lengths_s``, cut from the
synthetic demo recording, cycled), in three phases of ``--seconds`` each:

``clean``
    ``serve.bench_clients`` clients, well-formed requests only;
``malformed``
    the same clients, ``serve.bench_malformed_fraction`` of the requests replaced by bad ones (garbage
    bytes, an empty body, a WAV cut after its header, NaN samples, a JSON body, a multipart body without a
    boundary): each must get its 4xx answer while the well-formed ones still succeed;
``overload``
    ``serve.bench_overload_clients`` clients, more than ``serve.queue_size``: the queue bound must hold (503
    with ``Retry-After``, answered at once) and the server's memory stay flat.

Per phase: throughput (answered clips per second and seconds of audio per second), p50/p95/p99 latency of
the successful well-formed requests, status counts, errors of well-formed requests (anything but 200, or 503
in the overload phase, including timeouts and dropped connections), the CPU seconds the server used, and
the server's RSS sampled every
``serve.bench_rss_interval_s`` (Linux ``/proc``). Before the server starts, the **offline** batched
predictor (``Predictor.predict`` on a list of the same clips, in this process) sets the throughput to
compare with: the issue's goal is >= 80 % of it. Timings depend on the machine and on what else runs on it;
they are printed, never asserted. ``--json`` prints one JSON object.

Example::

    sernet bench serve --model ~/.cache/sernet/runs/base --seconds 10 --json
"""

from __future__ import annotations

import argparse
import io
import json
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

PHASES = ("clean", "malformed", "overload")
THROUGHPUT_GOAL = 0.8  # of the offline batched predictor's clips per second (issue 13)
PERCENTILES = (50, 95, 99)
SERVER_CMD = "import sys; from sernet.cli import main; sys.exit(main())"
LISTENING = "listening on "
WARMUP_S = 2.0  # untimed requests before the first phase (the server compiles its batch shapes)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--model", metavar="PATH",
                        help="run directory or export to serve (default: the base run of this config)")
    parser.add_argument("--seconds", type=float, help="length of each phase (default: serve.bench_seconds)")
    parser.add_argument("--clients", type=int, help="concurrent clients (default: serve.bench_clients)")
    parser.add_argument("--overload-clients", type=int,
                        help="clients of the overload phase (default: serve.bench_overload_clients)")
    parser.add_argument("--json", action="store_true", help="print one JSON object instead of a table")


# ------------------------------------------------------------------------------------------ requests
@dataclass(frozen=True)
class Clip:
    body: bytes
    content_type: str
    duration_s: float
    malformed: str | None = None  # the kind of bad request, None for a well-formed one


def wav_bytes(y: np.ndarray, sample_rate_hz: int, subtype: str = "PCM_16") -> bytes:
    import soundfile as sf

    buf = io.BytesIO()
    sf.write(buf, y, sample_rate_hz, format="WAV", subtype=subtype)
    return buf.getvalue()


def make_clips(cfg) -> list[Clip]:
    """One WAV clip of each length of ``serve.bench_clip_lengths_s``, cut from the demo recording."""
    from sernet.deploy.streaming import demo_recording

    y, _, _ = demo_recording(cfg, utterances_per_segment=1)
    sr = cfg.features.sample_rate_hz
    clips, start = [], 0
    for length in cfg.serve.bench_clip_lengths_s:
        n = int(round(length * sr))
        if start + n > len(y):
            start = 0
        seg = np.resize(y[start:], n) if n > len(y) - start else y[start : start + n]
        start += n
        clips.append(Clip(wav_bytes(seg, sr), "audio/wav", n / sr))
    return clips


def malformed_clips(sample_rate_hz: int) -> list[Clip]:
    """Bad requests of every kind the server must refuse with a 4xx."""
    nan = np.full(sample_rate_hz // 2, 0.1, np.float32)
    nan[::100] = np.nan
    header_only = wav_bytes(np.zeros(sample_rate_hz, np.float32) + 0.1, sample_rate_hz)[:60]
    return [Clip(b"\x00garbage" * 64, "audio/wav", 0.0, "garbage"),
            Clip(b"", "audio/wav", 0.0, "empty"),
            Clip(header_only, "audio/wav", 0.0, "cut_after_header"),
            Clip(wav_bytes(nan, sample_rate_hz, "FLOAT"), "audio/wav", 0.0, "nan_samples"),
            Clip(b'{"path": "/etc/passwd"}', "application/json", 0.0, "json_body"),
            Clip(b"--x\r\nbroken", "multipart/form-data", 0.0, "multipart_without_boundary")]


@dataclass
class Result:
    t: float
    latency_ms: float
    status: int  # 0: no answer (timeout, connection error)
    malformed: str | None
    duration_s: float


@dataclass
class PhaseLog:
    results: list[Result] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)


def client_loop(url: str, clips: list[Clip], bad: list[Clip], fraction: float, deadline: float, offset: int,
                log: PhaseLog, timeout_s: float) -> None:
    import httpx

    rng = np.random.default_rng(offset)
    k = offset
    with httpx.Client(base_url=url, timeout=timeout_s) as client:
        while time.monotonic() < deadline:
            clip = bad[k % len(bad)] if fraction > 0 and rng.random() < fraction else clips[k % len(clips)]
            k += 1
            t0 = time.monotonic()
            retry_after = 0.0
            try:
                r = client.post("/v1/predict", content=clip.body, headers={"content-type": clip.content_type})
                status = r.status_code
                if status == 503:
                    retry_after = float(r.headers.get("retry-after", "0") or 0)
            except httpx.HTTPError:
                status = 0
            latency_ms = (time.monotonic() - t0) * 1000.0
            with log.lock:
                log.results.append(Result(t0, latency_ms, status, clip.malformed, clip.duration_s))
            if retry_after:  # back off as told, but not past the phase
                time.sleep(max(0.0, min(retry_after, deadline - time.monotonic())))


def run_phase(url: str, name: str, clients: int, seconds: float, clips: list[Clip], bad: list[Clip],
              fraction: float, timeout_s: float) -> tuple[PhaseLog, float, float]:
    log = PhaseLog()
    start = time.monotonic()
    deadline = start + seconds
    threads = [threading.Thread(target=client_loop, args=(url, clips, bad, fraction, deadline, i, log, timeout_s),
                                daemon=True) for i in range(clients)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(seconds + timeout_s + 5)
    return log, start, time.monotonic()


def summarize(name: str, log: PhaseLog, start: float, end: float, clients: int) -> dict[str, Any]:
    res = log.results
    wall = max(end - start, 1e-9)
    good = [r for r in res if r.malformed is None]
    ok = [r for r in good if r.status == 200]
    allowed = (200, 503) if name == "overload" else (200,)
    bad = [r for r in res if r.malformed is not None]
    lat = np.array([r.latency_ms for r in ok])
    counts: dict[str, int] = {}
    for r in res:
        counts[str(r.status)] = counts.get(str(r.status), 0) + 1
    busy = [r.latency_ms for r in res if r.status == 503]
    out = {
        "phase": name, "clients": clients, "seconds": round(wall, 3), "requests": len(res),
        "well_formed": len(good), "ok": len(ok),
        "throughput_rps": round(len(ok) / wall, 3),
        "audio_s_per_s": round(sum(r.duration_s for r in ok) / wall, 3),
        "errors_well_formed": sum(r.status not in allowed for r in good),
        "status_counts": dict(sorted(counts.items())),
        "rejected_503": counts.get("503", 0),
        "p503_ms": round(float(np.median(busy)), 2) if busy else None,
        "malformed_sent": len(bad),
        "malformed_rejected": sum(400 <= r.status < 500 for r in bad),
    }
    for q in PERCENTILES:
        out[f"p{q}_ms"] = round(float(np.percentile(lat, q)), 2) if len(lat) else None
    return out


# ---------------------------------------------------------------------------------------------- server
class RssSampler(threading.Thread):
    """Samples a process's resident memory (``/proc/PID/status`` VmRSS) every ``interval`` seconds."""

    def __init__(self, pid: int, interval: float) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.phase = pid, interval, "startup"
        self.samples: list[tuple[float, str, float]] = []
        self.stop = threading.Event()
        self.t0 = time.monotonic()

    def rss_mb(self) -> float | None:
        try:
            for line in Path(f"/proc/{self.pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) / 1024.0
        except OSError:
            return None
        return None

    def cpu_s(self) -> float | None:
        """User + system CPU seconds the process has used (``/proc/PID/stat``)."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
        except (OSError, ValueError, IndexError):
            return None

    def run(self) -> None:
        while not self.stop.is_set():
            mb = self.rss_mb()
            if mb is not None:
                self.samples.append((round(time.monotonic() - self.t0, 3), self.phase, round(mb, 1)))
            self.stop.wait(self.interval)


@dataclass
class ServerProcess:
    """A ``sernet serve`` subprocess, its URL and its stderr lines (drained all along: a full pipe would
    stall the server)."""

    proc: subprocess.Popen
    url: str = ""
    stderr_lines: list[str] = field(default_factory=list)


def start_server(model: Path, args: argparse.Namespace, timeout_s: float) -> ServerProcess:
    cmd = [sys.executable, "-c", SERVER_CMD, "-q"]
    if getattr(args, "profile", None):
        cmd += ["--profile", args.profile]
    for item in getattr(args, "overrides", []) or []:
        cmd += ["--set", item]
    cmd += ["--set", "serve.access_log=false", "serve", str(model), "--host", "127.0.0.1", "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    lines: list[str] = []
    server = ServerProcess(proc)

    def drain(stream, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    threading.Thread(target=drain, args=(proc.stdout, lines), daemon=True).start()
    threading.Thread(target=drain, args=(proc.stderr, server.stderr_lines), daemon=True).start()
    deadline = time.monotonic() + timeout_s
    url = None
    while time.monotonic() < deadline and proc.poll() is None:
        found = [ln for ln in lines if LISTENING in ln]
        if found:
            url = found[0].split(LISTENING, 1)[1].split()[0]
            break
        time.sleep(0.05)
    if url is None:
        proc.kill()
        proc.wait(timeout_s)
        err = "".join(server.stderr_lines)[-2000:]
        from sernet.errors import SernetError

        raise SernetError(f"sernet serve {model} did not come up within {timeout_s:g} s: {err}")
    import httpx

    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/health", timeout=timeout_s).status_code == 200:
                server.url = url
                return server
        except httpx.HTTPError:
            time.sleep(0.05)
    proc.kill()
    from sernet.errors import SernetError

    raise SernetError(f"sernet serve {model}: /health did not answer within {timeout_s:g} s")


def stop_server(server: ServerProcess, timeout_s: float) -> dict[str, Any]:
    """SIGTERM, then wait (SIGKILL only past ``timeout_s``). ``graceful``: the server logged that its
    in-flight requests finished and its model worker stopped (uvicorn then re-raises the SIGTERM, so the exit
    code is -15)."""
    from sernet.deploy.serve.app import SHUTDOWN_MESSAGE

    proc = server.proc
    proc.send_signal(signal.SIGTERM)
    try:
        code = proc.wait(timeout_s)
    except subprocess.TimeoutExpired:
        proc.kill()
        code = proc.wait()
    time.sleep(0.1)  # the stderr reader catches up
    return {"exit_code": code, "graceful": any(SHUTDOWN_MESSAGE in ln for ln in server.stderr_lines)}


def offline_throughput(predictor, clips: list[Clip], min_seconds: float) -> dict[str, Any]:
    """The offline batched predictor on the same clips: ``Predictor.predict`` on the list of clips, repeated
    until ``min_seconds`` have passed; clips per second, audio seconds per second, and clips per CPU second
    of this process (``time.process_time``: the predictor runs in this process, on every core it may use)."""
    import soundfile as sf

    audio = [sf.read(io.BytesIO(c.body), dtype="float32")[0] for c in clips]
    predictor.predict(audio)  # warm-up (compilation)
    n, wall, cpu = 0, 0.0, 0.0
    while wall < min_seconds or n == 0:
        t0, c0 = time.perf_counter(), time.process_time()
        predictor.predict(audio)
        wall += time.perf_counter() - t0
        cpu += time.process_time() - c0
        n += 1
    total_s = n * sum(len(a) for a in audio) / predictor.cfg.features.sample_rate_hz
    return {"clips": n * len(audio), "seconds": round(wall, 3), "clips_per_s": round(n * len(audio) / wall, 3),
            "audio_s_per_s": round(total_s / wall, 3), "cpu_s": round(cpu, 3),
            "clips_per_cpu_s": round(n * len(audio) / cpu, 3) if cpu > 0 else None}


# ------------------------------------------------------------------------------------------------ run
def measure(args: argparse.Namespace) -> dict[str, Any]:
    from sernet.backend import cpu_model
    from sernet.cli import load_config
    from sernet.cli.predict import default_model_path
    from sernet.deploy.predictor import Predictor

    cfg = load_config(args)
    s = cfg.serve
    model = Path(args.model) if args.model else default_model_path(cfg)
    seconds = args.seconds or s.bench_seconds
    clients = args.clients or s.bench_clients
    overload = args.overload_clients or s.bench_overload_clients
    clips = make_clips(cfg)
    bad = malformed_clips(cfg.features.sample_rate_hz)
    predictor = Predictor.load(model)
    offline = offline_throughput(predictor, clips, min(s.bench_offline_s, seconds))
    del predictor
    server = start_server(model, args, s.timeout_s)
    url = server.url
    sampler = RssSampler(server.proc.pid, s.bench_rss_interval_s)
    sampler.start()
    phases = []
    try:
        run_phase(url, "warmup", clients, min(seconds, WARMUP_S), clips, bad, 0.0, s.timeout_s)  # compile, warm
        plan = (("clean", clients, 0.0), ("malformed", clients, s.bench_malformed_fraction),
                ("overload", overload, 0.0))
        for name, n, fraction in plan:
            sampler.phase = name
            cpu0 = sampler.cpu_s()
            log, t0, t1 = run_phase(url, name, n, seconds, clips, bad, fraction, s.timeout_s)
            cpu1 = sampler.cpu_s()
            summary = summarize(name, log, t0, t1, n)
            summary["server_cpu_s"] = None if cpu0 is None or cpu1 is None else round(cpu1 - cpu0, 2)
            rss = [mb for _, ph, mb in sampler.samples if ph == name]
            summary["rss_mb_start"], summary["rss_mb_end"] = (rss[0], rss[-1]) if rss else (None, None)
            summary["rss_mb_max"] = max(rss) if rss else None
            phases.append(summary)
    finally:
        sampler.phase = "shutdown"
        shutdown = stop_server(server, s.shutdown_timeout_s + s.timeout_s)
        sampler.stop.set()
        sampler.join()
    clean = next(p for p in phases if p["phase"] == "clean")
    ratio = clean["throughput_rps"] / offline["clips_per_s"] if offline["clips_per_s"] else None
    # The load generator shares the machine with the server, so wall-clock throughput also measures the
    # clients' CPU; answered clips per server CPU second against the offline clips per CPU second does not.
    per_cpu = (clean["ok"] / clean["server_cpu_s"] / offline["clips_per_cpu_s"]
               if clean.get("server_cpu_s") and offline.get("clips_per_cpu_s") else None)
    return {
        "benchmark": "serve", "model": str(model), "machine": {"cpu": cpu_model(), "cores": os.cpu_count(),
                                                                "python": platform.python_version()},
        "settings": {"seconds": seconds, "clients": clients, "overload_clients": overload,
                     "clip_lengths_s": list(s.bench_clip_lengths_s), "queue_size": s.queue_size,
                     "max_batch": s.max_batch, "max_wait_ms": s.max_wait_ms, "feature_threads": s.feature_threads,
                     "malformed_fraction": s.bench_malformed_fraction},
        "offline": offline, "phases": phases,
        "throughput_vs_offline": None if ratio is None else round(ratio, 3), "throughput_goal": THROUGHPUT_GOAL,
        "per_cpu_vs_offline": None if per_cpu is None else round(per_cpu, 3),
        "rss_mb": [list(x) for x in sampler.samples], "server_shutdown": shutdown,
    }


def run(args: argparse.Namespace) -> int:
    from sernet.bench import format_table

    report = measure(args)
    if args.json:
        print(json.dumps(report))
        return 0
    cols = ["phase", "clients", "requests", "ok", "throughput_rps", "audio_s_per_s", "p50_ms", "p95_ms", "p99_ms",
            "errors_well_formed", "rejected_503", "malformed_sent", "malformed_rejected", "server_cpu_s", "rss_mb_start",
            "rss_mb_end", "rss_mb_max"]
    off = report["offline"]
    print(f"sernet bench serve: {report['model']} on {report['machine']['cpu']} ({report['machine']['cores']} cores)")
    print(f"offline batched predictor: {off['clips_per_s']} clips/s, {off['audio_s_per_s']} audio s/s "
          f"({off['clips']} clips; {off['clips_per_cpu_s']} clips per CPU second)")
    print(format_table(report["phases"], cols))
    print(f"clean throughput / offline: {report['throughput_vs_offline']} (goal >= {THROUGHPUT_GOAL}); "
          f"SIGTERM: graceful shutdown logged: {report['server_shutdown']['graceful']}, exit code "
          f"{report['server_shutdown']['exit_code']}")
    print(f"clean clips per server CPU second / offline clips per CPU second: {report['per_cpu_vs_offline']} "
          "(the clients run on the same cores)")
    return 0


def load_curve(url: str, clients: tuple[int, ...], seconds: float, clips: list[Clip], timeout_s: float
               ) -> list[dict[str, Any]]:
    """Throughput and latency percentiles of a running server at each number of concurrent ``clients``
    (well-formed requests only, ``seconds`` each): one :func:`summarize` row per client count, for a
    load curve (Chapter 8 draws it)."""
    rows = []
    for n in clients:
        log, t0, t1 = run_phase(url, f"{n} clients", n, seconds, clips, [], 0.0, timeout_s)
        rows.append(summarize(f"{n} clients", log, t0, t1, n))
    return rows
