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
# # 11. Self-supervised pre-training: how far can unlabelled audio replace labels?
#
# Emotion labels are expensive: every utterance of MSP-Podcast was rated by several listeners. Audio
# without labels is nearly free. The paper's last section names "self-supervised pre-training on unlabeled
# speech" as future work; this chapter builds it and measures what it buys. After it you will be able to:
#
# * state the masked-frame reconstruction objective of Mockingjay and TERA, and why we chose it over a
#   contrastive one for SER-Net's frame features;
# * pre-train the SER-Net encoder on any corpus with `sernet pretrain`, its labels ignored, and resume it;
# * fine-tune the pre-trained encoder on a fraction of the labels (`sernet train --init RUN`) and compare
#   it with training from scratch on the same labels, with intervals;
# * say what a synthetic corpus can and cannot tell about pre-training on real speech.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from IPython.display import Audio, display

import sernet
from sernet import workspace
from sernet.analysis import runs, study
from sernet.analysis import self_supervised as ssl
from sernet.backend import keras as _keras
from sernet.data.audio import read_audio
from sernet.train import pretrain as pre

keras = _keras()
cfg = sernet.config.load()
keras.utils.set_random_seed(cfg.train.seed)
pd.set_option("display.width", 120)
pd.set_option("display.precision", 3)
store = workspace.feature_store(cfg)
print("profile:", cfg.profile)
for name, value in cfg.pretrain.__dict__.items():
    print(f"pretrain.{name:20s} = {value!r}")

# %% [markdown]
# ## 11.1 The objective in a few lines
#
# Let $x \in \mathbb{R}^{T \times F}$ be an utterance's normalised frame features (the 268 stored columns
# of Chapter 2) and $r_t \in \{0, 1\}$ mark its real (unpadded) frames. Draw a binary mask $m_{t,f}$:
#
# * **time masking** (Mockingjay, Liu et al. 2020): spans of `time_mask_span` consecutive frames, about
#   `time_mask_fraction` of the real frames in all, get $m_{t,f} = 1$ for every $f$;
# * **channel masking** (TERA, Liu et al. 2021): one block of consecutive columns, of width uniform in
#   $[0, \text{channel\_mask\_max}]$, gets $m_{t,f} = 1$ for every $t$.
#
# The corrupted input is $\tilde x = (1 - m) \odot x$ (0 is each feature's training mean after
# normalisation). The encoder $g$ (SER-Net's front end, multi-scale convolution, residual blocks and
# self-attention, exactly the layers Chapter 3 built) and one linear layer $W$ predict the original frames,
# and the loss counts only what the model could not see:
#
# $$\mathcal{L} = \frac{\sum_{t,f} w_{t,f}\, \lvert (W g(\tilde x))_{t,f} - x_{t,f} \rvert}{\sum_{t,f} w_{t,f}},
# \qquad w_{t,f} = r_t\, m_{t,f}.$$
#
# Unmasked cells are excluded because copying them is trivial; padded frames because there is nothing to
# reconstruct. To fill a masked span the encoder has to use the context around it: the pitch contour
# before and after a gap, the spectral envelope of the bands left in, the energy rhythm. Those are the
# cues emotion rides on, which is the bet of pre-training.
#
# **Why reconstruction, not contrast.** Contrastive objectives (CPC, van den Oord et al. 2018; wav2vec 2.0,
# Baevski et al. 2020) learn a waveform encoder by telling the true future or masked frame from negatives,
# and need large batches or many negatives and a quantiser to work. SER-Net's input is already a frame of
# hand-made features, which is what Mockingjay and TERA were designed for; their L1 loss needs no
# negatives, works with the small batches of a CPU run, and its masks are a function of (seed, epoch,
# batch), so a resumed pre-training is the uninterrupted one (`tests/test_pretrain.py`).
#
# One batch as the model sees it: the input with its masks, and the cells the loss counts.

