# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
#       format_version: '1.3'
#       jupytext_version: 1.19.6
#   kernelspec:
#     display_name: Python 3
#     language: python
#     name: python3
# ---

# %% [markdown]
# # 1. The data: the paper's corpus, checked, and a synthetic corpus we can trust
#
# SER-Net is trained and tested on MSP-Podcast (paper §2): 90,103 utterances in 8 emotion classes. We
# cannot ship that corpus, so every chapter runs on a **synthetic emotional-speech corpus** whose every cue
# is known. After this chapter you will be able to:
#
# * read the paper's Tables 2.1/2.2 as data and check them against each other;
# * describe any corpus (ours, or a real one via `SERNET_DATA`) in the same table format, with class
#   shares, durations, speaker-independent splits and class weights against imbalance;
# * explain what the synthetic voice puts into the audio, and how hard that makes the task, measured;
# * see why per-speaker normalisation matters for pitch.

# %%
import json

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import seaborn as sns

import sernet
from sernet import paper, workspace
from sernet.analysis import dataset
from sernet.data import synthetic
from sernet.data.manifest import SPLITS, read_manifest

cfg = sernet.config.load()
pd.set_option("display.precision", 3)
pd.set_option("display.width", 120)
print("profile:", cfg.profile)

# %% [markdown]
# ## 1.1 The paper's corpus tables, as data
#
# `sernet.paper` holds the report's numbers verbatim; nothing in it is a result of ours.

# %%
pd.Series(paper.TABLE_2_1, name="Table 2.1").to_frame()

# %%
dataset.with_totals(paper.class_counts())

# %% [markdown]
# ## 1.2 Do the paper's numbers agree with each other?
#
# A reproduction starts by checking the tables it reproduces. `dataset.paper_checks()` recomputes what can
# be recomputed from Table 2.2 and compares it with the text.

# %%
with pd.option_context("display.max_colwidth", 90):
    print(dataset.paper_checks().to_string(index=False))

# %% [markdown]
# > **The paper says** (§2.3): 72,082 / 9,010 / 9,011 utterances (80/10/10).
# > **We found**: the columns do sum to those counts and to Table 2.1's 90,103. Every class is split
# > exactly 80/10/10, and the class shares sit within 0.01 percentage points of whole percentages
# > (12/15/10/35/8/5/8/7 %). Fear and Surprise have *identical* counts in all three splits, which is what
# > two 8 % shares give. For a naturalistic corpus labelled by listeners, such round numbers are unusual:
# > the table looks derived from target proportions rather than counted. The report also never says
# > whether its split is speaker-independent, which decides how optimistic its results are (Chapter 5).
#
# The imbalance ratio (Neutral : Disgust = 7 : 1) matters for the loss (Chapter 4).

# %% [markdown]
# ## 1.3 Our corpus in the same format
#
# `sernet.workspace.corpus_manifest(cfg)` returns `$SERNET_DATA/manifest.csv` when a prepared real corpus
# is configured, else the synthetic corpus of `cfg.synth` (generated once into `$SERNET_HOME`, then read
# from the cache). Every cell below works on either; cells about ground truth only run on the synthetic one.

# %%
manifest = workspace.corpus_manifest(cfg)
df = read_manifest(manifest)
SYNTHETIC = set(synthetic.GROUND_TRUTH_COLUMNS) <= set(df.columns)
print("corpus:", "synthetic (sernet.data.synthetic, generator version "
      f"{synthetic.GENERATOR_VERSION})" if SYNTHETIC else "prepared corpus from SERNET_DATA")
dataset.corpus_overview(df)

# %%
table = dataset.corpus_table(df)
dataset.with_totals(table)

# %% [markdown]
# Class shares next to the paper's. The generator draws class counts *per split* from
# `cfg.synth.class_weights` (Table 2.2's train counts) with largest-remainder rounding, so only rounding
# separates the two columns.

# %%
dataset.side_by_side(table).round(2)

# %%
dataset.split_speaker_overlap(df)

# %% [markdown]
# No speaker appears in two splits: the splits are **speaker-independent** (80/10/10 by speaker), so a
# test score measures generalisation to new voices.

