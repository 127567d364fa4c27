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

    def __init__(self, scheduler: AsyncIOScheduler, name: str, job: Callable[[], Awaitable[int]]) -> None:
        self._scheduler = scheduler
        self.name = name
        self._job = job
        self._running = False
        self._again = False

    def run_soon(self, _cause: object = None) -> None:
        """Bring the next run forward to now (a bus subscriber: the event that asks is its cause).

        While a run is going, the asks are remembered and one more run follows at once: the
        scheduler is not woken for each (it would only skip them and say so in the log).
        """
        if self._running:
            self._again = True
        else:
            self._scheduler.modify_job(self.name, next_run_time=datetime.now(UTC))

    async def run(self) -> None:
        """Run the job, and again while it was asked for during the run; a failed run is logged."""
        self._running = True
        try:
            while True:
                self._again = False
                await self._run_once()
                if not self._again:
                    return
        finally:
            self._running = False

    async def _run_once(self) -> None:
        try:
            done = await self._job()
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("the %s job failed; it runs again at its next time", self.name)
            return
        if done:
            log.debug("the %s job did %d items", self.name, done)


class PeriodicJobs:
    """Named jobs, each run once at start-up and then every so many seconds; a failed run is logged."""

    def __init__(self) -> None:
        # The scheduler keeps wall-clock time; the jobs themselves read the injected clock.
        self._scheduler = AsyncIOScheduler(timezone=UTC)
        self._jobs: list[PeriodicJob] = []

    def add(self, name: str, job: Callable[[], Awaitable[int]], every_s: float) -> PeriodicJob:
        """Run `job` at start-up and every `every_s` after; a run still going is never doubled."""
        periodic = PeriodicJob(self._scheduler, name, job)
        self._jobs.append(periodic)
        self._scheduler.add_job(
            periodic.run, "interval", seconds=every_s, id=name, name=name, coalesce=True, max_instances=1
        )
        return periodic

    async def start(self) -> None:
        """Run every job once, in the order added, then start the schedule on the running loop.

        Start-up waits for the first runs, so a node says it is ready once it has caught up with
        what fell due while it was down.
        """
        for periodic in self._jobs:
            await periodic.run()
        self._scheduler.start()

    def stop(self) -> None:
        """Stop the jobs; a run in flight is cancelled (its rows' leases make that safe)."""
        self._scheduler.shutdown(wait=False)
