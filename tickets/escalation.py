"""Escalation alarms (pure): overdue tickets, deadline warnings and breaches, and the ladder they climb.

A ticket is evaluated against the policy at an instant: what is due now (each step with a stable
`key`, so storing it under a unique constraint makes it fire exactly once), what the ticket's
escalation state becomes, and when it must be looked at next. The ladder (team lead → department
director → vice president → general manager) starts at the first breach; each next level follows
after its delay, moved to the next opening hour unless the level is 24/7; an acknowledgement stops
the climb and a snooze holds it until the snooze ends. Only `load_escalation_policy` touches files.
"""

from __future__ import annotations

import enum
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import Any

from tickets.errors import EscalationConfigError
from tickets.model import Priority, TicketStatus
from tickets.sla import BusinessCalendar, SlaPolicy

DEFAULT_DEPARTMENT = "default"
# A ticket opened longer ago than this is not "new" any more when a customer gets watched.
CUSTOMER_TICKET_FRESH_S = 86_400
_DONE = (TicketStatus.RESOLVED, TicketStatus.CLOSED)


class AlertKind(enum.Enum):
    """What an alert is about."""

    WARNING = "warning"  # a deadline is near (a share of its target has passed)
    BREACH = "breach"  # a first-response or resolution deadline passed
    OVERDUE = "overdue"  # not closed N days after intake
    ESCALATION = "escalation"  # a rank of the ladder is told
    CUSTOMER_TICKET = "customer_ticket"  # a watched or top-tier customer opened a ticket
    CUSTOMER_CALLS = "customer_calls"  # a watched or top-tier customer called again and again


@dataclass(frozen=True, slots=True)
class RoleHolder:
    """Who holds a rank in a department: a display name, an account (for the live feed), an email."""

    name: str
    username: str | None = None
    email: str | None = None


@dataclass(frozen=True, slots=True)
class EscalationLevel:
    """One rung of the ladder: its rank, how long after the previous rung, and whether it wakes at night."""

    number: int
    role: str
    delay_s: int
    twenty_four_seven: bool = False


@dataclass(frozen=True, slots=True)
class EscalationPolicy:
    """The whole policy: overdue days, warning share, ladder, rank holders per department, snooze, calls."""

    sla: SlaPolicy
    warning_share: float
    overdue_default_s: int
    overdue_s: Mapping[tuple[Priority, str], int] = field(hash=False)
    ladder: tuple[EscalationLevel, ...]
    holders: Mapping[str, Mapping[str, RoleHolder]] = field(hash=False)
    snooze_default_s: int = 1800
    snooze_max_s: int = 86_400
    repeat_calls: int = 3
    repeat_window_s: int = 86_400

    def __post_init__(self) -> None:
        if not 0 < self.warning_share < 1:
            raise ValueError(f"warning_share must be between 0 and 1, got {self.warning_share!r}")
        if not self.ladder:
            raise ValueError("the escalation ladder needs at least one level")
        if DEFAULT_DEPARTMENT not in self.holders:
            raise ValueError(f"rank holders need a [{DEFAULT_DEPARTMENT}] department")
        object.__setattr__(self, "overdue_s", MappingProxyType(dict(self.overdue_s)))
        object.__setattr__(self, "holders", MappingProxyType(dict(self.holders)))

    @property
    def calendar(self) -> BusinessCalendar:
        """The business calendar escalation emails respect."""
        return self.sla.calendar

    def overdue_after_s(self, priority: Priority, tier: str) -> int:
        """How long after intake a ticket of `priority` and `tier` is overdue when not closed."""
        return self.overdue_s.get((priority, tier), self.overdue_default_s)

    def holder(self, department: str | None, role: str) -> RoleHolder | None:
        """Who holds `role` in `department` (falling back to the default department), or None."""
        own = self.holders.get(department or DEFAULT_DEPARTMENT, {})
        return own.get(role) or self.holders[DEFAULT_DEPARTMENT].get(role)

    def snooze_s(self, requested_s: int | None) -> int:
        """The snooze to apply: the default when none is asked, never above the maximum."""
        if requested_s is None:
            return self.snooze_default_s
        if requested_s <= 0:
            raise ValueError("a snooze must last at least one second")
        return min(requested_s, self.snooze_max_s)


@dataclass(frozen=True, slots=True)
class TicketClock:
    """What the escalation rules read of a ticket (a snapshot of its row)."""

    ticket_id: int
    subject: str
    status: TicketStatus
    priority: Priority
    tier: str
    top_tier: bool
    department: str | None
    assignee_id: int | None
    customer_id: int | None
    customer_name: str
    created_at: datetime
    first_response_due: datetime | None
    resolution_due: datetime | None
    first_responded_at: datetime | None = None
    sla_paused_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class WatchOwner:
    """The account owner of a watched customer: told at once about the customer's tickets and calls."""

    agent_id: int | None
    name: str
    email: str | None


