"""`hotline demo` seeding: agents, customers, handler profiles and open tickets on their timelines."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from hotline.demo import BIRTHDAY_TODAY, DEMO_TICKETS, seed
from hotline.settings import load_settings

pytestmark = pytest.mark.db


async def test_seed_fills_the_work_lists_once(pool: asyncpg.Pool) -> None:
    async with asyncio.timeout(30):
        settings = load_settings(None, {})
        assert await seed(pool, settings) is True
        handlers = await pool.fetch(
            "SELECT a.username, h.skills FROM ticket_handlers h JOIN agents a ON a.id = h.agent_id ORDER BY 1"
        )
        assert [r["username"] for r in handlers] == ["alice", "bob"]
        tickets = await pool.fetch(
            "SELECT status, assignee_id, category FROM tickets WHERE status NOT IN ('resolved', 'closed') ORDER BY id"
        )
        assert len(tickets) == len(DEMO_TICKETS)
        # Each was auto-assigned to the handler with the skill.
        assert all(t["status"] == "assigned" and t["assignee_id"] is not None for t in tickets)
        on_timeline = await pool.fetchval("SELECT count(*) FROM interactions WHERE channel = 'ticket'")
        assert on_timeline == len(DEMO_TICKETS)
        campaigns = await pool.fetch("SELECT name, state, dial_method FROM campaigns")
        assert [tuple(c) for c in campaigns] == [("Winter upgrade offer", "paused", "progressive")]
        assert await pool.fetchval("SELECT count(*) FROM leads") == 12
        # A month of closed tickets behind them, some reopened once, for the service reports.
        history = await pool.fetchrow(
            "SELECT count(*) AS closed, count(*) FILTER (WHERE reopen_count > 0) AS reopened,"
            " count(DISTINCT (created_at AT TIME ZONE 'UTC')::date) AS days FROM tickets WHERE status = 'closed'"
        )
        assert history["closed"] >= 30
        assert 0 < history["reopened"] < history["closed"]
        assert history["days"] >= 28
        # Nobody in the history was mailed now.
        assert await pool.fetchval("SELECT count(*) FROM ticket_notices") == 0
        birthday = await pool.fetchval("SELECT birthday FROM customers WHERE name = $1", BIRTHDAY_TODAY)
        today = datetime.now(ZoneInfo(settings.greetings.timezone)).date()
        assert (birthday.month, birthday.day) == (today.month, today.day)
        callback = await pool.fetchrow("SELECT status, due_at, customer_name FROM callbacks")
        assert (callback["status"], callback["customer_name"]) == ("scheduled", "Jane Doe")
        assert timedelta(0) < callback["due_at"] - datetime.now(UTC) <= timedelta(minutes=1)
        total = await pool.fetchval("SELECT count(*) FROM tickets")
        assert await seed(pool, settings) is False
        assert await pool.fetchval("SELECT count(*) FROM tickets") == total
