"""The knowledge base's use cases: write articles, review and publish them, find answers.

Writes go to the store; the node that wrote patches its own index at once, then publishes
ArticleChanged so every node (through the bus, and Redis when there are several) re-reads the
article and patches its index. Reads never touch the database: they search the index.
Who may do what: anyone signed in writes drafts; only a reviewer (supervisor, admin) publishes,
takes back, deletes, or edits an article that is live, because customers and callers read it.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime

from knowledge_base.errors import ArticleNotFoundError, ReviewRequiredError
from knowledge_base.events import ArticleChanged, EventSink
from knowledge_base.index import ArticleHit, ArticleIndex, Audience
from knowledge_base.model import Article, ArticleDraft, ArticleStatus
from knowledge_base.store import ArticlePage, ArticleQuery, ArticleStore

log = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class Editor:
    """Who is writing: an agent's id, and whether they review (supervisors and admins do)."""

    id: int | None
    reviewer: bool = False


class KnowledgeBase:
    """Articles: editing and review against the store, search against this node's index."""

    def __init__(self, store: ArticleStore, events: EventSink, *, clock: Callable[[], datetime]) -> None:
        self._store = store
        self._events = events
        self._clock = clock
        self._index = ArticleIndex()
        self._pending: dict[int, None] = {}
        self._refresher: asyncio.Task[None] | None = None

    async def load(self) -> int:
        """Build this node's index from every published article (start-up); how many it holds."""
        self._index.replace_all(await self._store.published())
        log.info("knowledge base index loaded: %d published articles", len(self._index))
        return len(self._index)

    # --- answers ---------------------------------------------------------------------------

    async def top_articles(self, category: str, *, limit: int) -> Sequence[ArticleHit]:
        """The most read published public articles of `category` (the IVR's FAQ menu)."""
        return self._index.top(category, Audience.CUSTOMER, limit=limit)

    async def search(self, text: str, *, category: str | None, limit: int) -> Sequence[ArticleHit]:
        """Published public articles matching `text` best first (portal, IVR speech)."""
        return self._index.search(text, Audience.CUSTOMER, category=category, limit=limit)

    async def agent_search(self, text: str, *, category: str | None, limit: int) -> Sequence[ArticleHit]:
        """Published articles, internal ones too, matching `text` best first (agents)."""
        return self._index.search(text, Audience.AGENT, category=category, limit=limit)

    async def suggestions(self, categories: Sequence[str], *, limit: int) -> Sequence[ArticleHit]:
        """What an agent may need for these categories: the most read of each, taken in turn."""
        per_category = [self._index.top(c, Audience.AGENT, limit=limit) for c in dict.fromkeys(categories)]
        chosen: dict[int, ArticleHit] = {}
        for rank in range(limit):
            for hits in per_category:
                if rank < len(hits) and len(chosen) < limit:
                    chosen.setdefault(hits[rank].article_id, hits[rank])
        return list(chosen.values())

    async def public_article(self, article_id: int) -> Article:
        """A published public article, counted as read; ArticleNotFoundError for anything else."""
        article = await self._store.get(article_id)
        if not article.is_public_live:
            raise ArticleNotFoundError(article_id)
        await self.record_view(article_id)
        return article

    async def record_view(self, article_id: int) -> None:
        """Count one read of an article (popularity ranks search results and the IVR's FAQ)."""
        views = await self._store.add_view(article_id)
        if views is None:
            raise ArticleNotFoundError(article_id)
        self._index.set_views(article_id, views)

    # --- editing ---------------------------------------------------------------------------

    async def get(self, article_id: int) -> Article:
        """An article in any state (the editing page)."""
        return await self._store.get(article_id)

    async def articles(self, query: ArticleQuery) -> ArticlePage:
        """A page of articles in any state (the editing page's list)."""
        return await self._store.search(query)

    async def create(self, draft: ArticleDraft, editor: Editor) -> Article:
        """Save a new article as a draft."""
        article = await self._store.insert(draft, at=self._clock(), actor_id=editor.id)
        log.info("article %d drafted by agent %s", article.id, editor.id)
        self._changed(article)
        return article

    async def edit(
        self, article_id: int, draft: ArticleDraft, editor: Editor, *, expected_version: int | None = None
    ) -> Article:
        """Replace an article's text; a live article's only by a reviewer."""
        current = await self._store.get(article_id)
        if current.is_live and not editor.reviewer:
            raise ReviewRequiredError(article_id, "edit the published text of")
        article = await self._store.update(
            article_id,
            draft,
            expected_version=current.version if expected_version is None else expected_version,
            at=self._clock(),
            actor_id=editor.id,
        )
        log.info("article %d edited by agent %s (version %d)", article_id, editor.id, article.version)
        self._changed(article)
        return article

    async def publish(
        self, article_id: int, editor: Editor, *, expected_version: int | None = None
    ) -> Article:
        """Make an article searchable (portal and IVR too, if public)."""
        return await self._set_status(
            article_id, ArticleStatus.PUBLISHED, editor, expected_version, "publish"
        )

    async def unpublish(
        self, article_id: int, editor: Editor, *, expected_version: int | None = None
    ) -> Article:
        """Take an article back to draft: nobody finds it until it is published again."""
        return await self._set_status(article_id, ArticleStatus.DRAFT, editor, expected_version, "unpublish")

    async def delete(self, article_id: int, editor: Editor, *, expected_version: int | None = None) -> None:
        """Remove an article for good."""
        if not editor.reviewer:
            raise ReviewRequiredError(article_id, "delete")
        version = (
            expected_version if expected_version is not None else (await self._store.get(article_id)).version
        )
        await self._store.delete(article_id, expected_version=version)
        log.info("article %d deleted by agent %s", article_id, editor.id)
        self._index.remove(article_id)
        self._events.publish(ArticleChanged(article_id))

    async def _set_status(
        self,
        article_id: int,
        status: ArticleStatus,
        editor: Editor,
        expected_version: int | None,
        action: str,
    ) -> Article:
        if not editor.reviewer:
            raise ReviewRequiredError(article_id, action)
        version = (
            expected_version if expected_version is not None else (await self._store.get(article_id)).version
        )
        article = await self._store.set_status(
            article_id, status, expected_version=version, at=self._clock(), actor_id=editor.id
        )
        log.info("article %d %sed by agent %s", article_id, action, editor.id)
        self._changed(article)
        return article

    def _changed(self, article: Article) -> None:
        self._index.put(article)
        self._events.publish(ArticleChanged(article.id))

    # --- keeping every node's index right --------------------------------------------------

    def on_article_changed(self, event: ArticleChanged) -> None:
        """Bus subscriber (this node's changes and other nodes', through Redis): re-read the article.

        Must not block: reads are queued and run one after another, so a later change is always
        read after an earlier one and the index ends at the article's latest state.
        """
        self._pending[event.article_id] = None
        if self._refresher is None or self._refresher.done():
            self._refresher = asyncio.get_running_loop().create_task(self._refresh_pending())

    async def refresh(self, article_id: int) -> None:
        """Put the article's current state in the index (or take it out, if it is gone)."""
        try:
            article = await self._store.get(article_id)
        except ArticleNotFoundError:
            self._index.remove(article_id)
        else:
            self._index.put(article)

    async def idle(self) -> None:
        """Wait until every queued re-read is done (tests, shutdown)."""
        while self._refresher is not None and not self._refresher.done():
            await asyncio.wait([self._refresher])

    async def close(self) -> None:
        """Stop re-reading (shutdown)."""
        if self._refresher is not None:
            self._refresher.cancel()
            await asyncio.gather(self._refresher, return_exceptions=True)

    async def _refresh_pending(self) -> None:
        while self._pending:
            article_id = next(iter(self._pending))
            del self._pending[article_id]
            try:
                await self.refresh(article_id)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "re-reading article %d after a change failed; this node's search shows its older "
                    "state until the article changes again or the node restarts",
                    article_id,
                )
