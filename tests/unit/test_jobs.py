"""The periodic jobs: a run brought forward while one is going follows it once, without the scheduler."""

from __future__ import annotations

import asyncio
import logging

import pytest

from hotline.jobs import PeriodicJobs
from tests.conftest import eventually


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
    jobs.start()
    try:
        async with asyncio.timeout(5):
            assert await started.get() == 1  # the start-up run
            for _ in range(20):
                periodic.run_soon()
            release.set()
            assert await started.get() == 2
            await eventually(lambda: finished == [1, 2])
            # Idle again: an ask wakes the scheduler, which runs the job at once.
            periodic.run_soon()
            assert await started.get() == 3
            await eventually(lambda: finished == [1, 2, 3])
    finally:
        jobs.stop()
    assert started.empty()
    assert [r.getMessage() for r in caplog.records] == []