# %%
fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
order = [e for e in sernet.labels.EMOTIONS if e in set(df["label"])]
sns.countplot(data=df, x="label", hue="split", order=order, hue_order=SPLITS, ax=axes[0])
axes[0].set(title="utterances per class and split", xlabel="", ylabel="utterances")
axes[0].tick_params(axis="x", rotation=45)
sns.boxplot(data=df, x="label", y="duration_s", hue="label", order=order, ax=axes[1], legend=False)
axes[1].set(title="duration per class", xlabel="", ylabel="duration (s)")
axes[1].tick_params(axis="x", rotation=45)
fig.tight_layout()

# %%
dataset.duration_summary(df, by="split").round(3)

# %% [markdown]
# ## 1.4 Class weights against imbalance
#
# With inverse-frequency ("balanced") weights, each class contributes equally to the loss: the rare
# Disgust class gets ~7× Neutral's weight. `balanced` is exactly scikit-learn's
# `compute_class_weight("balanced")`; `mean_1` rescales it to mean 1 (`train.class_weighting`).

# %%
dataset.class_weights_table(table["train"][table["train"] > 0]).round(3)

# %% [markdown]
# ## 1.5 What the synthetic voice puts into the audio
#
# A source–filter voice (see `sernet.data.synthetic`'s docstring): glottal pulses at exact times following
# an F0 contour (speaker base + emotion shift, slope, pitch accents), cycle-to-cycle jitter and shimmer,
# aspiration noise at a set harmonics-to-noise ratio, spectral tilt, five formants per vowel, syllables at
# a speaking rate, pauses, and optional background noise at a recorded SNR. Each emotion moves these cues
# relative to the speaker's neutral voice, following the directions most reported in the literature
# (Juslin & Laukka 2003; Scherer 2003; Banse & Scherer 1996). **Disgust, contempt and surprise are less
# studied: their rows are plausible choices, not findings.**

# %%
cues = pd.DataFrame({e: vars(c) for e, c in synthetic.EMOTION_CUES.items()}).T
cues

# %% [markdown]
# The rows overlap on purpose: within each class every cue varies by about as much as the classes differ
# (`cfg.synth.cue_spread` scales this), speakers differ more in base F0 than emotions shift it, and the
# paper's confusions are built in (happy ≈ surprise, sad ≈ contempt, fear ≈ surprise).
# Every manifest row records what was *realised* (measured from the generated pulses and signals), e.g.:

# %%
if SYNTHETIC:
    print(df[["label", "speaker", "sex", *synthetic.CUE_COLUMNS]].head(4).round(3).to_string())
    print(df[["silence_spans", "accent_times", "snr_db", "blend_label", "blend_weight"]].head(4).to_string())

# %% [markdown]
# The paper's four error categories (§5.3) are *controllable causes* here, and each utterance records
# whether it carries one, so later chapters can count errors by cause instead of quoting percentages:

# %%
if SYNTHETIC:
    shrunk, exaggerated = synthetic.ATYPICAL_EXPRESSIVENESS
    causes = pd.Series({
        "ambiguous: blend of two classes (blend_label)": (df["blend_weight"] > 0).mean(),
        "atypical speaker: shrunken expressiveness": (df["expressiveness"] <= shrunk[1]).mean(),
        "atypical speaker: exaggerated expressiveness": (df["expressiveness"] >= exaggerated[0]).mean(),
        "background noise (snr_db)": df["snr_db"].notna().mean(),
    }, name="share of utterances")
    print(causes.round(3).to_string())
    print("atypical speakers:", int(round(cfg.synth.atypical_speaker_fraction * cfg.synth.n_speakers)),
          "of", cfg.synth.n_speakers)
    print("config:", {k: getattr(cfg.synth, k) for k in
                      ("blend_fraction", "atypical_speaker_fraction", "noise_fraction", "snr_db_range")})

# %% [markdown]
# One utterance, with its ground truth drawn on top: silence spans (grey), pitch-accent peaks (red) and the
# F0 contour the glottal pulses follow.

# %%
if SYNTHETIC:
    clean = df[df["snr_db"].isna() & (df["blend_weight"] == 0)]
    fig, axes = plt.subplots(2, 2, figsize=(12, 5), sharex="col")
    for col, emotion in enumerate(("angry", "sad")):
        if not (clean["label"] == emotion).any():
            continue
        d = synthetic.synthesize_details(int(clean.loc[clean["label"] == emotion, "index"].iloc[0]), cfg)
        t = np.arange(d.y.size) / cfg.features.sample_rate_hz
        axes[0, col].plot(t, d.y, lw=0.4)
        for a, b in json.loads(d.params["silence_spans"]):
            axes[0, col].axvspan(a, b, color="0.85")
        for a in json.loads(d.params["accent_times"]):
            axes[0, col].axvline(a, color="tab:red", lw=0.8)
        axes[0, col].set(title=f"{emotion} ({d.params['speaker']}, {d.params['sex']})", ylabel="amplitude")
        axes[1, col].plot(d.frame_times_s, d.frame_f0_hz, ".", ms=2)
        axes[1, col].set(xlabel="time (s)", ylabel="F0 (Hz)")
    fig.tight_layout()