# %%
batches = pre.MaskedFrameBatches(store, store.split_indices("train"), pcfg=cfg.pretrain,
                                 batch_size=cfg.pretrain.batch_size, max_length=cfg.features.max_length,
                                 crop=cfg.features.train_crop, shuffle=True, seed=cfg.train.seed)
inputs, target, weights = batches.masked_batch(0)
row = int(np.argmax(inputs["mask"].sum(axis=1)))  # the longest utterance of the batch
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True, dpi=72)
for ax, (title, image) in zip(axes, (("normalised frames x", target[row]), ("corrupted input", inputs["features"][row]),
                                     ("cells the loss counts (w)", weights[row])), strict=True):
    ax.imshow(image.T, aspect="auto", origin="lower", cmap="magma" if "w" not in title else "Greys",
              vmin=-2 if "w" not in title else 0, vmax=2 if "w" not in title else 1)
    ax.set(title=title, xlabel="frame")
axes[0].set_ylabel("feature column")
fig.tight_layout()
print(f"masked share of the batch's real cells: {weights.sum() / (inputs['mask'].sum() * target.shape[-1]):.1%}")

# %% [markdown]
# Listen to that utterance (the whole recording; the model sees a `features.max_length`-frame crop):

# %%
# NBVAL_IGNORE_OUTPUT
utterance = int(batches.batch_indices(0)[row])
display(Audio(read_audio(store.index["path"].iloc[utterance], sample_rate_hz=cfg.features.sample_rate_hz),
              rate=cfg.features.sample_rate_hz))

# %% [markdown]
# ## 11.2 Pre-training
#
# `sernet pretrain` reads any corpus and never its labels. By default it pre-trains on a synthetic corpus
# `pretrain.corpus_factor` times the labelled one, drawn with other speakers (`pretrain.corpus_seed`);
# `--data PREPARED` takes your own recordings. The smoke profile sets `corpus_factor = 0` to stay in the CI
# budget: it pre-trains on the labelled corpus's own train split, labels ignored. That is the usual
# semi-supervised setting (all the audio, some of the labels), but it gives pre-training no *extra* audio,
# so it understates what a larger unlabelled corpus could do; the study profile uses three times the
# labelled size. The run directory is a whole SER-Net whose encoder carries the pre-trained weights, so
# `sernet train --init RUN` fine-tunes it like any other run (Chapter 10's machinery).

# %%
unlabelled = ssl.unlabelled_store(cfg)
pretrained = ssl.run_or_load_pretrain(cfg, unlabelled)
print("utterances pre-trained on:", pretrained.metrics["train_utterances"], "| epochs:", pretrained.metrics["epochs_run"])
print("fine-tune it with: sernet train --init $SERNET_HOME/runs/" + pretrained.run_dir.path.name.rsplit("-", 1)[0] + "-<key>")

# %% [markdown]
# The held-out reconstruction error (validation split, masked cells only) beside the trivial
# reconstruction that predicts every masked cell as the training mean (0): the encoder has learnt
# something about the frames when its error is below the mean's.

# %%
# NBVAL_IGNORE_OUTPUT
val = pretrained.metrics["val"]
print(f"masked L1, pre-trained model: {val['masked_l1']:.3f}   predicting the mean: {val['mean_baseline_l1']:.3f}"
      f"   ({val['masked_cells']} masked cells)")
model = pre.load_pretraining_model(pretrained.run_dir.path)
vb = pre.MaskedFrameBatches(store, store.split_indices("val"), pcfg=cfg.pretrain, batch_size=cfg.pretrain.batch_size,
                            max_length=cfg.features.max_length, crop=cfg.features.eval_crop, shuffle=False,
                            seed=cfg.train.seed)
