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
# * **export** the model as a TensorFlow SavedModel, as LiteRT (float32, float16, int8) and as ONNX (float32,
#   static int8) files, and judge each export by its size and its parity with the Keras model;
# * measure **latency** properly (warm-up, p50/p90, batch sizes, end-to-end real-time factor), set it beside
#   the paper's Tables 6.1 and 6.2 and beside a plain Keras build of the same diagram, and name what bounds it;
# * serve the exported model (TensorFlow Serving, LiteRT).
#
# The code lives in `sernet.deploy` (`predictor`, `runners`, `streaming`, `export`) and `sernet.bench.latency`
# (`sernet predict`, `sernet export`, `sernet bench latency` on the command line).

# %%
import dataclasses
import json
from pathlib import Path

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import sernet
from sernet import paper, plots, workspace
from sernet.analysis import runs, verdicts
from sernet.backend import keras as _keras
from sernet.bench import latency
from sernet.cli.export import calibration_features, parity_features
from sernet.cli.predict import format_table
from sernet.data.manifest import read_manifest
from sernet.deploy import export, streaming
from sernet.deploy.predictor import Predictor
from sernet.errors import AudioError
from sernet.model import cost

keras = _keras()
cfg = sernet.config.load()
keras.utils.set_random_seed(cfg.train.seed)
pd.set_option("display.width", 120)
print("profile:", cfg.profile, "| Keras backend:", keras.backend.backend())

# %% [markdown]
# ## 1. Load once, predict many
#
# The trained base run of Chapter 5 (seed 0, `runs.run_or_load`: loaded from the cache, or trained here if
# the cache is cold). A run directory holds `model.keras`, the resolved `config.json` and the train-split
# `norm_stats.npz`: everything inference needs.
#
# **What this model is for.** It was trained on the *synthetic* corpus, whose emotions are defined by a
# handful of designed prosodic and spectral cues (Chapter 1), a simplification of how real voices carry
# emotion. It is a model to learn the deployment machinery on — loading, windowing, streaming, export,
# latency — and is **not meant to recognise real emotional speech**. To deploy on real speech, prepare a
# real corpus (`sernet prepare <corpus> <root> --out DIR`, see `data_scripts/README.md`), train on it
# (`SERNET_DATA=DIR sernet train`), or initialise from this run's `model.keras` and fine-tune it with
# Keras on that corpus, and load *that* run here: every cell below works unchanged on it.

# %%
store = workspace.feature_store(cfg)
run_dir = runs.run_or_load(cfg, store).run_dir.path
predictor = Predictor.load(run_dir)
print(f"{predictor.model.name}: {predictor.model.count_params():,} parameters; runner: "
      f"{type(predictor.runner).__name__} ({predictor.runner.method}); window: {predictor.max_length} frames")

# %% [markdown]
# Four test-split files (speakers the model never saw), predicted in one call: features per file, then all
# windows batched through the model.

# %%
manifest = read_manifest(workspace.corpus_manifest(cfg))
test = manifest[manifest["split"] == "test"].groupby("label").head(1).head(4)
results = predictor.predict(list(test["path"]))
print(pd.DataFrame({"file": [Path(r.source).name for r in results],
                    "duration_s": [round(r.duration_s, 2) for r in results],
                    "windows": [len(r.window_starts_s) for r in results], "true_label": list(test["label"])}
                   ).to_string(index=False))

# %% [markdown]
# The predictions themselves depend on the trained weights, and another CPU ends training with other
# weights (its kernels round differently and training amplifies it), so they are shown, not compared, when
# the chapter is replayed:

# %%
# NBVAL_IGNORE_OUTPUT
print(format_table([dataclasses.replace(r, source=Path(r.source).name) for r in results], predictor.classes))

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
segments = [predictor.classes[i] for i in truth[np.r_[0, np.flatnonzero(np.diff(truth)) + 1]]]
print(f"{long.duration_s:.2f} s -> {len(long.window_starts_s)} windows starting at "
      f"{[round(float(s), 2) for s in long.window_starts_s]} s")
print("true emotion, segment by segment:", segments)