# %%
if SYNTHETIC:
    print(df.groupby("label")[list(synthetic.CUE_COLUMNS)].mean().loc[order].round(3).to_string())

# %% [markdown]
# ## 1.6 How hard is the task? Measured, not guessed
#
# The best any acoustic model can hope for is bounded by how well the *true* cue values separate the
# classes. We fit a deliberately simple classifier (standardise + logistic regression, scikit-learn) on
# the generator's ground-truth cues of the training speakers and score unseen test speakers with UAR
# (unweighted average recall = balanced accuracy; chance = 1/8 = 0.125).

# %%
if SYNTHETIC:
    probes = {
        "raw cues": dataset.cue_classifier(df, synthetic.CUE_COLUMNS, seed=cfg.train.seed),
        "speaker-normalised cues": dataset.cue_classifier(
            df, synthetic.CUE_COLUMNS, speaker_normalise=True, seed=cfg.train.seed
        ),
    }
    for name, probe in probes.items():
        cv = dataset.cue_classifier_cv(df, synthetic.CUE_COLUMNS, speaker_normalise=name.startswith("speaker"),
                                     seed=cfg.train.seed)
        print(f"{name:>24}: test split UAR {probe['uar']:.3f} (WAR {probe['war']:.3f}, {probe['n_test']} "
              f"utterances) | speaker-grouped 5-fold CV UAR {cv:.3f} ({len(df)} utterances)")

# %% [markdown]
# > **The paper says**: SER-Net reaches UAR 0.724 on MSP-Podcast (Table 4.3); nothing is said about the
# > ceiling its data allow.
# > **We measured**: on the synthetic corpus the ground-truth cues give the UARs above, well above chance
# > and well below 1: the task is learnable but not trivial, as designed (target 0.45–0.75). In the smoke
# > profile the test split holds only 4 speakers and a few dozen utterances, so its number moves by
# > several points with the seed (and can even reverse the raw/normalised order); the speaker-grouped
# > cross-validation predicts every utterance from a model that never heard its speaker and is the
# > steadier estimate. A model that hears the audio must *estimate* these cues, so it should land below
# > this probe.

# %%
if SYNTHETIC:
    cm = probes["speaker-normalised cues"]["confusion"]
    fig, ax = plt.subplots(figsize=(5.5, 4.5))
    sns.heatmap(cm.div(cm.sum(axis=1).replace(0, 1), axis=0), annot=cm, fmt="d", cmap="Blues", cbar=False, ax=ax)
    ax.set(xlabel="predicted", ylabel="true", title="probe on speaker-normalised cues (test split)")
    fig.tight_layout()

# %% [markdown]
# ## 1.7 Per-speaker normalisation: the pitch lesson
#
# Women's voices sit about an octave above men's; emotions move F0 by only a few semitones. Raw mean F0
# therefore mostly tells *who* speaks. Standardising each cue within each speaker (no labels needed, so it
# is fair on test speakers) leaves the emotional movement.

# %%
if SYNTHETIC:
    f0 = pd.DataFrame({
        "label": df["label"],
        "sex": df["sex"],
        "raw F0 (st re 55 Hz)": 12 * np.log2(df["f0_mean_hz"] / 55.0),
        "speaker z-scored F0": dataset.speaker_zscore(df, ["f0_mean_hz"])["f0_mean_hz"],
    })
    fig, axes = plt.subplots(1, 2, figsize=(12, 3.8))
    for ax, column in zip(axes, ["raw F0 (st re 55 Hz)", "speaker z-scored F0"], strict=True):
        sns.boxplot(data=f0, x="label", y=column, hue="sex", order=order, ax=ax)
        ax.set(xlabel="")
        ax.tick_params(axis="x", rotation=45)
    fig.tight_layout()
    for name, norm in (("raw mean F0 only", False), ("speaker z-scored mean F0 only", True)):
        cv = dataset.cue_classifier_cv(df, ["f0_mean_hz"], speaker_normalise=norm, seed=cfg.train.seed)
        print(f"{name:>30}: speaker-grouped 5-fold CV UAR {cv:.3f}")

