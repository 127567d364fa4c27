"""Knowledge base: articles, FAQ and their fuzzy search; what other packages use of it is named
here (its store is not)."""

from knowledge_base.errors import (
    ArticleConflictError,
    ArticleNotFoundError,
    InvalidArticleError,
    KnowledgeBaseError,
    ReviewRequiredError,
)
from knowledge_base.events import ArticleChanged
from knowledge_base.index import ArticleHit
from knowledge_base.model import (
    MAX_BODY_CHARS,
    MAX_SOUND_FILE_CHARS,
    MAX_TERMS,
    MAX_TITLE_CHARS,
    Article,
    ArticleDraft,
    ArticleStatus,
    Visibility,
)
from knowledge_base.service import (
    Editor,
    KnowledgeBase,
)
from knowledge_base.store import (
    MAX_PAGE,
    ArticlePage,
    ArticleQuery,
)

__all__ = [
    "MAX_BODY_CHARS",
    "MAX_PAGE",
    "MAX_SOUND_FILE_CHARS",
    "MAX_TERMS",
    "MAX_TITLE_CHARS",
    "Article",
    "ArticleChanged",
    "ArticleConflictError",
    "ArticleDraft",
    "ArticleHit",
    "ArticleNotFoundError",
    "ArticlePage",
    "ArticleQuery",
    "ArticleStatus",
    "Editor",
    "InvalidArticleError",
    "KnowledgeBase",
    "KnowledgeBaseError",
    "ReviewRequiredError",
    "Visibility",
]