vin, vtarget, vweights = vb.masked_batch(0)
recon = np.asarray(keras.ops.convert_to_numpy(model(vin, training=False)))
r = int(np.argmax(vweights.sum(axis=(1, 2))))
fig, axes = plt.subplots(1, 3, figsize=(12, 3.2), sharey=True, dpi=72)
for ax, (title, image) in zip(axes, (("original", vtarget[r]), ("input", vin["features"][r]),
                                     ("reconstruction", recon[r])), strict=True):
    ax.imshow(image.T, aspect="auto", origin="lower", cmap="magma", vmin=-2, vmax=2)
    ax.set(title=title, xlabel="frame")
fig.tight_layout()
fig, ax = plt.subplots(figsize=(5, 3))
ax.plot(pretrained.history["epoch"], pretrained.history["loss"], marker="o")
ax.set(xlabel="epoch", ylabel="masked L1 (train)", title="pre-training loss")
fig.tight_layout()

# %% [markdown]
# ## 11.3 The label-efficiency curve
#
# For each fraction in `pretrain.label_fractions` and each seed in `pretrain.seeds` we keep a
# class-stratified sample of the train split's labels (`sernet.train.pretrain.label_fraction_store`; at
# least one utterance per class, a new sample per seed) and train two runs with Chapter 5's recipe on it:
# one from scratch, one starting from the pre-trained encoder (pooling and classifier start fresh either
# way). Validation and test splits are the full ones, so every point is scored on the same speakers. The
# smoke profile has two small fractions and one seed (its intervals are therefore speaker-level only); the
# study profile runs the 1, 5, 10, 25 and 100 % over three seeds (`SERNET_PROFILE=study sernet
# pretrain --label-efficiency`). Chapter 5's runs on all labels are drawn as the reference.

# %%
table = ssl.label_efficiency(cfg, store, pretrained.run_dir.path)
full = [runs.run_or_load(sernet.config.override(cfg, {"train.seed": s}), store) for s in cfg.pretrain.seeds]
print("runs:", len(table), "| labelled train utterances per fraction:",
      {float(f): int(n) for f, n in table.groupby("fraction")["labelled"].first().items()})

# %%
# NBVAL_IGNORE_OUTPUT
curve = ssl.curve_table(cfg, table, store)  # each run's test UAR with its speaker-bootstrap interval
print(curve.to_string(index=False))
ssl.plot_curve(curve, cfg.pretrain.label_fractions, chance=1 / len(store.classes),
               reference=np.mean([f.metrics["test"]["uar"] for f in full]), confidence=cfg.analysis.confidence)
plt.gcf().tight_layout()

# %% [markdown]
# The verdict at each fraction: pre-trained minus from-scratch test UAR. With several seeds the rule needs
# both the Welch interval over seeds and the paired speaker bootstrap to exclude 0; with one seed (smoke)
# the paired speaker bootstrap alone.

# %%
# NBVAL_IGNORE_OUTPUT
verdicts = ssl.efficiency_verdicts(cfg, table, store)
for v in verdicts:
    print(v.sentence())

# %% [markdown]
# The smoke run is one seed on about a hundred test utterances: whichever way the numbers above fall, it is
# not powered to call a small effect, so the machine-independent line below points to them instead of
# restating them.

# %%
for v in verdicts:
    print(f"{v.claim}: see the verdict above (rule: {v.rule})")

# %% [markdown]
# ### The larger run: the study record
#
# The same command on the study profile (its larger corpus, an unlabelled corpus of other speakers
# `pretrain.corpus_factor` times that size, and all of the fractions over several seeds; the sizes are
# printed below) was run once and written as a record,
# `results/label_efficiency.json` (`SERNET_PROFILE=study sernet pretrain --label-efficiency --record
# label_efficiency`). Its header says what made it; the curve and the verdicts below are read from it, so
# they are the same on every machine.

# %%
record = study.load_record("label_efficiency")
print({k: record[k] for k in ("profile", "command", "git_commit", "date")})
print("machine:", record["machine"]["cpu"], f"({record['machine']['cores']} cores)", "| corpus:", record["corpus"])
print("pre-training: held-out masked L1 {val[masked_l1]:.3f} against {val[mean_baseline_l1]:.3f} for the mean, "
      "{n} epochs".format(val=record["pretrain"]["metrics"]["val"], n=record["pretrain"]["metrics"]["epochs_run"]))
