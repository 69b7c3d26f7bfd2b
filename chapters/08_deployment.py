# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Chapter 8 — Deployment: inference, streaming, export and latency
#
# After this chapter you can
#
# * load a trained run once and predict emotions for files or arrays of **any length**, and say exactly how
#   long audio is windowed and aggregated and what happens to silence and broken files;
# * run the model on a **stream** of 100 ms chunks with bounded latency and memory, and check that the
#   streamed estimates are the offline predictions of the same windows;
# * **export** the model as a TensorFlow SavedModel and as LiteRT (float32, float16, int8) files, and judge
#   each export by its size and its parity with the Keras model;
# * measure **latency** properly (warm-up, p50/p90, batch sizes, end-to-end real-time factor), set it beside
#   the paper's Tables 6.1 and 6.2, and name what bounds it;
# * serve the exported model (TensorFlow Serving, LiteRT).
#
# The code lives in `sernet.infer`, `sernet.streaming`, `sernet.export` and `sernet.bench.latency`
# (`sernet predict`, `sernet export`, `sernet bench latency` on the command line).

# %%
import dataclasses
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import sernet
from sernet import export, infer, paper, streaming, workspace
from sernet.analysis import runs
from sernet.backend import keras as _keras
from sernet.bench import latency
from sernet.cli.export import parity_features
from sernet.cli.predict import format_table
from sernet.data.manifest import read_manifest
from sernet.errors import AudioError
from sernet.model import build_sernet, cost

keras = _keras()
cfg = sernet.config.load()
keras.utils.set_random_seed(cfg.train.seed)
pd.set_option("display.width", 120)
print("profile:", cfg.profile, "| Keras backend:", keras.backend.backend())

# %% [markdown]
# ## 1. Load once, predict many
#
# The trained base run of Chapter 5 (trained here if the cache is cold; the training is deterministic, so
# the numbers below are the same either way). A run directory holds `model.keras`, the resolved
# `config.json` and the train-split `norm_stats.npz`: everything inference needs.

# %%
store = workspace.feature_store(cfg)
run_dir = runs.run_or_load(cfg, store).run_dir.path
predictor = infer.Predictor.load(run_dir)
print(f"{predictor.model.name}: {predictor.model.count_params():,} parameters; runner: "
      f"{type(predictor.runner).__name__} ({predictor.runner.method}); window: {predictor.max_length} frames")

# %% [markdown]
# Four test-split files (speakers the model never saw), predicted in one call: features per file, then all
# windows batched through the model.

# %%
manifest = read_manifest(workspace.corpus_manifest(cfg))
test = manifest[manifest["split"] == "test"].groupby("label").head(1).head(4)
results = predictor.predict(list(test["path"]))
print(format_table([dataclasses.replace(r, source=Path(r.source).name) for r in results], predictor.classes))
print("true labels:", list(test["label"]))

# %% [markdown]
# ### Any length: windows and aggregation
#
# The model is always run on windows of exactly `max_length` frames (one compiled shape, and the shape the
# exports are fixed to):
#
# * **shorter** utterances are one window, zero-padded; the mask keeps the padding out of every layer
#   (Chapter 3), so padding changes nothing;
# * **longer** ones are covered by windows of `max_length` frames every `deploy.window_hop_s`, the last
#   one aligned to the end so no frame is left out;
# * the utterance's probabilities are the **mean of the windows' softmax probabilities** (each window
#   counts the same); the label is their argmax.
#
# A long recording of one test speaker, three utterances each of four emotions in a row
# (`streaming.demo_recording`, used again below):

# %%
y, truth, _ = streaming.demo_recording(cfg)
long = predictor.predict(y)
per_window = [predictor.classes[i] for i in long.window_probabilities.argmax(axis=1)]
print(f"{long.duration_s:.2f} s -> {len(long.window_starts_s)} windows starting at "
      f"{[round(float(s), 2) for s in long.window_starts_s]} s")
print("per-window labels:", per_window)
print("aggregated:", long.label, {k: round(v, 3) for k, v in long.probabilities.items()})

# %% [markdown]
# The per-window labels barely change although the emotion does, every few seconds. The reason is the
# feature recipe, not the windowing: `predict` extracts features from the *whole* input, exactly as
# training does for an utterance, so the utterance-level prosodic descriptors (F0 mean/range, energy,
# speaking rate, jitter, ...: 13 of the 268 columns) are statistics of the whole recording and identical in every
# window. That is right for an utterance, and wrong for a recording whose emotion changes: there the
# descriptors must describe each window, which is what the stream in section 2 does.
#
# ### Silence and broken files
#
# Unusable input raises `AudioError` naming the file and the problem (`sernet predict` turns it into a
# one-line message and exit code 2). Silence is not an error: it gets the documented label `no_speech`,
# as does audio in which Praat finds no voiced frame.