# %%
# NBVAL_IGNORE_OUTPUT
per_window = [predictor.classes[i] for i in long.window_probabilities.argmax(axis=1)]
print("per-window labels:", per_window)
print(f"distinct per-window labels: {len(set(per_window))} (true emotions in the recording: {len(set(segments))})")
print("aggregated:", long.label, {k: round(v, 3) for k, v in long.probabilities.items()})

# %% [markdown]
# Do the per-window labels follow the emotion as it changes? They cannot do so fully, whatever the model,
# because of the feature recipe, not the windowing: `predict` extracts features from the *whole* input,
# exactly as training does for an utterance, so the utterance-level prosodic descriptors (F0 mean/range,
# energy, speaking rate, jitter, ...: 13 of the 268 columns) are statistics of the whole recording and
# identical in every window. That is right for an utterance, and wrong for a recording whose emotion
# changes: there the descriptors must describe each window, which is what the stream in section 2 does.
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
# NBVAL_IGNORE_OUTPUT
sr, w = cfg.features.sample_rate_hz, streaming.window_samples(cfg)
ends = (times * sr).astype(int)
window_truth = np.array([np.bincount(truth[max(0, t - w):t], minlength=len(predictor.classes)).argmax() for t in ends])
labels = np.array([predictor.classes.index(e.label) if e.label in predictor.classes else -1 for e in estimates])
print(f"streamed label == window's majority true label: {np.mean(labels == window_truth):.3f} "
      f"({len(labels)} emissions)")

plots.streaming_estimates(times_s=times, estimate=labels, probabilities=streamed, truth=truth, sample_rate_hz=sr,
                          classes=predictor.classes, title="streamed estimate vs the true emotion")
plt.show()

# %% [markdown]
# The estimate follows a change with a lag of up to one window `W`: an emission at `t` describes
# `t − W … t`.
#
# ## 3. Export: SavedModel, LiteRT and ONNX
#
# `sernet.export` writes the model with `model.export(..., format="tf_saved_model")` (endpoint
# `serve(features, mask)`) and converts that SavedModel with `tf.lite.TFLiteConverter` to LiteRT in float32,
# float16 (weights) and dynamic-range int8 (weights; activations quantised on the fly). The time axis is
# fixed to `max_length` frames — the shape the predictor always feeds. Each export runs the same real,
# normalised test windows as the Keras model; we report the largest logit difference, the tolerance
# (`deploy.parity_atol_*`) and how often the predicted label agrees.
#
# **ONNX** comes from Keras 3's own `model.export(path, format="onnx")`, which converts the traced forward
# pass. An earlier attempt converted the *SavedModel* with `tf2onnx` instead; it ran without complaint but
# onnxruntime's logits were far outside every tolerance — the silent failure a parity check exists to catch.
# The int8 variant is onnxruntime's **static** quantisation (`quantize_static`, QDQ format: int8 weights per
# output channel, uint8 activations whose ranges are calibrated on windows of the *training* split,
# `deploy.calibration_samples`). It quantises only the operator types in `deploy.onnx_int8_ops`, the matrix
# products; the convolutions stay float32, because their input — the z-scored frame features, with long
# tails — loses too much in one uint8 range and the labels then change (exercise 10). Besides the logit
# tolerance, int8 must reach a label agreement of `deploy.int8_min_agreement`. A disagreement of a
# quantised model happens where the float model's two best logits are nearly tied, so agreement is a
# property of the trained model's margins as much as of the quantiser: an error of at most `d` per logit
# moves a margin by at most `2d`, so only windows with a margin of `2d` or less — the **near ties** — can
# change label, and the agreement is at least one minus their share. Turned around: an export is *certain*
# to reach the minimum agreement only if its largest error stays below half the float model's margin at the
# matching quantile — a property of the trained model, which a better-separated model relaxes.

# %%
out = workspace.home(cfg) / "exports" / run_dir.name  # what `sernet export RUN --out DIR` writes
predictor.cfg = dataclasses.replace(predictor.cfg, deploy=cfg.deploy)  # this session's export settings
x_par, m_par = parity_features(predictor)
exports = export.export_model(predictor, out, x_par, m_par, calibration=calibration_features(predictor))
print(pd.DataFrame([{"format": r.format, "size_MB": round(r.size_mb, 2), "tolerance": r.tolerance,
                     "min_agreement": r.min_agreement, "n_windows": r.n_parity} for r in exports]
                   ).to_string(index=False))

