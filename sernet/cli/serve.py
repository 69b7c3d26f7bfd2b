"""``sernet serve RUN_OR_EXPORT``: the model behind an HTTP/WebSocket server (uvicorn) with a web page.

Examples::

    sernet serve ~/.cache/sernet/runs/base                    # http://127.0.0.1:8000/
    sernet serve export/model_int8.tflite --port 0            # a free port, printed
    sernet serve runs/base --host 0.0.0.0 --token "$TOKEN"    # reachable from other machines: use a token

Endpoints (see :mod:`sernet.deploy.serve.app`): ``GET /`` the page, ``POST /v1/predict``, ``WS /v1/stream``,
``GET /health``, ``GET /v1/model``. Settings: the ``serve`` config section (``--set serve.max_batch=16``).
It binds to 127.0.0.1 unless ``--host`` says otherwise. Ctrl-C stops it gracefully (in-flight requests
finish). Every request is logged on stderr.
"""

from __future__ import annotations

import argparse
import os
import sys

TOKEN_ENV = "SERNET_TOKEN"


def add_parser(sub) -> None:
    p = sub.add_parser("serve", help="serve a model over HTTP and WebSocket, with a web page",
                       description=__doc__.splitlines()[0], epilog=__doc__.split("\n", 2)[2],
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", metavar="RUN_OR_EXPORT",
                   help="run directory, .keras file, SavedModel directory or .tflite file")
    p.add_argument("--host", help="address to bind (default: serve.host, 127.0.0.1)")
    p.add_argument("--port", type=int, help="port (default: serve.port; 0 picks a free one)")
    p.add_argument("--token", help=f"require 'Authorization: Bearer TOKEN' (default: ${TOKEN_ENV} if set)")
    p.add_argument("--threads", type=int, help="threads of the model runtime (LiteRT exports)")
    p.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    from sernet.cli import load_config
    from sernet.deploy.predictor import Predictor
    from sernet.deploy.serve import create_app
    from sernet.deploy.serve.server import run_server, setup_logging

    cfg = load_config(args)
    setup_logging()
    predictor = Predictor.load(args.model, num_threads=args.threads)
    token = args.token or os.environ.get(TOKEN_ENV) or None
    app = create_app(predictor, cfg, token=token)

    def announce(line: str) -> None:
        print(f"sernet serve: {args.model}: {line}" + (" (bearer token required)" if token else ""), flush=True)

    run_server(app, cfg, args.host, args.port, announce=announce)
    print("sernet serve: stopped", file=sys.stderr)
    return 0
