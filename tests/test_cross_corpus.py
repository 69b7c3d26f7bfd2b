"""sernet.analysis.cross_corpus: the channel, shared classes, the shared-class decision, normalisation, the matrix."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from _train_fakes import tiny_config
from scipy import signal

import sernet
from sernet.analysis import cross_corpus as cc
from sernet.data.audio import read_audio, write_wav
from sernet.data.manifest import read_manifest, write_manifest
from sernet.errors import ConfigError, SernetError
from sernet.features.cache import FeatureStore
from sernet.features.layout import N_STORED
from sernet.labels import EMOTIONS

SR = 16000


# ----------------------------------------------------------------------------------------------- helpers
def make_store(classes=EMOTIONS, *, per_class=(6, 2, 3), seed=0, offset=None, train_only=()) -> FeatureStore:
    """An in-memory FeatureStore: column ``c`` of every frame carries +2 for class ``c``; ``offset`` [268]
    is added to every frame (a recording-condition shift). ``per_class`` = utterances per class in
    train/val/test; classes in ``train_only`` get no val/test utterances."""
    rng = np.random.default_rng(seed)
    rows, blocks, pos = [], [], 0
    for c in classes:
        for split, n in zip(("train", "val", "test"), per_class, strict=True):
            if split != "train" and c in train_only:
                continue
            for _ in range(n):
                t = int(rng.integers(12, 24))
                x = rng.normal(size=(t, N_STORED))
                x[:, EMOTIONS.index(c)] += 2.0
                if offset is not None:
                    x += offset
                blocks.append(x)
                rows.append({"path": f"u{len(rows):04d}.wav", "label": c, "speaker": f"s{len(rows) % 5}",
                             "split": split, "offset": pos, "n_frames": t})
                pos += t
    index = pd.DataFrame(rows)
    data = np.concatenate(blocks).astype(np.float16)
    train = np.concatenate([b for b, r in zip(blocks, rows, strict=True) if r["split"] == "train"])
    return FeatureStore(path="<memory>", index=index, data=data, norm_mean=train.mean(0).astype(np.float32),
                        norm_std=train.std(0).astype(np.float32),
                        failures=pd.DataFrame(columns=["path", "problem", "detail", "kept"]),
                        utterance_descriptors=pd.DataFrame(index=range(len(index))))


class MeanOfClassColumns:
    """A stand-in model: logits = masked time-mean of the (normalised) class columns, plus ``bias``."""

    def __init__(self, bias=None):
        self.bias = np.zeros(len(EMOTIONS)) if bias is None else np.asarray(bias, float)

    def predict(self, ds, verbose=0):
        out = []
        for b in range(len(ds)):
            x = ds.inputs(b)
            m = x["mask"][..., None]
            out.append((x["features"][..., :len(EMOTIONS)] * m).sum(1) / m.sum(1) + self.bias)
        return np.concatenate(out)


def rms(y):
    return float(np.sqrt(np.mean(np.square(y))))


# ----------------------------------------------------------------------------------------------- channel
def test_channel_passes_its_band_and_attenuates_outside():
    sos = cc.channel_filter((300.0, 3400.0), sample_rate_hz=SR, order=4)
    t = np.arange(SR) / SR
    gain = {f: rms(signal.sosfilt(sos, np.sin(2 * np.pi * f * t))[SR // 2:]) / rms(np.sin(2 * np.pi * f * t))
            for f in (80.0, 1000.0, 7000.0)}
    assert gain[1000.0] > 0.9
    assert gain[80.0] < 0.05 and gain[7000.0] < 0.05


def test_channel_off_and_bad_bands():
    assert cc.channel_filter((0, 0), sample_rate_hz=SR, order=4) is None
    for band in ((3400, 300), (0, 3400), (300, 9000)):
        with pytest.raises(ConfigError, match="cross.b_band_hz"):
            cc.channel_filter(band, sample_rate_hz=SR, order=4)


def test_apply_channel_copies_the_corpus_through_the_band(tmp_path):
    rng = np.random.default_rng(0)
    src = tmp_path / "src"
    rows = []
    for i, label in enumerate(("angry", "sad", "happy", "neutral")):
        write_wav(src / "wav" / f"{i}.wav", (0.1 * rng.standard_normal(SR // 2)).astype(np.float32), SR)
        rows.append({"path": f"wav/{i}.wav", "label": label, "speaker": f"s{i}", "split": "train",
                     "duration_s": 0.5, "snr_db": 10.0 + i})
    write_manifest(pd.DataFrame(rows), src / "manifest.csv")
    out = cc.apply_channel(src, tmp_path / "tel", band_hz=(300.0, 3400.0), order=4, sample_rate_hz=SR)
    df = read_manifest(out, check_audio=True)
    assert list(df["label"]) == ["angry", "sad", "happy", "neutral"]
    assert list(df["snr_db"]) == [10.0, 11.0, 12.0, 13.0]  # extra columns (ground truth) are kept
    assert set(df["channel"]) == {"bandpass 300-3400 Hz"}
    before = read_audio(src / "wav" / "0.wav", sample_rate_hz=SR)
    after = read_audio(df["path"].iloc[0], sample_rate_hz=SR)
    f, p_before = signal.welch(before, fs=SR, nperseg=1024)
    _, p_after = signal.welch(after, fs=SR, nperseg=1024)
    low, mid = f < 150, (f > 800) & (f < 2500)
    assert 10 * np.log10(p_after[low].mean() / p_before[low].mean()) < -20
    assert abs(10 * np.log10(p_after[mid].mean() / p_before[mid].mean())) < 1.5
    mtimes = {p: p.stat().st_mtime_ns for p in (tmp_path / "tel").rglob("*.wav")}
    assert cc.apply_channel(src, tmp_path / "tel", band_hz=(300.0, 3400.0), order=4, sample_rate_hz=SR) == out
    assert {p: p.stat().st_mtime_ns for p in (tmp_path / "tel").rglob("*.wav")} == mtimes  # not rewritten


def test_second_synthetic_corpus_differs_in_speakers_and_noise():
    cfg = sernet.config.load("smoke")
    b = cc.synthetic_b_config(cfg)
    assert b.synth.seed == cfg.cross.b_seed != cfg.synth.seed
    assert b.synth.noise_fraction == cfg.cross.b_noise_fraction
    assert b.synth.snr_db_range == cfg.cross.b_snr_db_range
    assert b.synth.n_utterances == cfg.synth.n_utterances  # everything else as corpus A


# ----------------------------------------------------------------------------------------------- classes
def test_shared_classes_are_those_in_every_corpus_train_and_test_split():
    a = make_store()
    b = make_store(("neutral", "angry", "sad", "happy", "fear"), train_only=("fear",))
    assert cc.shared_classes({"a": a, "b": b}) == ("angry", "happy", "sad", "neutral")  # paper order


def test_fewer_than_two_shared_classes_is_an_error():
    with pytest.raises(SernetError, match="share 1 class"):
        cc.shared_classes({"a": make_store(("angry", "sad")), "b": make_store(("angry", "happy"))})


def test_restrict_keeps_only_the_classes_and_the_same_frames():
    store = make_store()
    view = cc.restrict(store, ("sad", "fear"))
    assert set(view.index["label"]) == {"sad", "fear"}
    assert set(np.asarray(view.labels)) == {EMOTIONS.index("sad"), EMOTIONS.index("fear")}
    first = int(np.flatnonzero(store.index["label"] == "sad")[0])
    np.testing.assert_array_equal(view.frames(0), store.frames(first))


def test_decision_is_the_most_probable_shared_class():
    store = make_store()
    shared = ("angry", "sad")
    bias = np.zeros(len(EMOTIONS))
    bias[EMOTIONS.index("surprise")] = 100.0  # always the top class overall, but not a shared one
    m = cc.evaluate_on(MeanOfClassColumns(bias), tiny_config(), store, shared)
    assert m["classes"] == list(shared) and m["n"] == 2 * 3
    assert m["uar"] == pytest.approx(1.0)


def test_target_normalisation_undoes_a_recording_shift_that_source_normalisation_keeps():
    cfg = tiny_config()
    source = make_store(seed=0)
    offset = np.zeros(N_STORED)
    offset[EMOTIONS.index("angry")] = 6.0  # a channel that lifts one class's cue in every utterance
    target = make_store(seed=1, offset=offset)
    stats = (source.norm_mean, source.norm_std)
    with_source = cc.evaluate_on(MeanOfClassColumns(), cfg, target, EMOTIONS, norm_stats=stats)
    with_target = cc.evaluate_on(MeanOfClassColumns(), cfg, target, EMOTIONS)
    assert with_target["uar"] > 0.9
    assert with_source["uar"] < 0.3  # almost everything reads as angry
    assert with_source["per_class"]["angry"]["recall"] == pytest.approx(1.0)


def test_parse_corpora_names_paths_and_errors(tmp_path):
    for name in ("ravdess", "iemocap"):
        (tmp_path / name).mkdir()
        (tmp_path / name / "manifest.csv").write_text("path,label,speaker,split,duration_s\n")
    parsed = cc.parse_corpora([f"rav={tmp_path / 'ravdess'}", str(tmp_path / "iemocap")])
    assert parsed == {"rav": tmp_path / "ravdess" / "manifest.csv", "iemocap": tmp_path / "iemocap" / "manifest.csv"}
    with pytest.raises(ConfigError, match="appears twice"):
        cc.parse_corpora([f"x={tmp_path / 'ravdess'}", f"x={tmp_path / 'iemocap'}"])
    with pytest.raises(ConfigError, match="no manifest.csv"):
        cc.parse_corpora([f"y={tmp_path / 'missing'}"])
    cfg = sernet.config.override(tiny_config(), {"cross.corpora": f"rav={tmp_path / 'ravdess'}"})
    with pytest.raises(ConfigError, match="at least two corpora"):
        cc.corpus_manifests(cfg)


def test_unknown_normalisation_is_a_config_error():
    # rejected when the config is made, before any corpus or model is touched
    with pytest.raises(ConfigError, match="cross.normalization"):
        sernet.config.override(tiny_config(), {"cross.normalization": "per_speaker"})


# ----------------------------------------------------------------------------------------------- matrix
def test_matrix_trains_one_model_per_corpus_and_reuses_the_runs(tmp_path):
    cfg = sernet.config.override(tiny_config(**{"train.epochs": 1}), {"home": str(tmp_path / "home")})
    corpora = {}
    for name, seed, classes in (("a", 0, EMOTIONS), ("b", 1, ("angry", "happy", "sad", "neutral", "fear"))):
        manifest = tmp_path / name / "manifest.csv"
        manifest.parent.mkdir()
        manifest.write_text(f"corpus {name}\n")  # only its hash is read (the run's cache key)
        store = make_store(classes, seed=seed)
        corpora[name] = cc.Corpus(name, manifest, store, cc.describe_corpus(store))
    result = cc.cross_corpus_matrix(cfg, corpora=corpora)
    assert result.classes == ("angry", "happy", "sad", "neutral", "fear")
    uar = result.matrix("uar")
    assert list(uar.index) == ["a", "b"] and list(uar.columns) == ["a", "b"]
    assert ((uar.to_numpy() >= 0) & (uar.to_numpy() <= 1)).all()
    for (train_name, _), m in result.metrics.items():
        assert m["classes"] == list(result.classes)
        assert result.runs[train_name].is_dir()
    run_classes = pd.read_csv(result.runs["a"] / "predictions.csv")["true"]
    assert set(run_classes) <= set(result.classes)  # trained and validated on the shared classes only
    gap = result.transfer_gap()
    assert gap.loc["a", "in_corpus"] == uar.loc["a", "a"]
    assert gap.loc["a", "cross_corpus"] == uar.loc["a", "b"]
    json.dumps(result.to_dict())
    stamp = (result.runs["a"] / "metrics.json").stat().st_mtime_ns
    again = cc.cross_corpus_matrix(cfg, corpora=corpora)
    assert (result.runs["a"] / "metrics.json").stat().st_mtime_ns == stamp  # loaded, not retrained
    pd.testing.assert_frame_equal(again.matrix(), uar)


def test_cross_corpora_from_the_environment(monkeypatch):
    monkeypatch.delenv("SERNET_CROSS_CORPORA", raising=False)
    cfg = sernet.config.load("full", SERNET_CROSS_CORPORA="ravdess=/data/r, iemocap=/data/i")
    assert cfg.cross.corpora == ("ravdess=/data/r", "iemocap=/data/i")
    assert sernet.config.load("smoke").cross.corpora == ()
