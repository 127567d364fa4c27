"""The in-process bus and the sign-in attempt limiter."""

from __future__ import annotations

import pytest

from hotline.bus import EventBus
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
