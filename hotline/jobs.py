"""This node's periodic jobs: one APScheduler (3.x, in memory) that only says *when* to look.

What is due lives in PostgreSQL (escalation checks and callbacks claimed with SKIP LOCKED and a
lease, greetings under a once-per-year unique index), so a job that runs on two nodes, or runs
again after a restart, does each piece of work once.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime

from apscheduler.schedulers.asyncio import AsyncIOScheduler

log = logging.getLogger(__name__)


class PeriodicJob:
    """One job of the scheduler, to bring forward when something makes it due at once."""

    def __init__(self, scheduler: AsyncIOScheduler, name: str) -> None:
        self._scheduler = scheduler
        self.name = name

    def run_soon(self, _cause: object = None) -> None:
        """Bring the next run forward to now (a bus subscriber: the event that asks is its cause)."""
        self._scheduler.modify_job(self.name, next_run_time=datetime.now(UTC))


class PeriodicJobs:
    """Named jobs, each run once at start-up and then every so many seconds; a failed run is logged."""

    def __init__(self) -> None:
        # The scheduler keeps wall-clock time; the jobs themselves read the injected clock.
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._first_runs: list[Callable[[], Awaitable[None]]] = []

    def add(self, name: str, job: Callable[[], Awaitable[int]], every_s: float) -> PeriodicJob:
        """Run `job` at start-up and every `every_s` after; a run still going is never doubled."""
        run = _logged(name, job)
        self._first_runs.append(run)
        self._scheduler.add_job(
            run, "interval", seconds=every_s, id=name, name=name, coalesce=True, max_instances=1
        )
        return PeriodicJob(self._scheduler, name)

    async def start(self) -> None:
        """Run every job once, in the order added, then start the schedule on the running loop.

        Start-up waits for the first runs, so a node says it is ready once it has caught up with
        what fell due while it was down.
        """
        for run in self._first_runs:
            await run()
        self._scheduler.start()

    def stop(self) -> None:
        """Stop the jobs; a run in flight is cancelled (its rows' leases make that safe)."""
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
