"""HTTP for the knowledge base: /api/kb (agents write drafts, supervisors and admins publish) and /kb.

Who may do what: every signed-in role reads, searches, writes drafts and edits drafts; only
supervisors and admins (SUPERVISORS) publish, take back to draft, delete, or edit an article
that is live, since customers, callers and the portal read it. The route checks the role; the
service checks again (ReviewRequiredError) for an edit of live text.
"""

from __future__ import annotations

import logging
from typing import Annotated

import msgspec
from aiohttp import web

from agents import Agent, Role
from knowledge_base import (
    MAX_BODY_CHARS,
    MAX_PAGE,
    MAX_SOUND_FILE_CHARS,
    MAX_TERMS,
    MAX_TITLE_CHARS,
    Article,
    ArticleDraft,
    ArticleHit,
    ArticleQuery,
    ArticleStatus,
    Editor,
    KnowledgeBase,
    Visibility,
)
from web_agent.api import ANY_ROLE, MAX_ID, MAX_QUERY_CHARS, SUPERVISORS
from web_agent.app import STATIC_DIR
from web_agent.routes import (
    IdPath,
    Instant,
    JsonBody,
    QueryString,
    Reply,
    Routes,
    Version,
    iso,
    one_line,
    stripped,
)

log = logging.getLogger(__name__)

ROUTES = Routes("knowledge base")
KNOWLEDGE_BASE = web.AppKey("knowledge_base", KnowledgeBase)
MAX_HITS = 50
_EDIT = ("kb.not_found", "kb.version_conflict")

# Text the model cleans (spaces folded) and then measures: the edge only bounds it, twice over.
Terms = Annotated[list[Annotated[str, msgspec.Meta(max_length=100)]], msgspec.Meta(max_length=MAX_TERMS)]
Category = Annotated[str, one_line(40)]


class ArticleView(Reply):
    """An article as the editing page shows it."""

    id: int
    version: int
    title: str
    body: str
    category: str
    tags: list[str]
    synonyms: list[str]
    language: str
    visibility: Visibility
    status: ArticleStatus
    sound_file: str | None
    views: int
    created_at: Instant
    updated_at: Instant
    published_at: Instant | None

    @classmethod
    def of(cls, article: Article) -> ArticleView:
        """The view of an article."""
        content = article.content
        return cls(
            id=article.id,
            version=article.version,
            title=content.title,
            body=content.body,
            category=content.category,
            tags=list(content.tags),
            synonyms=list(content.synonyms),
            language=content.language,
            visibility=content.visibility,
            status=article.status,
            sound_file=content.sound_file,
            views=article.views,
            created_at=article.created_at.isoformat(),
            updated_at=article.updated_at.isoformat(),
            published_at=iso(article.published_at),
        )


class HitView(Reply):
    """A search hit: enough to show the answer, and how well it matched."""

    article_id: int
    title: str
    body: str
    category: str
    language: str
    visibility: Visibility
    views: int
    score: float

    @classmethod
    def of(cls, hit: ArticleHit) -> HitView:
        """The view of a search hit."""
        return cls(
            article_id=hit.article_id,
            title=hit.title,
            body=hit.body,
            category=hit.category,
            language=hit.language,
            visibility=hit.visibility,
            views=hit.views,
            score=hit.score,
        )


class HitList(Reply):
    """Search hits, best first."""

    hits: list[HitView]


class ArticleReply(Reply):
    """One article."""

    article: ArticleView


class ArticleSearch(QueryString):
    """Words to look for, and in which category."""

    q: Annotated[str, msgspec.Meta(max_length=MAX_QUERY_CHARS, description="the words")] = ""
    category: Category | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_HITS, description="at most so many hits")] = 10


def _editor(agent: Agent) -> Editor:
    return Editor(agent.id, reviewer=agent.role is not Role.AGENT)


class ArticleBody(JsonBody):
    """An article's content; the model lists every rule it breaks (InvalidArticleError)."""

    title: Annotated[str, msgspec.Meta(max_length=MAX_TITLE_CHARS * 2)] = ""
    body: Annotated[str, msgspec.Meta(max_length=MAX_BODY_CHARS * 2)] = ""
    category: Category = ""
    tags: Terms = msgspec.field(default_factory=list)
    synonyms: Annotated[
        list[Annotated[str, msgspec.Meta(max_length=200)]], msgspec.Meta(max_length=MAX_TERMS)
    ] = msgspec.field(default_factory=list)
    language: Annotated[str, msgspec.Meta(max_length=20, description="vi when blank")] = "vi"
    visibility: Visibility = Visibility.PUBLIC
    sound_file: (
        Annotated[
            str,
            one_line(MAX_SOUND_FILE_CHARS * 2),
        ]
        | None
    ) = None

    def draft(self) -> ArticleDraft:
        """The content as the model takes it."""
        return ArticleDraft.create(
            title=self.title,
            body=self.body,
            category=self.category,
            tags=self.tags,
            synonyms=self.synonyms,
            language=self.language or "vi",
            visibility=self.visibility,
            sound_file=stripped(self.sound_file),
        )


class ArticleEditBody(ArticleBody):
    """An article's new content, and the version read."""

    version: Version | None = None


