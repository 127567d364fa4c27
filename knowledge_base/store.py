"""Articles in PostgreSQL (kb_articles): the record every node's search index is built from.

Every edit bumps `version` and names the version it expects, so an editor who read an older
version is told instead of overwriting someone else's text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeAlias

import asyncpg
from asyncpg.pool import PoolConnectionProxy

from knowledge_base.errors import ArticleConflictError, ArticleNotFoundError
from knowledge_base.model import Article, ArticleDraft, ArticleStatus, Visibility

# A string: asyncpg's proxy class cannot be subscripted at run time, only by the type checker.
Executor: TypeAlias = "asyncpg.Pool | asyncpg.Connection | PoolConnectionProxy[asyncpg.Record]"
MAX_PAGE = 100

_COLUMNS = """
    id, version, title, body, category, tags, synonyms, language, visibility, status, sound_file,
    views, created_at, updated_at, published_at
"""


@dataclass(frozen=True)
class ArticleQuery:
    """Which articles the editing page lists: filters and a page, newest change first."""

    status: ArticleStatus | None = None
    category: str | None = None
    visibility: Visibility | None = None
    limit: int = 50
    offset: int = 0


@dataclass(frozen=True)
class ArticlePage:
    """One page of articles and how many match in all."""

    articles: tuple[Article, ...]
    total: int


def _article(row: asyncpg.Record) -> Article:
    return Article(
        id=row["id"],
        version=row["version"],
        content=ArticleDraft(
            title=row["title"],
            body=row["body"],
            category=row["category"],
            tags=tuple(row["tags"]),
            synonyms=tuple(row["synonyms"]),
            language=row["language"],
            visibility=Visibility(row["visibility"]),
            sound_file=row["sound_file"],
        ),
        status=ArticleStatus(row["status"]),
        views=row["views"],
        created_at=row["created_at"],
        updated_at=row["updated_at"],
        published_at=row["published_at"],
    )


class ArticleStore:
    """Reads and writes articles on a pool (or one connection, in tests that roll back)."""

    def __init__(self, db: Executor) -> None:
        self._db = db

    async def insert(self, draft: ArticleDraft, *, at: datetime, actor_id: int | None) -> Article:
        """Store a new article as a draft."""
        row = await self._db.fetchrow(
            f"""
            INSERT INTO kb_articles (title, body, category, tags, synonyms, language, visibility, status,
                                     sound_file, created_by, updated_by, created_at, updated_at)
            VALUES ($1, $2, $3, $4, $5, $6, $7, 'draft', $8, $9, $9, $10, $10)
            RETURNING {_COLUMNS}
            """,
            *_content_args(draft),
            actor_id,
            at,
        )
        assert row is not None
        return _article(row)

    async def update(
        self,
        article_id: int,
        draft: ArticleDraft,
        *,
        expected_version: int,
        at: datetime,
        actor_id: int | None,
    ) -> Article:
        """Replace the article's content, if it is still at `expected_version`."""
        row = await self._db.fetchrow(
            f"""
            UPDATE kb_articles
            SET version = version + 1, title = $3, body = $4, category = $5, tags = $6, synonyms = $7,
                language = $8, visibility = $9, sound_file = $10, updated_by = $11, updated_at = $12
            WHERE id = $1 AND version = $2
            RETURNING {_COLUMNS}
            """,
            article_id,
            expected_version,
            *_content_args(draft),
            actor_id,
            at,
        )
        return await self._written(row, article_id, expected_version)

    async def set_status(
        self,
        article_id: int,
        status: ArticleStatus,
        *,
        expected_version: int,
        at: datetime,
        actor_id: int | None,
    ) -> Article:
        """Publish or take back to draft, if the article is still at `expected_version`."""
        row = await self._db.fetchrow(
            f"""
            UPDATE kb_articles
            SET version = version + 1, status = $3, updated_by = $4, updated_at = $5,
                published_at = CASE WHEN $3 = 'published' THEN $5 ELSE published_at END
            WHERE id = $1 AND version = $2
            RETURNING {_COLUMNS}
            """,
            article_id,
            expected_version,
            status.value,
            actor_id,
            at,
        )
        return await self._written(row, article_id, expected_version)

    async def delete(self, article_id: int, *, expected_version: int) -> None:
        """Remove the article for good, if it is still at `expected_version`."""
        deleted = await self._db.fetchval(
            "DELETE FROM kb_articles WHERE id = $1 AND version = $2 RETURNING id",
            article_id,
            expected_version,
        )
        if deleted is None:
            await self._written(None, article_id, expected_version)

    async def get(self, article_id: int) -> Article:
        """The article, or ArticleNotFoundError."""
        row = await self._db.fetchrow(f"SELECT {_COLUMNS} FROM kb_articles WHERE id = $1", article_id)
        if row is None:
            raise ArticleNotFoundError(article_id)
        return _article(row)

    async def published(self) -> list[Article]:
        """Every published article (what a node's search index holds)."""
        rows = await self._db.fetch(f"SELECT {_COLUMNS} FROM kb_articles WHERE status = 'published'")
        return [_article(r) for r in rows]

    async def search(self, query: ArticleQuery) -> ArticlePage:
        """A page of articles for the editing page, most recently changed first."""
        conditions: list[str] = []
        args: list[Any] = []
        for column, value in (
            ("status", query.status.value if query.status else None),
            ("category", query.category),
            ("visibility", query.visibility.value if query.visibility else None),
        ):
            if value is not None:
                args.append(value)
                conditions.append(f"{column} = ${len(args)}")
        where = " AND ".join(conditions) or "true"
        args += [min(query.limit, MAX_PAGE), query.offset]
        rows = await self._db.fetch(
            f"""
            SELECT {_COLUMNS}, count(*) OVER () AS total FROM kb_articles WHERE {where}
            ORDER BY updated_at DESC, id DESC LIMIT ${len(args) - 1} OFFSET ${len(args)}
            """,
            *args,
        )
        if rows:
            total = rows[0]["total"]
        else:
            total = await self._db.fetchval(f"SELECT count(*) FROM kb_articles WHERE {where}", *args[:-2])
        return ArticlePage(tuple(_article(r) for r in rows), int(total))

    async def add_view(self, article_id: int) -> int | None:
        """Count one more read of the article; its new total, or None if it is gone."""
        views: int | None = await self._db.fetchval(
            "UPDATE kb_articles SET views = views + 1 WHERE id = $1 RETURNING views", article_id
        )
        return views

    async def _written(self, row: asyncpg.Record | None, article_id: int, expected_version: int) -> Article:
        if row is not None:
            return _article(row)
        actual = await self._db.fetchval("SELECT version FROM kb_articles WHERE id = $1", article_id)
        if actual is None:
            raise ArticleNotFoundError(article_id)
        raise ArticleConflictError(article_id, expected_version, actual)


def _content_args(draft: ArticleDraft) -> tuple[Any, ...]:
    return (
        draft.title,
        draft.body,
        draft.category,
        list(draft.tags),
        list(draft.synonyms),
        draft.language,
        draft.visibility.value,
        draft.sound_file,
    )
