"""The classic baseline: openSMILE eGeMAPS functionals (cache, bad input) and the RBF-SVM run directory."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import sernet
from sernet.errors import AudioError, ConfigError, SernetError
from sernet.features import egemaps
from sernet.labels import EMOTIONS, NUM_CLASSES
from sernet.model import classic
from sernet.train import RunDir, TrainResult
from sernet.train.trainer import predictions_frame

SR = 16000
PER_CLASS = 8  # one utterance per speaker and class: speakers 0-3 train, 4-5 val, 6-7 test
SPLIT_OF_SPEAKER = ["train"] * 4 + ["val"] * 2 + ["test"] * 2


def _voice(seconds: float, f0: float, seed: int, rate_hz: float = 4.0, level: float = 1.0) -> np.ndarray:
    """A harmonic voice with a slow pitch contour and syllable-rate loudness, plus faint noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f = f0 * 2 ** (np.sin(2 * np.pi * 0.7 * t) / 12)
    ph = 2 * np.pi * np.cumsum(f) / SR
    env = 0.55 - 0.45 * np.cos(2 * np.pi * rate_hz * t)
    y = level * env * (0.3 * np.sin(ph) + 0.1 * np.sin(2 * ph) + 0.05 * np.sin(3 * ph))
    return (y + 0.003 * rng.standard_normal(len(t))).astype(np.float32)


class WavStore:
    """The part of ``FeatureStore`` the SVM reads, over real WAV files whose pitch is set by the class."""

    def __init__(self, root: Path) -> None:
        root.mkdir(parents=True, exist_ok=True)
        rows = []
        for s in range(PER_CLASS):
            for c, emotion in enumerate(EMOTIONS):
                path = root / f"s{s}_{emotion}.wav"
                # class c: pitch 90 * 1.2^c Hz (90-322 Hz; each speaker within a semitone of it), syllable
                # rate 2.5 + 0.5 c Hz, level from -12 dB (c = 0) to 0 dB (c = 7)
                y = _voice(0.8, 90 * 1.2 ** c * 2 ** ((s - 3.5) / 48), 10 * s + c, rate_hz=2.5 + 0.5 * c,
                           level=10 ** ((12 * c / 7 - 12) / 20))
                sf.write(path, y, SR, subtype="PCM_16")
                rows.append({"path": str(path), "label": emotion, "speaker": f"spk{s}",
                             "split": SPLIT_OF_SPEAKER[s], "duration_s": 0.8})
        self.index = pd.DataFrame(rows)
        self.labels = np.array([EMOTIONS.index(v) for v in self.index["label"]], dtype=np.int32)
        self.path = root

    def split_indices(self, split: str) -> np.ndarray:
        return np.flatnonzero(self.index["split"].to_numpy() == split)


@pytest.fixture(scope="module")
def store(tmp_path_factory):
    return WavStore(tmp_path_factory.mktemp("wavs"))


@pytest.fixture(scope="module")
def cfg(tmp_path_factory):
    """The smoke config with a home of this module's (the SVM runs share one functionals cache)."""
    return sernet.config.override(sernet.config.load("smoke"), {"home": str(tmp_path_factory.mktemp("home"))})


# --------------------------------------------------------------------------------------- functionals
def test_functionals_have_88_finite_named_columns(store, tmp_path):
    X = egemaps.egemaps_functionals(store.index, home=tmp_path, workers=2)
    assert X.shape == (len(store.index), 88) and X.dtype == np.float32
    assert np.all(np.isfinite(X))
    names = egemaps.feature_names()
    assert len(names) == 88 and len(set(names)) == 88 and "F0semitoneFrom27.5Hz_sma3nz_amean" in names
    frame = egemaps.functionals_frame(store, home=tmp_path)  # a store: its index, rows in store order
    assert list(frame.columns) == list(names) and list(frame.index) == list(store.index["path"])
    np.testing.assert_array_equal(frame.to_numpy(), X)
    # the known answer built in: pitch rises with the class index, and so does eGeMAPS' mean F0
    f0 = frame["F0semitoneFrom27.5Hz_sma3nz_amean"].groupby(store.labels).mean().to_numpy()
    assert np.all(np.diff(f0) > 0)