# %%
rng = np.random.default_rng(cfg.train.seed)
print(predictor.predict(np.zeros(cfg.features.sample_rate_hz, np.float32)).label)
print(predictor.predict(0.05 * rng.standard_normal(cfg.features.sample_rate_hz).astype(np.float32)).label)
for bad in (np.zeros(0, np.float32), np.full(1000, np.nan, np.float32)):
    try:
        predictor.predict(bad)
    except AudioError as exc:
        print("AudioError:", exc)

# %% [markdown]
# ## 2. Streaming
#
# A `StreamingRecognizer` takes chunks of audio (`deploy.chunk_ms` = 100 ms here) and every
# `deploy.stream_hop_s` emits an estimate for the last window `y[t − W : t]`, `W = (max_length − 1) · hop`
# = exactly `max_length` frames. Per emission it
#
# * **reuses** the log-mel frames (STFT + mel filterbank, frame-local) computed once as audio arrived,
#   recomputing only the 2 first and 2 last frames, whose 25 ms analysis windows cross the window's edges;
# * recomputes the cheap MFCC/Δ/ΔΔ from the cached frames, and the **prosody** (Praat pitch and the
#   window statistics) on the window audio: Praat's pitch path is a global Viterbi search and the
#   descriptors are window statistics by definition, so reusing them would change the features.
#
# Algorithmic latency: none beyond the window itself (no look-ahead: the last frames see the same zero
# padding as offline); an estimate for `t` appears with the chunk that contains `t`. Memory: bounded by
# one window plus one hop plus one chunk of audio.

# %%
rec = streaming.StreamingRecognizer(predictor)
estimates = rec.run(y)
times, offline = streaming.offline_estimates(predictor, y)
streamed = streaming.estimates_array(estimates, len(predictor.classes))
print(f"{len(estimates)} estimates, one every {cfg.deploy.stream_hop_s} s over {len(y) / cfg.features.sample_rate_hz:.2f} s, "
      f"window W = {streaming.window_samples(cfg) / cfg.features.sample_rate_hz:.2f} s")
print("streamed == offline windowed prediction (max |Δp| < 1e-4):", bool(np.nanmax(np.abs(streamed - offline)) < 1e-4))
print(f"buffers now: {rec.buffered_samples()[0]} samples, {rec.buffered_samples()[1]} frames "
      f"(bound: {streaming.window_samples(cfg) + rec.step + rec.chunk_samples} samples)")

# %%
# NBVAL_IGNORE_OUTPUT
per_emission = np.array([e.compute_ms for e in estimates[1:]])  # the first one includes tracing the model
print(f"compute per emission: p50 {np.percentile(per_emission, 50):.1f} ms, p90 {np.percentile(per_emission, 90):.1f} ms "
      f"(one emission every {cfg.deploy.stream_hop_s * 1000:.0f} ms)")

# %% [markdown]
# The estimate against the truth. The window ends at `t`; its majority true label is the fair reference
# (a window straddling a change holds two emotions):

# %%
sr, w = cfg.features.sample_rate_hz, streaming.window_samples(cfg)
ends = (times * sr).astype(int)
window_truth = np.array([np.bincount(truth[max(0, t - w):t], minlength=len(predictor.classes)).argmax() for t in ends])
labels = np.array([predictor.classes.index(e.label) if e.label in predictor.classes else -1 for e in estimates])
print(f"streamed label == window's majority true label: {np.mean(labels == window_truth):.3f}")

fig, (ax1, ax2) = plt.subplots(2, 1, figsize=(10, 6), sharex=True)
t_audio = np.arange(len(y)) / sr
ax1.plot(t_audio[::160], truth[::160], "k-", lw=3, alpha=0.3, label="true emotion (per sample)")
ax1.step(times, labels, where="post", color="C3", label="streamed estimate (window end)")
ax1.set_yticks(range(len(predictor.classes)), predictor.classes)
ax1.legend(loc="upper left")
for i, c in enumerate(predictor.classes):
    ax2.plot(times, streamed[:, i], label=c)
ax2.set_xlabel("time (s)")
ax2.set_ylabel("probability")
ax2.legend(ncol=4, fontsize=8)
plt.tight_layout()
plt.show()

