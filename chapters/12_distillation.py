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
# # 12. Distillation for the edge: how small can SER-Net get?
#
# Chapter 8 measured the Base model's latency; the paper's future work asks for "knowledge distillation for
# edge deployment". A student model a tenth of the teacher's size, trained to imitate the teacher's
# softened outputs, is the classic answer (Hinton, Vinyals & Dean 2015). After this chapter you will be
# able to:
#
# * derive the distillation loss and say what the temperature and the $T^2$ factor do;
# * build a student SER-Net from the `distill` config section and check its parameter budget;
# * distil a trained run with `sernet distill --teacher RUN` and compare it with the same student trained
#   alone;
# * put teacher, students and their int8 exports on one accuracy / latency / size chart, with intervals.

# %%
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd

import sernet
from sernet import workspace
from sernet.analysis import edge, runs, study
from sernet.backend import keras as _keras
from sernet.deploy.predictor import softmax
from sernet.deploy.runners import KerasRunner
from sernet.model import build_sernet
from sernet.train import distill as kd

keras = _keras()
cfg = sernet.config.load()
keras.utils.set_random_seed(cfg.train.seed)
pd.set_option("display.width", 120)
pd.set_option("display.precision", 3)
store = workspace.feature_store(cfg)
print("profile:", cfg.profile)
for name, value in cfg.distill.__dict__.items():
    print(f"distill.{name:26s} = {value!r}")

# %% [markdown]
# ## 12.1 The objective in a few lines
#
# A trained teacher's logits $z^{t}$ carry more than its decision: which wrong classes it finds plausible
# (an angry utterance that is a little like disgust, not at all like sadness). At temperature $T$ the
# softened distribution $p^{t}_T = \mathrm{softmax}(z^{t}/T)$ spreads that "dark knowledge" over the
# classes. The student, with logits $z^{s}$ and $p^{s}_T = \mathrm{softmax}(z^{s}/T)$, is trained on
#
# $$\mathcal{L} = \alpha\, T^2\, \mathrm{KL}\!\left(p^{t}_T \,\Vert\, p^{s}_T\right) + (1-\alpha)\,
# \mathrm{CE}\!\left(y, \mathrm{softmax}(z^{s})\right).$$
#
# Why $T^2$: the gradient of the soft term with respect to $z^{s}_i$ is $\frac{1}{T}(p^{s}_{T,i} -
# p^{t}_{T,i})$, and for large $T$ this is about $\frac{1}{N T^2}(z^{s}_i - z^{t}_i)$ (Hinton et al.,
# §2.1, with zero-mean logits over $N$ classes): the soft gradients shrink as $1/T^2$, and multiplying by
# $T^2$ keeps the two terms' balance fixed when $T$ changes. At $T = 1$ and $\alpha = 0$ it is ordinary
# training. Teacher and student see the same SpecAugment-masked batch; the teacher runs in inference mode
# and is never updated (`tests/test_distill.py` checks the loss against NumPy and the teacher's weights).
#
# The teacher is Chapter 5's SER-Net (its cached run). Its softened outputs for one test utterance:

# %%
teacher = runs.run_or_load(cfg, store)
feats, mask, y_test, speakers = edge.eval_windows(store, cfg)
print("test windows:", feats.shape)

# %%
# NBVAL_IGNORE_OUTPUT
teacher_model = teacher.load_model()
logits = KerasRunner(teacher_model, cfg.features.max_length).logits(feats[:1], mask[:1])[0]
fig, ax = plt.subplots(figsize=(8, 3))
width = 0.8 / 3
for i, t in enumerate((1.0, cfg.distill.temperature, 4 * cfg.distill.temperature)):
    ax.bar(np.arange(len(store.classes)) + (i - 1) * width, softmax(logits[None] / t)[0], width, label=f"T = {t:g}")
ax.set_xticks(range(len(store.classes)), store.classes, rotation=30)
ax.set(ylabel="teacher probability", title=f"softened teacher outputs (true class: {store.classes[y_test[0]]})")
ax.legend()
fig.tight_layout()

