"""Time in each agent state on a real PostgreSQL: stored periods, summed per report span."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from cti.agent_states import Presence, StatePeriod
from cti.store import AgentStateStore, StateTotal

pytestmark = pytest.mark.db
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp()
A, B = "Local/1001@agents", "Local/1002@agents"


async def test_periods_are_summed_per_agent_state_and_reason_clipped_to_the_span(
    db: asyncpg.Connection,
) -> None:
    store = AgentStateStore(db)
    await store.record_periods(
        [
            StatePeriod(A, Presence.READY, "", T0, T0 + 600),
            StatePeriod(A, Presence.ON_CALL, "", T0 + 600, T0 + 900),
            StatePeriod(A, Presence.PAUSED, "Lunch", T0 + 900, T0 + 2700),
            StatePeriod(A, Presence.READY, "", T0 + 2700, T0 + 3000),
            StatePeriod(B, Presence.PAUSED, "Break", T0 - 300, T0 + 300),  # starts before the span
        ]
    )
    since, until = datetime.fromtimestamp(T0, UTC), datetime.fromtimestamp(T0 + 1800, UTC)
    totals = await store.totals(since, until)
    assert totals == [
        StateTotal(A, "on_call", "", 300.0),
        StateTotal(A, "paused", "Lunch", 900.0),  # clipped at the end of the span
        StateTotal(A, "ready", "", 600.0),
        StateTotal(B, "paused", "Break", 300.0),  # clipped at its start
    ]
    stored = await db.fetchval("SELECT sum(duration_s) FROM agent_state_periods WHERE interface = $1", A)
    assert stored == 3000.0


async def test_a_period_that_ends_before_it_starts_is_refused(db: asyncpg.Connection) -> None:
    store = AgentStateStore(db)
    with pytest.raises(asyncpg.CheckViolationError):
        await store.record_periods([StatePeriod(A, Presence.READY, "", T0 + 10, T0)])