# %%
# NBVAL_IGNORE_OUTPUT
print(pd.DataFrame([{"format": r.format, "max_abs_dlogit": f"{r.max_abs_dlogit:.1e}",
                     "label_agreement": round(r.label_agreement, 3), "near_ties": round(r.near_ties, 3),
                     "passed": r.passed} for r in exports]).to_string(index=False))
int8 = next(r for r in exports if r.format == "onnx_int8")
agreement = verdicts.threshold_verdict("ONNX int8 vs the Keras model", int8.agreement_interval().scaled(100),
                                       100 * int8.min_agreement, name="the required agreement",
                                       measure="label agreement")
print(agreement.sentence(1, with_rule=True))
reference = predictor.logits(x_par, m_par, max(cfg.deploy.bench_batch_sizes))
margin_q = float(np.quantile(export.top2_margins(reference), 1 - int8.min_agreement))
print(f"near ties (margin ≤ 2 × max |dlogit|): {100 * int8.near_ties:.1f} % of the windows, so the agreement "
      f"is at least {100 * (1 - int8.near_ties):.1f} %; {100 * int8.min_agreement:.0f} % is certain only for an "
      f"error below {margin_q / 2:.3f} (half the float model's {100 * (1 - int8.min_agreement):.0f} % margin "
      f"quantile); int8's max |dlogit| is {int8.max_abs_dlogit:.3f}")

# %% [markdown]
# The float32 exports agree with the Keras model to float32 rounding, orders of magnitude inside their
# tolerance, so that verdict replays on any CPU; the quantised ones depend on the trained weights and are
# shown above, not compared:

# %%
for r in exports:
    if r.tolerance == cfg.deploy.parity_atol_fp32:
        print(f"{r.format}: max |dlogit| within {r.tolerance / 10:g} (a tenth of its tolerance) on "
              f"{r.n_parity} ragged held-out windows: {r.max_abs_dlogit <= r.tolerance / 10}")

# %% [markdown]
# > **The paper says** (Table 6.2): SER-Net Base 2.3 M parameters, 9.2 MB; Large 8.7 M, 34.8 MB — exactly
# > 4 bytes per parameter, i.e. float32 weights.
# >
#
# Our files, and their bytes per parameter (float32 weights take 4, float16 2, int8 1; the rest of a file is
# the graph, which does not shrink, so small models shrink by less than the weights do). Our trained smoke
# model is far smaller than the paper's Base (the smoke profile narrows every width; Chapter 3 explains the
# gap of the Base itself):

# %%
sizes = export.size_table(exports, predictor.model.count_params())
sizes["bytes_per_param"] = (sizes["size_mb"] * 1e6 / sizes["parameters"]).round(1)
print(sizes.round(2).to_string(index=False))

# %% [markdown]
# An export folder is itself loadable — `Predictor.load(out / "model_int8.tflite")` or
# `sernet predict --model export/model_int8.tflite a.wav` — because it carries `config.json` and
# `norm_stats.npz`:

# %%
lite = Predictor.load(out / "model_int8.tflite")
lite_results = lite.predict(list(test["path"]))
print(f"{type(lite.runner).__name__}: {len(lite_results)} files predicted; same classes as the run: "
      f"{lite.classes == predictor.classes}")

# %%
# NBVAL_IGNORE_OUTPUT
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
# * **paper-size SER-Nets** (the `full` profile's widths and 300-frame windows; untrained — latency does
#   not depend on the weights) for Table 6.1, twice: with the stated 3-tap kernels, and with the kernel
#   size whose parameter count matches the paper's 2.3 M (Table 6.2; `cost.matching_kernel_size`).
#   Chapter 3 shows that the stated design has far fewer parameters than the paper reports and that wider
#   kernels close the gap; the FLOPs follow the parameters, so if the paper's model had 2.3 M parameters,
#   its latency is the second model's.
#
# Beside each batch we print the *compute floor*: the batch's FLOPs over this machine's measured float32
# matmul throughput (the "roof"). No call path can beat it; a batch close to it is bound by arithmetic (a
# faster chip, not a faster call path, would help), one far above it by per-call overheads, small kernels
# and memory traffic (other jobs on a shared machine also slow the median, hence the fastest run is what is
# set against the floor). Every timing is of the machine that ran the cell, named in its output: the committed
# outputs come from a small shared CPU (other jobs ran beside it: see the load average), so every timing
# cell is marked as variable output — rerun it on your machine before quoting it.