# %% [markdown]
# The estimate follows a change with a lag of up to one window `W`: an emission at `t` describes
# `t − W … t`.
#
# ## 3. Export: SavedModel and LiteRT
#
# `sernet.export` writes the model with `model.export(..., format="tf_saved_model")` (endpoint
# `serve(features, mask)`) and converts that SavedModel with `tf.lite.TFLiteConverter` to LiteRT in float32,
# float16 (weights) and dynamic-range int8 (weights; activations quantised on the fly). The time axis is
# fixed to `max_length` frames — the shape the predictor always feeds. Each export runs the same real,
# normalised test windows as the Keras model; we report the largest logit difference, the tolerance
# (`deploy.parity_atol_*`) and how often the predicted label agrees. ONNX is not offered: `tf2onnx` 1.17
# converts this SavedModel without complaint, but onnxruntime's logits then differ from the Keras model's by
# up to 1.25 (84 % label agreement) — exactly the silent failure a parity check exists to catch.

# %%
out = workspace.home(cfg) / "exports" / run_dir.name  # what `sernet export RUN --out DIR` writes
x_par, m_par = parity_features(predictor)
exports = export.export_model(predictor, out, x_par, m_par)
print(pd.DataFrame([{"format": r.format, "size_MB": round(r.size_mb, 2), "tolerance": r.tolerance,
                     "within_tolerance": r.passed, "n_windows": r.n_parity} for r in exports]).to_string(index=False))

# %%
# NBVAL_IGNORE_OUTPUT
print(pd.DataFrame([{"format": r.format, "max_abs_dlogit": f"{r.max_abs_dlogit:.1e}",
                     "label_agreement": round(r.label_agreement, 3)} for r in exports]).to_string(index=False))

# %% [markdown]
# > **The paper says** (Table 6.2): SER-Net Base 2.3 M parameters, 9.2 MB; Large 8.7 M, 34.8 MB — exactly
# > 4 bytes per parameter, i.e. float32 weights.
# >
# > **We measured** (table below): the same 4 bytes per parameter for our float32 LiteRT file, plus the
# > graph; float16 halves the weights and int8 quarters them (the graph does not shrink, so small models
# > shrink less than 2× and 4×). The SavedModel carries the graph and the variables with their metadata.
# > Our trained smoke model is far smaller than the paper's Base (the smoke profile narrows every width;
# > Chapter 3 explains the gap of the Base itself).

# %%
print(export.size_table(exports, predictor.model.count_params()).round(2).to_string(index=False))

# %% [markdown]
# An export folder is itself loadable — `Predictor.load(out / "model_int8.tflite")` or
# `sernet predict --model export/model_int8.tflite a.wav` — because it carries `config.json` and
# `norm_stats.npz`:

# %%
lite = infer.Predictor.load(out / "model_int8.tflite")
lite_results = lite.predict(list(test["path"]))
print("int8 LiteRT labels:", [r.label for r in lite_results])
print("Keras labels:      ", [r.label for r in results])

# %% [markdown]
# ## 4. Latency
#
# > **The paper says** (Table 6.1): RTX 3090 8.2 ms (batch 1) and 45.1 ms (batch 32); Intel i9 CPU 42.5 ms
# > and 312.8 ms. It does not say what was timed (model only? features?), how many runs, or which
# > percentile.
#
# We time the model alone on full windows, after warm-up runs, over repeated runs, and report the median
# (p50) and p90. `sernet bench latency` times every way of running a Keras model (eager `model(x)`,
# `model.predict`, `predict_on_batch`, `tf.function`, XLA) and the LiteRT exports; here the two that matter:
# the compiled forward pass that `Predictor` uses, and LiteRT. Two models:
#
# * the **trained model of this profile** on its own `max_length`-frame windows (what this chapter deploys),
#   with its exports from section 3: the latency vs batch-size curve;
# * a **paper-size SER-Net** (the `full` profile's widths and 300-frame windows; untrained — latency does
#   not depend on the weights) for Table 6.1.
#
# The committed outputs come from a small shared CPU, so every timing cell is marked as variable output.

# %%
# NBVAL_IGNORE_OUTPUT
print(json.dumps({k: v for k, v in latency.machine().items() if k != "TF_ENABLE_ONEDNN_OPTS"}))
roof = latency.matmul_gflops()
flops = float(cost.flops_per_utterance(cfg, model=predictor.model).loc["total", "flops"])
batches = [2**i for i in range(int(np.log2(max(cfg.deploy.bench_batch_sizes))) + 1)]
rows = latency.model_only(predictor.model, cfg, ["compiled", "litert_fp32", "litert_int8"], batches,
                          cfg.deploy.bench_warmup, cfg.deploy.bench_repeats, out, None, flops)
curve = pd.DataFrame(rows)
print(f"trained model: {flops / 1e9:.4f} GFLOP per {cfg.features.max_length}-frame window; "
      f"measured matmul roof {roof:.0f} GFLOP/s")
