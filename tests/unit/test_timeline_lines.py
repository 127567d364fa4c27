"""Each feature words the line its events put on a customer's timeline (customers only record it)."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime

import pytest

from cti.events import CallEnded, CallLogged, CallOutcome
from customers.service import TimelineEvent
from ivr.flows import IvrOutcome, IvrStep, IvrVisit, IvrVisitEnded
from tickets.events import (
    NoticeAttempted,
    TicketAssigned,
    TicketClosed,
    TicketOpened,
    TicketReopened,
    TicketResolved,
    TicketUpdated,
)
from tickets.model import ActorKind, Channel, Priority, Ticket, TicketEntry, TicketStatus

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)
TICKET = Ticket(
    id=42, version=3, status=TicketStatus.RESOLVED, subject="Invoice twice", description="", category="billing",
    channel=Channel.PHONE, priority=Priority.HIGH, customer_id=7, customer_name="Jane Doe", customer_tier="gold",
    top_tier=False, contact_email=None, contact_phone=None, call_id=None, assignee_id=1, department="support",
    created_by=1, created_at=AT, updated_at=AT, first_response_due=None, resolution_due=None,
    first_responded_at=None, resolved_at=AT, closed_at=None, sla_paused_at=None, resolution="Refunded",
    reopen_count=0,
)  # fmt: skip
ENTRY = TicketEntry(9, 42, AT, ActorKind.AGENT, 1, "resolve", None, None, "Still charged", False)


def line(event: TimelineEvent) -> tuple[int | None, datetime, str, str | None, str]:
    return event.customer_id, event.occurred_at, event.channel, event.summary, event.ref


@pytest.mark.parametrize(
    ("kind", "summary"),
    [
        (TicketOpened, "Ticket #42 opened (billing, high): Invoice twice"),
        (TicketResolved, "Ticket #42 resolved: Refunded"),
        (TicketClosed, "Ticket #42 closed: the customer confirmed the solution"),
        (TicketReopened, "Ticket #42 reopened: Still charged"),
        (TicketAssigned, None),
        (TicketUpdated, None),
    ],
)
def test_ticket_milestones_carry_their_line_and_other_changes_none(
    kind: type[TicketOpened], summary: str | None
) -> None:
    assert line(kind(TICKET, ENTRY)) == (7, AT, "ticket", summary, "ticket:42:9")


def test_a_ticket_without_a_customer_is_on_nobodys_timeline() -> None:
    assert TicketOpened(replace(TICKET, customer_id=None), ENTRY).customer_id is None


def test_a_sent_greeting_carries_its_line_and_a_ticket_notice_or_a_failure_none() -> None:
    greeting = NoticeAttempted(None, 41, "sms", True, None, AT, customer_id=7, kind="anniversary_greeting")
    assert line(greeting) == (7, AT, "sms", "Anniversary greeting sent by sms", "notice:41")
    assert replace(greeting, sent=False, error="refused").summary is None
    assert replace(greeting, ticket_id=42, kind="service_completed").summary is None


def ended(outcome: CallOutcome, interface: str | None, queue: str | None = "support") -> CallEnded:
    answered = 0.0 if outcome is CallOutcome.ANSWERED else None
    return CallEnded(
        "1.7", "0901234567", "Jane", queue, interface, outcome, "16", 75, 62, 0.0, answered, AT.timestamp()
    )


@pytest.mark.parametrize(
    ("call", "answered_by", "summary"),
    [
        (ended(CallOutcome.ANSWERED, "PJSIP/1001"), "Alice", "Call answered by Alice (support), talked 1:02"),
        # Nobody's phone (yet): the interface stands for the agent.
        (ended(CallOutcome.ANSWERED, "PJSIP/1001", None), None, "Call answered by PJSIP/1001, talked 1:02"),
        (ended(CallOutcome.ABANDONED, None), None, "Missed call (support): abandoned after 1:15 waiting"),
        (ended(CallOutcome.TIMEOUT, None, None), None, "Missed call: timeout after 1:15 waiting"),
    ],
)
def test_a_logged_call_carries_its_line(call: CallEnded, answered_by: str | None, summary: str) -> None:
    logged = CallLogged(call, 7, "Jane Doe", "gold", answered_by)
    assert line(logged) == (7, AT, "call", summary, "1.7")


def test_an_ivr_visit_carries_its_line() -> None:
    visit = IvrVisit(
        call_id="1.1", unique_id="1.2", caller_number="0901234567", caller_name="Jane", customer_id=7,
        started_at=AT, ended_at=AT, steps=(IvrStep("welcome", "identify", "", "known_number"),),
        outcome=IvrOutcome.HUNG_UP, queue=None, queue_priority=None, category=None, article_id=None,
        article_title=None, callback_requested=False,
    )  # fmt: skip
    assert line(IvrVisitEnded(visit)) == (7, AT, "ivr", "IVR: welcome; hung up", "ivr:1.2")
