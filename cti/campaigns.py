"""Outbound campaigns, leads and dial outcomes: the pure core of the dialer (no I/O).

A campaign dials its leads through one agent queue with one dial method. Every dial is an AMI
Originate whose `ChannelId` is the attempt's id, so the `OriginateResponse` (which carries it
back as `Uniqueid`, even on failure: see ami_d5_originate_channelid.txt) maps to its lead.
"""

from __future__ import annotations

import enum
import re
from dataclasses import dataclass, field
from datetime import datetime, time, timedelta

from cti.ami_protocol import AmiMessage
from cti.errors import InvalidCampaignError


class DialMethod(enum.Enum):
    """How a campaign decides when to dial."""

    PREVIEW = "preview"  # the agent sees the lead and clicks to dial
    PROGRESSIVE = "progressive"  # one call per available agent
    PREDICTIVE = "predictive"  # dials ahead from the answer rate and handle time


class CampaignState(enum.Enum):
    """Whether the dialer works on a campaign."""

    RUNNING = "running"
    PAUSED = "paused"
    STOPPED = "stopped"


class DialOutcome(enum.Enum):
    """What one dial attempt came to."""

    ANSWERED = "answered"
    BUSY = "busy"
    NO_ANSWER = "no_answer"
    FAILED = "failed"
    MACHINE = "machine"  # an answering machine, when the dialplan's AMD() says so


class DropAction(enum.Enum):
    """What happens to a call answered with no agent free in time."""

    HANGUP = "hangup"
    MESSAGE = "message"  # redirect to a dialplan extension that plays a message and hangs up


# OriginateResponse `Reason` is Asterisk's last control frame on the dialled channel:
# 4 answered (AST_CONTROL_ANSWER), 5 busy, 3 ringing when the timeout hit (no answer),
# 8 congestion, 1 hung up, 0 nothing usable (unknown context or technology: ami_d4).
_REASONS = {"4": DialOutcome.ANSWERED, "5": DialOutcome.BUSY, "3": DialOutcome.NO_ANSWER}

CHANNEL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,60}$")


@dataclass(frozen=True, slots=True)
class OriginateResult:
    """An `OriginateResponse` in the dialer's words: which attempt, and how it went."""

    channel_id: str
    outcome: DialOutcome
    channel: str
    reason: str


def originate_result(message: AmiMessage) -> OriginateResult | None:
    """The result an `OriginateResponse` event reports, or None for any other message.

    The attempt is named by `Uniqueid` (our ChannelId); `<unknown>` means the Originate was sent
    without a ChannelId, so it cannot be ours and is ignored.
    """
    if message.name != "OriginateResponse":
        return None
    channel_id = message.get("Uniqueid")
    if not channel_id or channel_id == "<unknown>" or not CHANNEL_ID_RE.match(channel_id):
        return None
    reason = message.get("Reason")
    return OriginateResult(
        channel_id, dial_outcome(message.get("Response"), reason), message.get("Channel"), reason
    )