def test_threads_give_the_same_numbers_as_one(store):
    paths = list(store.index["path"][:6])
    one = egemaps.egemaps_functionals(paths, cache=False, workers=1)
    two = egemaps.egemaps_functionals(paths, cache=False, workers=2)
    np.testing.assert_array_equal(one, two)


def test_cache_is_reused_and_keyed_by_the_manifest(store, tmp_path, monkeypatch):
    manifest = store.index.iloc[:10].copy()
    first = egemaps.egemaps_functionals(manifest, home=tmp_path)
    path = egemaps.cache_path(manifest, home=tmp_path)
    assert path.exists() and path.parent == tmp_path / "egemaps"
    assert not list(path.parent.glob("*.parts"))  # the chunks are gone once the whole file is written

    def fail(*args, **kwargs):
        raise AssertionError("extracted again instead of reading the cache")

    monkeypatch.setattr(egemaps, "utterance_functionals", fail)
    np.testing.assert_array_equal(egemaps.egemaps_functionals(manifest, home=tmp_path), first)
    relabelled = manifest.assign(label="angry", split="test")  # labels and splits do not enter the features
    assert egemaps.cache_path(relabelled, home=tmp_path) == path
    for changed in (manifest.iloc[:9], manifest.iloc[::-1], pd.concat([manifest, store.index.iloc[[10]]])):
        assert egemaps.cache_path(changed, home=tmp_path) != path
    assert egemaps.cache_path(manifest, home=tmp_path, feature_set="GeMAPSv01b") != path
    assert egemaps.cache_path(manifest, home=tmp_path, sample_rate_hz=8000) != path
    monkeypatch.setattr(egemaps, "EGEMAPS_VERSION", egemaps.EGEMAPS_VERSION + 1)
    assert egemaps.cache_path(manifest, home=tmp_path) != path


def test_rewritten_audio_changes_the_key(tmp_path):
    wav = tmp_path / "a.wav"
    sf.write(wav, _voice(0.5, 120, 0), SR, subtype="PCM_16")
    key = egemaps.cache_path([wav], home=tmp_path)
    sf.write(wav, _voice(0.7, 200, 1), SR, subtype="PCM_16")
    assert egemaps.cache_path([wav], home=tmp_path) != key


