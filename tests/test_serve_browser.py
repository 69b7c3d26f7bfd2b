"""The page at / in the distribution's Chromium (headless, selenium, chromedriver) with a fake microphone
fed from a known synthetic recording: it shows estimates, and they match the offline prediction.

What is compared, and why
-------------------------
Chromium's fake capture device plays the WAV file in a loop from a point the test does not control, and its
audio passes the browser's own resampler (file rate -> device rate -> the page's 16 kHz AudioContext). So
the samples the server receives are the recording, shifted by an unknown lag and filtered by that resampler:
not bit-equal. The test therefore checks the chain in two links, each against a stated tolerance:

1. the audio the server received is the known recording: each quarter second, aligned on its own to the
   looped file (cross-correlation), has a normalised correlation with it whose median is >= 0.9 (Chromium's
   capture path resamples, and under load its fake device may drop or repeat a block: 0.91-0.99 per segment
   measured on a loaded 2-core machine), while the same statistic against the recording played backwards
   (a wrong signal of the same spectrum) stays < 0.5;
2. every estimate the page shows equals the offline prediction of the window it describes, computed with
   :func:`sernet.deploy.streaming.offline_estimates` on the received audio (|Δp| <= 1e-4, the streaming
   parity bound of tests/test_streaming.py): the page shows what the model says about that audio, in order,
   with the right labels.
"""

from __future__ import annotations

import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
from tiny import TINY_MODEL

import sernet
from sernet.data.audio import write_wav
from sernet.deploy.predictor import Predictor
from sernet.deploy.streaming import StreamingRecognizer, demo_recording, offline_estimates

CHROMIUM = next((p for p in ("/usr/bin/chromium", "/usr/bin/chromium-browser") if Path(p).exists()), None)
CHROMEDRIVER = shutil.which("chromedriver") or ("/usr/bin/chromedriver" if Path("/usr/bin/chromedriver").exists()
                                                else None)
webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed (pip install selenium)")
pytestmark = pytest.mark.skipif(
    CHROMIUM is None or CHROMEDRIVER is None,
    reason="needs the distribution's Chromium and chromedriver (Debian: apt-get install chromium chromium-driver)",
)

SR = 16000
TINY = {**TINY_MODEL, "features.max_length": 100, "deploy.stream_hop_s": 0.25}
ESTIMATES = 10  # estimates to wait for (2.5 s of streamed audio at the 0.25 s hop)
CORRELATION_MIN = 0.9  # median over 0.25 s segments; measured 0.91-0.99 per segment (the browser resamples)
CONTROL_MAX = 0.5  # the same statistic against the recording played backwards (a wrong signal) stays below
SIGNAL_NORM = 0.05  # segments quieter than this (L2 norm) are pauses, not compared
PROB_ATOL = 1e-4


class Recorder:
    """Keeps every chunk a StreamingRecognizer of the server is pushed (the audio the server received)."""

    def __init__(self, monkeypatch) -> None:
        self.chunks: list[np.ndarray] = []
        real = StreamingRecognizer.push

        def push(rec, chunk):
            self.chunks.append(np.asarray(chunk, np.float32).copy())
            return real(rec, chunk)

        monkeypatch.setattr(StreamingRecognizer, "push", push)

    def audio(self) -> np.ndarray:
        return np.concatenate(self.chunks) if self.chunks else np.zeros(0, np.float32)


def segment_correlations(received: np.ndarray, recording: np.ndarray, size: int) -> list[float]:
    """For each ``size``-sample segment of ``received`` with signal in it: the normalised correlation with
    the best-matching stretch of the looped ``recording`` (each segment aligned on its own, so blocks the
    browser drops or repeats under load do not count against the rest)."""
    from scipy.signal import correlate

    loop = np.concatenate([recording, recording[: 2 * size]])
    energy = np.sqrt(np.convolve(loop**2, np.ones(size), mode="valid"))
    out = []
    for s0 in range(0, len(received) - size + 1, size):
        seg = received[s0 : s0 + size]
        norm = np.linalg.norm(seg)
        if norm < SIGNAL_NORM:
            continue
        xc = correlate(loop, seg, mode="valid", method="fft")[: len(recording)]
        out.append(float(np.max(xc / (energy[: len(recording)] * norm + 1e-12))))
    return out


