"""The periodic jobs: a first run of each at start-up, before the node says it is ready."""

from __future__ import annotations

import asyncio
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
        await asyncio.sleep(0.2)
        assert len(runs) == 3  # the next runs are a minute away
        sweep.run_soon()
        await eventually(lambda: runs[3:] == ["sweep"])
    finally:
        jobs.stop()