recorded = pd.DataFrame(record["label_efficiency"])
fractions = sorted(recorded["fraction"].unique())
ssl.plot_curve(recorded, fractions, chance=1 / len(store.classes), confidence=cfg.analysis.confidence)
plt.gcf().tight_layout()
print(recorded.pivot_table(index="fraction", columns="init", values="test_uar", aggfunc="mean").round(3).to_string())
for v in study.verdicts(record):
    print(v.sentence(with_rule=True))
by_outcome: dict[str, list[str]] = {}
for v in study.verdicts(record):
    by_outcome.setdefault(v.outcome, []).append(v.claim.rsplit(", ", 1)[-1])
print("fractions by outcome:", by_outcome)

# %% [markdown]
# How to read the record. Each verdict compares the two arms on the same label samples and the same test
# speakers, and calls an effect only when the interval over seeds and the paired speaker bootstrap agree.
# Where the pre-trained start comes out *lower* with the fewest labels, the usual suspects are the
# fine-tuning recipe, not the objective: the encoder starts from features scaled for reconstructing frames,
# the fresh head then meets them with a handful of labelled utterances and Chapter 5's learning rate and
# warm-up, and nothing in the recipe protects what pre-training learned (exercise 3 freezes the encoder
# first). Where every verdict is within noise, the synthetic corpus's global cues are learnt from few
# labels anyway (§11.4).

# %% [markdown]
# ## 11.4 What the synthetic corpus can and cannot tell
#
# * **What it can.** The pipeline is real: the objective, resumable pre-training, fine-tuning by layer
#   name and a label-efficiency curve with intervals run unchanged on your recordings (`sernet pretrain
#   --data PREPARED`, then `sernet train --data LABELLED --init RUN`).
# * **What the generator builds in.** Its emotion cues are a handful of global prosodic and spectral
#   shifts per class (F0 level and range, energy, tilt, rate; Chapter 1). Such cues are easy to learn from
#   few labels, which leaves pre-training little to add; and reconstructing masked frames of a source–filter
#   synthesiser teaches the encoder the synthesiser's smooth contours, not the variety of real voices.
# * **What it cannot.** Whether pre-training on thousands of hours of real, unlabelled speech helps emotion
#   recognition is a question about real speech, and published results (e.g. wav2vec 2.0 and HuBERT
#   features on MSP-Podcast and IEMOCAP) say it helps a lot there. A null or small effect here says nothing
#   against that; a large effect here would say little for it.
#
# ## Summary
#
# * Masked-frame reconstruction hides time spans and feature bands of the frames and scores an L1
#   reconstruction on the hidden cells of real frames only.
# * `sernet pretrain` pre-trains the SER-Net encoder on any corpus without labels, resumably; its run
#   directory is a starting point for `sernet train --init`.
# * The label-efficiency curve compares fine-tuning and training from scratch on the same label samples,
#   with intervals; the smoke profile is not powered, the study profile runs the fractions and seeds.
# * On a synthetic corpus the result says how the method behaves on the generator's cues, not on speech.
#
# ## Exercises
#
# 1. Pre-train with time masking only (`--set pretrain.channel_mask_max=0`) and with channel masking only
#    (`--set pretrain.time_mask_fraction=0`): which one lowers the held-out error more against the mean?
# 2. Set `pretrain.corpus_factor=3` and rerun the curve: does more unlabelled audio change the small-label
#    points?
# 3. Fine-tune with a frozen encoder for the first epochs (`sernet train --init RUN --freeze-epochs 5`):
#    at 10 % of the labels, does it beat full fine-tuning?
# 4. Make the generator harder (`--set synth.cue_spread=2`, Chapter 1): does pre-training help more when the
#    labels are noisier?
