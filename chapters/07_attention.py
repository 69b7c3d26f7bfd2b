# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Chapter 7 — Where does the attention look?
#
# After this chapter you can
#
# * read the temporal attention weights α_t of a trained SER-Net (§3.4) for any utterance;
# * draw them over the waveform, the log-mel spectrogram and the F0 contour;
# * turn the paper's §5.1 claims ("peak attention on stressed syllables", "higher attention during pitch
#   variations", "reduced attention on silence and noise") into numbers on a corpus where silences and pitch
#   accents are known, and test them;
# * separate what training taught the attention from what the architecture does anyway (an untrained
#   control).
#
# The model is Chapter 5's run (reused from `$SERNET_HOME/runs`, trained here if absent); the measures live
# in `sernet.analysis.attention` (`attention_frames`, `attention_checks`, `attention_claims`) and the verdicts over
# seeds in `sernet.analysis.study.attention`.

# %%
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns
from IPython.display import Audio, display

import sernet
from sernet import plots
from sernet.analysis import attention, runs, study
from sernet.backend import keras as _keras
from sernet.data.audio import read_audio
from sernet.features import layout

keras = _keras()
cfg = sernet.config.load()
keras.utils.set_random_seed(cfg.train.seed)
pd.set_option("display.width", 130)
store = sernet.workspace.feature_store(cfg)
seeds = list(cfg.train.ablation_seeds)
runs.run_grid(cfg, {"SER-Net": {}}, seeds, store=store, desc="SER-Net seeds")  # Chapter 5's runs
result = runs.run_or_load(cfg, store)
model = result.load_model()
rows = store.split_indices("test")
record = study.load_record("study")
print("profile:", cfg.profile, "| seeds:", seeds, "| test utterances analysed:", len(rows),
      "| evaluation window:", cfg.features.max_length, "frames,", cfg.features.eval_crop, "crop")

# %% [markdown]
# ## 7.1 Attention weights
#
# The pooling layer computes α_t = softmax_t(W₂ tanh(W₁ h_t + b₁) + b₂) over the real frames (padding gets
# −∞ before the softmax) and returns c = Σ α_t h_t. `sernet.model.attention_weights` reads α from the
# trained model's own layers. Uniform attention over T real frames would be 1/T per frame.

# %%
items = attention.attention_frames(model, store, cfg, rows)
print("weights sum to 1 over real frames:", bool(np.allclose([it["weights"].sum() for it in items], 1, atol=1e-4)))

# %%
# NBVAL_IGNORE_OUTPUT
peak = np.array([it["weights"].max() * len(it["weights"]) for it in items])
print(f"peak weight / uniform weight (seed 0): median {np.median(peak):.2f}, 90th percentile "
      f"{np.percentile(peak, 90):.2f}")

# %% [markdown]
# ## 7.2 Examples
#
# Orange: attention (dashed: the uniform 1/T level); blue shading: the generator's recorded silences;
# dotted lines: recorded pitch-accent peaks; red lines on the waveform: the model's input window (the
# centre crop; the other panels show only that window). Listen to each utterance below its picture.

# %%
# NBVAL_IGNORE_OUTPUT
hop_s = cfg.features.hop_ms / 1000
sr = cfg.features.sample_rate_hz
mel = layout.group_slice("mel")
f0_col = layout.column("f0_st")
predicted = result.run_dir.read_predictions().set_index("row")["predicted"]
by_label = {}
for it in items:
    by_label.setdefault(it["label"], it)
for label in ("angry", "sad", "surprise"):
    it = by_label.get(label)
    if it is None:
        continue
    meta = store.index.iloc[it["row"]]
    y = read_audio(meta["path"], sample_rate_hz=sr)
    raw = np.asarray(store.frames(it["row"]), dtype=np.float32)
    start = int(round(it["times"][0] / hop_s))
    window = raw[start:start + len(it["weights"])]
    f0_hz = np.where(window[:, layout.column("voiced")] > 0.5, 55.0 * 2 ** (window[:, f0_col] / 12), 0.0)
    shift = it["times"][0]
    fig = plots.attention_panels(
        waveform=y[int(shift * sr):], sample_rate_hz=sr, log_mel=window[:, mel], f0_hz=f0_hz,
        weights=it["weights"], hop_s=hop_s,
        silence_spans=[(a - shift, b - shift) for a, b in json.loads(meta["silence_spans"])],
        accent_times=[t - shift for t in json.loads(meta["accent_times"])],
        title=f"true: {label}, predicted: {predicted.get(it['row'], '?')} (seed 0)")
    fig.set_size_inches(9, 5)
    fig.set_dpi(100)
    plt.show()
    display(Audio(y, rate=sr))

