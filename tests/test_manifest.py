"""Manifest and audio loading: valid input round-trips; each kind of bad input names the file."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import soundfile as sf

from sernet.data import read_audio, read_manifest, validate_audio, write_manifest, write_wav
from sernet.data.manifest import labels_to_indices
from sernet.errors import AudioError, ManifestError

SR = 16000


def _tone(seconds=0.5, sr=SR):
    t = np.arange(int(seconds * sr)) / sr
    return (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


@pytest.fixture
def corpus(tmp_path):
    rows = []
    for i, label in enumerate(["angry", "neutral", "sad"]):
        path = tmp_path / "wavs" / f"u{i}.wav"
        write_wav(path, _tone(), SR)
        rows.append({"path": str(path), "label": label, "speaker": f"s{i}", "split": "train", "duration_s": 0.5})
    manifest = write_manifest(pd.DataFrame(rows), tmp_path / "manifest.csv")
    return tmp_path, manifest


def test_round_trip_stores_relative_paths(corpus):
    root, manifest = corpus
    assert "wavs/u0.wav" in manifest.read_text()
    df = read_manifest(root, check_audio=True)
    assert list(df["label"]) == ["angry", "neutral", "sad"]
    assert all(p.startswith(str(root)) for p in df["path"])
    assert list(labels_to_indices(df["label"])) == [0, 3, 2]


def _edit(manifest, **changes):
    df = pd.read_csv(manifest)
    for col, (row, value) in changes.items():
        df.loc[row, col] = value
    df.to_csv(manifest, index=False)


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        ({"label": (1, "bored")}, r"unknown label.*line 3: 'bored'"),
        ({"split": (0, "dev")}, r"unknown split.*'dev'"),
        ({"duration_s": (2, -1.0)}, "non-positive"),
        ({"path": (1, "wavs/u0.wav")}, "duplicate path"),
    ],
)
def test_bad_values_are_reported_with_line_and_file(corpus, changes, match):
    root, manifest = corpus
    _edit(manifest, **changes)
    with pytest.raises(ManifestError, match=match) as err:
        read_manifest(root)
    assert str(manifest) in str(err.value)


def test_missing_column_and_missing_manifest(corpus, tmp_path):
    root, manifest = corpus
    pd.read_csv(manifest).drop(columns=["speaker"]).to_csv(manifest, index=False)
    with pytest.raises(ManifestError, match=r"missing column\(s\) \['speaker'\]"):
        read_manifest(root)
    with pytest.raises(ManifestError, match="manifest not found"):
        read_manifest(tmp_path / "nowhere")


def test_missing_unreadable_and_wrong_rate_audio_are_named(corpus):
    root, manifest = corpus
    (root / "wavs" / "u0.wav").unlink()
    (root / "wavs" / "u1.wav").write_bytes(b"RIFF garbage, not audio")
    sf.write(str(root / "wavs" / "u2.wav"), _tone(sr=8000), 8000)
    with pytest.raises(ManifestError) as err:
        read_manifest(root, check_audio=True)
    msg = str(err.value)
    assert "3 bad audio file(s)" in msg
    assert "u0.wav: missing" in msg and "u1.wav: unreadable" in msg and "u2.wav: wrong sample rate 8000 Hz" in msg


def test_read_audio_repairs_stereo_and_resamples_on_request(tmp_path):
    stereo = np.stack([_tone(), _tone()], axis=1)
    sf.write(str(tmp_path / "st.wav"), stereo, SR)
    y = read_audio(tmp_path / "st.wav")
    assert y.ndim == 1 and y.dtype == np.float32 and y.size == stereo.shape[0]
    sf.write(str(tmp_path / "r.wav"), _tone(sr=44100), 44100)
    with pytest.raises(AudioError, match="wrong_sample_rate"):
        read_audio(tmp_path / "r.wav")
    assert abs(read_audio(tmp_path / "r.wav", resample=True).size - SR // 2) <= 2


@pytest.mark.parametrize(
    ("make", "problem"),
    [
        (lambda p: sf.write(str(p), np.zeros(0, np.float32), SR), "empty"),
        (lambda p: sf.write(str(p), np.zeros(SR, np.float32), SR), "silent"),
        (lambda p: sf.write(str(p), _tone(0.01), SR), "too_short"),
        (lambda p: p.write_bytes(b"\x00" * 100), "unreadable"),
        (lambda p: None, "missing"),
    ],
)
def test_read_audio_errors_name_file_and_problem(tmp_path, make, problem):
    path = tmp_path / "bad.wav"
    make(path)
    with pytest.raises(AudioError) as err:
        read_audio(path)
    assert err.value.problem == problem and str(path) in str(err.value)


def test_validate_audio_rejects_nan_and_multichannel():
    y = _tone()
    y[10] = np.nan
    with pytest.raises(AudioError, match="non_finite"):
        validate_audio(y)
    with pytest.raises(AudioError, match="not_mono"):
        validate_audio(np.zeros((2, 100), np.float32))
