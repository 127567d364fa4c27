"""`hotline demo` seeding: agents, customers, handler profiles and open tickets on their timelines."""

from __future__ import annotations

import asyncio

import asyncpg
import pytest

from hotline.demo import DEMO_ARTICLES, DEMO_TICKETS, seed
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
        tickets = await pool.fetch("SELECT status, assignee_id, category FROM tickets ORDER BY id")
        assert len(tickets) == len(DEMO_TICKETS)
        # Each was auto-assigned to the handler with the skill.
        assert all(t["status"] == "assigned" and t["assignee_id"] is not None for t in tickets)
        on_timeline = await pool.fetchval("SELECT count(*) FROM interactions WHERE channel = 'ticket'")
        assert on_timeline == len(DEMO_TICKETS)
        campaigns = await pool.fetch("SELECT name, state, dial_method FROM campaigns")
        assert [tuple(c) for c in campaigns] == [("Winter upgrade offer", "paused", "progressive")]
        assert await pool.fetchval("SELECT count(*) FROM leads") == 12
        articles = await pool.fetch("SELECT status, visibility, language FROM kb_articles")
        assert len(articles) == len(DEMO_ARTICLES) >= 12
        assert {a["status"] for a in articles} == {"published"}
        assert {a["language"] for a in articles} == {"vi", "en"}
        assert [a["visibility"] for a in articles].count("internal") == 1
        assert await seed(pool, settings) is False
        assert await pool.fetchval("SELECT count(*) FROM tickets") == len(DEMO_TICKETS)
