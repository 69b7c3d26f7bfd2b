"""sernet serve: every endpoint and error path in-process (Starlette TestClient) and on a real uvicorn,
micro-batching, the bounded queue, the stream against StreamingRecognizer, and the load test's JSON."""

from __future__ import annotations

import io
import json
import threading
import time

import numpy as np
import pytest
import soundfile as sf
from tiny import TINY_MODEL

import sernet
from sernet.deploy.predictor import NO_SPEECH, Predictor, write_metadata
from sernet.deploy.serve import MicroBatcher, QueueFull, create_app
from sernet.deploy.streaming import StreamingRecognizer, demo_recording, estimates_array

starlette_testclient = pytest.importorskip("starlette.testclient")
TestClient = starlette_testclient.TestClient

SR = 16000
TINY = {**TINY_MODEL, "features.max_length": 100, "deploy.stream_hop_s": 0.25}


@pytest.fixture(scope="module")
def setup():
    from sernet.backend import keras
    from sernet.features import extract_frame_features
    from sernet.model import build_sernet

    cfg = sernet.config.override(sernet.config.load("smoke"), TINY)
    y, _, _ = demo_recording(cfg, labels=("neutral", "angry"), utterances_per_segment=1)
    raw = extract_frame_features(y, cfg.features)
    keras().utils.set_random_seed(0)
    model = build_sernet(cfg)
    predictor = Predictor.from_model(model, cfg, raw.mean(axis=0), raw.std(axis=0))
    return cfg, predictor, y


def wav(y: np.ndarray, sr: int = SR, subtype: str = "FLOAT") -> bytes:
    buf = io.BytesIO()
    sf.write(buf, y, sr, format="WAV", subtype=subtype)
    return buf.getvalue()


def post(client, data: bytes, ctype: str = "audio/wav", **headers):
    return client.post("/v1/predict", content=data, headers={"content-type": ctype, **headers})


def serve_cfg(cfg, **changes):
    return sernet.config.override(cfg, {f"serve.{k}": v for k, v in changes.items()})


class GatedRunner:
    """A runner that blocks inside ``logits`` until released (a deterministic busy model)."""

    def __init__(self, runner) -> None:
        self.runner, self.entered, self.release = runner, threading.Event(), threading.Event()

    def logits(self, x, m):
        self.entered.set()
        self.release.wait(30)
        return self.runner.logits(x, m)


def gated(predictor):
    import copy

    p = copy.copy(predictor)
    p.runner = GatedRunner(predictor.runner)
    return p


# ----------------------------------------------------------------------------------------------- HTTP
def test_health_and_model_contract(setup):
    cfg, predictor, _ = setup
    with TestClient(create_app(predictor, cfg)) as c:
        assert c.get("/health").json()["status"] == "ok"
        info = c.get("/v1/model").json()
    assert info["classes"] == list(sernet.EMOTIONS)
    assert info["input"]["sample_rate_hz"] == SR and info["input"]["max_length_frames"] == 100
    assert "WAV" in info["input"]["formats"] and info["stream"]["encodings"] == ["pcm16", "float32"]
    assert info["version"]["sernet"] == sernet.__version__


def test_predict_raw_and_multipart_equal_the_predictor(setup):
    cfg, predictor, y = setup
    want = predictor.predict(y)
    with TestClient(create_app(predictor, cfg)) as c:
        raw = post(c, wav(y))
        multi = c.post("/v1/predict", files={"file": ("clip.wav", wav(y), "audio/wav")})
    for r in (raw, multi):
        assert r.status_code == 200, r.text
        body = r.json()
        assert body["label"] == want.label and body["no_speech"] is False and body["repairs"] == []
        np.testing.assert_allclose([body["probabilities"][k] for k in predictor.classes],
                                   [want.probabilities[k] for k in predictor.classes], atol=1e-5)
        assert len(body["windows"]) == len(want.window_starts_s) > 1


