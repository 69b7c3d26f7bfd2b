"""The corpus feature cache: bad inputs, store API, train-only normalisation, resume after a kill, shards."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

import sernet.config
from sernet.data.manifest import write_manifest
from sernet.errors import SernetError
from sernet.features import extract_frame_features, layout, pad_or_crop
from sernet.features.cache import FeatureStore, extract_corpus, parse_shard

CFG = sernet.config.load("smoke")
SR = CFG.features.sample_rate_hz
N_GOOD = 12


def _voice(seconds: float, f0: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f = f0 * 2 ** (np.sin(2 * np.pi * 0.7 * t) / 12)
    ph = 2 * np.pi * np.cumsum(f) / SR
    env = 0.55 - 0.45 * np.cos(2 * np.pi * 4 * t)
    y = env * (0.3 * np.sin(ph) + 0.1 * np.sin(2 * ph) + 0.05 * np.sin(3 * ph)) + 0.003 * rng.standard_normal(len(t))
    return y.astype(np.float32)


def _make_corpus(root: Path, *, bad: bool = True) -> Path:
    """N_GOOD clean utterances (+ one file per bad-input case) and a manifest."""
    root.mkdir(parents=True, exist_ok=True)
    labels = ["angry", "happy", "sad", "neutral", "fear", "disgust", "surprise", "contempt"]
    rows = []

    def add(name, label, split, speaker, duration):
        rows.append({"path": name, "label": label, "speaker": speaker, "split": split, "duration_s": duration})

    for i in range(N_GOOD):
        y = _voice(0.6 + 0.1 * i, 100 + 15 * i, i)
        sf.write(root / f"good{i:02d}.wav", y, SR, subtype="PCM_16")
        split = ["train", "train", "val", "test"][i % 4]
        add(f"good{i:02d}.wav", labels[i % 8], split, f"s{i % 4}", len(y) / SR)
    if bad:
        y = _voice(0.8, 150, 99)
        (root / "corrupt.wav").write_bytes(b"RIFF\x00\x00\x00\x00WAVEgarbage")
        sf.write(root / "empty.wav", np.zeros(0, np.float32), SR)
        sf.write(root / "silent.wav", np.zeros(SR, np.float32), SR)
        sf.write(root / "short.wav", y[: int(0.01 * SR)], SR)
        nan = y.copy()
        nan[100:200] = np.nan
        sf.write(root / "nan.wav", nan, SR, subtype="FLOAT")
        sf.write(root / "clipped.wav", np.clip(4 * y, -1, 1), SR, subtype="PCM_16")
        sf.write(root / "stereo.wav", np.stack([y, 0.5 * y], axis=1), SR, subtype="PCM_16")
        import librosa

        sf.write(root / "rate22k.wav", librosa.resample(y, orig_sr=SR, target_sr=22050), 22050, subtype="PCM_16")
        for name in ("corrupt", "empty", "silent", "short", "nan", "clipped", "stereo", "rate22k", "missing"):
            add(f"{name}.wav", "neutral", "train", "sbad", 0.8)
    return write_manifest(pd.DataFrame(rows), root / "manifest.csv")


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    return _make_corpus(tmp_path_factory.mktemp("corpus"))


@pytest.fixture(scope="module")
def store(corpus, tmp_path_factory) -> FeatureStore:
    out = tmp_path_factory.mktemp("features")
    summary = extract_corpus(corpus, out, CFG, workers=1, chunk_size=5)
    assert summary["complete"] and summary["n_ok"] == N_GOOD + 3 and summary["n_failed"] == 6
    return FeatureStore.open(out)


@pytest.mark.parametrize(
    ("name", "problem", "kept"),
    [("corrupt", "unreadable", False), ("empty", "empty", False), ("silent", "silent", False),
     ("short", "too_short", False), ("nan", "non_finite", False), ("missing", "missing", False),
     ("clipped", "clipped", True), ("stereo", "stereo", True), ("rate22k", "wrong_sample_rate", True)],
)
def test_each_bad_input_is_recorded_never_fatal(store, name, problem, kept):
    f = store.failures
    row = f[f["path"].str.endswith(f"{name}.wav")]
    assert len(row) == 1, f
    assert row["problem"].iat[0] == problem and bool(row["kept"].iat[0]) == kept and row["detail"].iat[0]
    assert store.index["path"].str.endswith(f"{name}.wav").any() == kept


def test_store_api_shapes_and_alignment(store, corpus):
    assert store.n == len(store.index) == len(store.labels) == len(store.splits) == len(store.lengths)
    assert store.labels.dtype == np.int32 and store.splits.dtype.kind == "U"
    assert set(store.index.columns) >= {"path", "label", "speaker", "split", "manifest_row", "offset", "n_frames"}
    assert len(store.utterance_descriptors) == store.n
    manifest = pd.read_csv(corpus)
    for i in range(store.n):
        x = store.frames(i)
        assert x.shape == (store.lengths[i], layout.N_STORED) and x.dtype == np.float16
        assert Path(store.index["path"].iat[i]).name == Path(manifest["path"].iat[store.index["manifest_row"].iat[i]]).name
    assert sorted(np.concatenate([store.split_indices(s) for s in ("train", "val", "test")])) == list(range(store.n))


def test_cached_frames_equal_direct_extraction(store):
    i = 3
    y, _ = sf.read(store.index["path"].iat[i], dtype="float32")
    direct = extract_frame_features(y, CFG.features)
    np.testing.assert_array_equal(store.frames(i), direct.astype(np.float16))


def test_normalisation_fitted_on_train_split_only(store):
    train = np.concatenate([np.asarray(store.frames(i), np.float64) for i in store.split_indices("train")])
    np.testing.assert_allclose(store.norm_mean, train.mean(0), rtol=1e-4, atol=1e-4)
    std = train.std(0)
    np.testing.assert_allclose(store.norm_std, np.where(std < 1e-6, 1.0, std), rtol=1e-3, atol=1e-4)
    everything = np.concatenate([np.asarray(store.frames(i), np.float64) for i in range(store.n)])
    assert not np.allclose(store.norm_mean, everything.mean(0), rtol=1e-4, atol=1e-4)
    z = store.normalize(store.frames(0))
    assert z.dtype == np.float32 and np.all(np.isfinite(z))


def test_second_call_is_idempotent_and_fast(store, corpus):
    before = (store.path / "frames.npy").stat().st_mtime_ns
    summary = extract_corpus(corpus, store.path, CFG, workers=1)
    assert summary["complete"] and summary["n_ok"] == store.n
    assert (store.path / "frames.npy").stat().st_mtime_ns == before


def test_unfinished_cache_is_never_opened(tmp_path):
    (tmp_path / "frames.npy").write_bytes(b"partial")
    with pytest.raises(SernetError, match="not a finished feature cache"):
        FeatureStore.open(tmp_path)


def _cache_files(d: Path) -> dict[str, bytes]:
    return {n: (d / n).read_bytes() for n in ("frames.npy", "index.csv", "descriptors.csv", "failures.csv", "norm.npz")}


def test_killed_run_resumes_to_identical_output(tmp_path):
    corpus = _make_corpus(tmp_path / "corpus", bad=False)
    ref, out = tmp_path / "ref", tmp_path / "out"
    extract_corpus(corpus, ref, CFG, workers=2, chunk_size=2)  # uninterrupted, with a process pool
    cmd = [sys.executable, "-c", "import sys; from sernet.cli import main; sys.exit(main())", "-q", "features", "--manifest", str(corpus), "--out", str(out),
           "--workers", "1", "--chunk-size", "2"]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and not list((out / "chunks").glob("chunk-*.json")) and proc.poll() is None:
        time.sleep(0.05)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    done = list((out / "chunks").glob("chunk-*.json"))
    assert 1 <= len(done) < N_GOOD // 2 and not (out / "complete.json").exists()
    with pytest.raises(SernetError):
        FeatureStore.open(out)
    rc = subprocess.run(cmd, capture_output=True, text=True)
    assert rc.returncode == 0, rc.stderr
    assert _cache_files(out) == _cache_files(ref)
    assert json.loads((out / "complete.json").read_text())["n_ok"] == N_GOOD
    assert not (out / "chunks").exists()


def test_shards_fill_one_cache(tmp_path, corpus):
    ref = tmp_path / "ref"
    extract_corpus(corpus, ref, CFG, workers=1, chunk_size=4)
    out = tmp_path / "sharded"
    first = extract_corpus(corpus, out, CFG, shard=(0, 2), workers=1, chunk_size=4)
    assert not first["complete"] and first["n_chunks_done"] == 3
    second = extract_corpus(corpus, out, CFG, shard=(1, 2), workers=1)
    assert second["complete"]
    assert _cache_files(out) == _cache_files(ref)


def test_changed_manifest_restarts_the_cache(tmp_path):
    corpus = _make_corpus(tmp_path / "c", bad=False)
    out = tmp_path / "f"
    extract_corpus(corpus, out, CFG, workers=1)
    df = pd.read_csv(corpus).iloc[:5]
    write_manifest(df, corpus)
    summary = extract_corpus(corpus, out, CFG, workers=1)
    assert summary["n_ok"] == 5 and FeatureStore.open(out).n == 5


@pytest.mark.parametrize(("text", "ok"), [("0/4", (0, 4)), ("3/4", (3, 4)), ("4/4", None), ("x", None), ("1/0", None)])
def test_parse_shard(text, ok):
    if ok:
        assert parse_shard(text) == ok
    else:
        with pytest.raises(SernetError):
            parse_shard(text)


def test_pad_or_crop_modes():
    x = np.arange(10, dtype=np.float32)[:, None].repeat(3, 1)
    p, m = pad_or_crop(x, 4, "center")
    assert p[:, 0].tolist() == [3, 4, 5, 6] and m.tolist() == [1, 1, 1, 1]
    p, m = pad_or_crop(x, 4, "start")
    assert p[:, 0].tolist() == [0, 1, 2, 3]
    starts = {int(pad_or_crop(x, 4, "random", np.random.default_rng(s))[0][0, 0]) for s in range(50)}
    assert starts == set(range(7))
    p, m = pad_or_crop(x, 12, "random", np.random.default_rng(0))
    assert p.shape == (12, 3) and m.sum() == 10 and np.all(p[10:] == 0) and np.all(p[:10] == x)
    with pytest.raises(ValueError):
        pad_or_crop(x, 4, "random")
    with pytest.raises(SernetError):
        pad_or_crop(x, 4, "middle")
