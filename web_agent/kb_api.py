"""HTTP for the knowledge base: /api/kb (agents write drafts, supervisors and admins publish) and /kb.

Who may do what: every signed-in role reads, searches, writes drafts and edits drafts; only
supervisors and admins (SUPERVISORS) publish, take back to draft, delete, or edit an article
that is live, since customers, callers and the portal read it. The route checks the role; the
service checks again (ReviewRequiredError) for an edit of live text.
"""

from __future__ import annotations

import logging
from typing import Any

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
from web_agent.api import (
    ANY_ROLE,
    MAX_ID,
    MAX_QUERY_CHARS,
    MAX_VERSION,
    SUPERVISORS,
    Fields,
    json_object,
    require,
)
from web_agent.app import STATIC_DIR

log = logging.getLogger(__name__)

KNOWLEDGE_BASE = web.AppKey("knowledge_base", KnowledgeBase)
MAX_HITS = 50
_ARTICLE_ID = r"{id:\d{1,18}}"


def article_json(article: Article) -> dict[str, Any]:
    """An article as the editing page shows it."""
    content = article.content
    return {
        "id": article.id,
        "version": article.version,
        "title": content.title,
        "body": content.body,
        "category": content.category,
        "tags": list(content.tags),
        "synonyms": list(content.synonyms),
        "language": content.language,
        "visibility": content.visibility.value,
        "status": article.status.value,
        "sound_file": content.sound_file,
        "views": article.views,
        "created_at": article.created_at.isoformat(),
        "updated_at": article.updated_at.isoformat(),
        "published_at": None if article.published_at is None else article.published_at.isoformat(),
    }


def hit_json(hit: ArticleHit) -> dict[str, Any]:
    """A search hit: enough to show the answer, and how well it matched."""
    return {
        "article_id": hit.article_id,
        "title": hit.title,
        "body": hit.body,
        "category": hit.category,
        "language": hit.language,
        "visibility": hit.visibility.value,
        "views": hit.views,
        "score": hit.score,
    }


def search_fields(request: web.Request) -> tuple[str, str | None, int]:
    """(text, category, limit) of a `?q=&category=&limit=` search; ValidationFailedError if malformed."""
    fields = Fields(request.query, query=True)
    text = fields.text("q", max_len=MAX_QUERY_CHARS)
    category = fields.optional_text("category", max_len=40)
    limit = fields.integer("limit", low=1, high=MAX_HITS, default=10)
    fields.check()
    assert limit is not None
    return text, category, limit


def _editor(agent: Agent) -> Editor:
    return Editor(agent.id, reviewer=agent.role is not Role.AGENT)


def _article_id(request: web.Request) -> int:
    # The route only matches up to 18 digits, so this always fits a bigint.
    return int(request.match_info["id"])


def _draft(fields: Fields) -> ArticleDraft:
    """The article content of a body; the model lists every rule it breaks (InvalidArticleError)."""
    title = fields.text("title", max_len=MAX_TITLE_CHARS * 2)
    body = fields.text("body", max_len=MAX_BODY_CHARS * 2)
    category = fields.text("category", max_len=40)
    tags = fields.strings("tags", max_items=MAX_TERMS, max_len=100) if fields.given("tags") else []
    synonyms = (
        fields.strings("synonyms", max_items=MAX_TERMS, max_len=200) if fields.given("synonyms") else []
    )
    language = fields.text("language", max_len=20) or "vi"
    visibility = fields.choice("visibility", Visibility) or Visibility.PUBLIC
    sound_file = fields.optional_text("sound_file", max_len=MAX_SOUND_FILE_CHARS * 2)
    fields.check()
    return ArticleDraft.create(
        title=title,
        body=body,
        category=category,
        tags=tags,
        synonyms=synonyms,
        language=language,
        visibility=visibility,
        sound_file=sound_file,
    )


async def _version(request: web.Request) -> int | None:
    """The optional `version` the client read, from a JSON body (or none sent at all)."""
    if not request.can_read_body:
        return None
    fields = Fields(await json_object(request))
    version = fields.integer("version", low=1, high=MAX_VERSION)
    fields.check()
    return version