def test_stereo_upload_at_another_rate_is_repaired_and_says_so(setup, tmp_path):
    cfg, predictor, y = setup
    import librosa

    y8 = librosa.resample(y[:SR], orig_sr=SR, target_sr=8000)
    stereo = np.stack([y8, 0.5 * y8], axis=1)
    buf = io.BytesIO()
    sf.write(buf, stereo, 8000, format="FLAC")
    with TestClient(create_app(predictor, cfg)) as c:
        r = post(c, buf.getvalue(), "audio/flac")
    assert r.status_code == 200, r.text
    assert r.json()["repairs"] == ["averaged 2 channels to mono", "resampled 8000 Hz to 16000 Hz"]
    path = tmp_path / "s.flac"
    sf.write(path, stereo, 8000, format="FLAC")
    want = predictor.predict(str(path))  # read_audio: the same mono average and soxr resampling
    np.testing.assert_allclose([r.json()["probabilities"][k] for k in predictor.classes],
                               [want.probabilities[k] for k in predictor.classes], atol=1e-5)


def test_silence_is_no_speech_not_an_error(setup):
    cfg, predictor, _ = setup
    with TestClient(create_app(predictor, cfg)) as c:
        r = post(c, wav(np.zeros(SR, np.float32)))
    assert r.status_code == 200
    assert r.json()["label"] == NO_SPEECH and r.json()["no_speech"] is True and r.json()["probabilities"] == {}