# %%
# NBVAL_IGNORE_OUTPUT
info = latency.machine()
print(json.dumps({k: v for k, v in info.items() if k != "TF_ENABLE_ONEDNN_OPTS"}))
roof = latency.matmul_gflops()
flops = float(cost.flops_per_utterance(cfg, model=predictor.model).loc["total", "flops"])
batches = [2**i for i in range(int(np.log2(max(cfg.deploy.bench_batch_sizes))) + 1)]
rows = latency.model_only(predictor.model, cfg, ["compiled", "litert_fp32", "litert_int8"], batches,
                          cfg.deploy.bench_warmup, cfg.deploy.bench_repeats, out, None, flops)
curve = pd.DataFrame(rows)
print(f"trained model: {flops / 1e9:.4f} GFLOP per {cfg.features.max_length}-frame window; "
      f"measured matmul roof {roof:.0f} GFLOP/s")
print("p50 latency (ms):")
table = curve.pivot(index="batch", columns="path", values="p50_ms")
print(table.round(2).to_string())
for b in (min(batches), max(batches)):
    best = table.loc[b].idxmin()
    print(f"batch {b}: fastest {best} ({table.loc[b].min():.2f} ms)" + ("" if best == "compiled" else
          f"; compiled Keras {table.loc[b, 'compiled'] / table.loc[b].min():.1f}x that"))

# %% [markdown]
# ### Beside a plain build of the same diagram
#
# How fast *could* this diagram run in Keras? `sernet.bench.reference.plain_sernet` builds the paper's
# diagram from plain Keras layers with the same widths and the trained weights
# (`reference.copy_weights`), but with no mask: no zeroing of padded frames before each convolution, no
# attention mask, no masked softmax, no pooling-weights output. On full windows it computes SER-Net's
# logits; on padded ones it does not, so it is a yardstick, not a model to deploy. `latency.reference_comparison`
# (`sernet bench latency --reference`) times it beside sernet's compiled and XLA paths, the model under
# Keras' `mixed_bfloat16` policy (for CPUs with bf16 instructions), and ONNX Runtime float32 and int8, in
# interleaved rounds in the same process (each round calls every path once), each with its ratio to the
# plain build, that ratio's 95 % bootstrap interval over the rounds, and its parity with the compiled float32
# path on random windows (ragged masks; full windows for the plain build, which has no mask).

# %%
# NBVAL_IGNORE_OUTPUT
compared = pd.DataFrame(latency.reference_comparison(predictor.model, cfg, list(cfg.deploy.bench_batch_sizes),
                                                     cfg.deploy.bench_warmup, cfg.deploy.bench_repeats))
print(compared[["path", "batch", "p50_ms", "best_ms", "ratio_to_reference", "max_abs_dlogit", "label_agreement",
                "parity_masks"]].to_string(index=False, float_format=lambda v: f"{v:.3g}"))

# %% [markdown]
# The float32 rows are the same function, so their parity is float32 rounding on any CPU:

# %%
fp32_paths = ["reference", "compiled", "xla", "onnx_fp32"]
print("float32 paths within 1e-4 of the compiled SER-Net:",
      bool((compared.set_index("path").loc[fp32_paths, "max_abs_dlogit"] <= 1e-4).all()))

