"""The ASGI app of ``sernet serve`` (Starlette): prediction over HTTP, streaming over a WebSocket, a web page.

Endpoints
---------
``GET /``
    The web page: records the microphone, streams it to ``/v1/stream``, plots the class probabilities.
``GET /health``
    ``{"status": "ok", "pending": n}`` (no token needed).
``GET /v1/model``
    Classes, version and the input contract (rate, formats, limits, stream encodings).
``POST /v1/predict``
    One audio file, as the raw body (``audio/*`` or ``application/octet-stream``) or as the ``file`` part of
    ``multipart/form-data``; any format libsndfile reads, any rate (resampled), any channel count (averaged).
    Answers the :class:`sernet.deploy.predictor.Prediction` as JSON (``label``, ``probabilities``,
    ``windows``, ``duration_s``) with ``no_speech`` and the ``repairs`` made.
``WS /v1/stream``
    First a JSON text message ``{"type": "start", "sample_rate_hz": 48000, "encoding": "pcm16"|"float32"}``
    (and ``"token"`` when the server has one), answered by ``{"type": "ready", ...}``; then binary messages of
    little-endian samples; every ``deploy.stream_hop_s`` of audio the server sends
    ``{"type": "estimate", "time_s", "start_s", "label", "probabilities"}`` (the
    :class:`sernet.deploy.streaming.StreamingRecognizer` estimate; ``probabilities`` null for no speech).
    ``{"type": "stop"}`` ends the stream (``{"type": "end", "estimates": n}``, close 1000).

Errors are JSON ``{"error": {"code": ..., "message": ...}}``: 400 malformed multipart, 401 missing or wrong
bearer token, 413 upload over ``serve.max_upload_bytes`` or audio over ``serve.max_duration_s``, 415 a content
type that is not audio, 422 unusable audio (``code`` is the :class:`sernet.errors.AudioError` problem:
``unreadable``, ``empty``, ``non_finite``, ``too_short``, ...), 503 with ``Retry-After`` when
``serve.queue_size`` requests and streams are already in the server, 500 for anything unexpected (logged; the server
lives on). On the WebSocket an error is an ``{"type": "error", "code", "message"}`` message and a close code
(1007 bad audio, 1008 token or protocol, 1009 too long, 1013 busy).

Concurrency
-----------
Decoding and feature extraction run in ``serve.feature_threads`` threads, the model in the one worker
thread of :class:`sernet.deploy.serve.batching.MicroBatcher`: the event loop only moves bytes. Every request
is logged on the ``sernet.serve`` logger (method, path, status, milliseconds).
"""

from __future__ import annotations

import asyncio
import copy
import hmac
import json
import logging
import time
from importlib import resources
from pathlib import Path
from typing import Any

import numpy as np
from starlette.applications import Starlette
from starlette.requests import ClientDisconnect, Request
from starlette.responses import HTMLResponse, JSONResponse, Response
from starlette.routing import Route, WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect, WebSocketState

import sernet
from sernet.config import Config
from sernet.deploy.predictor import Prediction, Predictor, softmax
from sernet.deploy.serve.batching import MicroBatcher, QueueFull
from sernet.deploy.serve.uploads import ENCODINGS, StreamResampler, TooLarge, decode_chunk, decode_upload
from sernet.errors import AudioError, SernetError

log = logging.getLogger("sernet.serve")

PUBLIC_PATHS = ("/", "/health", "/app.js", "/worklet.js")  # no token needed (the page asks for one)
STATIC_FILES = {"/": ("index.html", "text/html"), "/app.js": ("app.js", "text/javascript"),
                "/worklet.js": ("worklet.js", "text/javascript")}
UPLOAD_FIELD = "file"
MAX_FORM_FIELDS = 8  # a form with more parts than this is not an upload
RAW_TYPES = ("audio/", "application/octet-stream")
SHUTDOWN_MESSAGE = "shut down: in-flight requests finished, model worker stopped"
WS_BAD_DATA, WS_POLICY, WS_TOO_BIG, WS_TRY_LATER = 1007, 1008, 1009, 1013