def nan_wav() -> bytes:
    y = np.full(SR // 2, 0.1, np.float32)
    y[100] = np.nan
    return wav(y)


@pytest.mark.parametrize("data,ctype,status,code", [
    (b"not audio at all", "audio/wav", 422, "unreadable"),
    (b"", "audio/wav", 422, "empty"),
    (None, "audio/wav", 422, "non_finite"),
    (b"RIFF", "application/octet-stream", 422, "unreadable"),
    (b"--b\r\ngarbage", "multipart/form-data", 400, "malformed_multipart"),  # no boundary
    (b"--b\r\ngarbage", "multipart/form-data; boundary=b", 400, "missing_file"),  # no part at all
    (b"--b\r\nContent-Disposition: form-data; name=\"x\"\r\n\r\n1\r\n--b--\r\n", "multipart/form-data; boundary=b",
     400, "missing_file"),
    (b'{"path": "/etc/passwd"}', "application/json", 415, "unsupported_media_type"),
])
def test_bad_requests_get_an_error_code_and_the_server_lives_on(setup, data, ctype, status, code):
    cfg, predictor, y = setup
    data = nan_wav() if data is None else data
    with TestClient(create_app(predictor, cfg), raise_server_exceptions=False) as c:
        r = post(c, data, ctype)
        assert (r.status_code, r.json()["error"]["code"]) == (status, code), r.text
        assert r.json()["error"]["message"]
        assert post(c, wav(y[:SR])).status_code == 200  # still serving


def test_too_short_audio_is_422_with_the_audio_error_code(setup):
    cfg, predictor, _ = setup
    with TestClient(create_app(predictor, cfg)) as c:
        r = post(c, wav(np.full(100, 0.1, np.float32)))
    assert r.status_code == 422 and r.json()["error"]["code"] == "too_short"
    assert "upload" in r.json()["error"]["message"]


def test_limits_on_bytes_and_duration_are_413(setup):
    cfg, predictor, y = setup
    small = serve_cfg(cfg, max_upload_bytes=1000, max_duration_s=0.5)
    with TestClient(create_app(predictor, small)) as c:
        big = post(c, wav(y))
        assert big.status_code == 413 and "1000-byte" in big.json()["error"]["message"]
    roomy = serve_cfg(cfg, max_duration_s=0.5)
    with TestClient(create_app(predictor, roomy)) as c:
        long = post(c, wav(y))
        assert long.status_code == 413 and "0.5 s limit" in long.json()["error"]["message"]


def test_bearer_token(setup):
    cfg, predictor, y = setup
    with TestClient(create_app(predictor, cfg, token="s3cret")) as c:
        assert c.get("/health").status_code == 200 and c.get("/").status_code == 200  # public
        for headers in ({}, {"authorization": "Bearer wrong"}, {"authorization": "Basic s3cret"}):
            r = c.get("/v1/model", headers=headers)
            assert r.status_code == 401 and r.headers["www-authenticate"] == "Bearer"
        assert post(c, wav(y[:SR])).status_code == 401
        assert c.get("/v1/model", headers={"authorization": "Bearer s3cret"}).status_code == 200
        assert post(c, wav(y[:SR]), authorization="Bearer s3cret").status_code == 200
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_json({"type": "start", "sample_rate_hz": SR, "encoding": "pcm16"})
            assert ws.receive_json()["code"] == "unauthorized"
        with c.websocket_connect("/v1/stream") as ws:
            ws.send_json({"type": "start", "sample_rate_hz": SR, "encoding": "pcm16", "token": "s3cret"})
            assert ws.receive_json()["type"] == "ready"


def test_no_request_can_name_a_server_file(setup, monkeypatch):
    cfg, predictor, _ = setup
    import sernet.deploy.predictor as predictor_module
    import sernet.deploy.serve.uploads as uploads

    opened = []
    real = uploads.sf.SoundFile
    monkeypatch.setattr(uploads.sf, "SoundFile", lambda f, *a, **k: opened.append(f) or real(f, *a, **k))
    monkeypatch.setattr(predictor_module, "read_audio", lambda *a, **k: pytest.fail(f"read_audio{a}"))
    secret = sernet.config.__file__
    with TestClient(create_app(predictor, cfg)) as c:
        codes = [post(c, secret.encode()).status_code,
                 c.post("/v1/predict", files={"file": (secret, secret.encode(), "audio/wav")}).status_code,
                 c.post("/v1/predict", files={"file": ("x.wav", b"x")}, data={"path": secret}).status_code]
        paths = [c.get(p) for p in ("/app.js/../../config.py", "/%2e%2e/config.py", "/static/../config.py",
                                    "/index.html?file=" + secret)]
    assert codes == [422, 422, 422]
    assert all(isinstance(f, io.BytesIO) for f in opened) and len(opened) == 3
    assert [r.status_code for r in paths] == [404] * 4
    assert not any("EMOTIONS" in r.text for r in paths)


def test_page_and_scripts_are_served(setup):
    cfg, predictor, _ = setup
    with TestClient(create_app(predictor, cfg)) as c:
        page, js, worklet = c.get("/"), c.get("/app.js"), c.get("/worklet.js")
        assert c.post("/").status_code == 405 and c.get("/v1/predict").status_code == 405
    assert page.status_code == 200 and "/app.js" in page.text and "<canvas" in page.text
    assert js.headers["content-type"].startswith("text/javascript") and "/v1/stream" in js.text
    assert "registerProcessor" in worklet.text
    assert "http" not in js.text.replace("https:", "")  # nothing loaded from elsewhere


# --------------------------------------------------------------------------------- batching and queue
def test_microbatcher_batches_concurrent_requests_and_keeps_order():
    sizes = []

    def fn(x, m):
        sizes.append(len(x))
        return x[:, :, 0].sum(axis=1, keepdims=True)

    b = MicroBatcher(fn, max_batch=8, max_wait_s=30.0, queue_size=8)
    futures = [b.submit(np.full((2, 3, 1), i, np.float32), np.ones((2, 3))) for i in range(4)]
    out = [f.result(10).ravel().tolist() for f in futures]
    assert sizes == [8] and b.stats.batches == 1 and b.stats.requests == 4  # full batch: no waiting
    assert out == [[3.0 * i] * 2 for i in range(4)]
    big = b.run(np.ones((19, 3, 1), np.float32), np.ones((19, 3)))  # one request over max_batch: split
    assert len(big) == 19 and sizes[1:] == [8, 8, 3]
    b.close()


def test_microbatcher_queue_bound_and_errors():
    gate = threading.Event()

    def fn(x, m):
        gate.wait(10)
        if np.any(x < 0):
            raise ValueError("bad window")
        return x[:, 0, :1]

    b = MicroBatcher(fn, max_batch=1, max_wait_s=0.0, queue_size=2)
    one = np.ones((1, 2, 1), np.float32)
    first, second = b.submit(one, one[..., 0]), b.submit(-one, one[..., 0])
    with pytest.raises(QueueFull, match="queue_size=2"):
        b.submit(one, one[..., 0])
    gate.set()
    assert first.result(10).tolist() == [[1.0]]
    with pytest.raises(ValueError, match="bad window"):
        second.result(10)
    assert b.run(one, one[..., 0]).tolist() == [[1.0]]  # the worker survived the error
    b.close()
    with pytest.raises(sernet.errors.SernetError, match="shut down"):
        b.submit(one, one[..., 0])


def test_concurrent_requests_share_one_forward_pass(setup):
    cfg, predictor, y = setup
    clip = y[: SR // 2]  # 0.5 s: one window each
    want = predictor.predict(clip).probabilities
    app = create_app(predictor, serve_cfg(cfg, max_batch=4, max_wait_ms=30000.0))
    with TestClient(app) as c:
        before = app.state.batcher.stats.batches
        results = [None] * 4
        threads = [threading.Thread(target=lambda i=i: results.__setitem__(i, post(c, wav(clip)))) for i in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        stats = app.state.batcher.stats
    assert all(r.status_code == 200 for r in results)
    assert stats.batches - before == 1 and stats.sizes[-1] == 4
    for r in results:
        np.testing.assert_allclose([r.json()["probabilities"][k] for k in predictor.classes],
                                   [want[k] for k in predictor.classes], atol=1e-5)


def test_full_queue_is_503_with_retry_after(setup):
    cfg, predictor, y = setup
    p = gated(predictor)
    app = create_app(p, serve_cfg(cfg, queue_size=1, retry_after_s=3))
    with TestClient(app) as c:
        first = {}
        t = threading.Thread(target=lambda: first.setdefault("r", post(c, wav(y[:SR]))))
        t.start()
        assert p.runner.entered.wait(30)
        second = post(c, wav(y[:SR]))
        with c.websocket_connect("/v1/stream") as ws:  # a stream is refused too, with "try again later"
            ws.send_json({"type": "start", "sample_rate_hz": SR, "encoding": "float32"})
            refused = ws.receive_json()
        p.runner.release.set()
        t.join(30)
    assert second.status_code == 503 and second.headers["retry-after"] == "3"
    assert second.json()["error"]["code"] == "busy"
    assert first["r"].status_code == 200
    assert refused["type"] == "error" and refused["code"] == "busy"


# ----------------------------------------------------------------------------------------- streaming
def stream_over(client, y, encoding="float32", rate=SR, chunk=1600, **start):
    dtype = "<f4" if encoding == "float32" else "<i2"
    with client.websocket_connect("/v1/stream") as ws:
        ws.send_json({"type": "start", "sample_rate_hz": rate, "encoding": encoding, **start})
        ready = ws.receive_json()
        assert ready["type"] == "ready", ready
        data = y.astype(dtype) if encoding == "float32" else np.round(y * 32767).astype(dtype)
        for i in range(0, len(data), chunk):
            ws.send_bytes(data[i : i + chunk].tobytes())
        ws.send_json({"type": "stop"})
        out = []
        while (m := ws.receive_json())["type"] == "estimate":
            out.append(m)
    assert m == {"type": "end", "estimates": len(out)}
    return out


def as_array(messages, classes):
    return np.array([[m["probabilities"][c] for c in classes] if m["probabilities"] else [np.nan] * len(classes)
                     for m in messages], np.float32)


@pytest.mark.parametrize("encoding", ["float32", "pcm16"])
def test_stream_equals_the_streaming_recognizer(setup, encoding):
    cfg, predictor, y = setup
    sent = y if encoding == "float32" else np.round(y * 32767).astype(np.int16).astype(np.float32) / 32768.0
    want = StreamingRecognizer(predictor).run(sent)
    with TestClient(create_app(predictor, cfg)) as c:
        got = stream_over(c, y, encoding, chunk=997)
    assert [m["time_s"] for m in got] == pytest.approx([e.time_s for e in want])
    assert [m["label"] for m in got] == [e.label for e in want]
    np.testing.assert_allclose(as_array(got, predictor.classes), estimates_array(want, len(predictor.classes)),
                               atol=1e-5)


def test_stream_at_a_declared_rate_is_resampled(setup):
    cfg, predictor, y = setup
    import soxr

    y48 = soxr.resample(y[:SR], SR, 48000).astype(np.float32)
    ref = soxr.ResampleStream(48000, SR, 1, dtype="float32", quality="HQ").resample_chunk(y48, last=True)
    want = StreamingRecognizer(predictor).run(np.asarray(ref, np.float32))
    with TestClient(create_app(predictor, cfg)) as c:
        got = stream_over(c, y48, rate=48000, chunk=4800)
    np.testing.assert_allclose(as_array(got, predictor.classes), estimates_array(want, len(predictor.classes)),
                               atol=1e-4)


@pytest.mark.parametrize("start,payload,code,close", [
    ({"type": "hello"}, None, "protocol", 1008),
    ({"type": "start", "sample_rate_hz": 12345}, None, "bad_rate", 1008),
    ({"type": "start", "sample_rate_hz": SR, "encoding": "mp3"}, None, "bad_encoding", 1008),
    ({"type": "start", "sample_rate_hz": SR, "encoding": "pcm16"}, b"\x00\x01\x02", "unreadable", 1007),
    ({"type": "start", "sample_rate_hz": SR, "encoding": "float32"}, np.array([np.nan] * 4, "<f4").tobytes(),
     "non_finite", 1007),
    ({"type": "start", "sample_rate_hz": SR, "encoding": "float32"}, "text", "protocol", 1008),
])
def test_stream_errors_are_messages_and_close_codes(setup, start, payload, code, close):
    cfg, predictor, _ = setup
    from starlette.websockets import WebSocketDisconnect

    with TestClient(create_app(predictor, cfg)) as c, c.websocket_connect("/v1/stream") as ws:
        ws.send_json(start)
        if payload is not None:
            assert ws.receive_json()["type"] == "ready"
            ws.send_text(payload) if isinstance(payload, str) else ws.send_bytes(payload)
        err = ws.receive_json()
        assert err["type"] == "error" and err["code"] == code and err["message"]
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == close


def test_stream_over_the_duration_limit_is_closed_1009(setup):
    cfg, predictor, y = setup
    from starlette.websockets import WebSocketDisconnect

    with TestClient(create_app(predictor, serve_cfg(cfg, max_stream_s=0.2))) as c, \
            c.websocket_connect("/v1/stream") as ws:
        ws.send_json({"type": "start", "sample_rate_hz": SR, "encoding": "float32"})
        ws.receive_json()
        ws.send_bytes(y[: SR // 2].astype("<f4").tobytes())
        assert ws.receive_json()["code"] == "too_large"
        with pytest.raises(WebSocketDisconnect) as info:
            ws.receive_json()
        assert info.value.code == 1009


# ------------------------------------------------------------------------------------- real uvicorn
def test_real_uvicorn_on_an_ephemeral_port_finishes_in_flight_requests(setup):
    cfg, predictor, y = setup
    import httpx
    from websockets.sync.client import connect

    from sernet.deploy.serve.server import make_server

    p = gated(predictor)
    p.runner.release.set()
    server, sock = make_server(create_app(p, cfg), cfg, "127.0.0.1", 0)
    host, port = sock.getsockname()[:2]
    assert host == "127.0.0.1" and port > 0
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    url = f"http://{host}:{port}"
    for _ in range(200):
        if server.started:
            break
        time.sleep(0.05)
    with httpx.Client(base_url=url, timeout=60) as h:
        assert h.get("/health").json()["status"] == "ok"
        assert h.post("/v1/predict", content=b"junk", headers={"content-type": "audio/wav"}).status_code == 422
        with connect(f"ws://{host}:{port}/v1/stream") as ws:
            ws.send(json.dumps({"type": "start", "sample_rate_hz": SR, "encoding": "float32"}))
            assert json.loads(ws.recv())["type"] == "ready"
            ws.send(y[: SR // 2].astype("<f4").tobytes())
            assert json.loads(ws.recv())["type"] == "estimate"
        p.runner.entered.clear()
        p.runner.release.clear()
        result = {}
        t = threading.Thread(target=lambda: result.setdefault("r", h.post(
            "/v1/predict", content=wav(y[:SR]), headers={"content-type": "audio/wav"})))
        t.start()
        assert p.runner.entered.wait(30)
        server.should_exit = True  # what SIGINT/SIGTERM do: stop accepting, finish what is in flight
        time.sleep(0.2)
        p.runner.release.set()
        t.join(30)
    thread.join(30)
    assert result["r"].status_code == 200 and result["r"].json()["label"] in predictor.classes
    assert not thread.is_alive()


# --------------------------------------------------------------------------------------- the load test
def test_bench_serve_json_with_a_tiny_model(setup, tmp_path, capsys):
    cfg, predictor, _ = setup
    run = tmp_path / "run"
    run.mkdir()
    predictor.model.save(run / "model.keras")
    write_metadata(run, cfg, predictor.norm_mean, predictor.norm_std, predictor.classes)
    from sernet.cli import main

    argv = ["-q", "--set", "serve.bench_clients=2", "--set", "serve.bench_overload_clients=6",
            "--set", "serve.queue_size=2", "--set", "serve.bench_clip_lengths_s=0.5,1.5",
            "--set", "serve.bench_offline_s=0.5",
            "bench", "serve", "--model", str(run), "--seconds", "1", "--json"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    phases = {ph["phase"]: ph for ph in report["phases"]}
    assert set(phases) == {"clean", "malformed", "overload"}
    for ph in phases.values():
        assert ph["requests"] > 0 and ph["errors_well_formed"] == 0, ph
        assert {"throughput_rps", "p50_ms", "p95_ms", "p99_ms", "status_counts"} <= set(ph)
    assert phases["malformed"]["malformed_sent"] > 0
    assert phases["malformed"]["malformed_rejected"] == phases["malformed"]["malformed_sent"]
    assert phases["overload"]["status_counts"].get("503", 0) > 0  # 6 clients against a queue of 2
    assert report["offline"]["clips_per_s"] > 0 and report["rss_mb"]
    off = report["offline"]
    assert off["cpu_s"] > 0 and off["clips_per_cpu_s"] == pytest.approx(off["clips"] / off["cpu_s"], rel=1e-2)
    clean = phases["clean"]
    if clean["server_cpu_s"]:  # Linux /proc
        expected = clean["ok"] / clean["server_cpu_s"] / off["clips_per_cpu_s"]
        assert report["per_cpu_vs_offline"] == pytest.approx(expected, rel=1e-2)
    assert report["server_shutdown"]["graceful"] is True  # SIGTERM: in-flight finished, worker stopped


def test_a_failing_model_is_a_logged_500_and_the_next_request_is_served(setup, caplog):
    cfg, predictor, y = setup
    import copy

    class Flaky:
        calls = 0

        def logits(self, x, m):
            Flaky.calls += 1
            if Flaky.calls == 1:
                raise RuntimeError("kernel exploded")
            return predictor.runner.logits(x, m)

    p = copy.copy(predictor)
    p.runner = Flaky()
    with caplog.at_level("INFO", logger="sernet"), TestClient(create_app(p, cfg)) as c:
        bad, good = post(c, wav(y[:SR])), post(c, wav(y[:SR]))
    assert bad.status_code == 500 and bad.json()["error"]["code"] == "internal"
    assert "kernel exploded" not in bad.text  # no internals to the client
    assert good.status_code == 200
    lines = [r.getMessage() for r in caplog.records if r.name == "sernet.serve"]
    assert any('"POST /v1/predict" 500' in ln for ln in lines) and any('"POST /v1/predict" 200' in ln for ln in lines)
    assert any("kernel exploded" in (r.exc_text or "") or r.exc_info for r in caplog.records if r.levelname == "ERROR")


def test_background_server_serves_a_load_curve_and_stops_when_left(setup):
    import httpx

    from sernet.bench.serve import load_curve, make_clips
    from sernet.deploy.serve.server import background_server

    cfg, predictor, y = setup
    clips = make_clips(cfg)
    with background_server(create_app(predictor, cfg), cfg) as url:
        assert url.startswith("http://127.0.0.1:") and not url.endswith(":0")
        assert httpx.get(url + "/health", timeout=30).json()["status"] == "ok"
        rows = load_curve(url, (1, 2), 0.5, clips, cfg.serve.timeout_s)
    assert [r["clients"] for r in rows] == [1, 2]
    for r in rows:
        assert r["ok"] == r["requests"] > 0 and r["errors_well_formed"] == 0
        assert r["p50_ms"] <= r["p95_ms"]
    with pytest.raises(httpx.HTTPError):  # left: nothing listens there any more
        httpx.get(url + "/health", timeout=2)
