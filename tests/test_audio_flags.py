"""Two audio cases that used to pass unflagged: a WAV cut short (its data chunk shorter than its header says)
and a constant (DC) signal. Both now stop at the reader / validator with a named problem, in the paths that
``sernet features`` (``load_for_features``) and ``sernet predict`` (``Predictor.read``) take."""

from __future__ import annotations

import struct
from types import SimpleNamespace

import numpy as np
import pytest
import soundfile as sf

import sernet
from sernet.data.audio import NO_SPEECH_PROBLEMS, read_audio, validate_audio, wav_truncation
from sernet.deploy.predictor import Predictor
from sernet.errors import AudioError
from sernet.features import layout
from sernet.features.cache import load_for_features
from sernet.features.extract import extract_frame_features

SR = 16000
FCFG = sernet.config.load("smoke").features


def speech_like(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    """A voiced, syllable-modulated harmonic signal with a gliding F0 and a little breath noise."""
    rng = np.random.default_rng(seed)
    t = np.arange(int(seconds * SR)) / SR
    f0 = 140.0 + 30.0 * np.sin(2 * np.pi * 1.3 * t)
    phase = 2 * np.pi * np.cumsum(f0) / SR
    voice = sum(np.sin(k * phase) / k for k in range(1, 12))
    envelope = np.clip(np.sin(2 * np.pi * 4.0 * t), 0.0, None) ** 0.5
    y = 0.15 * envelope * voice + 0.002 * rng.standard_normal(t.size)
    return y.astype(np.float32)


def pcm16_wav(data: bytes, *, declared: int | None = None, chunks_before: bytes = b"", chunks_after: bytes = b"",
              big_endian: bool = False) -> bytes:
    """A mono 16 kHz 16-bit PCM WAV built by hand; ``declared`` overrides the data chunk's size field."""
    e = ">" if big_endian else "<"
    fmt = b"fmt " + struct.pack(e + "IHHIIHH", 16, 1, 1, SR, 2 * SR, 2, 16)
    size = len(data) if declared is None else declared
    body = b"WAVE" + fmt + chunks_before + b"data" + struct.pack(e + "I", size) + data + chunks_after
    return (b"RIFX" if big_endian else b"RIFF") + struct.pack(e + "I", len(body)) + body


def samples(y: np.ndarray) -> bytes:
    return (np.clip(y, -1, 1) * 32767).astype("<i2").tobytes()


# ----------------------------------------------------------------------------------------- truncated WAV
def test_a_wav_cut_short_is_a_truncated_error_naming_file_and_shortfall(tmp_path):
    full, cut = tmp_path / "full.wav", tmp_path / "cut.wav"
    sf.write(str(full), speech_like(1.0), SR, subtype="PCM_16")
    data = full.read_bytes()
    cut.write_bytes(data[: len(data) // 2])
    assert sf.info(str(cut)).frames > 0  # libsndfile itself reads the half file without complaint
    with pytest.raises(AudioError) as err:
        read_audio(cut)
    assert err.value.problem == "truncated" and err.value.path == str(cut)
    assert "of the 32000 bytes its header declares" in str(err.value)
    assert "of 1.000 s" in str(err.value) and "cut short" in str(err.value)
    assert wav_truncation(full) is None and read_audio(full).size == SR


def test_allow_truncated_reads_what_is_there(tmp_path):
    y = speech_like(1.0)
    path = tmp_path / "cut.wav"
    path.write_bytes(pcm16_wav(samples(y)[: SR], declared=2 * SR))  # half the samples present
    got = read_audio(path, allow_truncated=True)
    assert got.size == SR // 2
    np.testing.assert_allclose(got, y[: SR // 2], atol=1e-4)


@pytest.mark.parametrize("big_endian", [False, True], ids=["RIFF", "RIFX"])
def test_truncation_is_found_behind_other_chunks_and_padding(tmp_path, big_endian):
    e = ">" if big_endian else "<"
    odd_list = b"LIST" + struct.pack(e + "I", 5) + b"INFOx" + b"\x00"  # odd size: one pad byte follows
    data = samples(speech_like(0.5))
    path = tmp_path / "cut.wav"
    path.write_bytes(pcm16_wav(data[:-100], declared=len(data), chunks_before=odd_list, big_endian=big_endian))
    assert wav_truncation(path) == (f"data chunk holds {len(data) - 100} of the {len(data)} bytes its header "
                                    f"declares: 0.497 s of 0.500 s, the file was cut short")
    complete = tmp_path / "ok.wav"
    trailer = b"LIST" + struct.pack(e + "I", 4) + b"INFO"
    complete.write_bytes(pcm16_wav(data, chunks_before=odd_list, chunks_after=trailer, big_endian=big_endian))
    assert wav_truncation(complete) is None


@pytest.mark.parametrize("declared", [0, 0xFFFFFFFF], ids=["zero", "unknown"])
def test_headers_of_unknown_length_are_not_judged(tmp_path, declared):
    path = tmp_path / "stream.wav"
    path.write_bytes(pcm16_wav(samples(speech_like(0.5)), declared=declared))
    assert wav_truncation(path) is None


def test_non_wav_and_damaged_files_are_left_to_libsndfile(tmp_path):
    flac = tmp_path / "a.flac"
    sf.write(str(flac), speech_like(0.5), SR)
    assert wav_truncation(flac) is None
    stub = tmp_path / "stub.wav"
    stub.write_bytes(b"RIFF\x00\x00")
    assert wav_truncation(stub) is None
    with pytest.raises(AudioError, match="unreadable"):
        read_audio(stub)


def test_feature_extraction_and_prediction_readers_reject_a_truncated_wav(tmp_path):
    path = tmp_path / "cut.wav"
    data = samples(speech_like(1.0))
    path.write_bytes(pcm16_wav(data[: len(data) // 3], declared=len(data)))
    with pytest.raises(AudioError, match=r"cut\.wav: truncated"):
        load_for_features(path, FCFG)  # sernet features: a failures.csv row, not silently half an utterance
    predictor = SimpleNamespace(cfg=sernet.config.load("smoke"))  # Predictor.read needs only the config
    with pytest.raises(AudioError, match=r"cut\.wav: truncated"):
        Predictor.read(predictor, path)


# ------------------------------------------------------------------------------------------- DC signal
@pytest.mark.parametrize("level", [0.3, -0.05, 1.0])
def test_a_constant_signal_is_flagged_constant(level):
    with pytest.raises(AudioError) as err:
        validate_audio(np.full(SR, level, np.float32), source="dc.wav")
    assert err.value.problem == "constant" and err.value.path == "dc.wav"
    assert f"{level:+.3g}" in str(err.value) and "-80 dBFS" in str(err.value)
    assert err.value.problem in NO_SPEECH_PROBLEMS


def test_dc_with_inaudible_wobble_is_constant_and_zeros_stay_silent():
    rng = np.random.default_rng(0)
    wobble = (0.4 + 2e-5 * rng.standard_normal(SR)).astype(np.float32)
    with pytest.raises(AudioError, match="constant"):
        validate_audio(wobble)
    with pytest.raises(AudioError, match="silent"):
        validate_audio(np.zeros(SR, np.float32))


def test_a_constant_wav_stops_feature_extraction(tmp_path):
    path = tmp_path / "dc.wav"
    sf.write(str(path), np.full(SR, 0.25, np.float32), SR, subtype="PCM_16")
    with pytest.raises(AudioError, match=r"dc\.wav: constant"):
        load_for_features(path, FCFG)
    with pytest.raises(AudioError, match="constant"):
        extract_frame_features(np.full(SR, 0.25, np.float32), FCFG)


@pytest.mark.parametrize("offset", [0.2, -0.3])
def test_speech_with_a_dc_offset_still_passes_and_keeps_its_voicing(tmp_path, offset):
    y = speech_like(1.0)
    shifted = (y + offset).astype(np.float32)
    assert validate_audio(shifted) is shifted
    path = tmp_path / "offset.wav"
    sf.write(str(path), shifted, SR, subtype="PCM_16")
    got, notes = load_for_features(path, FCFG)
    assert got.size == SR and notes == []
    voiced = layout.column("voiced")
    plain, moved = extract_frame_features(y, FCFG), extract_frame_features(got, FCFG)
    assert np.all(np.isfinite(moved)) and moved[:, voiced].sum() > 0
    assert abs(moved[:, voiced].mean() - plain[:, voiced].mean()) < 0.1
