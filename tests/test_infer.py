"""sernet.deploy.predictor and ``sernet predict``: windowing, aggregation, masking, loading, errors, no-speech results."""

from __future__ import annotations

import json

import numpy as np
import pytest
import soundfile as sf
from tiny import TINY_MODEL

import sernet
from sernet.cli import main
from sernet.data.audio import write_wav
from sernet.deploy.predictor import NO_SPEECH, Predictor, write_metadata
from sernet.errors import AudioError, SernetError
from sernet.features.windows import frame_windows, window_starts

TINY = {
    **TINY_MODEL,
    "features.max_length": 100,  # 1 s windows keep the tests fast
    "deploy.window_hop_s": 0.5,
}


def tiny_setup(tmp_path):
    """A tiny untrained SER-Net saved as a run directory, and a 2.6 s synthetic utterance."""
    from sernet.backend import keras
    from sernet.data.synthetic import synthesize_utterance
    from sernet.features import extract_frame_features
    from sernet.model import build_sernet

    cfg = sernet.config.override(sernet.config.load("smoke"), TINY)
    keras().utils.set_random_seed(0)
    model = build_sernet(cfg)
    y = np.concatenate([synthesize_utterance(i, cfg)[0] for i in (0, 1)])
    raw = extract_frame_features(y, cfg.features)
    mean, std = raw.mean(axis=0), raw.std(axis=0)
    run = tmp_path / "run"
    write_metadata(run, cfg, mean, std)
    model.save(run / "model.keras")
    return cfg, model, Predictor.from_model(model, cfg, mean, std), run, y


@pytest.fixture(scope="module")
def setup(tmp_path_factory):
    return tiny_setup(tmp_path_factory.mktemp("infer"))


def test_window_starts_cover_every_frame_and_end_at_the_tail():
    for n, length, hop in [(50, 100, 30), (100, 100, 30), (101, 100, 30), (457, 100, 50), (1000, 300, 100)]:
        starts = window_starts(n, length, hop)
        covered = np.zeros(n, bool)
        for s in starts:
            covered[s : s + length] = True
        assert covered.all()
        assert starts[0] == 0 and (n <= length or starts[-1] == n - length)
        assert np.all(np.diff(starts) <= hop) and np.all(np.diff(starts) > 0)


def test_frame_windows_pad_with_zeros_and_mask():
    x = np.arange(30, dtype=np.float32).reshape(10, 3) + 1
    w, m = frame_windows(x, np.array([0]), 16)
    assert w.shape == (1, 16, 3) and m.shape == (1, 16)
    np.testing.assert_array_equal(w[0, :10], x)
    assert np.all(w[0, 10:] == 0) and m[0].tolist() == [1.0] * 10 + [0.0] * 6


def test_long_utterance_is_windowed_and_probabilities_are_the_window_mean(setup):
    cfg, _, predictor, _, y = setup
    result = predictor.predict(y)
    n_frames = 1 + len(y) // cfg.features.hop_length
    assert len(result.window_starts_s) == len(window_starts(n_frames, 100, 50)) > 1
    np.testing.assert_allclose(result.window_probabilities.sum(axis=1), 1.0, rtol=1e-5)
    mean = result.window_probabilities.mean(axis=0)
    np.testing.assert_allclose([result.probabilities[c] for c in sernet.EMOTIONS], mean, rtol=1e-6)
    assert result.label == sernet.EMOTIONS[int(np.argmax(mean))]
    assert result.duration_s == pytest.approx(len(y) / cfg.features.sample_rate_hz)