def test_bad_audio_raises_the_readers_errors(store, tmp_path):
    silent = tmp_path / "silent.wav"
    sf.write(silent, np.zeros(SR // 2, np.float32), SR)
    paths = list(store.index["path"][:3]) + [str(silent)]
    with pytest.raises(AudioError) as info:
        egemaps.egemaps_functionals(paths, home=tmp_path)
    assert info.value.problem == "silent" and info.value.path == str(silent)
    assert not list((tmp_path / "egemaps").glob("*.npz"))  # no complete cache of a failed run
    with pytest.raises(AudioError) as info:
        egemaps.egemaps_functionals([str(tmp_path / "nope.wav")], cache=False)
    assert info.value.problem == "missing"
    with pytest.raises(AudioError) as info:
        egemaps.egemaps_functionals(paths[:1], sample_rate_hz=8000, resample=False, cache=False)
    assert info.value.problem == "wrong_sample_rate"
    with pytest.raises(ConfigError, match="feature_set"):
        egemaps.egemaps_functionals(paths[:1], feature_set="MFCC", cache=False)


def test_an_interrupted_extraction_resumes_from_its_finished_chunks(store, tmp_path, monkeypatch):
    monkeypatch.setattr(egemaps, "CHUNK_SIZE", 4)
    paths = list(store.index["path"][:10])
    real = egemaps.utterance_functionals
    calls = []

    def interrupted(*args):
        if len(calls) == 9:
            raise KeyboardInterrupt
        calls.append(1)
        return real(*args)

    monkeypatch.setattr(egemaps, "utterance_functionals", interrupted)
    with pytest.raises(KeyboardInterrupt):
        egemaps.egemaps_functionals(paths, home=tmp_path, workers=1)
    parts = egemaps.cache_path(paths, home=tmp_path).with_suffix(".parts")
    assert len(list(parts.glob("part-*.npz"))) == 2  # chunks 0-3 and 4-7 finished
    calls.clear()
    monkeypatch.setattr(egemaps, "utterance_functionals", lambda *a: calls.append(1) or real(*a))
    X = egemaps.egemaps_functionals(paths, home=tmp_path, workers=1)
    assert len(calls) == 2  # only the last chunk (rows 8-9) was extracted
    np.testing.assert_array_equal(X, egemaps.egemaps_functionals(paths, cache=False))
    assert not parts.exists()


# ------------------------------------------------------------------------------------------------ SVM
def _small_grid(cfg):
    return sernet.config.override(cfg, {"classic.c_grid": (1.0, 100.0), "classic.gamma_grid": (0.003, 0.03)})


def test_svm_run_writes_the_trainers_format_and_is_loaded_the_second_time(store, cfg, tmp_path, monkeypatch):
    cfg = _small_grid(cfg)
    result = classic.train_egemaps_svm(cfg, store, tmp_path / "run")
    assert isinstance(result, TrainResult) and isinstance(result.run_dir, RunDir)
    m = result.metrics
    for split in ("val", "test"):
        assert m[split]["n"] == len(store.split_indices(split)) and len(m[split]["per_class"]) == NUM_CLASSES
    assert m["best_epoch"] == 0 and m["epochs_run"] == 0 and m["stopped_early"] is False
    assert m["best_val_uar"] == pytest.approx(m["val"]["uar"])  # selection and final model agree
    assert m["svm"]["n_features"] == 88 and (m["svm"]["C"], m["svm"]["gamma"]) in {
        (c, g) for c in cfg.classic.c_grid for g in cfg.classic.gamma_grid}
    # the classes differ in pitch, rate and level (built into WavStore): far above chance (1/8) on unseen speakers
    assert m["val"]["uar"] >= 0.75 and m["test"]["uar"] >= 0.75
    assert list(result.history.columns) == list(classic.HISTORY_COLUMNS) and len(result.history) == 4
    assert result.history["val_uar"].max() == pytest.approx(m["best_val_uar"])

    pred = result.run_dir.read_predictions()
    rows = store.split_indices("test")
    reference = predictions_frame(store, rows, "test", store.labels[rows], np.full((len(rows), 8), 1 / 8))
    assert list(pred.columns) == list(reference.columns)
    assert list(pred["split"].unique()) == ["val", "test"]
    probs = pred[[f"prob_{e}" for e in EMOTIONS]].to_numpy()
    np.testing.assert_allclose(probs.sum(axis=1), 1.0, atol=1e-9)
    assert np.all(probs >= 0)
    assert (pred["predicted"].to_numpy() == np.array(EMOTIONS)[probs.argmax(axis=1)]).all()
    assert (pred["true"].to_numpy() == np.array(EMOTIONS)[store.labels[pred["row"].to_numpy()]]).all()
    saved = json.loads(result.run_dir.metrics_json.read_text())
    assert saved["test"]["uar"] == m["test"]["uar"]
    assert json.loads(result.run_dir.config_json.read_text())["trainer"] == "egemaps_svm"
    model = classic.load_svm(result.run_dir)
    X = egemaps.egemaps_functionals(store, home=cfg.home)
    np.testing.assert_allclose(classic.predict_probabilities(model, X[rows]),
                               probs[pred["split"].to_numpy() == "test"], atol=1e-12)

    def no_refit(*args, **kwargs):
        raise AssertionError("refitted a finished run")

    monkeypatch.setattr(classic, "select_hyperparameters", no_refit)
    again = classic.train_egemaps_svm(cfg, store, tmp_path / "run")
    assert again.metrics == saved
    pd.testing.assert_frame_equal(again.history, result.history, check_dtype=False)


def test_an_unfinished_run_is_refitted_and_resume_false_starts_over(store, cfg, tmp_path):
    cfg = _small_grid(cfg)
    first = classic.train_egemaps_svm(cfg, store, tmp_path / "run")
    first.run_dir.metrics_json.unlink()  # killed before the last write
    assert not classic.is_complete(first.run_dir)
    again = classic.train_egemaps_svm(cfg, store, tmp_path / "run")
    assert again.metrics["test"] == first.metrics["test"]
    (tmp_path / "run" / "stale.txt").write_text("x")
    classic.train_egemaps_svm(cfg, store, tmp_path / "run", resume=False)
    assert not (tmp_path / "run" / "stale.txt").exists() and classic.is_complete(tmp_path / "run")


def test_another_seed_is_a_valid_run_with_the_same_predictions(store, cfg, tmp_path):
    cfg = _small_grid(cfg)
    a = classic.train_egemaps_svm(cfg, store, tmp_path / "seed0")
    b = classic.train_egemaps_svm(sernet.config.override(cfg, {"train.seed": 1}), store, tmp_path / "seed1")
    pa, pb = a.run_dir.read_predictions(), b.run_dir.read_predictions()
    assert (pa["predicted"] == pb["predicted"]).all()  # the seed shuffles the calibration folds only
    assert a.metrics["test"]["uar"] == b.metrics["test"]["uar"]
    np.testing.assert_allclose(pb.filter(like="prob_").sum(axis=1), 1.0, atol=1e-9)


def test_empty_splits_and_bad_settings_are_errors(store, cfg, tmp_path):
    class NoVal(WavStore):
        def __init__(self, base):
            self.index, self.labels, self.path = base.index, base.labels, base.path

        def split_indices(self, split):
            return np.array([], dtype=int) if split == "val" else super().split_indices(split)

    with pytest.raises(SernetError, match="train and val"):
        classic.train_egemaps_svm(cfg, NoVal(store), tmp_path / "r1")
    with pytest.raises(ConfigError, match="class_weight"):
        classic.train_egemaps_svm(sernet.config.override(cfg, {"classic.class_weight": "auto"}), store,
                                  tmp_path / "r2")
    with pytest.raises(ConfigError, match="c_grid"):
        classic.select_hyperparameters(np.zeros((2, 3)), np.array([0, 1]), np.zeros((2, 3)), np.array([0, 1]),
                                       sernet.config.override(cfg, {"classic.c_grid": ()}).classic)


def test_config_section():
    cfg = sernet.config.load("smoke")
    assert cfg.classic.feature_set == "eGeMAPSv02" and cfg.classic.class_weight == "balanced"
    assert "[classic]" in sernet.config.describe(cfg)
    changed = sernet.config.override(cfg, {"classic.c_grid": "0.5,5", "classic.gamma_grid": "0.01"})
    assert changed.classic.c_grid == (0.5, 5.0) and changed.classic.gamma_grid == (0.01,)


def test_tensorflow_imported_first_changes_nothing(store, tmp_path):
    """TensorFlow exports FFT routines of the same names as openSMILE's; the guard keeps openSMILE's own."""
    import subprocess
    import sys

    paths = tmp_path / "paths.json"
    paths.write_text(json.dumps(list(store.index["path"][:4])))
    code = ("import json, sys, numpy as np\n"
            "if sys.argv[1] == 'tf':\n    import tensorflow  # noqa: F401\n"
            "from sernet.features import egemaps\n"
            "X = egemaps.egemaps_functionals(json.load(open(sys.argv[2])), cache=False, workers=2)\n"
            "np.save(sys.argv[3], X)\n")
    for mode in ("plain", "tf"):
        done = subprocess.run([sys.executable, "-c", code, mode, str(paths), str(tmp_path / f"{mode}.npy")],
                              capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
    np.testing.assert_array_equal(np.load(tmp_path / "tf.npy"), np.load(tmp_path / "plain.npy"))
