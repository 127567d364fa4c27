"""Errors raised by the knowledge_base package.

KnowledgeBaseError
├── InvalidArticleError     an article breaks the rules; `problems` maps each field to its problem
├── ArticleNotFoundError    no article has `article_id` (or the asker may not see it)
├── ArticleConflictError    someone else changed the article first (`expected` != `actual` version)
└── ReviewRequiredError     only a reviewer (supervisor, admin) may publish, unpublish, delete or edit live text
"""

from __future__ import annotations


class KnowledgeBaseError(Exception):
    """Base class of every error raised by `knowledge_base`."""


class InvalidArticleError(KnowledgeBaseError, ValueError):
    """The article is malformed; `problems` maps each field to its problem in plain words."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems.items()))
        self.problems = problems


class ArticleNotFoundError(KnowledgeBaseError, LookupError):
    """No article has this id."""

    def __init__(self, article_id: int) -> None:
        super().__init__(f"There is no article #{article_id}.")
        self.article_id = article_id


class ArticleConflictError(KnowledgeBaseError):
    """The article changed since the editor read it; nothing was written."""

    def __init__(self, article_id: int, expected: int, actual: int) -> None:
        super().__init__(
            f"Article #{article_id} was changed by someone else (version {actual}, you had {expected}); "
            "reload it and try again."
        )
        self.article_id = article_id
        self.expected = expected
        self.actual = actual


class ReviewRequiredError(KnowledgeBaseError):
    """What customers and callers read is reviewed: this step needs a supervisor or an admin."""

    def __init__(self, article_id: int | None, action: str) -> None:
        what = f"article #{article_id}" if article_id is not None else "an article"
        super().__init__(
            f"Only a supervisor or an admin may {action} {what}; save your text as a draft and ask one to review it."
        )
        self.article_id = article_id
        self.action = action
