"""One inference executor: the only place that knows about threads, batches and the CPU budget.

Every model call of the bot (names for ``/name``, 🔄, inline and the game; sentiment readings)
goes through one ``InferenceExecutor``. Why one:

* **A fixed CPU budget.** ``workers`` threads run model calls, each with ``torch_threads``
  intra-op threads (default: one single-threaded worker per core). Left alone, torch gives
  every call all cores, and a handful of concurrent updates on a 2-core machine then fight
  over them: p99 of ``/name`` went from 19 ms to 604 ms in the serving issue's measurements.
* **Admission control.** At most ``max_pending`` requests are admitted (queued or running).
  One more is refused at once with ``InferenceBusy`` (the user is told to try again in a
  moment) rather than queued behind a minute of work.
* **Micro-batching.** ``run_batched`` collects concurrent requests for the same model that
  arrive within ``batch_window`` seconds and runs them as one batch call (the sentiment reader
  sorts a batch by length itself), so ten reviews cost far less than ten single calls. While
  every worker is busy a batch whose window is over would only wait in the pool's queue, so
  it stays open to newcomers instead, until a worker is free or ``busy_wait`` more seconds
  have passed: under load batches grow, and when a worker is free nothing waits. (A held
  batch can be overtaken by unbatched calls queued meanwhile: a few ms for its callers.)

Handlers and services keep calling a plain ``await``; ``ml`` knows nothing of this.
"""

from __future__ import annotations

import asyncio
import os
import threading
import time
from collections.abc import Callable, Hashable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any, TypeVar

import torch

T = TypeVar("T")
Item = TypeVar("Item")
Result = TypeVar("Result")

# (kind, seconds): one model call or batch of that kind ran that long on a worker;
# ("refused", 0.0): one call was refused because the queue was full (bot/metrics.py)
InferenceObserver = Callable[[str, float], None]

DEFAULT_MAX_PENDING = 64
DEFAULT_BATCH_WINDOW = 0.003  # seconds the first request of a batch waits for company
DEFAULT_BUSY_WAIT = 0.010  # at most this much longer while every worker is busy
DEFAULT_MAX_BATCH = 8


class InferenceBusy(Exception):
    """Too many model calls are already queued; the caller should ask the user to retry."""


@dataclass
class InferenceStats:
    """Counters for benchmarks and logs (read on the event loop thread)."""

    calls: int = 0
    batches: int = 0
    batched_items: int = 0
    largest_batch: int = 0
    refused: int = 0


@dataclass
class _Batch:
    run: Callable[[list[Any]], Sequence[Any]]
    kind: str = "batch"
    items: list[Any] = field(default_factory=list)
    futures: list[asyncio.Future[Any]] = field(default_factory=list)
    timer: asyncio.TimerHandle | None = None
    held: bool = False  # its window is over, but every worker was busy: it waits for one