@require(*ANY_ROLE)
async def list_articles(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/kb/articles?status=&category=&visibility=&limit=&offset=: articles in any state."""
    fields = Fields(request.query, query=True)
    query = ArticleQuery(
        status=fields.choice("status", ArticleStatus),
        category=fields.optional_text("category", max_len=40),
        visibility=fields.choice("visibility", Visibility),
        limit=fields.integer("limit", low=1, high=MAX_PAGE, default=50) or 50,
        offset=fields.integer("offset", low=0, high=MAX_ID, default=0) or 0,
    )
    fields.check()
    page = await request.app[KNOWLEDGE_BASE].articles(query)
    return web.json_response({"articles": [article_json(a) for a in page.articles], "total": page.total})


@require(*ANY_ROLE)
async def search_articles(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/kb/search?q=&category=&limit=: published articles, internal ones too, best first."""
    text, category, limit = search_fields(request)
    hits = await request.app[KNOWLEDGE_BASE].agent_search(text, category=category, limit=limit)
    return web.json_response({"hits": [hit_json(h) for h in hits]})


@require(*ANY_ROLE)
async def get_article(request: web.Request, agent: Agent) -> web.Response:
    """GET /api/kb/articles/{id}: one article in any state."""
    article = await request.app[KNOWLEDGE_BASE].get(_article_id(request))
    return web.json_response({"article": article_json(article)})


@require(*ANY_ROLE)
async def create_article(request: web.Request, agent: Agent) -> web.Response:
    """POST /api/kb/articles {title, body, category, tags?, synonyms?, language?, visibility?, sound_file?}."""
    draft = _draft(Fields(await json_object(request)))
    article = await request.app[KNOWLEDGE_BASE].create(draft, _editor(agent))
    return web.json_response({"article": article_json(article)}, status=201)


@require(*ANY_ROLE)
async def edit_article(request: web.Request, agent: Agent) -> web.Response:
    """PUT /api/kb/articles/{id} {…the article, version?}: replace its text (live text: reviewers only)."""
    fields = Fields(await json_object(request))
    version = fields.integer("version", low=1, high=MAX_VERSION)
    draft = _draft(fields)
    article = await request.app[KNOWLEDGE_BASE].edit(
        _article_id(request), draft, _editor(agent), expected_version=version
    )
    return web.json_response({"article": article_json(article)})


@require(*SUPERVISORS)
async def publish_article(request: web.Request, agent: Agent) -> web.Response:
    """POST /api/kb/articles/{id}/publish {version?}: make it searchable (portal and IVR too, if public)."""
    version = await _version(request)
    kb = request.app[KNOWLEDGE_BASE]
    article = await kb.publish(_article_id(request), _editor(agent), expected_version=version)
    return web.json_response({"article": article_json(article)})


@require(*SUPERVISORS)
async def unpublish_article(request: web.Request, agent: Agent) -> web.Response:
    """POST /api/kb/articles/{id}/unpublish {version?}: take it back to draft."""
    version = await _version(request)
    kb = request.app[KNOWLEDGE_BASE]
    article = await kb.unpublish(_article_id(request), _editor(agent), expected_version=version)
    return web.json_response({"article": article_json(article)})


@require(*SUPERVISORS)
async def delete_article(request: web.Request, agent: Agent) -> web.Response:
    """DELETE /api/kb/articles/{id}?version=: remove it for good."""
    fields = Fields(request.query, query=True)
    version = fields.integer("version", low=1, high=MAX_VERSION)
    fields.check()
    await request.app[KNOWLEDGE_BASE].delete(_article_id(request), _editor(agent), expected_version=version)
    return web.Response(status=204)


@require(*ANY_ROLE)
async def article_viewed(request: web.Request, agent: Agent) -> web.Response:
    """POST /api/kb/articles/{id}/viewed: an agent opened the answer (it counts towards popularity)."""
    await request.app[KNOWLEDGE_BASE].record_view(_article_id(request))
    return web.Response(status=204)


async def kb_page(request: web.Request) -> web.FileResponse:
    """GET /kb: the page to write, review and publish articles (signs in like the desktop)."""
    return web.FileResponse(STATIC_DIR / "kb.html", headers={"Cache-Control": "no-cache"})


def add_kb_routes(app: web.Application, kb: KnowledgeBase) -> None:
    """Register the knowledge-base endpoints and its editing page on the application."""
    app[KNOWLEDGE_BASE] = kb
    router = app.router
    router.add_get("/api/kb/articles", list_articles)
    router.add_post("/api/kb/articles", create_article)
    router.add_get("/api/kb/search", search_articles)
    router.add_get(f"/api/kb/articles/{_ARTICLE_ID}", get_article)
    router.add_put(f"/api/kb/articles/{_ARTICLE_ID}", edit_article)
    router.add_delete(f"/api/kb/articles/{_ARTICLE_ID}", delete_article)
    router.add_post(f"/api/kb/articles/{_ARTICLE_ID}/publish", publish_article)
    router.add_post(f"/api/kb/articles/{_ARTICLE_ID}/unpublish", unpublish_article)
    router.add_post(f"/api/kb/articles/{_ARTICLE_ID}/viewed", article_viewed)
    router.add_get("/kb", kb_page)
