"""Dynamic micro-batching: the windows of concurrent requests run through the model together.

Every model call of the server goes through one :class:`MicroBatcher`. A request submits its windows
(``features [n, L, D]``, ``mask [n, L]``) and awaits its logits. One worker thread takes the oldest waiting
request, then keeps collecting waiting requests until the batch holds ``max_batch`` windows or ``max_wait_s``
has passed since it took the first, and runs them as one forward pass (in pieces of at most ``max_batch``
windows when one request alone is larger). The event loop never runs the model: it only enqueues and is
woken when the result is ready.

The queue is bounded: at most ``queue_size`` requests may be pending (waiting or being computed); one more
raises :class:`QueueFull` at once (the app answers 503 with ``Retry-After``) instead of queueing without end.

Examples
--------
>>> import numpy as np
>>> batcher = MicroBatcher(lambda x, m: x.sum(axis=(1, 2))[:, None], max_batch=4, max_wait_s=0.0,
...                        queue_size=2)
>>> batcher.run(np.ones((3, 2, 1), np.float32), np.ones((3, 2), np.float32)).ravel().tolist()
[2.0, 2.0, 2.0]
>>> batcher.close()
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from sernet.errors import SernetError

LogitsFn = Callable[[np.ndarray, np.ndarray], np.ndarray]


class QueueFull(SernetError):
    """More than ``queue_size`` requests are pending: the caller should retry later (HTTP 503)."""


@dataclass
class BatchStats:
    """What the worker has run: forward passes, windows and requests (``sizes``: windows per batch)."""

    batches: int = 0
    windows: int = 0
    requests: int = 0
    sizes: list[int] = field(default_factory=list)


@dataclass
class _Job:
    features: np.ndarray
    mask: np.ndarray
    future: concurrent.futures.Future


_STOP = object()


class MicroBatcher:
    """Batch the windows of concurrent requests through ``logits_fn`` in one worker thread.

    Parameters
    ----------
    logits_fn : callable
        ``logits_fn(features [B, L, D], mask [B, L]) -> logits [B, C]`` (e.g. a runner's ``logits``); called
        only from the worker thread.
    max_batch : int
        Most windows per forward pass.
    max_wait_s : float
        How long the first request of a batch waits for others.
    queue_size : int
        Most pending requests; one more raises :class:`QueueFull`.
    """

    def __init__(self, logits_fn: LogitsFn, max_batch: int, max_wait_s: float, queue_size: int) -> None:
        if max_batch < 1 or queue_size < 1 or max_wait_s < 0:
            raise SernetError(f"MicroBatcher: max_batch={max_batch} and queue_size={queue_size} must be >= 1, "
                              f"max_wait_s={max_wait_s} >= 0")
        self.logits_fn = logits_fn
        self.max_batch = int(max_batch)
        self.max_wait_s = float(max_wait_s)
        self.queue_size = int(queue_size)
        self.stats = BatchStats()
        self._queue: queue.Queue = queue.Queue()
        self._pending = 0
        self._lock = threading.Lock()
        self._closed = False
        self._thread = threading.Thread(target=self._work, name="sernet-batcher", daemon=True)
        self._thread.start()

    @property
    def closed(self) -> bool:
        """True after :meth:`close`."""
        return self._closed

    @property
    def pending(self) -> int:
        """Requests submitted and not finished."""
        return self._pending

    # -- submitting ----------------------------------------------------------------------------------------
    def submit(self, features: np.ndarray, mask: np.ndarray) -> concurrent.futures.Future:
        """Enqueue one request's windows; a future of its logits [n, C].

        Raises
        ------
        QueueFull
            When ``queue_size`` requests are already pending.
        SernetError
            When the batcher is closed.
        """
        features = np.ascontiguousarray(features, dtype=np.float32)
        mask = np.ascontiguousarray(mask)
        with self._lock:
            if self._closed:
                raise SernetError("the model worker is shut down")
            if self._pending >= self.queue_size:
                raise QueueFull(f"{self._pending} requests pending (queue_size={self.queue_size})")
            self._pending += 1
        future: concurrent.futures.Future = concurrent.futures.Future()
        future.add_done_callback(self._done)
        self._queue.put(_Job(features, mask, future))
        return future

    def run(self, features: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Submit and wait (for threads; blocks the caller)."""
        return self.submit(features, mask).result()

    async def logits(self, features: np.ndarray, mask: np.ndarray) -> np.ndarray:
        """Submit and await (for the event loop; does not block it)."""
        return await asyncio.wrap_future(self.submit(features, mask))

    def _done(self, _future: concurrent.futures.Future) -> None:
        with self._lock:
            self._pending -= 1

    # -- the worker ----------------------------------------------------------------------------------------
    def _collect(self, first: _Job) -> tuple[list[_Job], bool]:
        jobs, windows, stop = [first], len(first.features), False
        deadline = time.monotonic() + self.max_wait_s
        while windows < self.max_batch:
            timeout = deadline - time.monotonic()
            try:
                job = self._queue.get(timeout=timeout) if timeout > 0 else self._queue.get_nowait()
            except queue.Empty:
                break
            if job is _STOP:
                stop = True
                break
            jobs.append(job)
            windows += len(job.features)
        return jobs, stop

    def _work(self) -> None:
        while True:
            first = self._queue.get()
            if first is _STOP:
                return
            jobs, stop = self._collect(first)
            self._run(jobs)
            if stop:
                self._drain()
                return

    def _drain(self) -> None:
        while True:
            try:
                job = self._queue.get_nowait()
            except queue.Empty:
                return
            if job is not _STOP:
                self._run([job])

    def _run(self, jobs: list[_Job]) -> None:
        live = [j for j in jobs if j.future.set_running_or_notify_cancel()]
        if not live:
            return
        try:
            x = np.concatenate([j.features for j in live])
            m = np.concatenate([j.mask for j in live])
            out = []
            for i in range(0, len(x), self.max_batch):
                out.append(np.asarray(self.logits_fn(x[i : i + self.max_batch], m[i : i + self.max_batch])))
                self.stats.batches += 1
                self.stats.sizes.append(len(out[-1]))
            logits = np.concatenate(out) if out else np.zeros((0, 0), np.float32)
        except Exception as exc:  # the requests get the error; the worker lives on
            for j in live:
                j.future.set_exception(exc)
            return
        self.stats.windows += len(x)
        self.stats.requests += len(live)
        k = 0
        for j in live:
            n = len(j.features)
            j.future.set_result(logits[k : k + n])
            k += n

    def close(self, timeout: float | None = None) -> None:
        """Finish the queued requests, then stop the worker thread (new submissions raise)."""
        with self._lock:
            if self._closed:
                return
            self._closed = True
        self._queue.put(_STOP)
        self._thread.join(timeout)
