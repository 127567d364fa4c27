"""Two Hotline nodes on one database keep their search indexes right through the real Redis."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime

import asyncpg
import pytest
import redis.asyncio as aioredis

from hotline.bus import EventBus
from hotline.redis_bus import RedisRelay
from knowledge_base.events import ArticleChanged
from knowledge_base.model import ArticleDraft
from knowledge_base.service import Editor, KnowledgeBase
from knowledge_base.store import ArticleStore
from tests.conftest import eventually

pytestmark = pytest.mark.db
REDIS_URL = f"redis://127.0.0.1:{os.environ.get('HOTLINE_TEST_REDIS_PORT', '26379')}/0"
REVIEWER = Editor(None, reviewer=True)
TIMEOUT_S = 15


@dataclass
class Node:
    knowledge_base: KnowledgeBase
    relay: RedisRelay


@asynccontextmanager
async def node(pool: asyncpg.Pool, channel: str) -> AsyncIterator[Node]:
    """One node as hotline/app.py wires it: its own bus, index and relay."""
    bus = EventBus()
    kb = KnowledgeBase(ArticleStore(pool), bus, clock=lambda: datetime.now(UTC))
    bus.subscribe(ArticleChanged, kb.on_article_changed)
    relay = RedisRelay(REDIS_URL, bus, (ArticleChanged,), on_connected=kb.load, channel=channel)
    task = asyncio.get_running_loop().create_task(relay.run())
    try:
        await eventually(lambda: relay.connected, timeout_s=5)
        yield Node(kb, relay)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await kb.close()


def faq(title: str) -> ArticleDraft:
    return ArticleDraft.create(title=title, body="Xem hướng dẫn trong ứng dụng.", category="billing")


async def titles(kb: KnowledgeBase, text: str) -> list[str]:
    return [h.title for h in await kb.search(text, category=None, limit=5)]


async def test_a_change_on_one_node_reaches_the_index_of_the_other(pool: asyncpg.Pool) -> None:
    channel = f"hotline:test:{uuid.uuid4().hex}"
    async with asyncio.timeout(TIMEOUT_S), node(pool, channel) as a, node(pool, channel) as b:
        draft = await a.knowledge_base.create(faq("Cách xuất hóa đơn điện tử"), REVIEWER)
        await a.knowledge_base.publish(draft.id, REVIEWER)
        assert await titles(a.knowledge_base, "hoa don") == ["Cách xuất hóa đơn điện tử"]

        async def b_finds(expected: list[str]) -> bool:
            return await titles(b.knowledge_base, "hoa don") == expected

        await eventually(lambda: b_finds(["Cách xuất hóa đơn điện tử"]), timeout_s=5)
        await b.knowledge_base.edit(draft.id, faq("Xuất hóa đơn VAT"), REVIEWER)
        await eventually(lambda: a.knowledge_base.search("vat", category=None, limit=1), timeout_s=5)
        await a.knowledge_base.delete(draft.id, REVIEWER)
        await eventually(lambda: b_finds([]), timeout_s=5)


async def test_a_node_that_connects_later_loads_what_it_missed(pool: asyncpg.Pool) -> None:
    channel = f"hotline:test:{uuid.uuid4().hex}"
    async with asyncio.timeout(TIMEOUT_S), node(pool, channel) as a:
        draft = await a.knowledge_base.create(faq("Giờ làm việc của tổng đài"), REVIEWER)
        await a.knowledge_base.publish(draft.id, REVIEWER)
        async with node(pool, channel) as late:
            assert await titles(late.knowledge_base, "gio lam viec") == ["Giờ làm việc của tổng đài"]


async def test_malformed_or_foreign_messages_on_the_channel_are_dropped(pool: asyncpg.Pool) -> None:
    channel = f"hotline:test:{uuid.uuid4().hex}"
    async with asyncio.timeout(TIMEOUT_S), node(pool, channel) as a, node(pool, channel) as b:
        client = aioredis.from_url(REDIS_URL)
        try:
            for junk in (
                b"not json",
                b"{}",
                b'{"node": "x", "kind": "ArticleChanged", "data": {"nope": 1}}',
                b'{"node": "x", "kind": "SomethingElse", "data": {}}',
            ):
                await client.publish(channel, junk)
        finally:
            await client.aclose()
        # The relays are still up: a real change after the junk still arrives.
        draft = await a.knowledge_base.create(faq("Đổi gói cước"), REVIEWER)
        await a.knowledge_base.publish(draft.id, REVIEWER)
        await eventually(lambda: b.knowledge_base.search("goi cuoc", category=None, limit=1), timeout_s=5)
        assert b.relay.connected


async def test_a_node_whose_redis_connection_is_cut_reconnects_and_reloads(pool: asyncpg.Pool) -> None:
    channel = f"hotline:test:{uuid.uuid4().hex}"
    async with asyncio.timeout(TIMEOUT_S), node(pool, channel) as a, node(pool, channel) as b:
        client = aioredis.from_url(REDIS_URL)
        try:
            # While b's subscription is cut, a publishes an article b cannot hear about.
            killed = await client.client_kill_filter(_type="pubsub")
            assert killed >= 2
            await eventually(lambda: not b.relay.connected, timeout_s=5)
            draft = await a.knowledge_base.create(faq("Mất mạng cả khu vực"), REVIEWER)
            await a.knowledge_base.publish(draft.id, REVIEWER)
        finally:
            await client.aclose()
        await eventually(lambda: b.relay.connected, timeout_s=10)
        # The reload on reconnect, or the retried message: either way b finds it.
        await eventually(lambda: b.knowledge_base.search("mat mang", category=None, limit=1), timeout_s=5)
