"""One frozen configuration for the whole pipeline, mirroring the paper's Appendix A.

Every stage (synthesis, features, model, training, evaluation, deployment) and every chapter reads its
numbers from here. Two named profiles exist:

``smoke``
    Small synthetic corpus, small model, CPU: what CI runs in minutes (the default).
``study``
    The smoke model on a larger synthetic corpus over 5 seeds: the committed study record (``sernet study``).
``full``
    Paper scale: a real corpus from ``SERNET_DATA`` (or a paper-size synthetic one), 100 epochs, GPU.

The profile is chosen by the ``SERNET_PROFILE`` environment variable, the data root by ``SERNET_DATA``,
the working directory (caches, runs) by ``SERNET_HOME`` (default ``~/.cache/sernet``).

Where we deviate from, or have to choose between readings of, the paper, the field says so in a comment;
chapters print these comments next to the numbers.

Examples
--------
>>> import sernet
>>> cfg = sernet.config.load("smoke")
>>> cfg.features.hop_ms
10.0
>>> cfg2 = sernet.config.override(cfg, {"train.epochs": 3})
>>> cfg2.train.epochs
3

Every field is checked against its annotation (enumerations are ``typing.Literal``) and its range when a
config is loaded or overridden, so a typo fails at once, before any work:

>>> sernet.config.override(cfg, {"features.train_crop": "middle"})
Traceback (most recent call last):
    ...
sernet.errors.ConfigError: config field 'features.train_crop' = 'middle': expected one of 'random', 'center', 'start'
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints

from sernet.errors import ConfigError
from sernet.labels import EMOTIONS

PROFILES = ("smoke", "study", "full")

# The legal values of every enumerated field (checked by :func:`validate` on load and on override).
Profile = Literal["smoke", "study", "full"]
Crop = Literal["random", "center", "start"]  # sernet.features.normalize.CROP_MODES
CacheDtype = Literal["float16", "float32", "float64"]  # numpy dtype of the cached frames
Architecture = Literal["sernet", "cnn", "lstm", "cnn_lstm", "egemaps_svm"]  # Table 4.3 rows
Variant = Literal["base", "large"]
Pooling = Literal["attention", "mean"]
Loss = Literal["focal", "ce"]
ClassWeighting = Literal["none", "balanced"]
MixedPrecision = Literal["auto", "off", "none", "float32", "mixed_float16", "mixed_bfloat16"]
JitCompile = Literal["auto", "on", "off"]
Distribution = Literal["none", "auto", "mirrored", "data_parallel"]  # sernet.distribute.DISTRIBUTIONS
OnnxOptimization = Literal["disable", "basic", "extended", "layout", "all"]  # onnxruntime GraphOptimizationLevel
Normalization = Literal["source", "target"]
Split = Literal["train", "val", "test"]  # sernet.data.manifest.SPLITS
FeatureSet = Literal["eGeMAPSv02", "GeMAPSv01b", "ComParE_2016"]  # sernet.features.egemaps.FEATURE_SETS
SvmClassWeight = Literal["balanced", "none"]

# Paper Table 2.2 class counts (train split), used as default class proportions of the synthetic corpus.
PAPER_TRAIN_COUNTS: dict[str, int] = {
    "angry": 8650,
    "happy": 10812,
    "sad": 7208,
    "neutral": 25236,
    "fear": 5765,
    "disgust": 3603,
    "surprise": 5765,
    "contempt": 5043,
}


@dataclass(frozen=True)
class SynthConfig:
    """The synthetic emotional-speech corpus (``sernet.data.synthetic``)."""

    n_utterances: int = 640
    n_speakers: int = 40
    seed: int = 0
    min_duration_s: float = 1.5
    max_duration_s: float = 3.0
    # Class proportions: the paper's Table 2.2 train counts (imbalance ratio 7.0 neutral : disgust).
    class_weights: tuple[float, ...] = tuple(PAPER_TRAIN_COUNTS[e] for e in EMOTIONS)
    # Fractions of utterances carrying each controllable cause of error (paper §5.3).
    blend_fraction: float = 0.15  # drawn from a mix of two classes ("ambiguous"); blend recorded
    noise_fraction: float = 0.3  # background noise added at snr_db_range
    snr_db_range: tuple[float, float] = (5.0, 30.0)
    atypical_speaker_fraction: float = 0.2  # speakers with shrunken/exaggerated expressiveness
    split_fractions: tuple[float, float, float] = (0.8, 0.1, 0.1)  # by speaker (speaker-independent)
    # Within-class spread of every emotion cue, as a multiple of the generator's defaults (difficulty knob:
    # larger = more class overlap; chapters/01_dataset_stats measures the resulting ceiling).
    cue_spread: float = 1.0


@dataclass(frozen=True)
class FeatureConfig:
    """Frame features (``sernet.features``), paper §3.1 and Appendix A."""

    sample_rate_hz: int = 16000
    pre_emphasis: float = 0.97
    win_ms: float = 25.0
    # Paper §3.1 says a 10 ms hop; Appendix A says hop_length 512 (= 32 ms at 16 kHz, longer than the
    # 25 ms window, so frames would skip audio). We take 10 ms, the value tied to the MFCC recipe;
    # hop_ms=32 reproduces the Appendix reading (max_length 300 then covers 9.6 s instead of 3 s).
    hop_ms: float = 10.0
    n_fft: int = 512
    n_mfcc: int = 40
    n_mels: int = 128
    fmin_hz: float = 0.0
    fmax_hz: float = 8000.0
    # Praat practice: one floor/ceiling wide enough for male and female voices in emotional speech. Praat's
    # default floor is 75 Hz, but low male voices in sad/contempt speech fall to ~65 Hz (the synthetic corpus
    # does too): 60 Hz keeps them voiced (window 3/60 = 50 ms). 600 Hz (Praat's default) covers raised F0.
    pitch_floor_hz: float = 60.0
    pitch_ceiling_hz: float = 600.0
    max_length: int = 300  # frames: 3.0 s at a 10 ms hop (Appendix A)
    # Training crops a random max_length window of longer utterances; evaluation takes the centre.
    train_crop: Crop = "random"
    eval_crop: Crop = "center"
    cache_dtype: CacheDtype = "float16"
    # Pauses and syllable nuclei (after de Jong & Wempe 2009, Behav. Res. Methods 41(2)): a frame is a pause
    # when its energy is more than silence_threshold_db below the utterance's 99th-percentile frame energy;
    # a syllable nucleus is a voiced peak of the energy track (smoothed over syllable_smooth_ms) standing
    # syllable_dip_db above the dips on either side.
    silence_threshold_db: float = 25.0
    syllable_dip_db: float = 2.0
    syllable_smooth_ms: float = 50.0

    @property
    def hop_length(self) -> int:
        """Hop in samples."""
        return int(round(self.sample_rate_hz * self.hop_ms / 1000.0))

    @property
    def window_s(self) -> float:
        """The model's input window (``max_length`` frames) in seconds."""
        return self.max_length * self.hop_ms / 1000.0

    @property
    def win_length(self) -> int:
        """Analysis window in samples."""
        return int(round(self.sample_rate_hz * self.win_ms / 1000.0))


