"""Running the app: uvicorn on a host and port, with graceful shutdown (in-flight requests finish)."""

from __future__ import annotations

import contextlib
import logging
import socket
import sys
from collections.abc import Callable, Iterator

from sernet.config import Config

log = logging.getLogger("sernet.serve")


def bind(host: str, port: int) -> socket.socket:
    """A listening TCP socket on ``host:port`` (``port=0``: a free port the OS picks)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind((host, port))
    sock.listen(128)
    sock.set_inheritable(True)
    return sock


def base_url(sock: socket.socket) -> str:
    """``http://HOST:PORT`` of a bound socket (IPv6 hosts in brackets; the real port when bound to 0)."""
    host, port = sock.getsockname()[:2]
    return f"http://{'[' + host + ']' if ':' in host else host}:{port}"


def setup_logging() -> None:
    """Send the ``sernet`` logger's INFO lines (the access log) to stderr, once."""
    logger = logging.getLogger("sernet")
    if not logger.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(name)s %(levelname)s %(message)s"))
        logger.addHandler(handler)
    logger.setLevel(logging.INFO)


def make_server(app, cfg: Config, host: str | None = None, port: int | None = None):
    """A configured ``uvicorn.Server`` and its bound socket (``serve.host``/``serve.port`` unless given;
    ``port=0`` picks a free port: read it from ``sock.getsockname()``). Run it with ``server.run(sockets=[sock])``;
    ``server.should_exit = True`` stops it gracefully."""
    import uvicorn

    host = cfg.serve.host if host is None else host
    port = cfg.serve.port if port is None else port
    sock = bind(host, port)
    config = uvicorn.Config(app, access_log=False, log_level="warning", lifespan="on",
                            timeout_graceful_shutdown=cfg.serve.shutdown_timeout_s)
    return uvicorn.Server(config), sock


def run_server(app, cfg: Config, host: str | None = None, port: int | None = None,
               announce: Callable[[str], None] = print) -> None:
    """Serve ``app`` with uvicorn until SIGINT/SIGTERM; then stop accepting, let in-flight requests finish
    (at most ``serve.shutdown_timeout_s``), and close the model worker.

    Parameters
    ----------
    app : ASGI app
        From :func:`sernet.deploy.serve.create_app`.
    cfg : Config
        ``serve.host``/``serve.port`` unless ``host``/``port`` are given.
    announce : callable
        Called with ``"listening on http://HOST:PORT"`` once the socket is bound (the port is the real one
        when ``port=0``).
    """
    server, sock = make_server(app, cfg, host, port)
    announce(f"listening on {base_url(sock)}")
    server.run(sockets=[sock])


@contextlib.contextmanager
def background_server(app, cfg: Config, host: str = "127.0.0.1", port: int = 0,
                      start_timeout_s: float = 30.0) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread of this process (a notebook, a test) and yield its base
    URL; on leaving, stop it gracefully (in-flight requests finish) and wait for the thread.

    Examples
    --------
    >>> with background_server(create_app(predictor), cfg) as url:   # doctest: +SKIP
    ...     httpx.get(url + "/health").json()["status"]
    'ok'
    """
    import threading
    import time

    from sernet.errors import SernetError

    server, sock = make_server(app, cfg, host, port)
    url = base_url(sock)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True, name="sernet-serve")
    thread.start()
    deadline = time.monotonic() + start_timeout_s
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise SernetError(f"the server on {url} did not start within {start_timeout_s} s")
        time.sleep(0.02)
    try:
        yield url
    finally:
        server.should_exit = True
        thread.join(cfg.serve.shutdown_timeout_s + cfg.serve.timeout_s)
        sock.close()