@dataclass(frozen=True, slots=True)
class EscalationState:
    """How far a ticket climbed: the last level told and when, when it breached, ack and snooze."""

    level: int = 0
    level_at: datetime | None = None
    breached_at: datetime | None = None
    acknowledged_at: datetime | None = None
    snoozed_until: datetime | None = None


@dataclass(frozen=True, slots=True)
class Alarm:
    """One step due now; `key` is unique per ticket, so it is stored (and sent) once."""

    key: str
    kind: AlertKind
    due_at: datetime
    title: str
    level: int = 0
    role: str | None = None
    recipient: RoleHolder | None = None
    agent_id: int | None = None


@dataclass(frozen=True, slots=True)
class Evaluation:
    """The steps due now, the state afterwards and when the ticket must be looked at next (None: never)."""

    alarms: tuple[Alarm, ...]
    state: EscalationState
    next_check_at: datetime | None


def _share_point(clock: BusinessCalendar, start: datetime, due: datetime, share: float) -> datetime:
    """The instant `share` of the business time between `start` and `due` has passed."""
    return clock.add(start, clock.between(start, due) * share)


def _sla_clock(policy: EscalationPolicy, ticket: TicketClock) -> BusinessCalendar:
    if policy.sla.target(ticket.priority, ticket.tier).business_hours:
        return policy.calendar
    return BusinessCalendar.always_open(policy.calendar.time_zone)


def _deadline_steps(
    policy: EscalationPolicy, ticket: TicketClock, owner: WatchOwner | None, now: datetime
) -> list[tuple[datetime, Alarm]]:
    """Every step of the ticket's current deadlines, due or not, with the instant it comes due.

    A deadline already passed at `now` has no warning: the breach says it all (and a sweep that
    comes back after a pause does not send a stale warning with it).
    """
    steps: list[tuple[datetime, Alarm]] = []
    clock = _sla_clock(policy, ticket)
    number = f"#{ticket.ticket_id}"
    lead = policy.holder(ticket.department, policy.ladder[0].role)
    is_open = ticket.status not in _DONE
    deadlines: list[tuple[str, str, datetime | None]] = []
    if is_open and ticket.first_responded_at is None:
        deadlines.append(("first_response", "first response", ticket.first_response_due))
    if is_open and ticket.sla_paused_at is None:
        deadlines.append(("resolution", "resolution", ticket.resolution_due))
    for name, words, due in deadlines:
        if due is None:
            continue
        stamp = due.isoformat()
        if due > now:
            warn_at = _share_point(clock, ticket.created_at, due, policy.warning_share)
            share = round(policy.warning_share * 100)
            steps.append(
                (
                    warn_at,
                    Alarm(
                        f"{name}_warning:{stamp}",
                        AlertKind.WARNING,
                        warn_at,
                        f"Ticket {number}: {share}% of the {words} time used ({ticket.subject})",
                        recipient=lead,
                        agent_id=ticket.assignee_id,
                    ),
                )
            )
        steps.append(
            (
                due,
                Alarm(
                    f"{name}_breach:{stamp}",
                    AlertKind.BREACH,
                    due,
                    f"Ticket {number}: {words} deadline passed ({ticket.subject})",
                    recipient=lead,
                    agent_id=ticket.assignee_id,
                ),
            )
        )
    if ticket.status is not TicketStatus.CLOSED:
        overdue_at = ticket.created_at + timedelta(
            seconds=policy.overdue_after_s(ticket.priority, ticket.tier)
        )
        days = policy.overdue_after_s(ticket.priority, ticket.tier) / 86_400
        steps.append(
            (
                overdue_at,
                Alarm(
                    "overdue",
                    AlertKind.OVERDUE,
                    overdue_at,
                    f"Ticket {number}: not closed {days:g} days after intake ({ticket.subject})",
                    recipient=lead,
                    agent_id=ticket.assignee_id,
                ),
            )
        )
    if ticket.top_tier or owner is not None:
        who = owner.name if owner is not None else "top-tier"
        steps.append(
            (
                ticket.created_at,
                Alarm(
                    "customer_ticket",
                    AlertKind.CUSTOMER_TICKET,
                    ticket.created_at,
                    f"{ticket.customer_name or 'A customer'} ({who}) opened ticket {number}: {ticket.subject}",
                    recipient=_owner_holder(owner) or lead,
                    agent_id=owner.agent_id if owner is not None else None,
                ),
            )
        )
    return steps


def _owner_holder(owner: WatchOwner | None) -> RoleHolder | None:
    if owner is None:
        return None
    return RoleHolder(owner.name, None, owner.email)


