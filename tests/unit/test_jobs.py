"""The periodic jobs: a first run of each at start-up, before the node says it is ready; a run
brought forward while one is going follows it once, without the scheduler."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable

import pytest

from hotline.jobs import PeriodicJobs
from tests.conftest import eventually


async def test_start_runs_each_job_once_in_order_then_only_on_schedule_or_when_asked(
    caplog: pytest.LogCaptureFixture,
) -> None:
    runs: list[str] = []

    def job(name: str, fails: bool = False) -> Callable[[], Awaitable[int]]:
        async def run() -> int:
            runs.append(name)
            if fails:
                raise RuntimeError("the database went away")
            return 1

        return run

    jobs = PeriodicJobs()
    sweep = jobs.add("escalation sweep", job("sweep"), 60)
    jobs.add("greetings", job("greetings", fails=True), 60)
    jobs.add("callbacks", job("callbacks"), 60)
    await jobs.start()
    try:
        # Done by the time start() returns; a failed job is logged and the others still run.
        assert runs == ["sweep", "greetings", "callbacks"]
        assert "the greetings job failed" in caplog.text
        # Brought forward, the sweep runs; the others, already run at start-up, are a minute away.
        sweep.run_soon()
        await eventually(lambda: len(runs) > 3)
        assert runs[3:] == ["sweep"]
    finally:
        jobs.stop()


async def test_asks_during_a_run_bring_exactly_one_more_run(caplog: pytest.LogCaptureFixture) -> None:
    started: asyncio.Queue[int] = asyncio.Queue()
    release = asyncio.Event()
    finished: list[int] = []

    async def job() -> int:
        run = len(finished) + 1
        started.put_nowait(run)
        await release.wait()
        finished.append(run)
        return 0

    jobs = PeriodicJobs()
    periodic = jobs.add("test job", job, 3600)
    caplog.set_level(logging.WARNING)
    starting = asyncio.get_running_loop().create_task(jobs.start())
    try:
        async with asyncio.timeout(5):
            assert await started.get() == 1  # the start-up run
            for _ in range(20):
                periodic.run_soon()
            release.set()
            assert await started.get() == 2
            await starting  # start-up waited for the run asked for during its own
            assert finished == [1, 2]
            # Idle again: an ask wakes the scheduler, which runs the job at once.
            periodic.run_soon()
            assert await started.get() == 3
            await eventually(lambda: finished == [1, 2, 3])
    finally:
        jobs.stop()
    assert started.empty()
    assert [r.getMessage() for r in caplog.records] == []
