"""The knowledge base on a real PostgreSQL: drafts, review, publishing, versions, views, the index."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import asyncpg
import pytest

from knowledge_base.errors import ArticleConflictError, ArticleNotFoundError, ReviewRequiredError
from knowledge_base.events import ArticleChanged
from knowledge_base.model import ArticleDraft, ArticleStatus, Visibility
from knowledge_base.service import Editor, KnowledgeBase
from knowledge_base.store import ArticleQuery, ArticleStore

pytestmark = pytest.mark.db
TIMEOUT_S = 10
START = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
AGENT = Editor(None)
REVIEWER = Editor(None, reviewer=True)


@dataclass
class Clock:
    now: datetime = START

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Events:
    published: list[object] = field(default_factory=list)

    def publish(self, event: object) -> None:
        self.published.append(event)


def invoice(title: str = "Cách xuất hóa đơn điện tử", **changes: object) -> ArticleDraft:
    fields: dict[str, object] = {
        "title": title,
        "body": "Vào mục Hóa đơn, chọn Xuất hóa đơn.",
        "category": "billing",
        "tags": ["invoice"],
        "synonyms": ["xuất VAT"],
        "language": "vi",
        "sound_file": "hotline/faq-invoice",
    }
    fields.update(changes)
    return ArticleDraft.create(**fields)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def events() -> Events:
    return Events()


@pytest.fixture
def kb(db: asyncpg.Connection, clock: Clock, events: Events) -> KnowledgeBase:
    return KnowledgeBase(ArticleStore(db), events, clock=clock)


async def test_a_draft_is_stored_whole_and_not_searchable(kb: KnowledgeBase, events: Events) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        article = await kb.create(invoice(), AGENT)
        stored = await kb.get(article.id)
        assert stored == article
        assert stored.status is ArticleStatus.DRAFT
        assert stored.content.synonyms == ("xuất VAT",)
        assert stored.content.sound_file == "hotline/faq-invoice"
        assert stored.created_at == START
        assert await kb.search("hoa don", category=None, limit=5) == []
        assert events.published == [ArticleChanged(article.id)]


async def test_publishing_makes_it_findable_by_customers_and_unpublishing_hides_it(
    kb: KnowledgeBase, clock: Clock
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        draft = await kb.create(invoice(), AGENT)
        clock.now += timedelta(minutes=5)
        published = await kb.publish(draft.id, REVIEWER, expected_version=draft.version)
        assert (published.status, published.version, published.published_at) == (
            ArticleStatus.PUBLISHED,
            2,
            clock.now,
        )
        (hit,) = await kb.search("hoa don", category=None, limit=5)
        assert (hit.article_id, hit.sound_file) == (draft.id, "hotline/faq-invoice")
        assert [h.article_id for h in await kb.top_articles("billing", limit=3)] == [draft.id]
        await kb.unpublish(draft.id, REVIEWER)
        assert await kb.search("hoa don", category=None, limit=5) == []


async def test_agents_write_drafts_but_only_reviewers_publish_edit_live_text_or_delete(
    kb: KnowledgeBase,
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        draft = await kb.create(invoice(), AGENT)
        edited = await kb.edit(draft.id, invoice("Xuất hóa đơn VAT"), AGENT)
        assert edited.version == 2
        with pytest.raises(ReviewRequiredError):
            await kb.publish(draft.id, AGENT)
        with pytest.raises(ReviewRequiredError):
            await kb.delete(draft.id, AGENT)
        await kb.publish(draft.id, REVIEWER)
        with pytest.raises(ReviewRequiredError):
            await kb.edit(draft.id, invoice("Sửa khi đang xuất bản"), AGENT)
        live_edit = await kb.edit(draft.id, invoice("Xuất hóa đơn GTGT"), REVIEWER)
        assert [h.title for h in await kb.search("gtgt", category=None, limit=5)] == [live_edit.title]


async def test_an_editor_with_an_old_version_is_told_and_nothing_is_overwritten(kb: KnowledgeBase) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        draft = await kb.create(invoice(), AGENT)
        await kb.edit(draft.id, invoice("First editor"), AGENT, expected_version=1)
        with pytest.raises(ArticleConflictError) as caught:
            await kb.edit(draft.id, invoice("Second editor"), AGENT, expected_version=1)
        assert (caught.value.expected, caught.value.actual) == (1, 2)
        assert (await kb.get(draft.id)).title == "First editor"
        with pytest.raises(ArticleConflictError):
            await kb.publish(draft.id, REVIEWER, expected_version=1)
        with pytest.raises(ArticleConflictError):
            await kb.delete(draft.id, REVIEWER, expected_version=1)


async def test_deleted_and_unknown_articles_are_not_found(kb: KnowledgeBase) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        article = await kb.publish((await kb.create(invoice(), AGENT)).id, REVIEWER)
        await kb.delete(article.id, REVIEWER)
        assert await kb.search("hoa don", category=None, limit=5) == []
        for attempt in (kb.get(article.id), kb.record_view(article.id), kb.publish(article.id, REVIEWER)):
            with pytest.raises(ArticleNotFoundError):
                await attempt


async def test_customers_read_only_published_public_articles_and_each_read_counts(kb: KnowledgeBase) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        public = await kb.publish((await kb.create(invoice(), AGENT)).id, REVIEWER)
        internal = await kb.publish(
            (
                await kb.create(invoice("Quy trình hoàn tiền nội bộ", visibility=Visibility.INTERNAL), AGENT)
            ).id,
            REVIEWER,
        )
        draft = await kb.create(invoice("Bản nháp hóa đơn"), AGENT)
        assert (await kb.public_article(public.id)).title == public.title
        await kb.public_article(public.id)
        assert (await kb.get(public.id)).views == 2
        for hidden in (internal.id, draft.id):
            with pytest.raises(ArticleNotFoundError):
                await kb.public_article(hidden)
        assert [h.article_id for h in await kb.search("hoan tien", category=None, limit=5)] == []
        assert [h.article_id for h in await kb.agent_search("hoan tien", category=None, limit=5)] == [
            internal.id
        ]
        assert [h.views for h in await kb.top_articles("billing", limit=5)] == [2]


async def test_views_rank_the_ivr_faq_and_survive_a_reload(db: asyncpg.Connection, kb: KnowledgeBase) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        first = await kb.publish((await kb.create(invoice("Giờ làm việc"), AGENT)).id, REVIEWER)
        second = await kb.publish((await kb.create(invoice("Cước phí tháng"), AGENT)).id, REVIEWER)
        for _ in range(3):
            await kb.record_view(second.id)
        assert [h.article_id for h in await kb.top_articles("billing", limit=2)] == [second.id, first.id]
        other_node = KnowledgeBase(ArticleStore(db), Events(), clock=Clock())
        assert await other_node.load() == 2
        assert [h.views for h in await other_node.top_articles("billing", limit=2)] == [3, 0]


async def test_a_change_event_makes_another_node_re_read_the_article(
    db: asyncpg.Connection, kb: KnowledgeBase
) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        other_node = KnowledgeBase(ArticleStore(db), Events(), clock=Clock())
        await other_node.load()
        article = await kb.publish((await kb.create(invoice(), AGENT)).id, REVIEWER)
        assert await other_node.search("hoa don", category=None, limit=5) == []
        other_node.on_article_changed(ArticleChanged(article.id))
        await other_node.idle()
        assert [h.article_id for h in await other_node.search("hoa don", category=None, limit=5)] == [
            article.id
        ]
        await kb.delete(article.id, REVIEWER)
        other_node.on_article_changed(ArticleChanged(article.id))
        other_node.on_article_changed(ArticleChanged(article.id))
        await other_node.idle()
        assert await other_node.search("hoa don", category=None, limit=5) == []
        await other_node.close()


async def test_suggestions_take_the_most_read_of_each_category_in_turn(kb: KnowledgeBase) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        ids = {}
        for title, category in (
            ("Hóa đơn A", "billing"),
            ("Hóa đơn B", "billing"),
            ("Mạng chậm", "technical"),
        ):
            ids[title] = (
                await kb.publish((await kb.create(invoice(title, category=category), AGENT)).id, REVIEWER)
            ).id
        await kb.record_view(ids["Hóa đơn B"])
        hits = await kb.suggestions(["billing", "technical", "billing"], limit=3)
        assert [h.article_id for h in hits] == [ids["Hóa đơn B"], ids["Mạng chậm"], ids["Hóa đơn A"]]
        assert await kb.suggestions([], limit=3) == []


async def test_the_editing_list_filters_and_pages(kb: KnowledgeBase, clock: Clock) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        for n in range(3):
            clock.now += timedelta(minutes=1)
            await kb.create(invoice(f"Bài {n}", category="billing" if n < 2 else "technical"), AGENT)
        page = await kb.articles(ArticleQuery(category="billing", limit=1))
        assert (page.total, [a.title for a in page.articles]) == (2, ["Bài 1"])
        beyond = await kb.articles(ArticleQuery(category="billing", limit=1, offset=5))
        assert (beyond.total, beyond.articles) == (2, ())
        assert (await kb.articles(ArticleQuery(status=ArticleStatus.PUBLISHED))).total == 0


async def test_two_editors_at_once_one_wins_the_other_is_told(pool: asyncpg.Pool) -> None:
    async with asyncio.timeout(TIMEOUT_S):
        kb = KnowledgeBase(ArticleStore(pool), Events(), clock=Clock())
        draft = await kb.create(invoice(), AGENT)
        outcomes = await asyncio.gather(
            *(kb.edit(draft.id, invoice(f"Editor {n}"), AGENT, expected_version=1) for n in range(4)),
            return_exceptions=True,
        )
        saved = [o for o in outcomes if not isinstance(o, BaseException)]
        refused = [o for o in outcomes if isinstance(o, ArticleConflictError)]
        assert (len(saved), len(refused)) == (1, 3), outcomes
        assert (await kb.get(draft.id)).title == saved[0].title
