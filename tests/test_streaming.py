"""sernet.deploy.streaming: streamed estimates equal the offline windowed prediction; features, memory, chunking."""

from __future__ import annotations

import numpy as np
import pytest
from tiny import TINY_MODEL

import sernet
from sernet.deploy.predictor import NO_SPEECH, Predictor
from sernet.deploy.streaming import (
    StreamingRecognizer,
    demo_recording,
    emission_times,
    estimates_array,
    offline_estimates,
    window_samples,
)
from sernet.features import extract_frame_features

TINY = {
    **TINY_MODEL,
    "features.max_length": 100,  # 0.99 s streaming windows keep the test fast
    "deploy.stream_hop_s": 0.25,
}


@pytest.fixture(scope="module")
def setup():
    from sernet.backend import keras
    from sernet.model import build_sernet

    cfg = sernet.config.override(sernet.config.load("smoke"), TINY)
    y, truth, _ = demo_recording(cfg, labels=("neutral", "angry"), utterances_per_segment=1)
    raw = extract_frame_features(y, cfg.features)
    keras().utils.set_random_seed(0)
    predictor = Predictor.from_model(build_sernet(cfg), cfg, raw.mean(axis=0), raw.std(axis=0))
    return cfg, predictor, y, truth


def test_streamed_estimates_equal_offline_windowed_predictions(setup):
    cfg, predictor, y, _ = setup
    streamed = StreamingRecognizer(predictor).run(y)
    times, offline = offline_estimates(predictor, y)
    assert len(streamed) == len(times) == len(y) // int(cfg.deploy.stream_hop_s * cfg.features.sample_rate_hz)
    np.testing.assert_allclose([e.time_s for e in streamed], times)
    np.testing.assert_allclose(estimates_array(streamed, len(sernet.EMOTIONS)), offline, atol=1e-4)
    for e in streamed:
        assert e.time_s - e.start_s == pytest.approx(min(e.time_s, window_samples(cfg) / 16000))


def test_window_features_equal_the_offline_recipe_on_the_window_audio(setup):
    cfg, predictor, y, _ = setup
    rec = StreamingRecognizer(predictor)
    t = int(emission_times(len(y), cfg)[6])  # a window that starts inside the stream (a > 0)
    rec.push(y[: t + 700])  # a chunk boundary that is not a frame boundary; the last emission is at t
    a = t - window_samples(cfg)
    streamed = rec.last_features
    offline = extract_frame_features(y[a:t], cfg.features)
    assert streamed.shape == offline.shape == (cfg.features.max_length, 268)
    np.testing.assert_allclose(streamed, offline, atol=1e-4, rtol=1e-6)


def test_chunk_size_does_not_change_the_estimates(setup):
    _, predictor, y, _ = setup
    a = StreamingRecognizer(predictor).run(y, chunk_samples=1600)
    b = StreamingRecognizer(predictor).run(y, chunk_samples=997)
    np.testing.assert_allclose(estimates_array(a, 8), estimates_array(b, 8), atol=1e-5)


def test_memory_stays_bounded_on_a_long_stream(setup):
    cfg, predictor, y, _ = setup
    rec = StreamingRecognizer(predictor)
    sizes = []
    for _ in range(3):
        rec.run(y)
        sizes.append(rec.buffered_samples())
    bound = window_samples(cfg) + rec.step + rec.chunk_samples
    assert all(samples <= bound for samples, _ in sizes)
    assert all(frames <= bound // cfg.features.hop_length + 1 for _, frames in sizes)


def test_silence_gives_no_speech_estimates(setup):
    _, predictor, _, _ = setup
    est = StreamingRecognizer(predictor).run(np.zeros(16000, np.float32))
    assert est and all(e.label == NO_SPEECH and e.probabilities is None for e in est)


def test_demo_recording_truth_follows_the_requested_labels(setup):
    cfg, _, y, truth = setup
    assert truth.shape == y.shape
    first, last = sernet.labels.class_index("neutral"), sernet.labels.class_index("angry")
    assert truth[0] == first and truth[-1] == last
    assert np.count_nonzero(np.diff(truth)) == 1  # one change of emotion
