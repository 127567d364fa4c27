"""Domain events the call tracker derives from AMI, in the call-center's words.

A call is keyed by Asterisk's Linkedid (`call_id`): every channel of one call shares it.
Agent interfaces are normalised (`Local/1001@agents/n` -> `Local/1001@agents`, `PJSIP/1001`).
Times are seconds since the epoch from the tracker's injected clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Protocol


class EventSink(Protocol):
    """Port: where cti's events go (the bus)."""

    def publish(self, event: object) -> None:
        """Hand one event on; must not block."""
        ...


class CallOutcome(enum.Enum):
    """How a queued call ended, as the call log records it."""

    ANSWERED = "answered"
    ABANDONED = "abandoned"
    TIMEOUT = "timeout"


class RetractReason(enum.Enum):
    """Why a ringing agent's pop goes away without them answering."""

    ANSWERED_ELSEWHERE = "answered_elsewhere"
    NO_ANSWER = "no_answer"
    CALLER_LEFT = "caller_left"


@dataclass(frozen=True, slots=True)
class CallOffered:
    """An agent interface starts ringing for a call (one event per ringing interface)."""

    call_id: str
    interface: str
    queue: str | None
    caller_number: str
    caller_name: str
    offered_at: float


@dataclass(frozen=True, slots=True)
class OfferRetracted:
    """An interface that was offered the call stopped ringing without answering it."""

    call_id: str
    interface: str
    reason: RetractReason


@dataclass(frozen=True, slots=True)
class CallAnswered:
    """An agent interface answered the call."""

    call_id: str
    interface: str
    queue: str | None
    caller_number: str
    wait_s: int
    answered_at: float


@dataclass(frozen=True, slots=True)
class QueueCallerAbandoned:
    """The caller left a queue before any agent answered (hung up, or the queue timed out)."""

    call_id: str
    queue: str
    position: int
    original_position: int
    wait_s: int


@dataclass(frozen=True, slots=True)
class CallEnded:
    """The last channel of a queued or offered call hung up."""

    call_id: str
    caller_number: str
    caller_name: str
    queue: str | None
    interface: str | None
    outcome: CallOutcome
    cause: str
    wait_s: int
    talk_s: int
    started_at: float
    answered_at: float | None
    ended_at: float


CallEvent = CallOffered | OfferRetracted | CallAnswered | QueueCallerAbandoned | CallEnded
CALL_EVENT_TYPES: tuple[type[CallEvent], ...] = (
    CallOffered,
    OfferRetracted,
    CallAnswered,
    QueueCallerAbandoned,
    CallEnded,
)


@dataclass(frozen=True, slots=True)
class CallLogged:
    """A finished call is in the call log: who called, whom the caller was to Hotline, who answered.

    It carries its own line for the customer's timeline (`customer_id` None: an unknown caller).
    """

    ended: CallEnded
    customer_id: int | None
    customer_name: str | None
    customer_tier: str | None
    answered_by: str | None

    @property
    def occurred_at(self) -> datetime:
        """When the call ended."""
        return datetime.fromtimestamp(self.ended.ended_at, UTC)

    @property
    def channel(self) -> str:
        """The timeline's channel: a call."""
        return "call"

    @property
    def ref(self) -> str:
        """The call id: the same call is on the timeline once."""
        return self.ended.call_id

    @property
    def summary(self) -> str:
        """One line for the customer's timeline: answered by whom and how long, or how it was missed."""
        ended = self.ended
        queue = f" ({ended.queue})" if ended.queue else ""
        if ended.outcome is CallOutcome.ANSWERED:
            who = self.answered_by or ended.interface
            return f"Call answered by {who}{queue}, talked {_minutes(ended.talk_s)}"
        return f"Missed call{queue}: {ended.outcome.value} after {_minutes(ended.wait_s)} waiting"


def _minutes(seconds: int) -> str:
    minutes, secs = divmod(seconds, 60)
    return f"{minutes}:{secs:02d}"