Tasks = Literal["categorical", "dimensional", "multitask"]  # sernet.model.dimensional_head.TASKS
DIMENSIONAL_MODEL_FIELDS: tuple[str, ...] = ("tasks", "task_weights", "dimension_weights")
"""ModelConfig fields of the dimensional task: a categorical run's key leaves them out (unchanged keys)."""


@dataclass(frozen=True)
class ModelConfig:
    """SER-Net architecture (``sernet.model``), paper §3.2–3.4 and Appendix A."""

    architecture: Architecture = "sernet"  # "sernet" or a Table 4.3 baseline ("cnn", "lstm", "cnn_lstm", "egemaps_svm")
    variant: Variant = "base"  # "base" | "large" (Table 4.3 / 6.2)
    mel_projection_dim: int = 40  # learned 128 -> 40 projection of the log-mel bands (§3.1.2)
    conv_filters: tuple[int, ...] = (64, 64, 64)
    dilation_rates: tuple[int, ...] = (1, 2, 4)
    kernel_size: int = 3  # not stated in the paper; see chapters/03_architecture for the 2.3M-parameter gap
    channels: int = 128  # residual width (§3.2 "128 channels")
    residual_blocks: int = 3
    attention_heads: int = 4
    dense_units: int = 256
    dropout_rate: float = 0.3
    # Ablation switches (Table 4.4).
    multiscale: bool = True  # False: a single dilation-1 conv of the same total width
    pooling: Pooling = "attention"  # "attention" | "mean"
    use_prosody: bool = True  # False: the 20 prosodic dims are dropped from the input
    use_mel: bool = True
    use_mfcc: bool = True
    pooling_units: int = 128  # W1 width of the temporal attention pooling (§3.4; not stated in the paper)
    # "SER-Net Large" is not defined in the paper; we read it as every width x2 (conv filters, channels,
    # pooling units, dense units): params grow ~3.6x, the paper's 8.7M / 2.3M is 3.8x.
    large_width_factor: int = 2
    # Table 4.3 baselines (widths not in the paper): Conv1D / LSTM stack, masked mean pooling (always).
    cnn_filters: tuple[int, ...] = (64, 128, 128)
    lstm_units: tuple[int, ...] = (128,)
    # Dimensional emotion (sernet.model.dimensional_head, chapters/10_dimensional.py): "categorical" (the
    # paper's head), "dimensional" (arousal/valence/dominance only) or "multitask" (both heads); the loss is
    # task_weights[0] x the class loss + task_weights[1] x the mean of dimension_weights-weighted (1 - CCC).
    tasks: Tasks = "categorical"
    task_weights: tuple[float, float] = (1.0, 1.0)  # (categorical, dimensional)
    dimension_weights: tuple[float, float, float] = (1.0, 1.0, 1.0)  # (arousal, valence, dominance)


@dataclass(frozen=True)
class TrainConfig:
    """Optimisation (``sernet.train``), paper §3.5, §4.1 and Appendix A."""

    seed: int = 0
    batch_size: int = 64
    epochs: int = 100
    early_stopping_patience: int = 10  # on validation UAR
    learning_rate: float = 1e-3
    weight_decay: float = 1e-4
    warmup_steps: int = 1000
    min_learning_rate: float = 1e-6
    loss: Loss = "focal"  # "focal" | "ce"  (Table 4.4 "w/o focal loss" = "ce")
    focal_gamma: float = 2.0
    # Keras' CategoricalFocalCrossentropy multiplies every class by a scalar alpha: in the multi-class
    # case alpha=0.25 only rescales the loss (and so the effective learning rate under Adam: not at all).
    focal_alpha: float = 0.25
    label_smoothing: float = 0.1
    class_weighting: ClassWeighting = "none"  # "none" | "balanced" (inverse frequency, normalised to mean 1)
    augment: bool = True  # SpecAugment-style masking on training batches (Table 4.4 "w/o augmentation")
    time_masks: int = 2
    time_mask_max_frames: int = 30
    feature_masks: int = 2
    feature_mask_max_dims: int = 15
    mixed_precision: MixedPrecision = "auto"  # "auto": float16 mixed precision when a GPU is present
    # XLA for the training step (Keras ``compile(jit_compile=...)``): "auto" (Keras' choice: XLA on a GPU, not
    # on a CPU; every committed run), "on", "off". XLA changes the numbers in the last bits.
    jit_compile: JitCompile = "auto"
    ablation_seeds: tuple[int, ...] = (0, 1, 2)  # seeds of every grid (Tables 4.3/4.4, Ch. 5-7, 9)
    # Training processes of a grid (sernet.analysis.runs.execute), one compute thread each: on a small CPU
    # two single-threaded runs side by side finish ~1.8x sooner than one after another. 1: in-process.
    grid_workers: int = 1
    # Multi-device training (sernet.distribute): "none" | "auto" | "mirrored" (TensorFlow MirroredStrategy)
    # | "data_parallel" (keras.distribution.DataParallel, JAX). batch_size stays the global batch.
    distribution: Distribution = "none"
    devices: int = 0  # at most this many devices (0: all visible)