# %% [markdown]
# ## 12.2 The student
#
# The student keeps SER-Net's design (multi-scale dilated convolutions, a residual block, self-attention,
# attention pooling) at a fraction of the width: the `distill.student_*` fields, applied to the teacher's
# model section by `sernet.train.distill.student_config`. One residual block instead of three and one
# attention head instead of four; a narrower mel projection, because the input-facing layers hold most of
# a small model's weights. `distill.max_param_ratio` is the budget (a tenth), enforced before
# training.

# %%
student_cfg = kd.student_config(cfg)
sizes = {name: kd.count_params(build_sernet(c)) for name, c in (("teacher (smoke Base)", cfg), ("student", student_cfg))}
for name, n in sizes.items():
    print(f"{name:22s} {n:8d} parameters")
print(f"student / teacher: {sizes['student'] / sizes['teacher (smoke Base)']:.1%} "
      f"(budget {cfg.distill.max_param_ratio:.0%})")
for field in ("mel_projection_dim", "conv_filters", "channels", "residual_blocks", "attention_heads",
              "pooling_units", "dense_units"):
    print(f"model.{field:20s} teacher {getattr(cfg.model, field)!r:14} student {getattr(student_cfg.model, field)!r}")

# %% [markdown]
# ## 12.3 Distilled student and student alone
#
# The distilled student (`sernet distill --teacher RUN`, here `sernet.analysis.edge.run_or_load_distill`)
# and the same student trained alone with Chapter 5's recipe (`sernet train` with the student's widths) use
# the same seed, batches, schedule and early stopping; only the loss differs.

# %%
distilled = edge.run_or_load_distill(cfg, teacher.run_dir.path, store)
alone = runs.run_or_load(student_cfg, store)
print("distilled student's run records its teacher:", "teacher" in distilled.run_dir.read_payload())

# %%
# NBVAL_IGNORE_OUTPUT
for name, r in (("teacher", teacher), ("distilled student", distilled), ("student alone", alone)):
    print(f"{name:18s} test UAR {r.metrics['test']['uar']:.3f}  (best epoch {r.metrics['best_epoch']})")
verdict = edge.student_verdict(cfg, store, distilled.run_dir.path, alone.run_dir.path)
print(verdict.sentence())

# %% [markdown]
# One seed and about a hundred test utterances: the line below names the rule and points to the numbers
# above rather than restating an outcome that a small margin could flip on another machine.

# %%
print(f"{verdict.claim}: see the verdict above (rule: {verdict.rule})")

# %% [markdown]
# ## 12.4 On the edge: size, latency, accuracy
#
# Each model is exported as a dynamic-range int8 LiteRT file (`sernet.deploy.export`: int8 weights,
# activations quantised on the fly) and timed at batch 1 on one core (process affinity set to one CPU,
# LiteRT with one thread; p50 of `deploy.bench_repeats` calls after `deploy.bench_warmup`). UAR is on the
# test split with a 95 % speaker-bootstrap interval; `agreement` is the share of test windows on which the
# int8 file picks the Keras model's class. Latencies here were taken on a shared CI machine: read them as
# upper bounds and compare them within the table, not with Chapter 8's.

# %%
# NBVAL_IGNORE_OUTPUT
table = edge.edge_table(cfg, store, {"teacher": teacher.run_dir.path, "distilled student": distilled.run_dir.path,
                                     "student alone": alone.run_dir.path},
                        workspace.runs_dir(cfg) / "edge-exports")
print(table.to_string(index=False))

# %%
# NBVAL_IGNORE_OUTPUT
edge.plot_pareto(table, chance=1 / len(store.classes))
plt.gcf().tight_layout()

# %% [markdown]
# How to read it: the Pareto front are the points no other point beats on both axes. The Keras rows time
# TensorFlow's eager-compiled call, whose fixed per-call cost dominates a model this small and varies a lot
# on a busy machine; the LiteRT rows are the deployment runtime. A student that sits
# at the teacher's height with a fraction of its latency and size is the deployment win; the int8 files
# shrink the weights about fourfold, which matters most for the teacher, whose weights dominate its file.
# For a model this small a batch-1 call is dominated by fixed per-call costs (graph dispatch, the
# self-attention over the window), so latency falls less than the parameter count: the chart shows by how
# much on this machine.

