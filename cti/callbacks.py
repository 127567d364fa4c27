"""Promised callbacks (pure): what a callback is, how a request is checked, and whom it pops for.

When a callback comes due it pops on the desktop of the agent who promised it, if that agent
is signed in and ready; otherwise it goes to the team: the ready agents of that agent's
department, or failing those every ready agent. If nobody is ready it waits in the list of
the department (or of everyone) until someone takes it.
"""

from __future__ import annotations

import enum
import re
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

from cti.errors import InvalidCallbackError

MAX_NOTE_CHARS = 500
MAX_AHEAD = timedelta(days=366)
REQUESTERS = ("agent", "ivr", "api")
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
# Spaces, dots, dashes and brackets people type in numbers.
_NUMBER_PUNCTUATION = re.compile(r"[\s.()\-]")


class CallbackStatus(enum.Enum):
    """Where a callback is: waiting for its time, popped for someone, called back, or called off."""

    SCHEDULED = "scheduled"
    OFFERED = "offered"
    DONE = "done"
    CANCELLED = "cancelled"


@dataclass(frozen=True, slots=True)
class Callback:
    """A promised callback as stored."""

    id: int
    customer_id: int | None
    customer_name: str
    phone: str
    due_at: datetime
    note: str
    requested_by: str
    agent_id: int | None
    status: CallbackStatus
    offered_to: tuple[int, ...]
    to_team: bool
    offered_at: datetime | None
    done_by: int | None
    done_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class NewCallback:
    """A validated callback request; build it with `NewCallback.create`."""

    customer_id: int | None
    phone: str
    due_at: datetime
    note: str
    requested_by: str
    agent_id: int | None

    @classmethod
    def create(
        cls,
        *,
        customer_id: int | None,
        number: str,
        due_at: datetime | None,
        note: str,
        requested_by: str,
        agent_id: int | None,
        now: datetime,
    ) -> NewCallback:
        """Check every field at once; InvalidCallbackError lists each problem. No time means now."""
        problems: dict[str, str] = {}
        phone = _NUMBER_PUNCTUATION.sub("", number)
        if not _NUMBER.match(phone):
            problems["number"] = f"{number!r} is not a phone number (digits, an optional leading +)"
        when = now if due_at is None else due_at
        if when.utcoffset() is None:
            problems["due_at"] = "needs a time zone"
        elif when > now + MAX_AHEAD:
            problems["due_at"] = "at most a year ahead"
        clean_note = unicodedata.normalize("NFC", note).strip()
        if len(clean_note) > MAX_NOTE_CHARS:
            problems["note"] = f"at most {MAX_NOTE_CHARS} characters"
        elif any(unicodedata.category(c) == "Cc" and c != "\n" for c in clean_note):
            problems["note"] = "control characters are not allowed"
        if requested_by not in REQUESTERS:
            problems["requested_by"] = f"one of {', '.join(REQUESTERS)}"
        if problems:
            raise InvalidCallbackError(problems)
        return cls(customer_id, phone, when, clean_note, requested_by, agent_id)


@dataclass(frozen=True, slots=True)
class TeamMember:
    """An agent who can take callbacks: their phones and department (None: in no department)."""

    agent_id: int
    interfaces: tuple[str, ...]
    department: str | None


@dataclass(frozen=True, slots=True)
class CallbackRoute:
    """Whom a due callback pops for, and whether it went to the team instead of its agent."""

    agent_ids: tuple[int, ...]
    to_team: bool


def route_callback(
    promised_by: int | None,
    members: Sequence[TeamMember],
    available: Callable[[TeamMember], bool],
) -> CallbackRoute:
    """The agent who promised it if available, else the available agents of their department, else
    every available agent; with nobody available, the whole department (or everyone) for later."""
    by_id = {m.agent_id: m for m in members}
    agent = by_id.get(promised_by) if promised_by is not None else None
    if agent is not None and available(agent):
        return CallbackRoute((agent.agent_id,), False)
    others = [m for m in members if m.agent_id != promised_by]
    department = agent.department if agent is not None else None
    team = [m for m in others if department is not None and m.department == department]
    for group in (team, others):
        ready = tuple(m.agent_id for m in group if available(m))
        if ready:
            return CallbackRoute(ready, True)
    fallback = team or others or ([agent] if agent is not None else [])
    return CallbackRoute(tuple(m.agent_id for m in fallback), True)