@dataclass(frozen=True)
class CrossCorpusConfig:
    """Cross-corpus evaluation (``sernet.analysis.cross_corpus``): train on corpus A, test on corpus B over the
    classes they share (the paper's "future work" 1)."""

    # Prepared corpus folders to cross, as "name=path" (e.g. "ravdess=/data/prepared/ravdess"); empty: two
    # synthetic corpora, "synth_a" = the synth section as is and "synth_b" = the changes below.
    corpora: tuple[str, ...] = ()
    # synth_b: another speaker pool (seed), more and louder background noise, and a band-limited
    # (telephone) recording channel applied to its audio.
    b_seed: int = 1
    b_noise_fraction: float = 0.8
    b_snr_db_range: tuple[float, float] = (0.0, 15.0)
    b_band_hz: tuple[float, float] = (300.0, 3400.0)  # band-pass channel; (0, 0): none
    channel_order: int = 4  # Butterworth order of the band-pass channel
    # Feature normalisation of the test corpus: "source" (the training corpus's statistics, as a deployed
    # model would) or "target" (each corpus's own train-split statistics, a simple domain adaptation).
    normalization: Normalization = "source"
    split: Split = "test"  # the split of corpus B that is evaluated (the diagonal: A's own test split)


@dataclass(frozen=True)
class DeployConfig:
    """Inference, streaming, export and the latency benchmark (``sernet.deploy.predictor``, ``sernet.deploy.streaming``,
    ``sernet.deploy.export``, ``sernet.bench.latency``), paper §6."""

    # Utterances longer than features.max_length frames: windows of max_length frames every window_hop_s
    # (the last one aligned to the end); class probabilities are averaged over the windows.
    window_hop_s: float = 1.0
    # Streaming: audio arrives in chunks of chunk_ms; an estimate over the last max_length frames is
    # emitted every stream_hop_s.
    chunk_ms: float = 100.0
    stream_hop_s: float = 0.5
    # Export parity: max |logit(export) - logit(Keras)| allowed on parity_samples real feature windows (one per
    # test, then validation, utterance: 384 is the smoke corpus's whole test+val, enough for an exact binomial
    # interval on an int8 label agreement near 0.99 to be informative).
    parity_samples: int = 384
    parity_atol_fp32: float = 1e-3
    parity_atol_fp16: float = 5e-2
    parity_atol_int8: float = 0.5
    # Latency benchmark (paper Table 6.1 batch sizes); p50/p90 over bench_repeats warm runs.
    bench_batch_sizes: tuple[int, ...] = (1, 32)
    bench_warmup: int = 10
    bench_repeats: int = 50
    # ONNX export (sernet.deploy.export): opset (None: the converter's default); the operator types the
    # static int8 quantisation covers (calibrated on calibration_samples training windows) and the label
    # agreement it must reach on the parity windows; onnxruntime's graph optimisation level. Conv is left
    # in float32: the multi-scale convolutions read the z-scored frame features (long-tailed) and one uint8
    # range for them cost label agreement (measured on a study-profile run, 640 windows: MatMul+Gemm 0.991,
    # with Conv 0.934, Conv but the multi-scale branches 0.988; chapters/08_deployment.py, exercise 10).
    onnx_opset: int | None = None
    onnx_int8_ops: tuple[str, ...] = ("MatMul", "Gemm")
    calibration_samples: int = 128
    int8_min_agreement: float = 0.99
    onnx_optimization: OnnxOptimization = "all"
    # ONNX Runtime's worker threads spin while waiting for work: faster on an idle machine, slower on a
    # shared one (measured in chapters/08_deployment.py); off by default.
    onnx_allow_spinning: bool = False


@dataclass(frozen=True)
class ServeConfig:
    """``sernet serve`` (``sernet.deploy.serve``: the ASGI app, micro-batching, limits) and its load test
    (``sernet bench serve``)."""

    host: str = "127.0.0.1"  # loopback unless told otherwise (--host 0.0.0.0 exposes it)
    port: int = 8000
    # Micro-batching: windows of concurrent requests run together, up to max_batch windows per forward pass;
    # the first request of a batch waits at most max_wait_ms for others. At most queue_size requests wait;
    # beyond that the server answers 503 with Retry-After: retry_after_s.
    max_batch: int = 32
    max_wait_ms: float = 5.0
    queue_size: int = 32
    retry_after_s: int = 1
    feature_threads: int = 2  # threads that read and featurise uploads (off the event loop)
    # Limits: an upload over max_upload_bytes, or audio longer than max_duration_s, is 413; a stream ends
    # (close code 1009) after max_stream_s of audio.
    max_upload_bytes: int = 16 * 1024 * 1024
    max_duration_s: float = 60.0
    max_stream_s: float = 3600.0
    stream_rates_hz: tuple[int, ...] = (8000, 16000, 22050, 24000, 32000, 44100, 48000)  # declarable rates
    access_log: bool = True  # one line per request on the "sernet" logger
    shutdown_timeout_s: float = 10.0  # graceful shutdown: in-flight requests get this long to finish
    # Load test: clients concurrent clients for seconds per phase over clips of clip_lengths_s (cycled);
    # the malformed phase replaces malformed_fraction of the requests by bad ones; the overload phase runs
    # overload_clients clients (more than queue_size: 503s are expected). Server RSS is sampled every
    # rss_interval_s. The offline reference runs Predictor.predict on the same clips for at least
    # bench_offline_s.
    bench_clients: int = 4
    bench_seconds: float = 10.0
    bench_clip_lengths_s: tuple[float, ...] = (0.5, 1.0, 2.0, 4.0)
    bench_malformed_fraction: float = 0.1
    bench_overload_clients: int = 64
    bench_rss_interval_s: float = 0.5
    bench_offline_s: float = 5.0
    # Chapter 8's load curve (sernet.bench.serve.load_curve): curve_seconds of well-formed requests at each
    # number of concurrent clients.
    curve_clients: tuple[int, ...] = (1, 2, 4, 8)
    curve_seconds: float = 3.0
    # Seconds allowed for a stream's start message, the server to come up and each load-test request.
    timeout_s: float = 60.0