class VersionBody(JsonBody):
    """The version read (optional: without it the change applies to any version)."""

    version: Version | None = None


class VersionQuery(QueryString):
    """The version read."""

    version: Version | None = None


class ArticleFilter(QueryString):
    """Filters and a page of the editing page's list."""

    status: ArticleStatus | None = None
    category: Category | None = None
    visibility: Visibility | None = None
    limit: Annotated[int, msgspec.Meta(ge=1, le=MAX_PAGE)] = 50
    offset: Annotated[int, msgspec.Meta(ge=0, le=MAX_ID)] = 0


class ArticlePage(Reply):
    """One page of articles, and how many there are in all."""

    articles: list[ArticleView]
    total: int


@ROUTES.get("/api/kb/articles", roles=ANY_ROLE)
async def list_articles(request: web.Request, agent: Agent, *, query: ArticleFilter) -> ArticlePage:
    """Articles in any state for the editing page, most recently changed first."""
    search = ArticleQuery(
        status=query.status,
        category=stripped(query.category),
        visibility=query.visibility,
        limit=query.limit,
        offset=query.offset,
    )
    page = await request.app[KNOWLEDGE_BASE].articles(search)
    return ArticlePage([ArticleView.of(a) for a in page.articles], page.total)


@ROUTES.get("/api/kb/search", roles=ANY_ROLE)
async def search_articles(request: web.Request, agent: Agent, *, query: ArticleSearch) -> HitList:
    """Search published articles, internal ones too (agents), best first."""
    hits = await request.app[KNOWLEDGE_BASE].agent_search(
        query.q, category=stripped(query.category), limit=query.limit
    )
    return HitList([HitView.of(h) for h in hits])


@ROUTES.get("/api/kb/articles/{id}", roles=ANY_ROLE, errors=("kb.not_found",))
async def get_article(request: web.Request, agent: Agent, *, path: IdPath) -> ArticleReply:
    """One article in any state."""
    return ArticleReply(ArticleView.of(await request.app[KNOWLEDGE_BASE].get(path.id)))


@ROUTES.post("/api/kb/articles", roles=ANY_ROLE, status=201)
async def create_article(request: web.Request, agent: Agent, *, body: ArticleBody) -> ArticleReply:
    """Write a new article (saved as a draft; any signed-in role)."""
    article = await request.app[KNOWLEDGE_BASE].create(body.draft(), _editor(agent))
    return ArticleReply(ArticleView.of(article))


@ROUTES.put("/api/kb/articles/{id}", roles=ANY_ROLE, errors=(*_EDIT, "kb.review_required"))
async def edit_article(
    request: web.Request, agent: Agent, *, path: IdPath, body: ArticleEditBody
) -> ArticleReply:
    """Replace an article's text (a published article's: supervisors and admins only)."""
    article = await request.app[KNOWLEDGE_BASE].edit(
        path.id, body.draft(), _editor(agent), expected_version=body.version
    )
    return ArticleReply(ArticleView.of(article))


@ROUTES.post("/api/kb/articles/{id}/publish", roles=SUPERVISORS, errors=_EDIT, body_optional=True)
async def publish_article(
    request: web.Request, agent: Agent, *, path: IdPath, body: VersionBody
) -> ArticleReply:
    """Publish: searchable by agents, and by the portal and IVR if public."""
    kb = request.app[KNOWLEDGE_BASE]
    article = await kb.publish(path.id, _editor(agent), expected_version=body.version)
    return ArticleReply(ArticleView.of(article))


@ROUTES.post("/api/kb/articles/{id}/unpublish", roles=SUPERVISORS, errors=_EDIT, body_optional=True)
async def unpublish_article(
    request: web.Request, agent: Agent, *, path: IdPath, body: VersionBody
) -> ArticleReply:
    """Take back to draft: nobody finds it until published again."""
    kb = request.app[KNOWLEDGE_BASE]
    article = await kb.unpublish(path.id, _editor(agent), expected_version=body.version)
    return ArticleReply(ArticleView.of(article))


@ROUTES.delete("/api/kb/articles/{id}", roles=SUPERVISORS, status=204, errors=_EDIT)
async def delete_article(request: web.Request, agent: Agent, *, path: IdPath, query: VersionQuery) -> None:
    """Delete an article for good."""
    await request.app[KNOWLEDGE_BASE].delete(path.id, _editor(agent), expected_version=query.version)


@ROUTES.post("/api/kb/articles/{id}/viewed", roles=ANY_ROLE, status=204, errors=("kb.not_found",))
async def article_viewed(request: web.Request, agent: Agent, *, path: IdPath) -> None:
    """An agent opened the answer (counts towards its popularity)."""
    await request.app[KNOWLEDGE_BASE].record_view(path.id)


async def kb_page(request: web.Request) -> web.FileResponse:
    """GET /kb: the page to write, review and publish articles (signs in like the desktop)."""
    return web.FileResponse(STATIC_DIR / "kb.html", headers={"Cache-Control": "no-cache"})


def add_kb_routes(app: web.Application, kb: KnowledgeBase) -> None:
    """Register the knowledge-base endpoints and its editing page on the application."""
    app[KNOWLEDGE_BASE] = kb
    ROUTES.add_to(app)
    app.router.add_get("/kb", kb_page)