# %% [markdown]
# What the comparison measures, and what we found while building it (rerun `sernet --profile full bench
# latency --reference` on your machine for the paper's widths):
#
# * **The masks** cost elementwise multiplies before every convolution, the attention's key mask and a
#   masked softmax in the pooling; these are the only operations the plain build lacks (its weights and
#   logits are SER-Net's). Two changes took most of that price away without touching padding invariance
#   (`tests/test_model.py`): the attention hides padded keys with an additive bias broadcast over heads and
#   queries (`model.self_attention.KeyMaskedAttention`) instead of Keras' full `[B, heads, T, T]` boolean
#   select, and the predictor runs batches of full windows through `sernet.model.unmasked_twin` (the same
#   layers and weights without the mask input; on an all-ones mask every masking step is an identity). The
#   `compiled_masked` row is the masked graph on the same full windows: what a batch with padding costs.
# * **ONNX Runtime** on the converted graph: its own profiler puts most of the time in `Conv`, the fused
#   matrix products and the mask's `Mul`, plus `Cast`, `Transpose` and layout reorders around each
#   convolution (tf2onnx lowers `Conv1D` as a 2-D convolution between transposes). On a shared CPU the
#   worker threads' spin-waiting made it slower still, so `deploy.onnx_allow_spinning` is off by default;
#   `deploy.onnx_optimization` picks the graph optimisation level. Int8 of the matrix products only
#   leaves the convolutions in float32, so it is no fast path on such a CPU.
# * **bf16** halves the bytes moved and runs on bf16 instructions where the CPU has them (AVX512_BF16,
#   AMX); without them Keras emulates it and it can be slower than float32. Its parity is a logit
#   difference well above float32 rounding, stated beside its timing.

# %% [markdown]
# The paper-size models. Their sizes are exact (they depend only on the config), so this cell is compared
# on every replay:

# %%
sized = latency.paper_size_models(cfg)
print(pd.DataFrame([m.row() for m in sized]).round(3).to_string(index=False))
print(f"paper's SER-Net Base: {paper.TABLE_6_2['SER-Net Base'][0]:,.0f} parameters; FLOPs of the matching "
      f"model / the stated one: {sized[-1].flops / sized[0].flops:.2f}x")

# %%
# NBVAL_IGNORE_OUTPUT
paper_rows = latency.paper_size(sized, list(cfg.deploy.bench_batch_sizes), cfg.deploy.bench_warmup,
                                cfg.deploy.bench_repeats, roof)
side = pd.DataFrame(paper_rows)[["model", "device", "batch", "p50_ms", "p90_ms", "best_ms", "compute_floor_ms",
                                 "paper_platform", "paper_ms", "ratio_to_paper"]]
print(side.round(2).to_string(index=False))
print()
print("\n".join(latency.describe_paper_size(paper_rows, info)))

# %%
fig, ax = plt.subplots(figsize=(9.5, 4.5), dpi=100)
for path, g in curve.groupby("path"):
    ax.plot(g["batch"], g["p50_ms"], "o-", label=f"trained model, {path}")
for (name, g), colour in zip(pd.DataFrame(paper_rows).groupby("model", sort=False), ("C4", "C5"), strict=False):
    ax.plot(g["batch"], g["p50_ms"], "D-", color=colour, label=f"paper-size {name}, compiled")
    ax.plot(g["batch"], g["compute_floor_ms"], ":", color=colour, label=f"paper-size {name}, compute floor")
for platform, marker in (("CPU (Intel i9)", "s"), ("GPU (RTX 3090)", "^")):
    pts = [(b, ms) for (p, b), ms in paper.TABLE_6_1.items() if p == platform]
    ax.plot(*zip(*pts, strict=True), marker, ms=9, color="k", fillstyle="none", label=f"paper: {platform}")
ax.set(xscale="log", yscale="log", xlabel="batch size", ylabel="p50 latency (ms)",
       title=f"model-only latency on {info['cpu']}")
ax.legend(fontsize=7, loc="upper left", bbox_to_anchor=(1.01, 1))
plt.tight_layout()
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
features_ms = parts["spectral_ms"] + parts["prosody_ms"]
print(f"features {features_ms:.1f} ms = {features_ms / parts['model_ms']:.1f}x the model's {parts['model_ms']:.1f} ms; "
      f"the largest part is {parts['bound']}")