@dataclass(frozen=True)
class AnalysisConfig:
    """Uncertainty of every reported number (``sernet.analysis.bootstrap``, ``sernet.analysis.verdicts``)."""

    confidence: float = 0.95  # two-sided coverage of every interval and verdict
    bootstrap_resamples: int = 2000  # speaker-bootstrap resamples
    bootstrap_seed: int = 0  # the bootstrap's own random stream (results are deterministic)
    attention_utterances: int = 0  # test utterances per run for the §5.1 attention claims (0: all)


@dataclass(frozen=True)
class ClassicConfig:
    """The classic baseline of Table 4.3 (``sernet.model.classic``, ``model.architecture="egemaps_svm"``):
    openSMILE functionals per utterance (``sernet.features.egemaps``), z-scored, into an RBF SVM."""

    feature_set: FeatureSet = "eGeMAPSv02"  # 88 functionals (Eyben et al. 2016); "ComParE_2016": 6373
    # C and gamma are picked by validation UAR (fit on train; the test split is never looked at). gamma
    # acts on z-scored features: scikit-learn's "scale" is 1/88 ~ 0.011 for eGeMAPS.
    c_grid: tuple[float, ...] = (0.1, 1.0, 10.0, 100.0)
    gamma_grid: tuple[float, ...] = (0.0003, 0.001, 0.003, 0.01, 0.03)  # half-decades up to ~3x "scale"
    class_weight: SvmClassWeight = "balanced"  # "balanced" (inverse class frequency, as sklearn) | "none"
    # Probabilities: softmax(decision / T), one temperature T fitted on out-of-fold decisions of the train
    # split (these folds, shuffled by train.seed). Predictions (the argmax) do not depend on it.
    calibration_folds: int = 5


@dataclass(frozen=True)
class PretrainConfig:
    """Self-supervised pre-training of the SER-Net encoder (``sernet.train.pretrain``, ``sernet pretrain``):
    masked-frame reconstruction after Mockingjay (Liu et al. 2020) and TERA (Liu et al. 2021), then
    fine-tuning on fractions of the labels (``sernet train --init``). Explained in chapters/11_self_supervised."""

    # Unlabelled corpus: a synthetic corpus of corpus_factor x synth.n_utterances utterances drawn with
    # corpus_seed (other speakers than the labelled corpus); 0: the labelled corpus's train split, its
    # labels ignored (a user's own recordings: ``sernet pretrain --data PREPARED``).
    corpus_factor: int = 3
    corpus_seed: int = 1000
    epochs: int = 20
    batch_size: int = 32
    learning_rate: float = 1e-3
    warmup_steps: int = 100
    # Time masking (Mockingjay): spans of time_mask_span consecutive frames whose starts are drawn so that
    # about time_mask_fraction of each utterance's real frames are masked (15 % and 7 frames in the papers).
    time_mask_fraction: float = 0.15
    time_mask_span: int = 7
    # Channel masking (TERA): one block of consecutive feature columns of width uniform in
    # [0, channel_mask_max] per utterance.
    channel_mask_max: int = 20
    # The label-efficiency curve: fine-tuning (and training from scratch) on these fractions of the train
    # split's labels (class-stratified, at least one utterance per class), over these seeds.
    label_fractions: tuple[float, ...] = (0.01, 0.05, 0.1, 0.25, 1.0)
    seeds: tuple[int, ...] = (0, 1, 2)


@dataclass(frozen=True)
class DistillConfig:
    """Knowledge distillation (Hinton et al. 2015) into a small student SER-Net (``sernet.train.distill``,
    ``sernet distill --teacher RUN``). Explained in chapters/12_distillation."""

    temperature: float = 4.0  # T of softmax(z / T) for teacher and student
    alpha: float = 0.7  # weight of the soft (T^2-scaled KL) term; 1 - alpha on the hard cross-entropy
    # The student: the teacher's model section with these widths (fewer filters and channels, one residual
    # block, one attention head, a narrower mel projection). Every other model field is the teacher's.
    student_mel_projection_dim: int = 8
    student_conv_filters: tuple[int, ...] = (2, 2, 2)
    student_channels: int = 8
    student_residual_blocks: int = 1
    student_attention_heads: int = 1
    student_pooling_units: int = 8
    student_dense_units: int = 16
    max_param_ratio: float = 0.1  # the student may hold at most this fraction of the teacher's parameters
    seeds: tuple[int, ...] = (0, 1, 2)