@pytest.fixture(scope="module")
def model():
    from sernet.backend import keras
    from sernet.features import extract_frame_features
    from sernet.model import build_sernet

    cfg = sernet.config.override(sernet.config.load("smoke"), TINY)
    y, _, _ = demo_recording(cfg, labels=("neutral", "angry"), utterances_per_segment=1)
    raw = extract_frame_features(y, cfg.features)
    keras().utils.set_random_seed(0)
    return cfg, Predictor.from_model(build_sernet(cfg), cfg, raw.mean(axis=0), raw.std(axis=0)), y


def test_page_streams_the_fake_microphone_and_shows_the_offline_estimates(model, tmp_path, monkeypatch):
    from selenium.webdriver.chrome.options import Options
    from selenium.webdriver.chrome.service import Service
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    from sernet.deploy.serve import create_app
    from sernet.deploy.serve.server import make_server

    cfg, predictor, y = model
    recording = tmp_path / "mic.wav"
    write_wav(recording, y, SR)  # 16-bit PCM, what the fake device reads
    import soundfile as sf

    played = sf.read(recording, dtype="float32")[0]
    recorder = Recorder(monkeypatch)
    server, sock = make_server(create_app(predictor, cfg), cfg, "127.0.0.1", 0)
    port = sock.getsockname()[1]
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    opts = Options()
    opts.binary_location = CHROMIUM
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                f"--use-file-for-fake-audio-capture={recording}", "--autoplay-policy=no-user-gesture-required",
                f"--user-data-dir={tmp_path / 'profile'}"):
        opts.add_argument(arg)
    driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=opts)
    try:
        for _ in range(200):
            if server.started:
                break
            time.sleep(0.05)
        driver.get(f"http://127.0.0.1:{port}/")
        driver.find_element(By.ID, "start").click()
        WebDriverWait(driver, 60).until(lambda d: d.execute_script("return window.sernetEstimates.length")
                                        >= ESTIMATES)
        driver.find_element(By.ID, "stop").click()
        WebDriverWait(driver, 30).until(lambda d: "stopped" in d.find_element(By.ID, "status").text)
        shown = driver.execute_script("return window.sernetEstimates")
        label_text = driver.find_element(By.ID, "label").text
        status = driver.find_element(By.ID, "status").text
        logs = driver.get_log("browser") if hasattr(driver, "get_log") else []
    finally:
        driver.quit()
        server.should_exit = True
        thread.join(30)

    assert len(shown) >= ESTIMATES, (status, logs)
    assert label_text == shown[-1]["label"] and label_text in (*predictor.classes, "no_speech")
    received = recorder.audio()
    # 1. the server got the known recording (looped, shifted, resampled by the browser)
    assert len(received) >= ESTIMATES * cfg.deploy.stream_hop_s * SR
    corr = segment_correlations(received, played, int(cfg.deploy.stream_hop_s * SR))
    assert len(corr) >= ESTIMATES // 2, "the server received (almost) no signal"
    assert np.median(corr) >= CORRELATION_MIN, f"received audio vs the recording, per segment: {np.round(corr, 3)}"
    control = segment_correlations(received, played[::-1].copy(), int(cfg.deploy.stream_hop_s * SR))
    assert np.median(control) < CONTROL_MAX, f"the check does not discriminate: {np.round(control, 3)}"
    # 2. what the page shows is the offline prediction of the windows of that audio
    times, offline = offline_estimates(predictor, received)
    assert [round(e["time_s"], 6) for e in shown] == [round(float(t), 6) for t in times[: len(shown)]]
    page = np.array([[e["probabilities"][c] for c in predictor.classes] if e["probabilities"]
                     else [np.nan] * len(predictor.classes) for e in shown], np.float32)
    np.testing.assert_allclose(page, offline[: len(shown)], atol=PROB_ATOL)
    want_labels = [predictor.classes[int(np.argmax(p))] if np.all(np.isfinite(p)) else "no_speech"
                   for p in offline[: len(shown)]]
    assert [e["label"] for e in shown] == want_labels