def _level_due(
    policy: EscalationPolicy, level: EscalationLevel, after: datetime, snoozed_until: datetime | None
) -> datetime:
    """When `level` may be told: its delay after `after`, not before a snooze ends, within hours if need be."""
    due = after + timedelta(seconds=level.delay_s)
    if snoozed_until is not None and snoozed_until > due:
        due = snoozed_until
    if level.twenty_four_seven:
        return due
    # Adding nothing moves an instant outside opening hours to the next opening, and keeps one inside.
    return policy.calendar.add(due, 0)


def evaluate(
    policy: EscalationPolicy,
    ticket: TicketClock,
    state: EscalationState,
    now: datetime,
    owner: WatchOwner | None = None,
) -> Evaluation:
    """What is due for `ticket` at `now`, the state it leaves and when to look again."""
    steps = _deadline_steps(policy, ticket, owner, now)
    breaches = [at for at, alarm in steps if alarm.kind in (AlertKind.BREACH, AlertKind.OVERDUE)]
    alarms: list[Alarm] = []
    future: list[datetime] = []
    for at, alarm in steps:
        if at > now:
            future.append(at)
        elif (
            alarm.kind is not AlertKind.CUSTOMER_TICKET
            or (now - at).total_seconds() <= CUSTOMER_TICKET_FRESH_S
        ):
            alarms.append(alarm)
    breached_at = state.breached_at
    due_breaches = [at for at in breaches if at <= now]
    if breached_at is None and due_breaches:
        breached_at = min(due_breaches)
    level, level_at = state.level, state.level_at
    climbing = (
        breached_at is not None
        and state.acknowledged_at is None
        and ticket.status not in _DONE
        and level < len(policy.ladder)
    )
    if climbing:
        assert breached_at is not None
        rung = policy.ladder[level]
        due = _level_due(policy, rung, level_at or breached_at, state.snoozed_until)
        if due <= now:
            holder = policy.holder(ticket.department, rung.role)
            alarms.append(
                Alarm(
                    f"level:{rung.number}",
                    AlertKind.ESCALATION,
                    due,
                    f"Ticket #{ticket.ticket_id} escalated to {_role_words(rung.role)}"
                    f"{' ' + holder.name if holder else ''}: {ticket.subject}",
                    level=rung.number,
                    role=rung.role,
                    recipient=holder,
                )
            )
            level, level_at = rung.number, now
            if level < len(policy.ladder):
                future.append(_level_due(policy, policy.ladder[level], now, state.snoozed_until))
        else:
            future.append(due)
    new_state = EscalationState(level, level_at, breached_at, state.acknowledged_at, state.snoozed_until)
    return Evaluation(tuple(alarms), new_state, min(future) if future else None)


def _role_words(role: str) -> str:
    return role.replace("_", " ")


def repeated_calls_alarm(
    policy: EscalationPolicy,
    customer_name: str,
    calls_in_window: int,
    top_tier: bool,
    owner: WatchOwner | None,
    now: datetime,
) -> Alarm | None:
    """The alarm for a watched or top-tier customer who called `calls_in_window` times, or None.

    Keyed by the window the call falls in, so one burst of calls alerts the owner once.
    """
    if calls_in_window < policy.repeat_calls or not (top_tier or owner is not None):
        return None
    window = int(now.timestamp()) // policy.repeat_window_s
    hours = policy.repeat_window_s / 3600
    who = owner.name if owner is not None else "top-tier"
    lead = policy.holder(None, policy.ladder[0].role)
    return Alarm(
        f"calls:{window}",
        AlertKind.CUSTOMER_CALLS,
        now,
        f"{customer_name or 'A customer'} ({who}) called {calls_in_window} times in {hours:g} h",
        recipient=_owner_holder(owner) or lead,
        agent_id=owner.agent_id if owner is not None else None,
    )


# --- loader ------------------------------------------------------------------------------------

_TOP_KEYS = {"overdue", "warnings", "ladder", "departments", "snooze", "customers"}


