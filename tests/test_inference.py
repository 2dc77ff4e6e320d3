"""The inference executor: off the event loop, micro-batched per model, bounded, and the
user told "busy" (in their language) instead of waiting when the queue is full."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Sequence
from pathlib import Path

import pytest

from bot.app import Models, build_application, polling
from bot.config import ConfigError, Settings, load_settings
from bot.fake_api import FakeBotApi
from bot.inference import InferenceBusy, InferenceExecutor, on_worker_thread
from tests.conftest import say


class Recorder:
    """A batch function that records the batches it was given (and can be held)."""

    def __init__(self) -> None:
        self.batches: list[list[str]] = []
        self.release = threading.Event()
        self.release.set()

    def __call__(self, items: list[str]) -> Sequence[str]:
        assert on_worker_thread()
        self.release.wait(5)
        self.batches.append(list(items))
        if "boom" in items:
            raise ValueError("model failed")
        return [item.upper() for item in items]


async def test_run_leaves_the_event_loop() -> None:
    executor = InferenceExecutor(workers=1)
    try:
        assert await executor.run(on_worker_thread) is True
        assert not on_worker_thread()
        assert executor.pending == 0
    finally:
        executor.shutdown()


async def test_concurrent_requests_share_a_batch_and_get_their_own_answers() -> None:
    executor = InferenceExecutor(workers=1, batch_window=0.05, max_batch=4)
    model = Recorder()
    try:
        words = ["a", "b", "c", "d", "e", "f"]
        answers = await asyncio.gather(*(executor.run_batched("m", model, w) for w in words))
        assert answers == [w.upper() for w in words]
        # six arrived together: one full batch of four at once, then the other two
        assert sorted(len(b) for b in model.batches) == [2, 4]
        assert executor.stats.batches == 2 and executor.stats.largest_batch == 4
        other = Recorder()
        a, b = await asyncio.gather(
            executor.run_batched("m", model, "x"), executor.run_batched("n", other, "y")
        )
        assert (a, b) == ("X", "Y") and other.batches == [["y"]]  # keys never mix
    finally:
        executor.shutdown()


async def test_while_every_worker_is_busy_a_batch_stays_open_for_company() -> None:
    """Requests further apart than the window share a batch when no worker could have run the
    first one anyway; with a worker free, the window alone decides (and nothing waits)."""
    executor = InferenceExecutor(workers=1, batch_window=0.005, busy_wait=2.0)
    blocker, model = Recorder(), Recorder()
    blocker.release.clear()
    try:
        busy = asyncio.ensure_future(executor.run_batched("other", blocker, "slow"))
        await asyncio.sleep(0.05)  # the only worker is on it
        first = asyncio.ensure_future(executor.run_batched("m", model, "a"))
        await asyncio.sleep(0.05)  # ten windows later
        second = asyncio.ensure_future(executor.run_batched("m", model, "b"))
        await asyncio.sleep(0.05)
        assert model.batches == []  # held, not queued behind the busy worker
        blocker.release.set()
        assert await asyncio.gather(busy, first, second) == ["SLOW", "A", "B"]
        assert model.batches == [["a", "b"]]
        # idle workers: the window closes the batch, the next request starts another
        assert await executor.run_batched("m", model, "c") == "C"
        await asyncio.sleep(0.05)
        assert await executor.run_batched("m", model, "d") == "D"
        assert model.batches[1:] == [["c"], ["d"]]
        assert executor.pending == 0
    finally:
        blocker.release.set()
        executor.shutdown()


async def test_a_held_batch_goes_after_busy_wait_even_if_the_workers_stay_busy() -> None:
    executor = InferenceExecutor(workers=1, batch_window=0.005, busy_wait=0.05)
    blocker, model = Recorder(), Recorder()
    blocker.release.clear()
    try:
        busy = asyncio.ensure_future(executor.run_batched("other", blocker, "slow"))
        await asyncio.sleep(0.05)
        waiting = asyncio.ensure_future(executor.run_batched("m", model, "a"))
        await asyncio.sleep(0.2)  # well past busy_wait: handed to the pool, queued there
        assert "m" not in executor._open
        blocker.release.set()
        assert await asyncio.gather(busy, waiting) == ["SLOW", "A"]
    finally:
        blocker.release.set()
        executor.shutdown()


async def test_a_call_whose_caller_left_still_counts_while_it_runs() -> None:
    """A cancelled ``run`` caller does not free its worker: the call goes on, so a batch
    arriving meanwhile is still held for the worker, not handed to a busy pool."""
    executor = InferenceExecutor(workers=1, batch_window=0.005, busy_wait=2.0)
    release, model = threading.Event(), Recorder()
    try:
        caller = asyncio.ensure_future(executor.run(release.wait, 5))
        await asyncio.sleep(0.05)  # running on the only worker
        caller.cancel()
        waiting = asyncio.ensure_future(executor.run_batched("m", model, "a"))
        await asyncio.sleep(0.05)
        assert "m" in executor._open  # held: the worker is still taken
        release.set()
        assert await waiting == "A"
        assert executor.pending == 0
    finally:
        release.set()
        executor.shutdown()


async def test_a_failing_batch_fails_its_callers_only() -> None:
    executor = InferenceExecutor(workers=1, batch_window=0.05)
    model = Recorder()
    try:
        results = await asyncio.gather(
            executor.run_batched("m", model, "ok"),
            executor.run_batched("m", model, "boom"),
            return_exceptions=True,
        )
        assert all(isinstance(r, ValueError) for r in results)
        assert await executor.run_batched("m", model, "fine") == "FINE"
        assert executor.pending == 0
    finally:
        executor.shutdown()


async def test_a_full_queue_refuses_at_once_and_recovers() -> None:
    executor = InferenceExecutor(workers=1, max_pending=2, batch_window=0.0)
    model = Recorder()
    model.release.clear()  # the worker is stuck on the first batch
    try:
        first = asyncio.ensure_future(executor.run_batched("m", model, "a"))
        await asyncio.sleep(0.05)  # its batch is on the only worker, held
        second = asyncio.ensure_future(executor.run(str.upper, "b"))  # queued behind it
        await asyncio.sleep(0.05)
        with pytest.raises(InferenceBusy):
            await executor.run(str.upper, "c")
        assert executor.stats.refused == 1
        model.release.set()
        assert await asyncio.gather(first, second) == ["A", "B"]
        assert executor.pending == 0
        assert await executor.run(str.upper, "d") == "D"
    finally:
        model.release.set()
        executor.shutdown()


async def test_a_cancelled_caller_does_not_break_its_batch() -> None:
    executor = InferenceExecutor(workers=1, batch_window=0.05)
    model = Recorder()
    try:
        leaving = asyncio.ensure_future(executor.run_batched("m", model, "gone"))
        staying = asyncio.ensure_future(executor.run_batched("m", model, "kept"))
        await asyncio.sleep(0.01)
        leaving.cancel()
        assert await staying == "KEPT"
        assert model.batches == [["gone", "kept"]]
        assert executor.pending == 0
    finally:
        executor.shutdown()


def test_inference_settings_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("NAMECRAFT_INFERENCE_WORKERS", "3")
    monkeypatch.setenv("NAMECRAFT_INFERENCE_QUEUE", "5")
    settings = load_settings(tmp_path / "missing.env")
    assert (settings.inference_workers, settings.torch_threads, settings.inference_queue) == (
        3,
        1,
        5,
    )
    monkeypatch.setenv("NAMECRAFT_TORCH_THREADS", "zero")
    with pytest.raises(ConfigError, match="NAMECRAFT_TORCH_THREADS"):
        load_settings(tmp_path / "missing.env")


async def test_the_bot_says_busy_in_the_users_language_when_the_queue_is_full(
    api: FakeBotApi, database_url: str, shipped_models: Models
) -> None:
    settings = Settings(token=api.token, api_base_url=api.base_url, database_url=database_url)
    app = build_application(settings, shipped_models)
    executor: InferenceExecutor = app.bot_data["executor"]
    executor.max_pending = 0  # every model call is refused, as with a queue that is full
    async with polling(app):
        assert "try again in a few seconds" in await say(api, "/name Ser")
        ivan = api.user(77, "Иван", language_code="ru")
        assert "через несколько секунд" in await say(api, "Отличный фильм!", user=ivan)
        assert executor.stats.refused == 2
        executor.max_pending = 64
        assert "Ser" in await say(api, "/name Ser")
