# ---
# jupyter:
#   jupytext:
#     formats: ipynb,py:percent
#     text_representation:
#       extension: .py
#       format_name: percent
# ---

# %% [markdown]
# # Chapter 5 — Training and evaluating SER-Net
#
# After this chapter you can
#
# * state the paper's training recipe (§3.5, §4.1) and find every number of it in `cfg.train`;
# * draw the warmup + cosine learning-rate schedule and say what each phase is for;
# * see what SpecAugment-style masking does to a batch, and why it touches training batches only;
# * explain how batches come out of the memory-mapped feature cache on every Keras backend;
# * train a run that can be killed and resumed to the same result, and read its run directory;
# * compute UAR, WAR and macro-F1 with scikit-learn and lay them out like the paper's Table 4.3;
# * check the paper's §5.2 confusions and §5.3 error causes against a corpus where the causes are known.
#
# The code lives in `sernet.train` (schedule, augmentation, batches, trainer, run directory),
# `sernet.analysis.metrics` and `sernet.analysis.runs`; this chapter runs it on the smoke corpus.

# %%
import inspect

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import sernet
from sernet import paper, plots
from sernet.analysis import errors, metrics, runs
from sernet.backend import keras as _keras
from sernet.train import augment, batches, schedule

keras = _keras()
cfg = sernet.config.load()
keras.utils.set_random_seed(cfg.train.seed)
pd.set_option("display.width", 120)
store = sernet.workspace.feature_store(cfg)
print("profile:", cfg.profile, "| Keras backend:", keras.backend.backend())
print("utterances per split:", {s: len(store.split_indices(s)) for s in ("train", "val", "test")})

# %% [markdown]
# ## 5.1 The recipe
#
# > **The paper says** (§3.5, §4.1, Appendix A): AdamW, learning rate 1e-3, weight decay 1e-4, 1,000 warmup
# > steps then cosine annealing to 1e-6, batch 64, up to 100 epochs with early stopping (patience 10), focal
# > loss (γ = 2, α = 0.25), label smoothing 0.1, dropout 0.3, SpecAugment, FP16 mixed precision.
#
# Every one of these is a field of `cfg.train` (and `cfg.model.dropout_rate`). The smoke profile keeps the
# recipe and shrinks what CI cannot afford on two CPU cores: fewer epochs, a shorter warmup, batch 32, and
# (see the config's comment) 150-frame crops and ~4× narrower layers.

# %%
full = sernet.config.load("full")
fields = ["batch_size", "epochs", "early_stopping_patience", "learning_rate", "weight_decay", "warmup_steps",
          "min_learning_rate", "loss", "focal_gamma", "focal_alpha", "label_smoothing", "augment",
          "class_weighting", "mixed_precision"]
recipe = pd.DataFrame({"paper (Appendix A / §3.5)": [paper.APPENDIX_A.get(f, "") for f in fields],
                       "full profile": [getattr(full.train, f) for f in fields],
                       "this run (smoke)": [getattr(cfg.train, f) for f in fields]}, index=fields)
print(recipe.astype(str).to_string())
print("dropout:", cfg.model.dropout_rate, "| max_length:", cfg.features.max_length, "frames")

# %% [markdown]
# ## 5.2 The learning-rate schedule
#
# Adam's moment estimates are poor during the first steps, and a large rate then can push the weights
# somewhere bad: the **warmup** raises the rate linearly from 0. **Cosine annealing** then lowers it
# smoothly to the floor, so late epochs make small, averaging steps. Keras has it as one schedule
# (`CosineDecay(..., warmup_target=, warmup_steps=)`); `sernet.train.schedule` only fills in the numbers:

# %%
print(inspect.getsource(schedule.make_schedule).split('"""')[0] + "    ...")
print(inspect.getsource(schedule.make_schedule).split("k = keras()")[1])

# %%
train_ds = batches.split_batches(store, "train", cfg, training=True)
steps_per_epoch = len(train_ds)
steps, rates = schedule.schedule_curve(cfg.train, steps_per_epoch)
full_steps, full_rates = schedule.schedule_curve(full.train, int(np.ceil(paper.SPLIT_TOTALS["train"] /
                                                                         full.train.batch_size)))