# %% [markdown]
# How to read these outputs:
#
# * **Paper-size models.** The ratios to Table 6.1 compare our CPU with the paper's i9, and only for the
#   model timed alone, since the paper does not say what it timed. The compute floor says whether a
#   faster call path could help at all: where a batch's fastest run (set against the roof, itself a best
#   run) sits close to it, only a faster CPU (or a GPU) would. The stated design and the 2.3 M-parameter
#   reading differ in FLOPs by the compared ratio above; whichever lands closer to the paper's figures on
#   a given machine says little by itself, as long as the paper's machine and what it timed are unknown.
# * **Trained smoke model.** Its FLOPs are small, so at batch 1 per-call overhead can dominate and the
#   thinnest call path (LiteRT) can win, while at larger batches the compiled Keras graph's kernels can
#   catch up; the printed lines above say which path won at the smallest and the largest batch on this
#   machine. `Predictor` loaded from a run directory runs the compiled Keras graph: exact, no conversion
#   step, attention weights available; the float32 LiteRT export (`Predictor.load(out /
#   "model_fp32.tflite")`, within the float32 tolerance of section 3) is the alternative for single requests.
# * **End to end** the printed breakdown names the largest part. The prosody (Praat's autocorrelation pitch
#   tracker above all) is recomputed per window; a faster pitch tracker, or reusing pitch across
#   overlapping windows at the cost of exactness, is the lever there, not a faster model. One more detail
#   hides in `Predictor.features`: it runs the per-utterance extraction with a single BLAS thread
#   (`threadpoolctl`), because with OpenBLAS's default of one thread per core the small mel-filterbank
#   product waits on a busy second core (exercise 8 measures it).
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
# `sernet.deploy.runners.LiteRTRunner` does. For a Python service, `Predictor.load(...)` once at start-up and
# `predict` per request is all there is.
#
# ### `sernet serve`: audio in, emotions out
#
# `sernet serve RUN` puts any model the predictor loads behind an ASGI app (Starlette, served by uvicorn):
# `POST /v1/predict` takes an audio upload in any format `soundfile` reads and answers the label,
# probabilities, windows, `no_speech` and the repairs made; `WS /v1/stream` takes PCM16 or float32 chunks at
# a declared rate and answers a running estimate every `deploy.stream_hop_s`; `GET /health` and
# `GET /v1/model` describe it, and `/` is a page that streams the microphone. Concurrent requests are
# micro-batched (`serve.max_batch`, `serve.max_wait_ms`) behind a bounded queue (503 with `Retry-After`
# when full). Here the same app runs in this kernel, on a free localhost port, in a background thread: one
# upload, one stream of the demo recording, then a load curve from `serve.curve_clients` concurrent
# clients (`sernet bench serve` runs the full load test, with malformed requests and overload, against a
# server process of its own).

# %%
import io  # noqa: E402

import httpx  # noqa: E402
import soundfile  # noqa: E402
from websockets.sync.client import connect  # noqa: E402

from sernet.bench import serve as serve_bench  # noqa: E402
from sernet.deploy.serve import create_app  # noqa: E402
from sernet.deploy.serve.server import background_server  # noqa: E402

y_demo, _, _ = streaming.demo_recording(cfg)
chunk = int(round(cfg.deploy.chunk_ms / 1000 * cfg.features.sample_rate_hz))
clips = serve_bench.make_clips(cfg)
with background_server(create_app(predictor, cfg), cfg) as url:
    with httpx.Client(base_url=url, timeout=cfg.serve.timeout_s) as http:
        described = http.get("/v1/model").json()
        answer = http.post("/v1/predict", content=clips[-1].body, headers={"content-type": "audio/wav"}).json()
    with connect(url.replace("http", "ws", 1) + "/v1/stream") as ws:
        ws.send(json.dumps({"type": "start", "sample_rate_hz": cfg.features.sample_rate_hz,
                            "encoding": "float32"}))
        ready = json.loads(ws.recv())
        for i in range(0, len(y_demo), chunk):
            ws.send(y_demo[i : i + chunk].astype("<f4").tobytes())
        ws.send(json.dumps({"type": "stop"}))
        messages = [json.loads(ws.recv())]
        while messages[-1]["type"] != "end":
            messages.append(json.loads(ws.recv()))
    curve = serve_bench.load_curve(url, cfg.serve.curve_clients, cfg.serve.curve_seconds, clips,
                                   cfg.serve.timeout_s)

served_estimates = [m for m in messages if m["type"] == "estimate"]
local = predictor.predict(soundfile.read(io.BytesIO(clips[-1].body), dtype="float32")[0])
print("GET /v1/model:", sorted(described))
print(f"POST /v1/predict ({clips[-1].duration_s:g} s clip): fields {sorted(answer)}; same label as "
      f"Predictor.predict in this kernel: {answer['label'] == local.label}; max |Δp| < 1e-4: "
      f"{max(abs(answer['probabilities'][c] - local.probabilities[c]) for c in predictor.classes) < 1e-4}")