# %% [markdown]
# ## 1.8 Real corpora: what they can supply, and the paper's counts against the public releases
#
# `sernet prepare CORPUS ROOT` (see `data_scripts/README.md`) turns a local copy of MSP-Podcast or an open
# corpus into the same manifest; with `SERNET_DATA` pointing at it, sections 1.3–1.6 describe that corpus.
# No open corpus supplies all eight classes. The counts below are each release's documented numbers
# (`sernet.data.corpora.documented_counts()`), mapped to the paper's classes; `unmapped` are classes the
# paper does not have (RAVDESS calm, EmoDB boredom).

# %%
from sernet.data import corpora
from sernet.data.corpora import msp_podcast

corpora.documented_counts()

# %%
corpora.label_maps()[["paper8", "dropped_under_paper8", "cannot_supply"]]

# %% [markdown]
# > **The paper says** 90,103 MSP-Podcast utterances in exactly 8 classes, split 80/10/10.
# > **The public releases document** their own speaker-independent partitions (Train / Development /
# > Test1 / Test2 …), test sets far larger than 10 %, and two more codes (O = other, X = no agreement).

# %%
print(msp_podcast.PAPER_VS_RELEASES)

# %%
shares = msp_podcast.paper_class_shares()
shares.round(4)

# %% [markdown]
# With `SERNET_DATA` set to a prepared MSP-Podcast folder, the next cell puts that release's class
# counts beside Table 2.2 (on any other corpus it prints nothing).

# %%
if not SYNTHETIC and "corpus" in df and (df["corpus"] == msp_podcast.SPEC.name).all():
    print(msp_podcast.compare_with_paper(dataset.corpus_table(df)).round(3).to_string())

# %% [markdown]
# ## Summary
#
# * The paper's Table 2.2 is internally consistent (splits sum, 80/10/10 per class) but suspiciously
#   regular: class shares are whole percentages and Fear = Surprise in every split; speaker independence
#   is not stated.
# * `sernet.analysis.dataset` turns any manifest into the paper's table format; the same cells describe a real corpus
#   when `SERNET_DATA` is set.
# * The synthetic corpus follows Table 2.2's proportions (imbalance 7 : 1), splits speakers 80/10/10 and
#   records every cue it put into the audio, so later chapters can check features, attention and errors.
# * A simple classifier on the true cues sets the difficulty: learnable, far from perfect. Speaker
#   normalisation helps (clearly under cross-validation), because speakers differ more than emotions:
#   raw mean F0 alone is near chance, the same F0 relative to its speaker is not.

# %% [markdown]
# ## Exercises
#
# 1. Regenerate with `sernet.config.override(cfg, {"synth.cue_spread": 2.0})` (and `0.5`): how do the two
#    probe UARs move? Which spread puts the ceiling near the paper's 0.724?
# 2. Drop one cue at a time from `synthetic.CUE_COLUMNS` in the probe. Which cue carries most information?
#    Does the answer change after speaker normalisation?
# 3. Set `synth.atypical_speaker_fraction` to 0.5. Which classes suffer most in the confusion matrix, and
#    why do shrunken-expressiveness speakers get pulled towards `neutral`?
# 4. Replace the speaker-independent split by a random 80/10/10 split of utterances (ignore `split`):
#    how much does the raw-cue probe's UAR rise? That gap is what a speaker-overlapping split hides.
# 5. Compute `dataset.class_weights_table` on the paper's Table 2.2 train counts and compare the Disgust
#    weight with the smoke corpus's: why do they agree even though the corpus is 140× smaller?
# 6. Measure F0 of one utterance with Praat (`parselmouth.Sound(d.y, 16000).to_pitch()`) and plot it over
#    `d.frame_f0_hz`. Where do the two disagree, and why (hint: unvoiced onsets, jitter)?
# 7. With a prepared real corpus (`SERNET_DATA=...`), rerun sections 1.3–1.4: is it speaker-independent,
#    and how does its imbalance compare with the paper's 7 : 1?
# 8. Prepare an MSP-Podcast release twice, with `--split official` and `--split paper`: how far are the
#    official partitions from 80/10/10, and how many segments do the O and X codes remove (section 1.8)?
