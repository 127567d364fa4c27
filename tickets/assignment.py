"""Who can take a ticket: handlers whose skills cover the category, ranked by the room they have (pure)."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from tickets.errors import InvalidTicketError

MAX_CAPACITY = 1000


@dataclass(frozen=True, slots=True)
class HandlerLoad:
    """A handler's profile and how many open tickets they hold now."""

    agent_id: int
    department: str
    skills: tuple[str, ...]
    capacity: int
    open_count: int

    @property
    def room(self) -> int:
        """How many more open tickets they can take (never negative)."""
        return max(self.capacity - self.open_count, 0)

    @property
    def load(self) -> float:
        """Share of capacity in use; a handler with no capacity is full."""
        return self.open_count / self.capacity if self.capacity else 1.0


@dataclass(frozen=True, slots=True)
class DepartmentLoad:
    """A department's handlers with the skill, summed."""

    department: str
    handlers: int
    open_count: int
    capacity: int

    @property
    def room(self) -> int:
        """How many more open tickets the department's skilled handlers can take."""
        return max(self.capacity - self.open_count, 0)


def rank_handlers(loads: Iterable[HandlerLoad]) -> list[HandlerLoad]:
    """Best first: those with room, then the least loaded, then the fewest open tickets, then by id."""
    return sorted(loads, key=lambda h: (h.room == 0, h.load, h.open_count, h.agent_id))


def best_handler(loads: Iterable[HandlerLoad]) -> HandlerLoad | None:
    """The handler Hotline suggests (and auto-assigns to), or None when nobody has room."""
    ranked = rank_handlers(loads)
    return ranked[0] if ranked and ranked[0].room > 0 else None


def departments(loads: Iterable[HandlerLoad]) -> list[DepartmentLoad]:
    """Departments of the given handlers, the one with most room first."""
    totals: dict[str, list[int]] = {}
    for load in loads:
        entry = totals.setdefault(load.department, [0, 0, 0])
        entry[0] += 1
        entry[1] += load.open_count
        entry[2] += load.capacity
    found = [
        DepartmentLoad(name, n, open_count, capacity) for name, (n, open_count, capacity) in totals.items()
    ]
    return sorted(found, key=lambda d: (-d.room, d.department))


def handler_profile(
    department: str, skills: Sequence[str], capacity: int, categories: Sequence[str]
) -> tuple[str, tuple[str, ...]]:
    """Validate who handles what; the clean (department, skills) or InvalidTicketError listing each problem."""
    problems = {}
    unknown = sorted(set(skills) - set(categories))
    if unknown:
        problems["skills"] = f"unknown categories {', '.join(unknown)}; known: {', '.join(categories)}"
    clean = " ".join(department.split())
    if not clean or len(clean) > 100:
        problems["department"] = "1-100 characters"
    if not 0 <= capacity <= MAX_CAPACITY:
        problems["capacity"] = f"0..{MAX_CAPACITY} open tickets"
    if problems:
        raise InvalidTicketError(problems)
    return clean, tuple(sorted(set(skills)))