ws_probs = np.array([[m["probabilities"][c] for c in predictor.classes] if m["probabilities"] else
                     [np.nan] * len(predictor.classes) for m in served_estimates])
print(f"WS /v1/stream: {ready['type']}, {len(served_estimates)} estimates for "
      f"{len(y_demo) / cfg.features.sample_rate_hz:.2f} s (the in-kernel stream above: {len(estimates)}); "
      f"the same as the offline windowed prediction (max |Δp| < 1e-4): "
      f"{len(ws_probs) == len(offline) and bool(np.nanmax(np.abs(ws_probs - offline)) < 1e-4)}")

# %%
# NBVAL_IGNORE_OUTPUT
offline_rate = serve_bench.offline_throughput(predictor, clips, cfg.serve.curve_seconds)
print(pd.DataFrame(curve)[["clients", "requests", "ok", "throughput_rps", "p50_ms", "p95_ms",
                           "errors_well_formed"]].to_string(index=False))
print(f"offline batched predictor on the same clips: {offline_rate['clips_per_s']} clips/s; every well-formed "
      f"request answered at every load: {all(r['errors_well_formed'] == 0 for r in curve)}")
plots.load_curve(curve, offline_rps=offline_rate["clips_per_s"],
                 title="sernet serve in this kernel (clients share its cores)")
plt.show()

# %% [markdown]
# The clients run on the same cores as the server (and here in the same process), so the curve shows where
# answering more clients stops adding throughput and starts adding latency on *this* machine, not the
# server's ceiling; `sernet bench serve` also reports answered clips per server CPU second beside the
# offline predictor's clips per CPU second, which takes the clients out of the comparison.

# ## Summary
#
# * `Predictor` loads a run or an export once and predicts any length: fixed `max_length` windows (padded
#   and masked, or overlapping every `window_hop_s`), probabilities averaged over windows; silence is
#   `no_speech`, broken files raise a one-line `AudioError`.
# * Streaming reuses the STFT/mel frames, recomputes the prosody per window, and is checked against the
#   offline prediction of the same windows, with no look-ahead and bounded memory.
# * Each SavedModel, LiteRT and ONNX export is judged by a parity check against the Keras model (tolerance
#   and label agreement) and by its bytes per parameter; a conversion that runs without error can still be
#   wrong (ONNX through the SavedModel was): always check parity. ONNX int8 is static, calibrated on
#   training windows, and judged by its label agreement too.
# * Latency is measured with warm-up and percentiles, set against a compute floor, and compared with the
#   paper's Table 6.1 as printed ratios for the machine that ran it — for the stated 3-tap design and for
#   the kernel size that matches the paper's 2.3 M parameters, and beside a plain unmasked build of the
#   same diagram, which prices the masking.
# * The model here was trained on synthetic audio and is not meant to recognise real emotional speech:
#   prepare a real corpus (`sernet prepare`), train or fine-tune on it, and deploy that run the same way.
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
# 5. Export the 2.3 M-parameter paper-size model of section 4 (`sized[-1].model`;
#    `export.export_saved_model`, then `export.convert_tflite`) and set its float32 size beside Table 6.2's
#    9.2 MB: how much of the file is 4 bytes × parameters?
# 6. Time `sernet bench latency --paths xla,compiled`: when does XLA pay off on CPU?
# 7. Quantise with a representative dataset (full-integer int8, `converter.representative_dataset`): does
#    label agreement stay above the dynamic-range export's?
# 8. Time `predictor.features(y)` inside and outside `sernet.deploy.runners.single_threaded_blas()` while another process
#    keeps one core busy: how much does the thread count of the small mel-filterbank product matter?
# 9. Time `latency.paper_size_models(cfg)` with `latency.paper_size` at batch sizes 1 … 64: where does each
#    model's latency meet its compute floor, and does the crossing move with the kernel size?
# 10. Export with `--set 'deploy.onnx_int8_ops=Conv,MatMul,Gemm'` and compare the int8 label agreement
#     and the largest logit difference with the default; then try `quantize_static`'s `Percentile`
#     calibration. Which windows change label, and how large were the float model's margins there?