# %% [markdown]
# ### The larger run: the study record
#
# The same comparison on the study profile (its larger corpus and more test speakers; sizes printed below),
# `SERNET_PROFILE=study sernet distill --compare --record distillation`, was run once and written as
# `results/distillation.json`; what follows is read from it, so it is the same on every machine (its
# latencies are that machine's, named in the header).

# %%
record = study.load_record("distillation")
print({k: record[k] for k in ("profile", "command", "git_commit", "date")})
print("machine:", record["machine"]["cpu"], f"({record['machine']['cores']} cores)", "| corpus:", record["corpus"])
print(f"student: {record['student']['params']} parameters, "
      f"{record['student']['params'] / record['student']['teacher_params']:.1%} of the teacher's")
print(pd.DataFrame(record["edge"]).to_string(index=False, float_format=lambda v: f"{v:.3f}"))
edge.plot_pareto(pd.DataFrame(record["edge"]), chance=1 / len(store.classes))
plt.gcf().tight_layout()
for v in study.verdicts(record):
    print(v.sentence(with_rule=True))
edge_rows = pd.DataFrame(record["edge"]).set_index(["model", "format"])
print("int8 files keep the Keras labels on at least",
      f"{edge_rows.xs('litert_int8', level='format')['agreement'].min():.1%} of the test windows")

# %% [markdown]
# How to read the record. The verdict compares the two students on the same test speakers; one seed, so
# its interval is over speakers only. If the distilled student comes out *lower*, look at what it was
# taught: the teacher here is the smoke-width SER-Net trained on the same small corpus (its own UAR is in
# the table), so its softened outputs carry its mistakes as well as its dark knowledge, and with
# `distill.alpha` weighting the soft term the student follows them more than the labels. Distillation pays
# when the teacher is much better than the student can get alone; a larger teacher (`--teacher` a run of
# the full profile) or a smaller `distill.alpha` are the exercises to try.

# %% [markdown]
# ## 12.5 What the synthetic corpus can and cannot tell
#
# * **Can:** the sizes, the file sizes and the latencies are properties of the models and runtimes, and hold
#   for any corpus at these widths and window length (`features.max_length`).
# * **Builds in:** the generator's emotion cues are few and global (Chapter 1), so a tiny model can
#   already pick up most of them alone; the room distillation has to help is what the teacher knows beyond
#   them, e.g. which classes the generator blends (`synth.blend_fraction`), and that room is small here.
# * **Cannot:** on real speech, where the cues are many, subtle and speaker-dependent, the gap between a
#   small student and its teacher, and what distillation recovers of it, has to be measured on a real
#   corpus: `sernet distill --teacher RUN --compare` with `SERNET_DATA` set, over the seeds of a larger
#   profile (`SERNET_PROFILE=study`).
#
# ## Summary
#
# * Distillation trains a student on the teacher's temperature-softened outputs and the hard labels;
#   $T^2$ keeps the soft term's gradients on the hard term's scale.
# * The student here keeps SER-Net's structure at under a tenth of the parameters, checked from the config.
# * `sernet distill --teacher RUN` writes an ordinary run directory: evaluate, export and serve it as any run.
# * Size, latency and UAR with intervals go on one chart; the smoke run is one seed, so read its verdict
#   with its interval, and take the powered answer from a larger profile.
#
# ## Exercises
#
# 1. Distil at `distill.temperature=1` and `=8`: does the student's UAR move beyond its interval?
# 2. Set `distill.alpha=0`: the "distilled" student is then trained alone on the hard labels; check that it
#    lands within noise of the student alone (the only differences left are the loss's label smoothing and
#    focal weighting).
# 3. Halve the student again (`distill.student_channels=4`): where on the chart does it fall?
# 4. Time the exports with `sernet bench latency` on your own edge device and redraw the chart.