# %% [markdown]
# ## 7.3 Testing §5.1 on known ground truth
#
# Per utterance we measure
#
# * `silence_ratio`: attention mass on silent frames ÷ their share of frames (1 = as uniform attention,
#   < 1 = less attention on silence);
# * `rho_abs_df0`: Spearman correlation of α with |ΔF0| over voiced frames ("pitch variations");
# * `rho_energy`: Spearman correlation of α with frame energy (stressed syllables are louder);
# * `accent_ratio`: mean α within one analysis window of a recorded pitch-accent peak ÷ mean α elsewhere.
#
# For one model, a claim is tested by the share of utterances that go the claimed way (a sign test). Over
# seeds, the verdict asks whether that share is above one half, with a t interval over the seeds.

# %%
# NBVAL_IGNORE_OUTPUT
checks = attention.attention_checks(items)
print(attention.attention_claims(checks).round(3).to_string())

# %% [markdown]
# ## 7.4 Learned, or built in?
#
# A softmax over frames whose hidden states are larger where the input is louder could favour loud frames
# even before training. The same measures on the same architecture with its initial weights (each seed,
# not trained) show how much of the pattern training added. Both, over the live seeds:

# %%
live = study.verdicts(study.attention(study.load_runset(cfg, store, "SER-Net", {}, seeds), cfg, store))

# %%
# NBVAL_IGNORE_OUTPUT
for v in live:
    print(v.sentence())

# %% [markdown]
# The study record's verdicts (more seeds, more test speakers; read from `results/study.json`):

# %%
record_att = study.verdicts(record["attention"])
for v in record_att:
    print(v.sentence())
print("rule:", record_att[0].rule)

# %% [markdown]
# **What the corpus built in.** The generator puts the emotional cues into accented syllables, which are
# louder and carry the pitch movement, and its silences hold no cue at all. So "attention avoids silence"
# and "attention follows energy" can be satisfied by any pooling that weights louder frames — read each
# trained verdict against its untrained row. A claim that holds for both is mostly the architecture; one
# that holds only trained was learned. Real speech has no recorded accents, so on a real corpus only the
# silence and energy measures can be computed (from the audio), and nothing here shows that the paper's
# pictures generalise.

# %% [markdown]
# ## 7.5 By class
#
# The median of each measure per true class (seed 0), as a heatmap; the neutral value of each measure is
# 1 for the ratios and 0 for the correlations.

# %%
by_class = checks.groupby("label")[["silence_ratio", "rho_abs_df0", "rho_energy", "accent_ratio"]].median() \
    .reindex(list(sernet.EMOTIONS))
centred = by_class - pd.Series({"silence_ratio": 1.0, "rho_abs_df0": 0.0, "rho_energy": 0.0, "accent_ratio": 1.0})
fig, ax = plt.subplots(figsize=(6.5, 4.5), dpi=100)
sns.heatmap(centred, annot=by_class.round(2), fmt="", cmap="coolwarm", center=0, ax=ax,
            cbar_kws={"label": "median − neutral value"})
ax.set(xlabel="measure", ylabel="true class", title="attention measures by class (seed 0)")
plt.show()

# %% [markdown]
# > **The paper says** (§5.1): peak attention on stressed syllables, higher attention during pitch
# > variations, reduced attention on silence and noise — shown by pictures, not numbers.
#
# A few pictures, like the paper's, can suggest any of the claims; counting over all test utterances and
# seeds, with the untrained control beside, is what decides them (the verdicts above).

# %% [markdown]
# ## Summary
#
# * α_t comes out of the trained model's pooling layer; it sums to 1 over the real frames.
# * On a corpus with known silences and accents the paper's §5.1 claims become counts over utterances,
#   tested over seeds.
# * An untrained control separates architecture from learning; report both.
#
# ## Exercises
#
# 1. Repeat 7.3 with Chapter 6's "w/o Attention Pooling" run (`model.pooling="mean"`): what do the measures
#    give for uniform weights, and why is that the right null?
# 2. Use the noisy utterances only (`store.index.snr_db` set): does attention avoid the noise-only parts?
# 3. Replace Spearman by Pearson correlation: which verdicts are sensitive to a few extreme frames?
# 4. Measure attention near accents with a wider tolerance (2–3 analysis windows): at what tolerance does
#    the accent claim start (or stop) holding?
# 5. Compare the verdicts of single seeds (`attention.attention_claims` per run): how often do two seeds
#    disagree, and what does that say about one-run attention pictures?
# 6. Evaluate with `features.eval_crop="start"`: does the position of the window change where attention
#    goes?
