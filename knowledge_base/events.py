"""Domain events of the knowledge base, published after the change is committed."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol


class EventSink(Protocol):
    """Port: where committed knowledge-base events go (the bus, and through Redis to every node)."""

    def publish(self, event: object) -> None:
        """Hand one event on; must not block."""
        ...


@dataclass(frozen=True, slots=True)
class ArticleChanged:
    """An article was created, edited, published, taken back to draft or deleted.

    It carries only the id: every node reads the article's current state from the database,
    so events that arrive late or twice still leave each index right.
    """

    article_id: int
