"""The in-process bus and the sign-in attempt limiter."""

from __future__ import annotations

import asyncio

import pytest

from hotline.bus import EventBus
from tests.conftest import eventually
from web_agent.ratelimit import AttemptLimiter


class Ping:
    pass


class Pong:
    pass


def test_bus_delivers_by_type_in_order_and_survives_a_failing_subscriber(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    seen: list[str] = []

    def broken(event: Ping) -> None:
        raise RuntimeError("boom")

    bus.subscribe(Ping, lambda e: seen.append("first"))
    bus.subscribe(Ping, broken)
    bus.subscribe(Ping, lambda e: seen.append("third"))
    bus.subscribe(Pong, lambda e: seen.append("pong"))
    bus.publish(Ping())
    assert seen == ["first", "third"]
    assert "failed on Ping" in caplog.text
    bus.publish(Pong())
    assert seen[-1] == "pong"


async def test_async_subscribers_run_as_tasks_the_bus_owns_and_awaits_at_shutdown(
    caplog: pytest.LogCaptureFixture,
) -> None:
    bus = EventBus()
    seen: list[str] = []
    release = asyncio.Event()

    async def slow(event: Ping) -> None:
        await release.wait()
        seen.append("slow")
        bus.publish(Pong())  # work it starts in turn is awaited too

    async def broken(event: Ping) -> None:
        raise RuntimeError("boom")

    async def answer(event: Pong) -> None:
        seen.append("pong")

    bus.subscribe(Ping, slow)
    bus.subscribe(Ping, broken)
    bus.subscribe(Ping, lambda e: seen.append("at once"))
    bus.subscribe(Pong, answer)
    bus.publish(Ping())
    # The publisher is not held up: the plain subscriber ran, the async ones are tasks.
    assert seen == ["at once"]
    assert bus.running == 2
    release.set()
    async with asyncio.timeout(5):
        await bus.close()
    assert seen == ["at once", "slow", "pong"]
    assert bus.running == 0
    assert "failed on Ping" in caplog.text
    assert "boom" in caplog.text


async def test_a_cancelled_subscriber_is_not_reported_as_a_failure(caplog: pytest.LogCaptureFixture) -> None:
    bus = EventBus()
    started: list[asyncio.Task[object]] = []

    async def waits(event: Ping) -> None:
        task = asyncio.current_task()
        assert task is not None
        started.append(task)
        await asyncio.Event().wait()

    bus.subscribe(Ping, waits)
    bus.publish(Ping())
    async with asyncio.timeout(5):
        await eventually(lambda: bool(started))
        started[0].cancel()
        await bus.close()
    assert started[0].cancelled()
    assert "failed" not in caplog.text


def test_limiter_blocks_after_the_limit_and_releases_after_the_window() -> None:
    limiter = AttemptLimiter(limit=3, window_s=300)
    for t in (0, 1, 2):
        assert limiter.retry_after("user:alice", t) == 0
        limiter.fail("user:alice", t)
    assert limiter.retry_after("user:alice", 3) == 297
    assert limiter.retry_after("user:bob", 3) == 0
    assert limiter.retry_after("user:alice", 300.5) == 0


def test_limiter_success_forgets_failures_and_memory_is_bounded() -> None:
    limiter = AttemptLimiter(limit=2, window_s=60, max_keys=3)
    limiter.fail("a", 0)
    limiter.fail("a", 0)
    assert limiter.retry_after("a", 1) > 0
    limiter.succeed("a")
    assert limiter.retry_after("a", 1) == 0
    for key in "wxyz":
        limiter.fail(key, 0)
        limiter.fail(key, 0)
    assert limiter.retry_after("w", 1) == 0
    assert limiter.retry_after("z", 1) > 0