def default_workers() -> int:
    """One worker per core the process may use."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:  # not on Linux
        return max(1, os.cpu_count() or 1)


class InferenceExecutor:
    """A bounded pool of single-threaded torch workers with per-model micro-batching."""

    def __init__(
        self,
        workers: int | None = None,
        torch_threads: int = 1,
        max_pending: int = DEFAULT_MAX_PENDING,
        batch_window: float = DEFAULT_BATCH_WINDOW,
        max_batch: int = DEFAULT_MAX_BATCH,
        busy_wait: float = DEFAULT_BUSY_WAIT,
    ) -> None:
        if min(max_pending, batch_window, busy_wait) < 0 or min(torch_threads, max_batch) < 1:
            raise ValueError(
                "torch_threads, max_batch ≥ 1; max_pending, batch_window, busy_wait ≥ 0"
            )
        self.workers = workers or default_workers()
        self.torch_threads = torch_threads
        self.max_pending = max_pending
        self.batch_window = batch_window
        self.max_batch = max_batch
        self.busy_wait = busy_wait
        self.stats = InferenceStats()
        self.observer: InferenceObserver | None = None  # bot/metrics.py sets it
        self._pending = 0
        self._in_pool = 0  # calls and batches handed to the pool and not finished
        self._open: dict[Hashable, _Batch] = {}
        self._pool = ThreadPoolExecutor(
            max_workers=self.workers,
            thread_name_prefix="inference",
            initializer=torch.set_num_threads,  # per worker: OpenMP settings are per thread
            initargs=(torch_threads,),
        )

    @property
    def pending(self) -> int:
        """Requests admitted and not yet answered (queued, batching or running)."""
        return self._pending

    def _admit(self) -> None:
        if self._pending >= self.max_pending:
            self.stats.refused += 1
            self._observe("refused", 0.0)
            raise InferenceBusy(f"{self._pending} model calls already pending")
        self._pending += 1

    async def run(self, fn: Callable[..., T], /, *args: Any, **kwargs: Any) -> T:
        """``fn(*args, **kwargs)`` on a worker thread, unbatched (e.g. one /name request)."""
        self._admit()
        try:
            self.stats.calls += 1
            result, seconds = await asyncio.wrap_future(self._submit(partial(fn, *args, **kwargs)))
            self._observe(getattr(fn, "__name__", "call"), seconds)
            return result
        finally:
            self._pending -= 1

    def _observe(self, kind: str, seconds: float) -> None:
        if self.observer is not None:
            self.observer(kind, seconds)

    async def run_batched(
        self, key: Hashable, run: Callable[[list[Item]], Sequence[Result]], item: Item
    ) -> Result:
        """``run([... item ...])[i]``: ``item`` shares one call with the other requests for the
        same ``key`` that arrive within ``batch_window`` (at most ``max_batch`` per call).

        ``run`` must return one result per item, in order. An exception in it reaches every
        caller of that batch (and only them).
        """
        self._admit()
        try:
            self.stats.calls += 1
            loop = asyncio.get_running_loop()
            batch = self._open.get(key)
            if batch is None:
                batch = self._open[key] = _Batch(run, kind=_kind_of(key))
                batch.timer = loop.call_later(self.batch_window, self._window_over, key, batch)
            future: asyncio.Future[Result] = loop.create_future()
            batch.items.append(item)
            batch.futures.append(future)
            if len(batch.items) >= self.max_batch:
                self._launch(key, batch)
            return await future
        finally:
            self._pending -= 1

    def _submit(self, work: Callable[[], T]) -> Future[tuple[T, float]]:
        """Hand ``work`` to the pool, counted in ``_in_pool`` until it has run (or was
        cancelled before it started), whatever its caller does meanwhile."""
        loop = asyncio.get_running_loop()
        self._in_pool += 1
        done = self._pool.submit(_timed, work)
        done.add_done_callback(lambda _: loop.call_soon_threadsafe(self._worker_done))
        return done

    @property
    def _workers_busy(self) -> bool:
        return self._in_pool >= self.workers

    def _window_over(self, key: Hashable, batch: _Batch) -> None:
        """The batch's window is over: launch it, or hold it open while no worker is free."""
        if not self._workers_busy or self.busy_wait == 0:
            self._launch(key, batch)
            return
        batch.held = True
        batch.timer = asyncio.get_running_loop().call_later(
            self.busy_wait, self._launch, key, batch
        )

    def _worker_done(self) -> None:
        """A call or batch finished: a worker is free for the oldest held batch."""
        self._in_pool -= 1
        for key, batch in list(self._open.items()):
            if self._workers_busy:
                break
            if batch.held:
                self._launch(key, batch)

    def _launch(self, key: Hashable, batch: _Batch) -> None:
        """Close ``batch`` to newcomers and hand it to a worker."""
        if self._open.get(key) is not batch:
            return  # already launched (full before its timer fired)
        del self._open[key]
        if batch.timer is not None:
            batch.timer.cancel()
        self.stats.batches += 1
        self.stats.batched_items += len(batch.items)
        self.stats.largest_batch = max(self.stats.largest_batch, len(batch.items))
        loop = asyncio.get_running_loop()
        work = self._submit(partial(batch.run, list(batch.items)))
        work.add_done_callback(lambda done: loop.call_soon_threadsafe(self._deliver, batch, done))

    def _deliver(self, batch: _Batch, done: Future[tuple[Sequence[Any], float]]) -> None:
        error = InferenceBusy("shutting down") if done.cancelled() else done.exception()
        results: Sequence[Any] = ()
        if error is None:
            results, seconds = done.result()
            self._observe(batch.kind, seconds)
        if error is None and len(results) != len(batch.futures):
            error = RuntimeError(f"batch gave {len(results)} results for {len(batch.futures)}")
        for i, future in enumerate(batch.futures):
            if future.done():  # its caller gave up (cancelled) meanwhile
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(results[i])

    def shutdown(self) -> None:
        """Stop accepting work and let running calls finish in the background."""
        self._pool.shutdown(wait=False, cancel_futures=True)


def _timed(work: Callable[[], T]) -> tuple[T, float]:
    """``work()`` and how long it ran, measured on the worker (queueing not included)."""
    started = time.perf_counter()
    return work(), time.perf_counter() - started


def _kind_of(key: Hashable) -> str:
    """A metrics label for a batch key: ``("sentiment", "en")`` → ``sentiment-en``."""
    if isinstance(key, tuple):
        return "-".join(str(part) for part in key)
    return str(key)


def on_worker_thread() -> bool:
    """True inside an executor worker (tests check that inference left the event loop)."""
    return threading.current_thread().name.startswith("inference")
