"""The call log on a real PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime

import asyncpg
import pytest

from cti.events import CallEnded, CallOutcome
from cti.store import CallCustomer, CallLogStore

pytestmark = pytest.mark.db
T0 = datetime(2026, 11, 23, 9, 0, tzinfo=UTC).timestamp()


def call(call_id: str, iface: str | None, outcome: CallOutcome, ended_at: float) -> CallEnded:
    answered = ended_at - 30 if outcome is CallOutcome.ANSWERED else None
    talk = 30 if answered else 0
    return CallEnded(
        call_id, "0901234567", "Jane Doe", "support", iface, outcome, "16", 4, talk, T0, answered, ended_at
    )


async def test_calls_are_logged_once_and_listed_per_agent_newest_first(db: asyncpg.Connection) -> None:
    store = CallLogStore(db)
    customer_id = await db.fetchval(
        "INSERT INTO customers (name, tier) VALUES ('Jane Doe', 'gold') RETURNING id"
    )
    jane = CallCustomer(customer_id, "Jane Doe", "gold")
    await store.record(call("1.1", "Local/1001@agents", CallOutcome.ANSWERED, T0 + 60), jane)
    await store.record(call("1.2", "Local/1001@agents", CallOutcome.ANSWERED, T0 + 120), None)
    await store.record(call("1.3", "Local/1002@agents", CallOutcome.ANSWERED, T0 + 90), None)
    await store.record(call("1.4", None, CallOutcome.ABANDONED, T0 + 30), jane)
    await store.record(call("1.1", "Local/1002@agents", CallOutcome.ANSWERED, T0 + 999), None)

    mine = await store.calls_for_interfaces(["Local/1001@agents"], datetime.fromtimestamp(T0, UTC))
    assert [c.call_id for c in mine] == ["1.2", "1.1"]
    assert (mine[1].customer_name, mine[1].customer_tier, mine[1].talk_s) == ("Jane Doe", "gold", 30)
    assert mine[0].customer_id is None
    later = await store.calls_for_interfaces(["Local/1001@agents"], datetime.fromtimestamp(T0 + 100, UTC))
    assert [c.call_id for c in later] == ["1.2"]
    row = await db.fetchrow("SELECT outcome, wait_s, answered_at FROM call_log WHERE call_id = '1.4'")
    assert dict(row) == {"outcome": "abandoned", "wait_s": 4, "answered_at": None}