print("p50 latency (ms):")
print(curve.pivot(index="batch", columns="path", values="p50_ms").round(2).to_string())

# %%
# NBVAL_IGNORE_OUTPUT
full = sernet.config.load("full")
cfg_paper = dataclasses.replace(cfg, features=full.features, model=full.model)
paper_model = build_sernet(cfg_paper)
flops_paper = float(cost.flops_per_utterance(cfg_paper, model=paper_model).loc["total", "flops"])
paper_rows = latency.model_only(paper_model, cfg_paper, ["compiled"], list(cfg.deploy.bench_batch_sizes),
                                cfg.deploy.bench_warmup, cfg.deploy.bench_repeats, None, None, flops_paper)
side = pd.DataFrame([{"platform": p, "batch": b, "paper_ms": ms} for (p, b), ms in paper.TABLE_6_1.items()])
ours = {r["batch"]: r for r in paper_rows}
cpu = side["platform"].str.startswith("CPU")
side["ours_p50_ms"] = side["batch"].map(lambda b: ours[b]["p50_ms"]).where(cpu)
side["ours_p90_ms"] = side["batch"].map(lambda b: ours[b]["p90_ms"]).where(cpu)
side["compute_floor_ms"] = side["batch"].map(lambda b: flops_paper * b / roof / 1e6).where(cpu)
print(f"paper-size SER-Net: {paper_model.count_params():,} parameters, {flops_paper / 1e9:.3f} GFLOP per "
      f"{cfg_paper.features.max_length}-frame window; ours = this CPU, compiled Keras (no GPU here)")
print(side.round(2).to_string(index=False))

# %%
fig, ax = plt.subplots(figsize=(7, 4.5))
for path, g in curve.groupby("path"):
    ax.plot(g["batch"], g["p50_ms"], "o-", label=f"trained model, {path}")
ax.plot(list(ours), [r["p50_ms"] for r in ours.values()], "D-", color="C4", label="paper-size model, compiled")
for platform, marker in (("CPU (Intel i9)", "s"), ("GPU (RTX 3090)", "^")):
    pts = [(b, ms) for (p, b), ms in paper.TABLE_6_1.items() if p == platform]
    ax.plot(*zip(*pts, strict=True), marker, ms=9, color="k", fillstyle="none", label=f"paper: {platform}")
ax.plot(list(ours), [flops_paper * b / roof / 1e6 for b in ours], "k:", label="paper-size compute floor")
ax.set(xscale="log", yscale="log", xlabel="batch size", ylabel="p50 latency (ms)", title="model-only latency")
ax.legend(fontsize=8)
plt.show()

# %% [markdown]
# **End to end** — audio in, emotion out, through `Predictor.predict` (features + model) on exactly one
# window of audio — and where the time goes:

# %%
# NBVAL_IGNORE_OUTPUT
e2e, parts = latency.end_to_end(predictor, cfg, [1], cfg.deploy.bench_warmup, cfg.deploy.bench_repeats)
print(f"end to end, batch 1, {e2e[0]['audio_s']:.2f} s of audio: p50 {e2e[0]['p50_ms']:.1f} ms, "
      f"p90 {e2e[0]['p90_ms']:.1f} ms = {e2e[0]['real_time_factor']:.1f}x real time")
print("breakdown, p50 (ms):", {k: (round(v, 1) if isinstance(v, float) else v) for k, v in parts.items()})

# %% [markdown]
# > **We measured** (the committed outputs were taken while other jobs shared this 2-core CPU — see the
# > load average printed above — so rerun the cells on your machine before quoting them):
# >
# > * **Paper-size model.** At batch 1 the compiled forward pass is several times faster than the paper's
# >   i9 figure; at batch 32 it lands in the paper's range. Beside it is the *compute floor*: the batch's
# >   FLOPs (0.35 GFLOP per 300-frame window) over the machine's measured matmul throughput. At batch 32
# >   no path can beat it; the paths reach a fraction of the roof because the convolutions and the 300 × 300
# >   attention are smaller, less regular products than the matmul the roof is measured on. The bound is
# >   arithmetic: a faster CPU or a GPU, not a faster call path.
# > * **Trained smoke model.** About 0.02 GFLOP per window: at batch 1 its latency is per-call overhead, so
# >   LiteRT, the thinnest call path, is fastest there; at larger batches the compiled Keras graph catches up.
# >   So the float32 LiteRT export (`Predictor.load(out / "model_fp32.tflite")`, equal to Keras to ~1e-6)
# >   is the fastest way to answer single requests; loaded from a run directory, `Predictor` runs the
# >   compiled Keras graph: exact, no conversion step, attention weights available, and at most a
# >   millisecond or two slower — noise next to the features.
# > * **End to end**, the *features* cost more than the model, and of the features the prosody — Praat's
# >   autocorrelation pitch tracker above all — is the largest part: that is the bound on the real-time
# >   factor. A faster pitch tracker (or reusing pitch across overlapping windows, at the cost of exactness)
# >   is the lever, not a faster model. One more lesson hides in `Predictor.features`: it runs the
# >   per-utterance extraction with a single BLAS thread (`threadpoolctl`); with OpenBLAS's default of one
# >   thread per core the small mel-filterbank product waited on a busy second core and the features took
# >   ~3× longer.
#
# ## 5. Serving
#
# The SavedModel's serving signature is what a server exposes:

# %%
import tensorflow as tf  # noqa: E402  (only to inspect the SavedModel)

serve = tf.saved_model.load(str(out / "saved_model")).signatures["serve"]
for name, spec in sorted(serve.structured_input_signature[1].items()):
    print("input ", name, spec.shape, spec.dtype.name)
for name, spec in sorted(serve.structured_outputs.items()):
    print("output", name, spec.shape, spec.dtype.name)

# %% [markdown]
# **TensorFlow Serving** wants `<model_base_path>/<version>/saved_model.pb`:
#
# ```bash
# mkdir -p serving/sernet && cp -r export/saved_model serving/sernet/1
# docker run -p 8501:8501 -v "$PWD/serving/sernet:/models/sernet" -e MODEL_NAME=sernet tensorflow/serving
# curl -X POST localhost:8501/v1/models/sernet:predict -d @request.json
# ```
#
# with `request.json` = `{"signature_name": "serve", "inputs": {"features": [[[...268 floats...] × 300]],
# "mask": [[1, 1, ..., 0]]}}` and logits back in `outputs`. The server sees *normalised features*, not
# audio: the client runs `Predictor.features` + `Predictor.normalise` (or `sernet.features` and the run's
# `norm_stats.npz`) and windows long audio as in section 1. On a phone or an edge box the same applies to
# the `.tflite` files with the LiteRT interpreter (`ai_edge_litert.interpreter.Interpreter`), which is what
# `sernet.infer.LiteRTRunner` does. For a Python service, `Predictor.load(...)` once at start-up and
# `predict` per request is all there is.
#
# ## Summary
#
# * `Predictor` loads a run or an export once and predicts any length: fixed `max_length` windows (padded
#   and masked, or overlapping every `window_hop_s`), probabilities averaged over windows; silence is
#   `no_speech`, broken files raise a one-line `AudioError`.
# * Streaming reuses the STFT/mel frames, recomputes the prosody per window, and reproduces the offline
#   prediction of the same window exactly, with no look-ahead and bounded memory.
# * SavedModel and LiteRT float32 match the Keras model to float precision; float16 and int8 shrink the
#   weights 2× and 4× (the graph stays) with small logit changes — judge them on label agreement, not just
#   size. A conversion that runs without error can still be wrong (ONNX here): always check parity.
# * Measure latency with warm-up and percentiles and set it against a compute floor: the paper-size model
#   is bound by arithmetic at batch 32, a small model by per-call overhead at batch 1, and end to end the
#   prosodic feature extraction (Praat's pitch tracker) costs more than the model.
#
# ## Exercises
#
# 1. Run `sernet bench latency --cores 1` and `sernet bench latency`: how much of the batch-32 latency
#    scales with cores, and does the batch-1 latency move at all? What does that say about the bound?
# 2. Set `deploy.window_hop_s` to 3.0 (no overlap) and to 0.25 and predict the long recording: how do the
#    per-window labels and the aggregated probabilities change? Replace the mean by a max over windows —
#    when would that be the better aggregate?
# 3. Stream with `deploy.stream_hop_s` 0.1 and 1.0: how do compute per second of audio and the delay
#    before a change is detected move?
# 4. Replace the streaming prosody by the prosody of the *whole stream so far* (reuse instead of recompute):
#    how far do the streamed probabilities move from the offline ones?
# 5. Export the paper-size model of section 4 (`export.export_saved_model`, then `export.convert_tflite`)
#    and set its float32 size beside Table 6.2's 9.2 MB: how much of the file is 4 bytes × parameters?
# 6. Time `sernet bench latency --paths xla,compiled`: when does XLA pay off on CPU?
# 7. Quantise with a representative dataset (full-integer int8, `converter.representative_dataset`): does
#    label agreement stay above the dynamic-range export's?