@dataclass(frozen=True)
class OwnDataConfig:
    """The own-data lesson (chapters/13_own_data.py): a folder corpus with its own labels, made from a
    synthetic corpus of another seed (other speakers) whose classes are renamed to labels the paper has not."""

    synth_seed: int = 7  # another speaker pool than every other chapter's corpus (synth.seed)
    n_utterances: int = 420
    n_speakers: int = 30
    # train/val/test shares of whole speakers: 6 test speakers, so the speaker bootstrap has something to resample
    split_fractions: tuple[float, float, float] = (0.6, 0.2, 0.2)
    # generator class -> the stand-in label of "your" recordings; other classes are left out
    label_names: tuple[tuple[str, str], ...] = (("neutral", "calm"), ("sad", "bored"), ("happy", "excited"))
    epochs: int = 10  # per run of the lesson (scratch and fine-tuned alike)
    freeze_epochs: int = 2  # fine-tuning: epochs with the encoder frozen while the new head settles


@dataclass(frozen=True)
class DimensionalConfig:
    """Chapter 10 (chapters/10_dimensional.py): categorical-only vs multi-task runs (``model.tasks``) over seeds.
    Both arms train with the same epochs, so only the task differs."""

    seeds: tuple[int, ...] = (0, 1, 2)
    epochs: int = 0  # per run of the comparison; 0: train.epochs


