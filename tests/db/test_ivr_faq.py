"""The IVR's FAQ against the real knowledge base: top articles of a category, and recognised speech."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from knowledge_base.model import ArticleDraft
from knowledge_base.service import Editor, KnowledgeBase
from tests.db.test_ivr_flows import IVR_ENV, Ivr, customer, running_ivr
from tests.protocol.fake_agi import ScriptedAsterisk
from web_agent.kb_api import KNOWLEDGE_BASE

pytestmark = pytest.mark.db
REVIEWER = Editor(None, reviewer=True)
SHIPPED_MENU = Path(__file__).resolve().parents[2] / "config" / "ivr.toml"


@pytest.fixture
async def ivr(pool: asyncpg.Pool) -> AsyncIterator[Ivr]:
    async with running_ivr(pool) as running:
        yield running


async def published(
    kb: KnowledgeBase, title: str, body: str, category: str, sound_file: str | None = None
) -> int:
    article = await kb.create(
        ArticleDraft.create(title=title, body=body, category=category, sound_file=sound_file), REVIEWER
    )
    await kb.publish(article.id, REVIEWER)
    return article.id


async def test_the_top_articles_of_a_category_are_played(ivr: Ivr) -> None:
    kb = ivr.client.app[KNOWLEDGE_BASE]
    recorded = await published(
        kb, "Cách xuất hóa đơn điện tử", "Vào mục Hóa đơn, chọn Xuất.", "billing", "hotline/faq/invoice"
    )
    await published(kb, "Đổi phương thức thanh toán", "Vào mục Thanh toán.", "billing")
    await published(kb, "Reset the router", "Hold the button for 10 s.", "technical", "hotline/faq/router")
    vera = await customer(ivr.pool, "Vera VIP", "vip", "+84908000042")
    caller = ScriptedAsterisk(keys=["2", "0"], caller_number="0908000042")
    visit = await ivr.call(caller)
    # Without a TTS application only the article with its own recording can be played.
    assert "hotline/faq/invoice" in caller.played
    assert "hotline/faq/router" not in caller.played
    assert not any(p.startswith("EXEC") for p in caller.played)
    assert ("faq_billing", "", "read 1 of 2") in visit["steps"]
    assert (visit["article_id"], visit["article_title"]) == (recorded, "Cách xuất hóa đơn điện tử")
    # A play counts as a read, so the most heard answers come first next time.
    assert await ivr.pool.fetchval("SELECT views FROM kb_articles WHERE id = $1", recorded) == 1
    summary = await ivr.pool.fetchval("SELECT summary FROM interactions WHERE customer_id = $1", vera)
    assert "heard 'Cách xuất hóa đơn điện tử'" in summary


async def test_recognised_speech_finds_the_article_and_tts_reads_it(
    pool: asyncpg.Pool, tmp_path: Path
) -> None:
    menu = tmp_path / "ivr.toml"
    menu.write_text(
        SHIPPED_MENU.read_text("utf-8").replace('tts_application = ""', 'tts_application = "Festival"')
    )
    async with running_ivr(pool, {**IVR_ENV, "HOTLINE_IVR_MENU_FILE": str(menu)}) as running:
        kb = running.client.app[KNOWLEDGE_BASE]
        wanted = await published(
            kb, "Cách xuất hóa đơn điện tử", "Vào mục Hóa đơn, chọn Xuất.\nXong.", "billing"
        )
        await published(kb, "Reset the router", "Hold the button for 10 s.", "technical")
        await customer(pool, "Vera VIP", "vip", "+84908000042")
        caller = ScriptedAsterisk(
            keys=["4", "0"], caller_number="0908000042", variables={"SPEECH_TEXT": "hoa don dien tu"}
        )
        visit = await running.call(caller)
    assert ("faq_speech", "hoa don dien tu", f"matched {wanted}") in visit["steps"]
    assert visit["article_id"] == wanted
    assert await pool.fetchval("SELECT views FROM kb_articles WHERE id = $1", wanted) == 1
    # One line, no commas (the application's argument separator), quoted as one AGI argument.
    assert 'EXEC Festival "Cách xuất hóa đơn điện tử. Vào mục Hóa đơn chọn Xuất. Xong."' in caller.played


async def test_speech_that_matches_nothing_goes_back_to_the_menu(ivr: Ivr) -> None:
    kb = ivr.client.app[KNOWLEDGE_BASE]
    await published(kb, "Reset the router", "Hold the button for 10 s.", "technical")
    await customer(ivr.pool, "Vera VIP", "vip", "+84908000042")
    for said, result in (("zzzz qqqq", "no_match"), (None, "no_speech")):
        variables = {"SPEECH_TEXT": said} if said else {}
        caller = ScriptedAsterisk(
            keys=["4", "0"],
            caller_number="0908000042",
            variables=variables,
            linked_id=result,
            unique_id=result,
        )
        visit = await ivr.call(caller)
        assert ("faq_speech", said or "", result) in visit["steps"]
        assert "hotline/faq-no-match" in caller.played
        assert visit["article_id"] is None