def dial_outcome(response: str, reason: str) -> DialOutcome:
    """The outcome an OriginateResponse's `Response` and `Reason` fields describe."""
    outcome = _REASONS.get(reason.strip(), DialOutcome.FAILED)
    if outcome is DialOutcome.ANSWERED and response.lower() != "success":
        return DialOutcome.FAILED
    return outcome


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts allowed per lead and how long to wait before redialling after each outcome."""

    max_attempts: int = 3
    busy_s: int = 600
    no_answer_s: int = 3600
    failed_s: int = 1800
    machine_s: int = 7200

    def __post_init__(self) -> None:
        problems = []
        if not 1 <= self.max_attempts <= 50:
            problems.append("max_attempts must be within 1..50")
        for name in ("busy_s", "no_answer_s", "failed_s", "machine_s"):
            if not 0 <= getattr(self, name) <= 30 * 86_400:
                problems.append(f"{name} must be within 0..30 days")
        if problems:
            raise InvalidCampaignError(problems)

    def next_attempt_at(self, outcome: DialOutcome, attempts: int, now: datetime) -> datetime | None:
        """When to dial the lead again, or None when it is finished (answered, or out of attempts)."""
        if outcome is DialOutcome.ANSWERED or attempts >= self.max_attempts:
            return None
        delay_s = {
            DialOutcome.BUSY: self.busy_s,
            DialOutcome.NO_ANSWER: self.no_answer_s,
            DialOutcome.FAILED: self.failed_s,
            DialOutcome.MACHINE: self.machine_s,
        }[outcome]
        return now + timedelta(seconds=delay_s)


_NAME_RE = re.compile(r"^[\w .,'()&/-]{1,80}$")
_QUEUE_RE = re.compile(r"^[\w.-]{1,80}$")
_CONTEXT_RE = re.compile(r"^[\w.-]{1,80}$")
CALLER_ID_RE = re.compile(r'^("[^"\r\n]{0,40}" )?<?\+?[0-9]{2,20}>?$')


@dataclass(frozen=True, slots=True)
class CampaignSpec:
    """What a supervisor sets when creating a campaign; validated on construction."""

    name: str
    queue: str
    dial_method: DialMethod
    caller_id: str
    script: str = ""
    window_start: time = time(8, 0)
    window_end: time = time(21, 0)
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    sales: bool = True
    dial_context: str = "outbound-agent"
    drop_action: DropAction = DropAction.HANGUP
    drop_message_context: str = "outbound-drop"
    abandon_cap: float = 0.03
    dial_timeout_s: int = 25

    def __post_init__(self) -> None:
        problems = []
        if not _NAME_RE.match(self.name):
            problems.append("name must be 1-80 letters, digits, spaces or .,'()&/-")
        if not _QUEUE_RE.match(self.queue):
            problems.append("queue must be 1-80 letters, digits, '_', '.' or '-'")
        if not CALLER_ID_RE.match(self.caller_id):
            problems.append('caller_id must be a number, optionally with a name: "Shop" <0281234567>')
        for label, context in (
            ("dial_context", self.dial_context),
            ("drop_message_context", self.drop_message_context),
        ):
            if not _CONTEXT_RE.match(context):
                problems.append(f"{label} must be a dialplan context name")
        if len(self.script) > 20_000:
            problems.append("script must be at most 20000 characters")
        if self.window_start == self.window_end:
            problems.append("the calling window must not be empty")
        if not 0.0 < self.abandon_cap <= 0.2:
            problems.append("abandon_cap must be within 0..0.2 (3% is 0.03)")
        if not 5 <= self.dial_timeout_s <= 120:
            problems.append("dial_timeout_s must be within 5..120")
        if problems:
            raise InvalidCampaignError(problems)


@dataclass(frozen=True, slots=True)
class Campaign:
    """A stored campaign."""

    id: int
    spec: CampaignSpec
    state: CampaignState


@dataclass(frozen=True, slots=True)
class Lead:
    """A person to call for a campaign; `phone` is E.164."""

    id: int
    campaign_id: int
    phone: str
    name: str
    timezone: str
    customer_id: int | None
    attempts: int
    status: str
    disposition: str | None = None


@dataclass(frozen=True, slots=True)
class DialAttempt:
    """One reserved lead being dialled: the attempt id travels as the Originate ChannelId."""

    channel_id: str
    lead: Lead
    campaign_id: int
    agent_interface: str | None = None  # set for preview and progressive: the agent it is for


def in_calling_window(local: time, start: time, end: time) -> bool:
    """True when a lead's local time lies in [start, end); a window may wrap past midnight."""
    if start < end:
        return start <= local < end
    return local >= start or local < end


DISPOSITIONS = (
    "sale",
    "interested",
    "callback",
    "not_interested",
    "wrong_number",
    "do_not_call",
    "answering_machine",
)
