"""The call log on a real PostgreSQL."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

import asyncpg
import pytest

from cti.call_history import CallHistory
from cti.events import CallEnded, CallLogged, CallOutcome
from cti.store import CallCustomer, CallLogStore, IvrVisitStore
from customers.model import CallerCard, Customer, Tier

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


@dataclass
class Names:
    by_interface: dict[str, str]
    asked: int = 0

    async def names_by_interface(self) -> dict[str, str]:
        self.asked += 1
        return dict(self.by_interface)


@dataclass
class Sink:
    events: list[object] = field(default_factory=list)

    def publish(self, event: object) -> None:
        self.events.append(event)


async def test_a_finished_call_is_logged_then_published_with_who_answered(db: asyncpg.Connection) -> None:
    customer_id = await db.fetchval(
        "INSERT INTO customers (name, tier) VALUES ('Jane Doe', 'gold') RETURNING id"
    )
    card = CallerCard(Customer(customer_id, None, "Jane Doe", None, Tier.GOLD, None, ("+84901234567",)), ())
    sink = Sink()
    history = CallHistory(CallLogStore(db), IvrVisitStore(db), Names({"Local/1001@agents": "Alice"}), sink)
    answered = call("1.1", "Local/1001@agents", CallOutcome.ANSWERED, T0 + 60)
    abandoned = call("1.2", None, CallOutcome.ABANDONED, T0 + 90)
    stranger = call("1.3", "Local/1001@agents", CallOutcome.ANSWERED, T0 + 120)
    await history.record_call(answered, card)
    await history.record_call(abandoned, card)
    await history.record_call(stranger, None)
    assert sink.events == [
        CallLogged(answered, customer_id, "Jane Doe", "gold", "Alice"),
        CallLogged(abandoned, customer_id, "Jane Doe", "gold", None),
        CallLogged(stranger, None, None, None, None),
    ]
    assert await history.calls_since(customer_id, datetime.fromtimestamp(T0, UTC)) == 2
    mine = await history.calls_for_interfaces(["Local/1001@agents"], datetime.fromtimestamp(T0, UTC))
    assert [c.call_id for c in mine] == ["1.3", "1.1"]


async def test_who_answered_is_read_from_a_map_of_every_phone_renewed_once_a_minute(
    db: asyncpg.Connection,
) -> None:
    customer_id = await db.fetchval(
        "INSERT INTO customers (name, tier) VALUES ('Jane Doe', 'gold') RETURNING id"
    )
    card = CallerCard(Customer(customer_id, None, "Jane Doe", None, Tier.GOLD, None, ("+84901234567",)), ())
    sink, names, now = Sink(), Names({"Local/1001@agents": "Alice"}), [0.0]
    history = CallHistory(CallLogStore(db), IvrVisitStore(db), names, sink, clock=lambda: now[0])
    await history.record_call(call("1.1", "Local/1001@agents", CallOutcome.ANSWERED, T0 + 60), card)
    names.by_interface["Local/1001@agents"] = "Alice Nguyen"  # renamed
    now[0] = 59.0
    await history.record_call(call("1.2", "Local/1001@agents", CallOutcome.ANSWERED, T0 + 120), card)
    names.by_interface["Local/1002@agents"] = "Bob Tran"  # a new desk
    await history.record_call(call("1.3", "Local/1002@agents", CallOutcome.ANSWERED, T0 + 150), card)
    now[0] = 60.0
    await history.record_call(call("1.4", "Local/1001@agents", CallOutcome.ANSWERED, T0 + 180), card)
    await history.record_call(call("1.5", "Local/1002@agents", CallOutcome.ANSWERED, T0 + 190), card)
    assert [e.answered_by for e in sink.events if isinstance(e, CallLogged)] == [
        "Alice",
        "Alice",
        None,
        "Alice Nguyen",
        "Bob Tran",
    ]
    assert names.asked == 2