def test_short_utterance_padding_and_mask_do_not_change_the_logits(setup):
    cfg, model, predictor, _, y = setup
    short = y[: cfg.features.sample_rate_hz // 2]  # 0.5 s = 51 frames < max_length 100
    raw = predictor.features(short)
    x = predictor.normalise(raw)[None]
    unpadded = np.asarray(model({"features": x, "mask": np.ones(x.shape[:2], np.float32)}, training=False))
    result = predictor.predict(short)
    assert len(result.window_starts_s) == 1
    np.testing.assert_allclose(result.window_probabilities[0], sernet.deploy.predictor.softmax(unpadded)[0], atol=1e-5)


def test_batch_prediction_equals_one_by_one(setup):
    _, _, predictor, _, y = setup
    pieces = [y[:12000], y, y[5000:20000]]
    batch = predictor.predict(pieces, batch_size=3)
    for piece, b in zip(pieces, batch, strict=True):
        one = predictor.predict(piece)
        np.testing.assert_allclose(one.window_probabilities, b.window_probabilities, atol=1e-5)
        assert one.label == b.label
    assert [b.source for b in batch] == ["<array 0>", "<array 1>", "<array 2>"]


def test_run_directory_round_trip_and_file_input(setup, tmp_path):
    cfg, _, predictor, run, y = setup
    wav = tmp_path / "u.wav"
    write_wav(wav, y, cfg.features.sample_rate_hz)
    loaded = Predictor.load(run)
    from_file = loaded.predict(wav)
    from_array = predictor.predict(sf.read(wav, dtype="float32")[0])
    np.testing.assert_allclose(from_file.window_probabilities, from_array.window_probabilities, atol=1e-5)
    assert from_file.source == str(wav)
    assert json.loads(json.dumps(from_file.to_dict()))["label"] == from_file.label


def test_attention_weights_are_a_distribution_over_real_frames(setup):
    _, _, predictor, _, y = setup
    short = predictor.predict(y[:8000], attention=True)
    att = short.attention
    assert att.shape == (1, 100)
    n_real = 1 + 8000 // 160
    np.testing.assert_allclose(att[0, :n_real].sum(), 1.0, rtol=1e-4)
    assert np.all(att[0, n_real:] == 0)


def test_silent_and_voiceless_audio_is_no_speech(setup):
    _, _, predictor, _, _ = setup
    rng = np.random.default_rng(0)
    silent, noise = np.zeros(16000, np.float32), (0.05 * rng.standard_normal(16000)).astype(np.float32)
    for r in predictor.predict([silent, noise]):
        assert r.label == NO_SPEECH and not r.speech and r.probabilities == {}


@pytest.mark.parametrize("bad, problem", [(np.zeros(0, np.float32), "empty"),
                                          (np.full(8000, np.nan, np.float32), "non_finite"),
                                          (np.ones(100, np.float32), "too_short")])
def test_unusable_arrays_raise_audio_error(setup, bad, problem):
    with pytest.raises(AudioError) as err:
        setup[2].predict(bad)
    assert err.value.problem == problem


def test_load_errors_name_the_path(tmp_path):
    with pytest.raises(SernetError, match="no such run"):
        Predictor.load(tmp_path / "missing")
    (tmp_path / "model.keras").write_bytes(b"not a zip")
    with pytest.raises(SernetError, match="config.json"):
        Predictor.load(tmp_path)


def test_cli_predict_table_json_and_bad_files(setup, tmp_path, capsys):
    cfg, _, _, run, y = setup
    good, silent, corrupt, empty = (tmp_path / n for n in ("good.wav", "silent.wav", "corrupt.wav", "empty.wav"))
    write_wav(good, y, cfg.features.sample_rate_hz)
    write_wav(silent, np.zeros(16000, np.float32), cfg.features.sample_rate_hz)
    corrupt.write_bytes(b"RIFF\x00\x00garbage" * 10)
    sf.write(empty, np.zeros(0, np.float32), cfg.features.sample_rate_hz)

    assert main(["predict", "--model", str(run), str(good), str(silent)]) == 0
    out = capsys.readouterr()
    assert "good.wav" in out.out and NO_SPEECH in out.out and out.err == ""

    assert main(["predict", "--model", str(run), "--json", str(good), str(corrupt), str(empty)]) == 2
    out = capsys.readouterr()
    payload = json.loads(out.out)
    assert [p["source"] for p in payload["predictions"]] == [str(good)]
    assert {e["problem"] for e in payload["errors"]} == {"unreadable", "empty"}
    assert "Traceback" not in out.err and len(out.err.strip().splitlines()) == 2
    assert all(line.startswith("sernet predict: error: ") for line in out.err.strip().splitlines())


def test_cli_predict_missing_model_is_a_one_line_error(tmp_path, capsys):
    assert main(["predict", "--model", str(tmp_path / "nope"), str(tmp_path / "a.wav")]) == 2
    err = capsys.readouterr().err
    assert "no such run" in err and "Traceback" not in err


def test_cli_bench_latency_json_has_every_section(capsys):
    sets = [a for k, v in TINY.items() if k.startswith("model.")
            for a in ("--set", f"{k}={','.join(map(str, v)) if isinstance(v, tuple) else v}")]
    code = main([*sets, "--set", "features.max_length=50", "bench", "latency", "--json", "--paths", "compiled,call",
                 "--batch-sizes", "1,2", "--repeats", "2", "--warmup", "1", "--layers", "--no-paper-size"])
    assert code == 0
    report = json.loads(capsys.readouterr().out)
    assert {(r["path"], r["batch"]) for r in report["model_only"]} == {(p, b) for p in ("compiled", "call")
                                                                       for b in (1, 2)}
    assert all(r["p90_ms"] >= r["p50_ms"] > 0 for r in report["model_only"])
    assert [r["batch"] for r in report["end_to_end"]] == [1, 2] and report["end_to_end"][0]["real_time_factor"] > 0
    assert report["end_to_end_breakdown_ms"]["bound"] in ("spectral", "prosody", "model")
    assert report["frames"] == 50 and report["layer_profile"][-1]["stage"] == "logits"
    assert {t["target"].split(" p50")[0] for t in report["targets"]} >= {"model-only batch 1"}