fig, (a1, a2) = plt.subplots(1, 2, figsize=(11, 3))
plots.lr_schedule(steps, rates, warmup_steps=min(cfg.train.warmup_steps, steps[-1] // 2),
                  steps_per_epoch=steps_per_epoch, ax=a1, title="smoke run")
plots.lr_schedule(full_steps, full_rates, warmup_steps=full.train.warmup_steps, ax=a2,
                  title="paper scale (72,082 utterances, batch 64)")
plt.show()
print(f"smoke: {steps_per_epoch} steps/epoch, {steps[-1]} steps; peak {rates.max():.2e}, end {rates[-1]:.2e}")
print(f"paper: {full_steps[-1]:,} steps; warmup is {full.train.warmup_steps / full_steps[-1]:.1%} of training")

# %% [markdown]
# ## 5.3 SpecAugment: masking training batches
#
# SpecAugment (Park et al. 2019) hides random spans of time and random bands of features, so the model
# cannot rely on any single stretch or feature. Ours masks `time_masks` spans of up to
# `time_mask_max_frames` frames and `feature_masks` bands of up to `feature_mask_max_dims` columns, **inside
# the real frames only** (padding stays padding), with `keras.ops` and stateless seeds: the same
# (seed, epoch, batch) gives the same masks on every backend, which a resumed run needs.

# %%
inputs, y = train_ds[0]
clean = batches.FeatureBatches(store, train_ds.batch_indices(0), batch_size=cfg.train.batch_size,
                               max_length=cfg.features.max_length, crop="start", shuffle=False,
                               seed=cfg.train.seed)
x_clean = clean.inputs(0)
spec = augment.MaskSpec.from_config(cfg.train)
masked = keras.ops.convert_to_numpy(augment.spec_augment(x_clean["features"], x_clean["mask"], spec=spec, seed=0))
zeroed = (masked == 0) & (x_clean["features"] != 0)
print(f"batch {inputs['features'].shape}: {zeroed.mean():.1%} of the values masked; "
      f"padding touched: {bool(zeroed[x_clean['mask'] == 0].any())}")
fig, axes = plt.subplots(1, 2, figsize=(11, 3), sharey=True)
for ax, data, title in zip(axes, (x_clean["features"][0], masked[0]), ("before", "after SpecAugment"),
                           strict=True):
    ax.imshow(data.T, origin="lower", aspect="auto", cmap="coolwarm", vmin=-3, vmax=3)
    ax.set_title(title)
    ax.set_xlabel("frame")
axes[0].set_ylabel("feature column (0–119 MFCC, 120–247 mel, 248–267 prosody)")
plt.show()

# %% [markdown]
# ## 5.4 Batches from the feature cache
#
# `sernet.train.batches.FeatureBatches` is a `keras.utils.PyDataset`, Keras 3's backend-neutral data
# protocol: each batch reads its utterances from the memory-mapped cache (float16), normalises with the
# training-split statistics, crops (random window for training, centre for evaluation) or pads to
# `max_length` with a mask, and masks training batches. On TensorFlow `fit` wraps it in `tf.data` with
# prefetching; on JAX and PyTorch Keras iterates it (PyTorch through a `DataLoader`); `workers > 1` prefetches
# in a thread pool on every backend. The order is a permutation drawn from (seed, epoch):

# %%
print({k: v.shape for k, v in inputs.items()}, "labels", y.shape)
print("real frames per example (first 8):", inputs["mask"].sum(1)[:8].astype(int).tolist())
print(inspect.getsource(batches.FeatureBatches.set_epoch))

# %% [markdown]
# ## 5.5 Train — or resume
#
# `sernet.analysis.runs.run_or_load` trains the run of `cfg` in `$SERNET_HOME/runs/<architecture>-seed<seed>-<key>`
# (the key hashes the config and code versions), or loads it when it has finished. After every epoch the
# trainer writes a checkpoint atomically — model, optimizer and RNG-state variables, early-stopping state,
# history — so a killed run resumes where it stopped and ends **exactly** where an uninterrupted run ends
# (`tests/test_train.py` kills one after epoch 2 and compares weights and metrics). Early stopping watches
# validation UAR; the best epoch's weights are evaluated. Chapters 6 and 7 and `sernet reproduce` reuse this run.

# %%
result = runs.run_or_load(cfg, store)
run = result.run_dir
print("run directory:", run.path.name)
print(sorted(p.name for p in run.path.iterdir()))
print(f"epochs run: {result.metrics['epochs_run']} | best epoch: {result.best_epoch} | "
      f"stopped early: {result.metrics['stopped_early']}")

# %%
# NBVAL_IGNORE_OUTPUT
import time  # noqa: E402

from sernet.model import build_sernet  # noqa: E402

print("parameters:", build_sernet(cfg).count_params())
t0 = time.perf_counter()
model = result.load_model()
print(f"loading the best model took {time.perf_counter() - t0:.2f} s")

# %% [markdown]
# ## 5.6 Learning curves

# %%
shown = result.history[["epoch", "loss", "accuracy", "val_uar", "val_war", "val_macro_f1", "lr"]].round(3)
print(shown.assign(lr=result.history["lr"].map("{:.1e}".format)).to_string(index=False))
plots.learning_curves(result.history, best_epoch=result.best_epoch, title="smoke run (seed 0)")
plt.show()

# %% [markdown]
# ## 5.7 Results beside the paper's
#
# `sernet.analysis.metrics.evaluate_predictions` takes everything from scikit-learn: UAR is
# `balanced_accuracy_score` (the mean of the per-class recalls — what matters with 7:1 class imbalance),
# WAR `accuracy_score`, macro-F1 `f1_score(average="macro")`.

# %%
test = result.metrics["test"]
print("test split:", test["n"], "utterances; chance UAR =", round(1 / sernet.NUM_CLASSES, 3))
print(metrics.format_table(metrics.results_table({"SER-Net": test}, decimals=1)))
print()
print(metrics.format_table(metrics.per_class_table(test, decimals=1)))

# %% [markdown]
# > **The paper says:** SER-Net reaches 72.4 % UAR on MSP-Podcast; neutral is the easiest class (84.5 %
# > recall) and disgust/contempt the hardest (~60 %).
# >
# > **We measured** (above, smoke corpus, one seed): a UAR far above chance (12.5 %) but on a different
# > corpus, a ~4× narrower model, 1.5 s crops and a few epochs — the numbers are not comparable to the
# > paper's, only the method is. With 64 test utterances a single utterance moves a class's recall by
# > several points; Chapter 6 repeats runs over seeds for that reason.

# %% [markdown]
# ## 5.8 Confusions (§5.2)
#
# The synthetic corpus builds the paper's confusable pairs in on purpose (happy and surprise share high,
# rising F0; sad and contempt low arousal; fear and surprise high F0). Does the trained model confuse
# exactly these? `pair_confusions` ranks each pair's two-way confusion among all 28 class pairs.

# %%
cm = metrics.confusion_frame(test, normalize=True)
plots.confusion_heatmap(cm, highlight=paper.CONFUSIONS_5_2, title="test split, row-normalised")
plt.show()
pairs = metrics.pair_confusions(test)
print(pairs.round(3).to_string())

# %%
val_pairs = metrics.pair_confusions(result.metrics["val"])
top = int((pairs["rank"] <= 5).sum())
print(f"paper pairs among our 5 most confused (test): {top} of {len(pairs)}; "
      f"pairs confused above the average off-diagonal rate: "
      f"{int(((pairs['a->b'] + pairs['b->a']) / 2 > pairs['mean_off_diagonal']).sum())} of {len(pairs)}")
print("ranks on the validation split:", val_pairs["rank"].tolist())

# %% [markdown]
# > **The paper says:** Happy ↔ Surprise, Sad ↔ Contempt and Fear ↔ Surprise are the common confusions.
# >
# > **We measured:** the table above; a rank near 1 means the pair is among the most confused of all 28.
# > On 64 test utterances (a handful per class) one or two utterances decide a cell, so read the ranks
# > together with the validation split's.

# %% [markdown]
# ## 5.9 Errors by cause (§5.3)
#
# The paper attributes its errors to ambiguity (35 %), speaker variability (28 %), noise (22 %) and short
# utterances (15 %) without saying how. On the synthetic corpus each cause is a recorded fact of the
# utterance, so we can measure the error rate with and without it (validation + test utterances).

# %%
preds = run.read_predictions()
causes = errors.synthetic_causes(store.index, crop_s=cfg.features.window_s)
print(errors.errors_by_cause(preds, causes).round(1).to_string())

# %% [markdown]
# A cause matters when `error_rate` clearly exceeds `error_rate_without`; `share_of_errors` is what the
# paper reports (one error may carry several causes here, so shares need not add to 100 %). With ~130
# utterances these are rough estimates.
#
# ## Summary
#
# * The paper's recipe is one Keras schedule (`CosineDecay` with warmup), `AdamW`, the focal loss from
#   `sernet.losses` and SpecAugment masks applied to training batches only — all numbers from `cfg.train`.
# * Batches come from the memory-mapped feature cache through a `keras.utils.PyDataset`, which every Keras
#   backend can consume; order, crops and masks are functions of (seed, epoch, batch).
# * A run directory holds config, normalisation statistics, the best model, history, metrics and
#   predictions; checkpoints after every epoch make a killed run resume to the identical result.
# * UAR/WAR/macro-F1 come from scikit-learn; on the smoke corpus the model is far above chance, and the
#   paper's confusion pairs and error causes can be checked against ground truth.
#
# ## Exercises
#
# 1. Set `train.warmup_steps` to 0 (`sernet.config.override`) and retrain: do the first epochs' losses and
#    the final UAR change?
# 2. Train with `train.class_weighting="balanced"` and compare the per-class recalls of disgust and neutral.
# 3. Kill a run yourself: `sernet train` in a terminal, Ctrl-C after two epochs, run it again. Compare
#    `metrics.json` with an uninterrupted run's.
# 4. Raise `train.time_masks` to 6: at which point does masking hurt validation UAR?
# 5. Replace the centre crop of evaluation (`features.eval_crop="start"`): how much does UAR depend on which
#    1.5 s of an utterance the model sees?
# 6. Set `train.early_stopping_patience` to 1 and look at the learning curves: how early does it stop, and
#    what does it cost?
# 7. Run the chapter with `KERAS_BACKEND=jax`: are the metrics the same to 3 decimals?
