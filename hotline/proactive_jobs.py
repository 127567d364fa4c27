"""The proactive service's clock: one APScheduler (3.x, in memory) that drives the due-work sweeps.

It only says *when* to look; what is due lives in PostgreSQL (greetings in the notice outbox
with a once-per-year unique index, callbacks claimed with SKIP LOCKED and a lease), so a job
that runs on two nodes, or runs again after a restart, does each piece of work once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)

GREETINGS_EVERY_S = 3600.0


class ProactiveJobs:
    """Runs the greetings job hourly and the due-callbacks sweep every `callback_poll_s`."""

    def __init__(
        self,
        greetings: Callable[[], Awaitable[int]],
        callbacks: Callable[[], Awaitable[int]],
        *,
        callback_poll_s: float,
    ) -> None:
        self._scheduler = AsyncIOScheduler()
        # Both run once at start-up too: a node started after 9:00 still greets today. The
        # scheduler keeps wall-clock time; the jobs themselves read the injected clock.
        for name, job, every_s in (
            ("special-day greetings", greetings, GREETINGS_EVERY_S),
            ("due callbacks", callbacks, callback_poll_s),
        ):
            self._scheduler.add_job(
                _logged(name, job),
                "interval",
                seconds=every_s,
                id=name,
                next_run_time=datetime.now(UTC),
                coalesce=True,
                max_instances=1,
            )

    def start(self) -> None:
        """Start the jobs on the running event loop."""
        self._scheduler.start()

    def stop(self) -> None:
        """Stop the jobs; a run in flight is cancelled (its rows' leases make it safe)."""
        self._scheduler.shutdown(wait=False)


def _logged(name: str, job: Callable[[], Awaitable[int]]) -> Callable[[], Awaitable[None]]:
    async def run() -> None:
        try:
            done = await job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the %s job failed; it runs again at its next time", name)
            return
        if done:
            log.debug("the %s job did %d items", name, done)

    return run
