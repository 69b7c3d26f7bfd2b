"""``sernet serve``: the predictor behind an ASGI app (Starlette, served by uvicorn).

- :mod:`~sernet.deploy.serve.app`: :func:`create_app` - ``POST /v1/predict``, ``WS /v1/stream``, ``GET /health``,
  ``GET /v1/model`` and the web page at ``/``;
- :mod:`~sernet.deploy.serve.batching`: :class:`MicroBatcher`, dynamic micro-batching with a bounded queue;
- :mod:`~sernet.deploy.serve.uploads`: uploads and stream chunks decoded in memory;
- :mod:`~sernet.deploy.serve.server`: :func:`run_server`, uvicorn with graceful shutdown.

>>> from sernet.deploy.serve import create_app   # doctest: +SKIP
"""

from sernet.deploy.serve.app import create_app
from sernet.deploy.serve.batching import MicroBatcher, QueueFull

__all__ = ["MicroBatcher", "QueueFull", "create_app"]