def parse_escalation_policy(
    text: str, sla: SlaPolicy, *, source: str = "escalation.toml"
) -> EscalationPolicy:
    """Build the policy from config/escalation.toml's text; EscalationConfigError lists every problem."""
    problems: list[str] = []
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise EscalationConfigError([f"{source}: not valid TOML: {exc}"]) from None
    for key in sorted(set(doc) - _TOP_KEYS):
        problems.append(f"{source}: {key}: unknown section (expected {', '.join(sorted(_TOP_KEYS))})")

    def table(value: Any, where: str) -> dict[str, Any]:
        if value is None:
            return {}
        if not isinstance(value, dict):
            problems.append(f"{source}: {where}: expected a table")
            return {}
        return value

    def number(value: Any, where: str, default: float, low: float, high: float) -> float:
        if value is None:
            return default
        if isinstance(value, bool) or not isinstance(value, int | float) or not low <= value <= high:
            problems.append(f"{source}: {where}: expected a number from {low:g} to {high:g}, got {value!r}")
            return default
        return float(value)

    overdue = table(doc.get("overdue"), "overdue")
    default_days = number(overdue.get("days"), "overdue.days", 3, 0.01, 365)
    overdue_s: dict[tuple[Priority, str], int] = {}
    for priority_name, tiers in table(overdue.get("priority"), "overdue.priority").items():
        try:
            priority = Priority(priority_name)
        except ValueError:
            problems.append(f"{source}: overdue.priority.{priority_name}: unknown priority")
            continue
        for tier, days in table(tiers, f"overdue.priority.{priority_name}").items():
            if tier not in sla.tiers:
                problems.append(f"{source}: overdue.priority.{priority_name}.{tier}: unknown tier")
                continue
            where = f"overdue.priority.{priority_name}.{tier}"
            overdue_s[(priority, tier)] = round(number(days, where, default_days, 0.01, 365) * 86_400)

    warnings = table(doc.get("warnings"), "warnings")
    share = number(warnings.get("share"), "warnings.share", 0.8, 0.01, 0.99)

    ladder: list[EscalationLevel] = []
    levels = doc.get("ladder", {}).get("level") if isinstance(doc.get("ladder"), dict) else None
    if not isinstance(levels, list) or not levels:
        problems.append(f"{source}: ladder: needs [[ladder.level]] entries (role, delay_min, all_hours)")
        levels = []
    for index, raw in enumerate(levels, start=1):
        entry = table(raw, f"ladder.level[{index}]")
        role = entry.get("role")
        if not isinstance(role, str) or not role:
            problems.append(f'{source}: ladder.level[{index}].role: required, e.g. "team_lead"')
            continue
        delay = number(entry.get("delay_min"), f"ladder.level[{index}].delay_min", 0, 0, 525_600)
        all_hours = entry.get("all_hours", False)
        if not isinstance(all_hours, bool):
            problems.append(f"{source}: ladder.level[{index}].all_hours: expected true or false")
            all_hours = False
        ladder.append(EscalationLevel(index, role, round(delay * 60), all_hours))

    holders: dict[str, dict[str, RoleHolder]] = {}
    for department, roles in table(doc.get("departments"), "departments").items():
        holders[department] = {}
        for role, raw in table(roles, f"departments.{department}").items():
            entry = table(raw, f"departments.{department}.{role}")
            name = entry.get("name")
            if not isinstance(name, str) or not name:
                problems.append(f"{source}: departments.{department}.{role}.name: required")
                continue
            username, email = entry.get("username"), entry.get("email")
            if username is not None and not isinstance(username, str):
                problems.append(f"{source}: departments.{department}.{role}.username: expected text")
                username = None
            if email is not None and (not isinstance(email, str) or "@" not in email):
                problems.append(f"{source}: departments.{department}.{role}.email: expected an address")
                email = None
            holders[department][role] = RoleHolder(name, username, email)
    if DEFAULT_DEPARTMENT not in holders:
        problems.append(
            f"{source}: departments.{DEFAULT_DEPARTMENT}: required (who holds each rank by default)"
        )
    else:
        for rung in ladder:
            if rung.role not in holders[DEFAULT_DEPARTMENT]:
                problems.append(
                    f"{source}: departments.{DEFAULT_DEPARTMENT}.{rung.role}: nobody holds this rank"
                )

    snooze = table(doc.get("snooze"), "snooze")
    snooze_default = number(snooze.get("default_min"), "snooze.default_min", 30, 1, 10_080)
    snooze_max = number(snooze.get("max_min"), "snooze.max_min", 1440, 1, 10_080)
    customers = table(doc.get("customers"), "customers")
    repeat_calls = number(customers.get("repeat_calls"), "customers.repeat_calls", 3, 2, 1000)
    window_h = number(customers.get("repeat_window_h"), "customers.repeat_window_h", 24, 1, 720)
    if problems:
        raise EscalationConfigError(problems)
    return EscalationPolicy(
        sla=sla,
        warning_share=share,
        overdue_default_s=round(default_days * 86_400),
        overdue_s=overdue_s,
        ladder=tuple(ladder),
        holders=holders,
        snooze_default_s=round(snooze_default * 60),
        snooze_max_s=round(snooze_max * 60),
        repeat_calls=int(repeat_calls),
        repeat_window_s=round(window_h * 3600),
    )


def load_escalation_policy(path: Path, sla: SlaPolicy) -> EscalationPolicy:
    """Read and parse config/escalation.toml; EscalationConfigError lists every problem."""
    try:
        text = path.read_text("utf-8")
    except FileNotFoundError:
        raise EscalationConfigError([f"{path}: file not found"]) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise EscalationConfigError([f"{path}: cannot be read: {exc}"]) from None
    return parse_escalation_policy(text, sla, source=str(path))