@dataclass(frozen=True)
class Config:
    """The whole experiment. Build one with :func:`load`; change fields with :func:`override`."""

    profile: Profile = "smoke"
    data_root: str | None = None  # a prepared corpus folder holding manifest.csv; None: synthetic
    home: str = str(Path("~/.cache/sernet").expanduser())
    synth: SynthConfig = field(default_factory=SynthConfig)
    features: FeatureConfig = field(default_factory=FeatureConfig)
    model: ModelConfig = field(default_factory=ModelConfig)
    train: TrainConfig = field(default_factory=TrainConfig)
    deploy: DeployConfig = field(default_factory=DeployConfig)
    cross: CrossCorpusConfig = field(default_factory=CrossCorpusConfig)
    classic: ClassicConfig = field(default_factory=ClassicConfig)
    analysis: AnalysisConfig = field(default_factory=AnalysisConfig)
    serve: ServeConfig = field(default_factory=ServeConfig)
    pretrain: PretrainConfig = field(default_factory=PretrainConfig)
    distill: DistillConfig = field(default_factory=DistillConfig)
    own_data: OwnDataConfig = field(default_factory=OwnDataConfig)
    dimensional: DimensionalConfig = field(default_factory=DimensionalConfig)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready nested dict (tuples become lists)."""
        return json.loads(json.dumps(dataclasses.asdict(self)))

    def fingerprint(self, *sections: str) -> str:
        """A short stable hash of the named sections (all when none), for cache keys."""
        d = self.to_dict()
        if sections:
            d = {s: d[s] for s in sections}
        return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:12]


def _smoke() -> Config:
    return Config(
        profile="smoke",
        # Power at smoke cost: evaluation is cheap, so 40 % of the speakers are held out (val 10 speakers /
        # ~190 utterances, test the same) while training stays near 600 utterances. Utterances from 1.0 s, so
        # about a quarter are shorter than the 1.5 s crop ("short" in the paper's §5.3 means that here).
        synth=SynthConfig(n_utterances=960, n_speakers=48, split_fractions=(0.6, 0.2, 0.2), min_duration_s=1.0),
        # CI budget (2 CPU cores): self-attention is O(T^2) and dominates, so smoke crops 1.5 s windows
        # (150 frames) and narrows every width ~4x (0.06M instead of 0.55M parameters). Depth, heads,
        # dilations and the feature layout stay the paper's. Up to 20 epochs with patience 5: the validation
        # curve of the smoke corpus flattens after ~10-15 (Chapter 5 shows it), so early stopping ends runs.
        features=FeatureConfig(max_length=150),
        model=ModelConfig(conv_filters=(16, 16, 16), channels=32, dense_units=64, pooling_units=32,
                          cnn_filters=(16, 32, 32), lstm_units=(32,)),
        train=TrainConfig(batch_size=32, epochs=20, warmup_steps=40, early_stopping_patience=5, grid_workers=2),
        # Fewer timed runs keep Chapter 8's latency cells inside the CI budget (p50 stays stable; p90 noisier).
        deploy=DeployConfig(bench_warmup=3, bench_repeats=20),
        # Chapters 11/12 in the CI budget: pre-training on the labelled corpus's own train split (labels
        # ignored), two small label fractions and one seed (all labels: Chapter 5's cached runs); one
        # distillation seed. The study profile runs the five fractions on a 3x unlabelled corpus over
        # 3 seeds.
        pretrain=PretrainConfig(corpus_factor=0, epochs=4, label_fractions=(0.1, 0.25), seeds=(0,)),
        distill=DistillConfig(seeds=(0,)),
        # Chapter 10 in the CI budget: 3 seeds x 2 arms of short runs (both arms alike).
        dimensional=DimensionalConfig(epochs=6),
    )


def _study() -> Config:
    """The powered study record (``sernet study``): the smoke model on a larger corpus, 5 seeds, longer.

    Sized for about an hour on a 2-core CPU: 64 speakers (13 test speakers, ~320 test utterances, against
    the smoke corpus's 10 / ~190), up to 40 epochs with patience 8 so early stopping, not the epoch cap,
    ends every run. Widths and crops stay the smoke model's: the record answers the paper's claims *about
    the method* with power, not about its scale.
    """
    smoke = _smoke()
    return dataclasses.replace(
        smoke, profile="study",
        synth=dataclasses.replace(smoke.synth, n_utterances=1600, n_speakers=64),
        train=dataclasses.replace(smoke.train, epochs=40, early_stopping_patience=8,
                                  ablation_seeds=(0, 1, 2, 3, 4)),
        pretrain=PretrainConfig(), distill=DistillConfig(),
    )


def _full() -> Config:
    return Config(
        profile="full",
        # Mean duration 4.55 s: 90,103 utterances then last ~113.8 h, Table 2.1's 113.7 h.
        synth=SynthConfig(n_utterances=90103, n_speakers=1000, min_duration_s=2.0, max_duration_s=7.1),
        features=FeatureConfig(),
        model=ModelConfig(),
        train=TrainConfig(),
    )


_BUILDERS = {"smoke": _smoke, "study": _study, "full": _full}


def load(profile: str | None = None, **env: str) -> Config:
    """Return the config of ``profile`` (default: ``$SERNET_PROFILE`` or ``"smoke"``).

    ``SERNET_DATA`` sets :attr:`Config.data_root`, ``SERNET_HOME`` sets :attr:`Config.home`,
    ``SERNET_CROSS_CORPORA`` (``name=path,name=path``) sets ``cross.corpora``.
    """
    environ = {**os.environ, **env}
    name = profile or environ.get("SERNET_PROFILE", "smoke")
    if name not in _BUILDERS:
        raise ConfigError(f"unknown profile {name!r} (SERNET_PROFILE); expected one of {PROFILES}")
    cfg = _BUILDERS[name]()
    changes: dict[str, Any] = {}
    if environ.get("SERNET_DATA"):
        changes["data_root"] = str(Path(environ["SERNET_DATA"]).expanduser())
    if environ.get("SERNET_HOME"):
        changes["home"] = str(Path(environ["SERNET_HOME"]).expanduser())
    if environ.get("SERNET_CROSS_CORPORA"):  # "name=path,name=path": the corpora of chapters/09_cross_corpus
        corpora = tuple(v.strip() for v in environ["SERNET_CROSS_CORPORA"].split(",") if v.strip())
        changes["cross"] = dataclasses.replace(cfg.cross, corpora=corpora)
    return validate(dataclasses.replace(cfg, **changes))


def override(cfg: Config, changes: dict[str, Any]) -> Config:
    """Return a copy of ``cfg`` with dotted-path fields replaced, e.g. ``{"model.pooling": "mean"}``.

    Values given as strings (from a command line) are converted to the field's type. The result is
    checked by :func:`validate` once every change is applied (so related fields can change together).

    Raises
    ------
    ConfigError
        For an unknown field, a value that cannot be read as the field's type, a value outside an
        enumeration (the message lists the allowed ones) or out of range.
    """
    for key, value in changes.items():
        parts = key.split(".")
        cfg = _replace_path(cfg, parts, value, key)
    return validate(cfg)


def _replace_path(obj: Any, parts: list[str], value: Any, full_key: str) -> Any:
    name = parts[0]
    fields = {f.name: f for f in dataclasses.fields(obj)}
    if name not in fields:
        raise ConfigError(f"unknown config field {full_key!r}; {type(obj).__name__} has {sorted(fields)}")
    current = getattr(obj, name)
    if len(parts) > 1:
        if not dataclasses.is_dataclass(current):
            raise ConfigError(f"config field {full_key!r}: {name!r} has no sub-fields")
        new = _replace_path(current, parts[1:], value, full_key)
    else:
        new = _coerce(value, current, _hints(type(obj))[name], full_key)
    return dataclasses.replace(obj, **{name: new})


def _hints(cls: type) -> dict[str, Any]:
    """The resolved field annotations of a config dataclass (strings under ``from __future__``)."""
    if cls not in _HINTS:
        _HINTS[cls] = get_type_hints(cls)
    return _HINTS[cls]


_HINTS: dict[type, dict[str, Any]] = {}
_TRUE, _FALSE = ("1", "true", "yes", "on"), ("0", "false", "no", "off")


def _coerce(value: Any, current: Any, hint: Any, key: str) -> Any:
    """``value`` converted to the field's type: strings (command line) are parsed, lists become tuples."""
    if isinstance(value, list) and isinstance(current, tuple):
        return tuple(value)
    if not isinstance(value, str):
        return value
    try:
        return _parse(value, hint)
    except ValueError:
        raise ConfigError(f"config field {key!r}: cannot read {value!r} as {_type_name(hint)}") from None


def _parse(text: str, hint: Any) -> Any:
    origin, args = get_origin(hint), get_args(hint)
    if hint is bool:
        if text.lower() in _TRUE:
            return True
        if text.lower() in _FALSE:
            return False
        raise ValueError(text)
    if hint in (int, float):
        return hint(text)
    if origin is tuple:
        items = [v.strip() for v in text.split(",") if v.strip()]
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(_parse(v, args[0]) for v in items)
        if len(items) != len(args):  # a fixed-length tuple: validate() names the expected length
            return tuple(items)
        return tuple(_parse(v, a) for v, a in zip(items, args, strict=True))
    if origin in (Union, UnionType) and type(None) in args:  # str | None: "" and "none" read as None
        if text.lower() in ("", "none", "null"):
            return None
        return _parse(text, next(a for a in args if a is not type(None)))
    return text  # str and Literal fields: validate() checks the value


def _type_name(hint: Any) -> str:
    if get_origin(hint) is Literal:
        return "one of " + ", ".join(repr(a) for a in get_args(hint))
    if get_origin(hint) is tuple:
        args = get_args(hint)
        if len(args) == 2 and args[1] is Ellipsis:
            return f"a comma-separated list of {_type_name(args[0])}"
        return f"{len(args)} comma-separated values ({', '.join(_type_name(a) for a in args)})"
    if get_origin(hint) in (Union, UnionType):
        return " or ".join(_type_name(a) for a in get_args(hint))
    return {bool: "bool (true/false)", int: "int", float: "float", str: "str",
            type(None): "None"}.get(hint, str(hint))


# --------------------------------------------------------------------------------------------- validation
def _positive(x: float) -> bool:
    return x > 0


def _non_negative(x: float) -> bool:
    return x >= 0


def _fraction(x: float) -> bool:
    return 0 <= x <= 1


def _open_fraction(x: float) -> bool:
    return 0 < x < 1


def _below_one(x: float) -> bool:
    return 0 <= x < 1


_POS, _NONNEG = (_positive, "> 0"), (_non_negative, ">= 0")
_FRAC, _BELOW1, _OPEN = (_fraction, "in [0, 1]"), (_below_one, "in [0, 1)"), (_open_fraction, "in (0, 1)")

# Ranges of numeric fields: (predicate, description), applied to every element of a tuple field.
_RANGES: dict[str, tuple[Any, str]] = {
    "synth.n_utterances": _POS, "synth.n_speakers": _POS, "synth.seed": _NONNEG,
    "synth.min_duration_s": _POS, "synth.max_duration_s": _POS, "synth.class_weights": _NONNEG,
    "synth.blend_fraction": _FRAC, "synth.noise_fraction": _FRAC, "synth.atypical_speaker_fraction": _FRAC,
    "synth.split_fractions": _FRAC, "synth.cue_spread": _NONNEG,
    "features.sample_rate_hz": _POS, "features.pre_emphasis": _BELOW1, "features.win_ms": _POS,
    "features.hop_ms": _POS, "features.n_fft": _POS, "features.n_mfcc": _POS, "features.n_mels": _POS,
    "features.fmin_hz": _NONNEG, "features.fmax_hz": _POS, "features.pitch_floor_hz": _POS,
    "features.pitch_ceiling_hz": _POS, "features.max_length": _POS, "features.silence_threshold_db": _POS,
    "features.syllable_dip_db": _NONNEG, "features.syllable_smooth_ms": _POS,
    "model.mel_projection_dim": _POS, "model.conv_filters": _POS, "model.dilation_rates": _POS,
    "model.kernel_size": _POS, "model.channels": _POS, "model.residual_blocks": _NONNEG,
    "model.attention_heads": _POS, "model.dense_units": _POS, "model.dropout_rate": _BELOW1,
    "model.pooling_units": _POS, "model.large_width_factor": _POS, "model.cnn_filters": _POS,
    "model.lstm_units": _POS, "model.task_weights": _NONNEG, "model.dimension_weights": _NONNEG,
    "train.seed": _NONNEG, "train.batch_size": _POS, "train.epochs": _POS,
    "train.early_stopping_patience": _NONNEG, "train.learning_rate": _POS, "train.weight_decay": _NONNEG,
    "train.warmup_steps": _NONNEG, "train.min_learning_rate": _NONNEG, "train.focal_gamma": _NONNEG,
    "train.focal_alpha": _POS, "train.label_smoothing": _BELOW1, "train.time_masks": _NONNEG,
    "train.time_mask_max_frames": _NONNEG, "train.feature_masks": _NONNEG,
    "train.feature_mask_max_dims": _NONNEG, "train.ablation_seeds": _NONNEG, "train.grid_workers": _POS,
    "train.devices": _NONNEG,
    "cross.b_seed": _NONNEG, "cross.b_noise_fraction": _FRAC, "cross.b_band_hz": _NONNEG,
    "cross.channel_order": _POS,
    "deploy.window_hop_s": _POS, "deploy.chunk_ms": _POS, "deploy.stream_hop_s": _POS,
    "deploy.parity_samples": _POS, "deploy.parity_atol_fp32": _POS, "deploy.parity_atol_fp16": _POS,
    "deploy.parity_atol_int8": _POS, "deploy.bench_batch_sizes": _POS, "deploy.bench_warmup": _NONNEG,
    "deploy.bench_repeats": _POS, "deploy.calibration_samples": _POS, "deploy.int8_min_agreement": _FRAC,
    "analysis.confidence": _OPEN, "analysis.bootstrap_resamples": _POS, "analysis.bootstrap_seed": _NONNEG,
    "analysis.attention_utterances": _NONNEG,
    "classic.c_grid": _POS, "classic.gamma_grid": _POS, "classic.calibration_folds": (lambda x: x >= 2, ">= 2"),
    "serve.port": (lambda x: 0 <= x <= 65535, "in [0, 65535]"), "serve.max_batch": _POS,
    "serve.max_wait_ms": _NONNEG, "serve.queue_size": _POS, "serve.retry_after_s": _NONNEG,
    "serve.feature_threads": _POS, "serve.max_upload_bytes": _POS, "serve.max_duration_s": _POS,
    "serve.max_stream_s": _POS, "serve.stream_rates_hz": _POS, "serve.shutdown_timeout_s": _NONNEG,
    "serve.bench_clients": _POS, "serve.bench_seconds": _POS, "serve.bench_clip_lengths_s": _POS,
    "serve.bench_malformed_fraction": _FRAC, "serve.bench_overload_clients": _POS,
    "serve.bench_rss_interval_s": _POS, "serve.bench_offline_s": _POS, "serve.timeout_s": _POS,
    "pretrain.corpus_factor": _NONNEG, "pretrain.corpus_seed": _NONNEG, "pretrain.epochs": _POS,
    "pretrain.batch_size": _POS, "pretrain.learning_rate": _POS, "pretrain.warmup_steps": _NONNEG,
    "pretrain.time_mask_fraction": _BELOW1, "pretrain.time_mask_span": _POS, "pretrain.channel_mask_max": _NONNEG,
    "pretrain.label_fractions": (lambda x: 0 < x <= 1, "in (0, 1]"), "pretrain.seeds": _NONNEG,
    "distill.temperature": _POS, "distill.alpha": _FRAC, "distill.student_mel_projection_dim": _POS,
    "distill.student_conv_filters": _POS, "distill.student_channels": _POS, "distill.student_residual_blocks": _NONNEG,
    "distill.student_attention_heads": _POS, "distill.student_pooling_units": _POS,
    "distill.student_dense_units": _POS, "distill.max_param_ratio": _OPEN, "distill.seeds": _NONNEG,
    "dimensional.seeds": _NONNEG, "dimensional.epochs": _NONNEG,
}
# Tuple fields that must hold at least one value.
_NON_EMPTY: tuple[str, ...] = (
    "synth.class_weights", "model.conv_filters", "model.dilation_rates", "model.cnn_filters", "model.lstm_units",
    "train.ablation_seeds", "deploy.bench_batch_sizes", "classic.c_grid", "classic.gamma_grid", "serve.stream_rates_hz", "serve.bench_clip_lengths_s",
)


def validate(cfg: Any) -> Any:
    """Check every field of ``cfg`` (a :class:`Config` or one of its sections) against its annotation and its range; return ``cfg`` unchanged.

    Enumerations (``typing.Literal`` fields such as ``model.pooling`` or ``features.train_crop``) must hold
    one of their values, numbers must be numbers (``bool`` is not an int here), tuples hold elements of
    their type, and the ranges of :data:`_RANGES` hold (e.g. ``train.epochs > 0``, ``analysis.confidence``
    in (0, 1)), as do a few relations (``synth.split_fractions`` sum to 1, ``min <= max`` pairs).

    Raises
    ------
    ConfigError
        Naming the field, the bad value and what is allowed, e.g.
        ``config field 'features.train_crop' = 'middle': expected one of 'random', 'center', 'start'``.
    """
    if isinstance(cfg, Config):
        _check_dataclass(cfg, "")
        _check_relations(cfg)
    elif dataclasses.is_dataclass(cfg):  # a section on its own, e.g. override(cfg.train, {...})
        sections = {t: f.name for f in dataclasses.fields(Config)
                    if dataclasses.is_dataclass(t := _hints(Config)[f.name])}
        _check_dataclass(cfg, f"{sections[type(cfg)]}." if type(cfg) in sections else "")
    return cfg


def _check_dataclass(obj: Any, prefix: str) -> None:
    hints = _hints(type(obj))
    for f in dataclasses.fields(obj):
        key, value = f"{prefix}{f.name}", getattr(obj, f.name)
        if dataclasses.is_dataclass(hints[f.name]):
            if type(value) is not hints[f.name]:
                raise ConfigError(f"config field {key!r}: expected a {hints[f.name].__name__}, "
                                  f"got {type(value).__name__}")
            _check_dataclass(value, f"{key}.")
            continue
        if not _matches(value, hints[f.name]):
            raise ConfigError(f"config field {key!r} = {value!r}: expected {_type_name(hints[f.name])}")
        if key in _NON_EMPTY and not value:
            raise ConfigError(f"config field {key!r} = {value!r}: expected at least one value")
        if key in _RANGES:
            ok, text = _RANGES[key]
            for v in (value if isinstance(value, tuple) else (value,)):
                if not ok(v):
                    raise ConfigError(f"config field {key!r} = {value!r}: expected {text}")


def _matches(value: Any, hint: Any) -> bool:
    origin, args = get_origin(hint), get_args(hint)
    if origin is Literal:
        return isinstance(value, str) and value in args
    if origin in (Union, UnionType):
        return any(_matches(value, a) for a in args)
    if origin is tuple:
        if not isinstance(value, tuple):
            return False
        if len(args) == 2 and args[1] is Ellipsis:
            return all(_matches(v, args[0]) for v in value)
        return len(value) == len(args) and all(_matches(v, a) for v, a in zip(value, args, strict=True))
    if hint is type(None):
        return value is None
    if hint is bool:
        return isinstance(value, bool)
    if hint is int:
        return isinstance(value, int) and not isinstance(value, bool)
    if hint is float:  # ints are accepted as floats (kept as given: the fingerprints do not change)
        return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)
    return isinstance(value, hint)