class HTTPProblem(Exception):
    """An error answer: status, code and message (and extra headers)."""

    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.headers = status, code, message, headers or {}

    def response(self) -> JSONResponse:
        return JSONResponse({"error": {"code": self.code, "message": self.message}}, self.status, self.headers)


class BatchedRunner:
    """A runner whose ``logits`` go through the batcher (for code that calls ``predictor.runner`` from a
    thread, e.g. :class:`~sernet.deploy.streaming.StreamingRecognizer`)."""

    def __init__(self, batcher: MicroBatcher) -> None:
        self.batcher = batcher

    def logits(self, features: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return self.batcher.run(features, mask)


class ServeState:
    """What the app holds: the predictor, the serve settings, the batcher and the admission count."""

    def __init__(self, predictor: Predictor, cfg: Config, token: str | None) -> None:
        self.predictor = predictor
        self.settings = cfg.serve
        self.token = token or None
        self.batched = copy.copy(predictor)
        self.batcher: MicroBatcher | None = None
        self.open()
        self.admitted = 0
        self._limiter = None

    def open(self) -> None:
        """Start the model worker (again, after a shutdown)."""
        if self.batcher is None or self.batcher.closed:
            self.batcher = MicroBatcher(self.predictor.runner.logits, self.settings.max_batch,
                                        self.settings.max_wait_ms / 1000.0, self.settings.queue_size)
            self.batched.runner = BatchedRunner(self.batcher)

    def limiter(self):
        import anyio

        if self._limiter is None:
            self._limiter = anyio.CapacityLimiter(self.settings.feature_threads)
        return self._limiter

    def authorised(self, header: str | None, given: str | None = None) -> bool:
        if self.token is None:
            return True
        if given is None and header:
            scheme, _, value = header.partition(" ")
            given = value.strip() if scheme.lower() == "bearer" else None
        return given is not None and hmac.compare_digest(given.encode(), self.token.encode())

    def model_info(self) -> dict[str, Any]:
        import soundfile as sf

        p, s = self.predictor, self.settings
        fcfg, dcfg = p.cfg.features, p.cfg.deploy
        return {
            "classes": list(p.classes),
            "version": {"sernet": sernet.__version__, "model": p.cfg.fingerprint("features", "model"),
                        "runner": type(p.runner).__name__, "profile": p.cfg.profile},
            "input": {
                "sample_rate_hz": fcfg.sample_rate_hz, "max_length_frames": fcfg.max_length,
                "hop_ms": fcfg.hop_ms, "window_hop_s": dcfg.window_hop_s,
                "formats": sorted(sf.available_formats()), "upload_field": UPLOAD_FIELD,
                "max_upload_bytes": s.max_upload_bytes, "max_duration_s": s.max_duration_s,
            },
            "stream": {"encodings": list(ENCODINGS), "sample_rates_hz": list(s.stream_rates_hz),
                       "hop_s": dcfg.stream_hop_s, "chunk_ms": dcfg.chunk_ms, "max_stream_s": s.max_stream_s},
            "batching": {"max_batch": s.max_batch, "max_wait_ms": s.max_wait_ms, "queue_size": s.queue_size},
        }


def state_of(scope_app) -> ServeState:
    return scope_app.state.serve


# ------------------------------------------------------------------------------------------------ HTTP
def busy(state: ServeState, detail: str) -> HTTPProblem:
    return HTTPProblem(503, "busy", f"server busy: {detail}; retry later",
                       {"Retry-After": str(state.settings.retry_after_s)})


async def read_body(request: Request, limit: int) -> bytes:
    """The request body, refused (413) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise HTTPProblem(413, "too_large", f"upload of {declared} bytes, over the {limit}-byte limit")
    chunks, size = [], 0
    try:
        async for chunk in request.stream():
            size += len(chunk)
            if size > limit:
                raise HTTPProblem(413, "too_large", f"upload over the {limit}-byte limit")
            chunks.append(chunk)
    except ClientDisconnect:
        raise HTTPProblem(400, "disconnected", "the client went away during the upload") from None
    return b"".join(chunks)


async def upload_bytes(request: Request, body: bytes) -> tuple[bytes, str]:
    """The audio bytes and a name for messages, from a raw body or a multipart ``file`` part."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "multipart/form-data":
        from starlette.datastructures import UploadFile
        from starlette.formparsers import MultiPartParser

        async def body_stream():
            yield body

        parser = MultiPartParser(request.headers, body_stream(), max_files=1, max_fields=MAX_FORM_FIELDS,
                                 max_part_size=max(len(body), 1))
        try:
            form = await parser.parse()
        except Exception as exc:  # starlette's MultiPartException, or the parser's own errors
            raise HTTPProblem(400, "malformed_multipart", f"malformed multipart body ({exc})") from None
        try:
            part = form.get(UPLOAD_FIELD)
            if not isinstance(part, UploadFile):
                raise HTTPProblem(400, "missing_file", f"multipart body without a file part named {UPLOAD_FIELD!r}")
            data = await part.read()
            name = Path(part.filename or "").name[:80] or UPLOAD_FIELD
        finally:
            await form.close()
        return data, f"upload {name!r}"
    if ctype.startswith(RAW_TYPES[0]) or ctype == RAW_TYPES[1] or not ctype:
        return body, "upload"
    raise HTTPProblem(415, "unsupported_media_type",
                      f"content type {ctype!r}: send audio bytes (audio/*, application/octet-stream) or "
                      f"multipart/form-data with a {UPLOAD_FIELD!r} file part")


def prediction_json(pred: Prediction, repairs: tuple[str, ...]) -> dict[str, Any]:
    out = pred.to_dict()
    out.pop("source", None)
    out.update(no_speech=not pred.speech, repairs=list(repairs))
    return out


async def predict(request: Request) -> Response:
    import anyio

    state = state_of(request.app)
    s = state.settings
    if state.admitted >= s.queue_size:
        raise busy(state, f"{state.admitted} requests in progress (queue_size={s.queue_size})")
    state.admitted += 1
    try:
        body = await read_body(request, s.max_upload_bytes)
        data, source = await upload_bytes(request, body)
        p = state.predictor

        def prepare():
            audio = decode_upload(data, source, p.cfg.features.sample_rate_hz, s.max_duration_s)
            prepared = p.prepare(audio.y, source)
            windows = None if prepared.raw is None else p.window_inputs(prepared.raw)
            return audio, prepared, windows

        audio, prepared, windows = await anyio.to_thread.run_sync(prepare, limiter=state.limiter())
        if windows is None:
            pred = p.predict_prepared([prepared])[0]  # the documented no-speech result; no model call
        else:
            x, m, starts = windows
            try:
                logits = await state.batcher.logits(x, m)
            except QueueFull as exc:
                raise busy(state, str(exc)) from None
            probs = softmax(logits)
            mean = probs.mean(axis=0)
            pred = Prediction(source, p.classes[int(np.argmax(mean))],
                              {c: float(v) for c, v in zip(p.classes, mean, strict=True)}, prepared.duration_s,
                              (starts * p.cfg.features.hop_ms / 1000.0).astype(np.float32), probs)
        return JSONResponse(prediction_json(pred, audio.repairs))
    finally:
        state.admitted -= 1


async def health(request: Request) -> Response:
    state = state_of(request.app)
    return JSONResponse({"status": "ok", "pending": state.batcher.pending, "in_progress": state.admitted})


async def model(request: Request) -> Response:
    return JSONResponse(state_of(request.app).model_info())


async def static(request: Request) -> Response:
    name, media = STATIC_FILES[request.url.path]
    text = resources.files("sernet.deploy.serve").joinpath("static", name).read_text(encoding="utf-8")
    return HTMLResponse(text, media_type=media) if media == "text/html" else Response(text, media_type=media)


# ------------------------------------------------------------------------------------------- WebSocket
class StreamProblem(Exception):
    def __init__(self, close_code: int, code: str, message: str) -> None:
        super().__init__(message)
        self.close_code, self.code, self.message = close_code, code, message


def estimate_json(e, classes) -> dict[str, Any]:
    probs = None if e.probabilities is None else {c: float(v) for c, v in zip(classes, e.probabilities,
                                                                             strict=True)}
    return {"type": "estimate", "time_s": float(e.time_s), "start_s": float(e.start_s), "label": e.label,
            "probabilities": probs}


async def stream(ws: WebSocket) -> None:
    import anyio

    from sernet.deploy.streaming import StreamingRecognizer

    state = state_of(ws.app)
    s, p = state.settings, state.predictor
    await ws.accept()
    sent, admitted = 0, False
    try:
        try:
            start = json.loads(await asyncio.wait_for(ws.receive_text(), s.timeout_s))
        except (TimeoutError, ValueError, KeyError, TypeError):
            raise StreamProblem(WS_POLICY, "protocol", 'first message: JSON {"type": "start", '
                                '"sample_rate_hz": RATE, "encoding": "pcm16"|"float32"}') from None
        if not isinstance(start, dict) or start.get("type") != "start":
            raise StreamProblem(WS_POLICY, "protocol", 'first message must be {"type": "start", ...}')
        if not state.authorised(ws.headers.get("authorization"), start.get("token")):
            raise StreamProblem(WS_POLICY, "unauthorized", "missing or wrong bearer token")
        rate, encoding = start.get("sample_rate_hz"), start.get("encoding", "pcm16")
        if rate not in s.stream_rates_hz or isinstance(rate, bool):
            raise StreamProblem(WS_POLICY, "bad_rate", f"sample_rate_hz={rate!r}: expected one of "
                                f"{list(s.stream_rates_hz)}")
        if encoding not in ENCODINGS:
            raise StreamProblem(WS_POLICY, "bad_encoding", f"encoding={encoding!r}: expected one of {list(ENCODINGS)}")
        if state.admitted >= s.queue_size:
            raise StreamProblem(WS_TRY_LATER, "busy", f"server busy: {state.admitted} requests and streams in "
                                f"progress (queue_size={s.queue_size}); retry later")
        state.admitted += 1
        admitted = True
        rec = StreamingRecognizer(state.batched)
        resample = StreamResampler(int(rate), p.cfg.features.sample_rate_hz)
        limit = int(s.max_stream_s * p.cfg.features.sample_rate_hz)
        await ws.send_json({"type": "ready", "sample_rate_hz": p.cfg.features.sample_rate_hz,
                            "hop_s": p.cfg.deploy.stream_hop_s, "classes": list(p.classes)})

        async def push(y: np.ndarray) -> int:
            try:
                estimates = await anyio.to_thread.run_sync(rec.push, y, limiter=state.limiter())
            except QueueFull as exc:
                raise StreamProblem(WS_TRY_LATER, "busy", f"server busy: {exc}") from None
            except AudioError as exc:
                raise StreamProblem(WS_BAD_DATA, exc.problem, str(exc)) from None
            for e in estimates:
                await ws.send_json(estimate_json(e, p.classes))
            return len(estimates)

        received = 0
        while True:
            msg = await ws.receive()
            if msg["type"] == "websocket.disconnect":
                return
            if msg.get("bytes") is not None:
                try:
                    y = resample(decode_chunk(msg["bytes"], encoding))
                except AudioError as exc:
                    raise StreamProblem(WS_BAD_DATA, exc.problem, str(exc)) from None
                received += len(y)
                if received > limit:
                    raise StreamProblem(WS_TOO_BIG, "too_large", f"stream over the {s.max_stream_s:g} s limit")
                sent += await push(y)
                continue
            try:
                kind = json.loads(msg.get("text") or "null")
            except ValueError:
                kind = None
            if isinstance(kind, dict) and kind.get("type") == "stop":
                sent += await push(resample(np.zeros(0, np.float32), last=True))
                await ws.send_json({"type": "end", "estimates": sent})
                await ws.close(1000)
                return
            raise StreamProblem(WS_POLICY, "protocol", 'expected binary audio chunks or {"type": "stop"}')
    except StreamProblem as exc:
        if ws.client_state == WebSocketState.CONNECTED:
            await ws.send_json({"type": "error", "code": exc.code, "message": exc.message})
            await ws.close(exc.close_code)
    except WebSocketDisconnect:
        return
    finally:
        if admitted:
            state.admitted -= 1


# --------------------------------------------------------------------------------------------- the app
async def error_response(request: Request, exc: Exception) -> Response:
    """The JSON answer of an error raised by an endpoint."""
    if isinstance(exc, HTTPProblem):
        return exc.response()
    if isinstance(exc, AudioError):
        return HTTPProblem(422, exc.problem, str(exc)).response()
    if isinstance(exc, TooLarge):
        return HTTPProblem(413, "too_large", str(exc)).response()
    return HTTPProblem(500, "internal", f"{request.url.path}: internal error ({type(exc).__name__}); "
                       "the server logged it").response()


class Guard:
    """ASGI middleware: the bearer token, errors as JSON (never a traceback to the client) and the access log."""

    def __init__(self, app, state: ServeState, access_log: bool) -> None:
        self.app, self.state, self.access_log = app, state, access_log

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        t0, status = time.perf_counter(), {"code": 101 if scope["type"] == "websocket" else 500}
        started = {"done": False}

        async def send_logged(message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                started["done"] = True
            await send(message)

        try:
            if scope["type"] == "http" and scope["path"] not in PUBLIC_PATHS:
                headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
                if not self.state.authorised(headers.get("authorization")):
                    resp = HTTPProblem(401, "unauthorized", f"{scope['path']}: missing or wrong bearer token",
                                       {"WWW-Authenticate": "Bearer"}).response()
                    return await resp(scope, receive, send_logged)
            try:
                await self.app(scope, receive, send_logged)
            except Exception:  # the 500 answer is sent by error_response; the server lives on
                log.exception("%s %s: unexpected error", scope.get("method", "WS"), scope["path"])
        finally:
            if self.access_log:
                client = scope.get("client") or ("-", 0)
                log.info('%s:%s "%s %s" %s %.1f ms', client[0], client[1], scope.get("method", "WS"),
                         scope["path"], status["code"], (time.perf_counter() - t0) * 1000.0)


def create_app(predictor_or_path: Predictor | str | Path, cfg: Config | None = None, *,
               token: str | None = None) -> Guard:
    """The ASGI app over a predictor (or whatever :meth:`Predictor.load` loads).

    Parameters
    ----------
    predictor_or_path : Predictor, str or Path
        A loaded predictor, or a run directory / ``.keras`` / SavedModel / ``.tflite`` path.
    cfg : Config, optional
        Where the ``serve`` settings come from (default: the model's own config).
    token : str, optional
        A bearer token every endpoint but ``/``, ``/health`` and the page's scripts then requires (the
        WebSocket takes it in its start message or the ``Authorization`` header).

    Returns
    -------
    An ASGI application (serve it with uvicorn; ``app.state`` is the :class:`ServeState`, ``app.starlette``
    the Starlette app).

    Raises
    ------
    SernetError
        If the path cannot be loaded.

    Examples
    --------
    >>> app = create_app("runs/base")                     # doctest: +SKIP
    >>> uvicorn.run(app, host="127.0.0.1", port=8000)     # doctest: +SKIP
    """
    predictor = predictor_or_path if isinstance(predictor_or_path, Predictor) else Predictor.load(predictor_or_path)
    if not isinstance(predictor, Predictor):
        raise SernetError(f"create_app: expected a Predictor or a path, got {type(predictor).__name__}")
    state = ServeState(predictor, cfg or predictor.cfg, token)

    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(_app):
        state.open()
        yield
        import anyio

        await anyio.to_thread.run_sync(state.batcher.close, state.settings.shutdown_timeout_s)
        log.info(SHUTDOWN_MESSAGE)

    routes = [Route(path, static, methods=["GET"]) for path in STATIC_FILES]
    routes += [Route("/health", health, methods=["GET"]), Route("/v1/model", model, methods=["GET"]),
               Route("/v1/predict", predict, methods=["POST"]), WebSocketRoute("/v1/stream", stream)]
    handlers = {HTTPProblem: error_response, AudioError: error_response, TooLarge: error_response,
                Exception: error_response}
    star = Starlette(routes=routes, lifespan=lifespan, exception_handlers=handlers)
    star.state.serve = state
    app = Guard(star, state, state.settings.access_log)
    app.state = state
    app.starlette = star
    return app
