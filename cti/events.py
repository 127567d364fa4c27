"""Domain events the call tracker derives from AMI, in the call-center's words.

A call is keyed by Asterisk's Linkedid (`call_id`): every channel of one call shares it.
Agent interfaces are normalised (`Local/1001@agents/n` -> `Local/1001@agents`, `PJSIP/1001`).
Times are seconds since the epoch from the tracker's injected clock.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass


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
