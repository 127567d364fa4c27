"""A sliding-window attempt counter, used to slow down password guessing."""

from __future__ import annotations

from collections import deque


class AttemptLimiter:
    """Allows at most `limit` failed attempts per key within `window_s`; memory stays bounded."""

    def __init__(self, *, limit: int, window_s: float, max_keys: int = 100_000) -> None:
        self._limit = limit
        self._window_s = window_s
        self._max_keys = max_keys
        self._failures: dict[str, deque[float]] = {}

    def retry_after(self, key: str, now: float) -> int:
        """Seconds until `key` may try again, or 0 when it may try now."""
        failures = self._failures.get(key)
        if failures is None:
            return 0
        while failures and failures[0] <= now - self._window_s:
            failures.popleft()
        if not failures:
            del self._failures[key]
            return 0
        if len(failures) < self._limit:
            return 0
        return max(1, int(failures[0] + self._window_s - now + 0.999))

    def fail(self, key: str, now: float) -> None:
        """Count one failed attempt."""
        if key not in self._failures and len(self._failures) >= self._max_keys:
            # Under a flood of distinct keys, forget the oldest rather than grow without bound.
            del self._failures[next(iter(self._failures))]
        self._failures.setdefault(key, deque(maxlen=self._limit)).append(now)

    def succeed(self, key: str) -> None:
        """Forget a key's failures after a successful attempt."""
        self._failures.pop(key, None)