def _check_relations(cfg: Config) -> None:
    def fail(key: str, value: Any, text: str) -> None:
        raise ConfigError(f"config field {key!r} = {value!r}: {text}")

    s, f, c = cfg.synth, cfg.features, cfg.cross
    if abs(sum(s.split_fractions) - 1.0) > 1e-6:
        fail("synth.split_fractions", s.split_fractions, f"the train/val/test fractions sum to "
             f"{sum(s.split_fractions):g}, expected 1")
    if not sum(s.class_weights) > 0:
        fail("synth.class_weights", s.class_weights, "expected a positive total")
    if s.min_duration_s > s.max_duration_s:
        fail("synth.min_duration_s", s.min_duration_s, f"longer than synth.max_duration_s={s.max_duration_s!r}")
    for key, (lo, hi) in (("synth.snr_db_range", s.snr_db_range), ("cross.b_snr_db_range", c.b_snr_db_range)):
        if lo > hi:
            fail(key, (lo, hi), "expected (low, high) with low <= high")
    if c.b_band_hz != (0.0, 0.0) and not c.b_band_hz[0] < c.b_band_hz[1]:
        fail("cross.b_band_hz", c.b_band_hz, "expected (low, high) with low < high, or (0, 0) for no channel")
    if not f.fmin_hz < f.fmax_hz:
        fail("features.fmax_hz", f.fmax_hz, f"not above features.fmin_hz={f.fmin_hz!r}")
    if not f.pitch_floor_hz < f.pitch_ceiling_hz:
        fail("features.pitch_ceiling_hz", f.pitch_ceiling_hz,
             f"not above features.pitch_floor_hz={f.pitch_floor_hz!r}")


def describe(cfg: Config) -> str:
    """A readable, sectioned listing of every field (used by ``sernet config`` and the chapters)."""
    lines = [f"profile: {cfg.profile}", f"data_root: {cfg.data_root or '(synthetic corpus)'}"]
    for section in ("synth", "features", "model", "train", "deploy", "cross", "classic", "analysis"):
        lines.append(f"[{section}]")
        for f in dataclasses.fields(getattr(cfg, section)):
            lines.append(f"  {f.name} = {getattr(getattr(cfg, section), f.name)!r}")
    return "\n".join(lines)
