"""`hotline demo` seeding: agents, customers, handler profiles and open tickets on their timelines."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import asyncpg
import pytest

from hotline.demo import BIRTHDAY_TODAY, DEMO_AGENTS, DEMO_ARTICLES, DEMO_TICKETS, seed
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
        overdue = await pool.fetchval(
            "SELECT id FROM tickets WHERE created_at < now() - interval '3 days'"
            " AND status NOT IN ('resolved', 'closed')"
        )
        # The demo tickets, and one overdue ticket that has climbed the escalation ladder.
        assert len(tickets) == len(DEMO_TICKETS) + 1
        # Each was auto-assigned to the handler with the skill.
        assert all(t["status"] == "assigned" and t["assignee_id"] is not None for t in tickets)
        on_timeline = await pool.fetchval("SELECT count(*) FROM interactions WHERE channel = 'ticket'")
        assert on_timeline == len(DEMO_TICKETS) + 1
        kinds = {r["kind"] for r in await pool.fetch("SELECT kind FROM alerts WHERE ticket_id = $1", overdue)}
        assert {"breach", "overdue", "escalation"} <= kinds
        climbed = await pool.fetchval("SELECT level FROM ticket_escalations WHERE ticket_id = $1", overdue)
        assert climbed >= 2
        watched = await pool.fetch(
            "SELECT c.name, a.username FROM watched_customers w JOIN customers c ON c.id = w.customer_id"
            " JOIN agents a ON a.id = w.owner_agent_id"
        )
        assert [tuple(w) for w in watched] == [("Jane Doe", "alice")]
        campaigns = await pool.fetch("SELECT name, state, dial_method FROM campaigns")
        assert [tuple(c) for c in campaigns] == [("Winter upgrade offer", "paused", "progressive")]
        assert await pool.fetchval("SELECT count(*) FROM leads") == 12
        articles = await pool.fetch("SELECT status, visibility, language FROM kb_articles")
        assert len(articles) == len(DEMO_ARTICLES) >= 12
        assert {a["status"] for a in articles} == {"published"}
        assert {a["language"] for a in articles} == {"vi", "en"}
        assert [a["visibility"] for a in articles].count("internal") == 1
        # A month of closed tickets behind them, some reopened once, for the service reports.
        history = await pool.fetchrow(
            "SELECT count(*) AS closed, count(*) FILTER (WHERE reopen_count > 0) AS reopened,"
            " count(DISTINCT (created_at AT TIME ZONE 'UTC')::date) AS days FROM tickets WHERE status = 'closed'"
        )
        assert history["closed"] >= 30
        assert 0 < history["reopened"] < history["closed"]
        assert history["days"] >= 28
        # Subjects read like requests, never like another ticket's number ("Account request #72" was #77).
        assert await pool.fetchval("SELECT count(*) FROM tickets WHERE subject ~ '#[0-9]'") == 0
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


def test_the_demo_cast_is_one_cast() -> None:
    # Issue 20: carol was "Carol Le" on her pages and "team lead Carol Nguyen" in her alerts.
    policy = load_settings(None, {}).alarms.policy
    accounts = {agent.username: agent.display_name for agent in DEMO_AGENTS}
    holders = [holder for ranks in policy.holders.values() for holder in ranks.values() if holder.username]
    assert holders
    for holder in holders:
        assert accounts.get(holder.username) == holder.name, holder
