"""The ticket state machine (every allowed and every refused transition), intake validation, assignment ranking."""

from __future__ import annotations

import itertools
import unicodedata

import pytest

from tickets.assignment import HandlerLoad, best_handler, departments, rank_handlers
from tickets.errors import IllegalTransitionError, InvalidTicketError
from tickets.model import (
    Channel,
    NewTicket,
    Priority,
    TicketAction,
    TicketStatus,
    clean_text,
    next_status,
)

S, A = TicketStatus, TicketAction

# The whole flow, written out once by hand: (action, from) -> to. Everything else must be refused.
ALLOWED = {
    (A.ASSIGN, S.NEW): S.ASSIGNED,
    (A.ASSIGN, S.ASSIGNED): S.ASSIGNED,
    (A.ASSIGN, S.IN_PROGRESS): S.IN_PROGRESS,
    (A.ASSIGN, S.WAITING): S.WAITING,
    (A.ASSIGN, S.REOPENED): S.REOPENED,
    (A.RESPOND, S.ASSIGNED): S.IN_PROGRESS,
    (A.RESPOND, S.REOPENED): S.IN_PROGRESS,
    (A.WAIT, S.IN_PROGRESS): S.WAITING,
    (A.RESUME, S.WAITING): S.IN_PROGRESS,
    (A.RESOLVE, S.ASSIGNED): S.RESOLVED,
    (A.RESOLVE, S.IN_PROGRESS): S.RESOLVED,
    (A.RESOLVE, S.WAITING): S.RESOLVED,
    (A.RESOLVE, S.REOPENED): S.RESOLVED,
    (A.CONFIRM, S.RESOLVED): S.CLOSED,
    (A.REOPEN, S.RESOLVED): S.REOPENED,
}
REFUSED = [pair for pair in itertools.product(TicketAction, TicketStatus) if pair not in ALLOWED]


@pytest.mark.parametrize(("action", "status"), list(ALLOWED), ids=lambda v: v.value)
def test_allowed_transition(action: TicketAction, status: TicketStatus) -> None:
    assert next_status(7, status, action) is ALLOWED[(action, status)]


@pytest.mark.parametrize(("action", "status"), REFUSED, ids=lambda v: v.value)
def test_refused_transition(action: TicketAction, status: TicketStatus) -> None:
    with pytest.raises(IllegalTransitionError) as caught:
        next_status(7, status, action)
    error = caught.value
    assert (error.ticket_id, error.status, error.action) == (7, status.value, action.value)
    # The message tells people what they can do instead.
    assert set(error.allowed) == {a.value for (a, s) in ALLOWED if s is status}
    assert f"#7 is {status.value.replace('_', ' ')}" in str(error)


def test_every_pair_is_decided_exactly_once() -> None:
    assert len(ALLOWED) + len(REFUSED) == len(TicketAction) * len(TicketStatus)
    assert REFUSED  # closed is final, at least


def test_closed_is_final_and_says_so() -> None:
    for action in TicketAction:
        with pytest.raises(IllegalTransitionError, match="it is closed"):
            next_status(1, S.CLOSED, action)


def test_open_statuses_are_those_that_count_as_workload() -> None:
    assert {s for s in TicketStatus if s.is_open} == {S.NEW, S.ASSIGNED, S.IN_PROGRESS, S.WAITING, S.REOPENED}


def test_priority_rank_orders_urgency() -> None:
    assert sorted(Priority, key=lambda p: p.rank) == [
        Priority.LOW,
        Priority.NORMAL,
        Priority.HIGH,
        Priority.URGENT,
    ]


CATEGORIES = ("billing", "technical")


def _new(**overrides: object) -> NewTicket:
    values: dict[str, object] = {
        "subject": "  Invoice  too high ",
        "description": "Line one\r\nline two\x00",
        "category": "billing",
        "channel": Channel.PHONE,
        "categories": CATEGORIES,
        "customer_id": 3,
        **overrides,
    }
    return NewTicket.create(**values)  # type: ignore[arg-type]


def test_intake_cleans_text() -> None:
    new = _new()
    assert new.subject == "Invoice too high"
    assert new.description == "Line one\nline two"
    assert new.priority is Priority.NORMAL


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"subject": "   "}, "subject"),
        ({"subject": "x" * 201}, "subject"),
        ({"description": "x" * 10_001}, "description"),
        ({"category": "sales"}, "category"),
        ({"customer_id": None}, "customer_id"),
        ({"call_id": "bad\nid"}, "call_id"),
        ({"call_id": ""}, "call_id"),
        ({"contact_email": "jane@example.com\r\nBcc: all@example.com"}, "contact_email"),
        ({"contact_email": "not-an-address"}, "contact_email"),
        ({"contact_phone": "0901\n234567"}, "contact_phone"),
        ({"contact_phone": "0901234567\n"}, "contact_phone"),
        ({"contact_email": "jane@example.com\n"}, "contact_email"),
        ({"contact_name": "Mai\x00"}, "contact_name"),
    ],
)
def test_intake_refuses(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidTicketError) as caught:
        _new(**overrides)
    assert field in caught.value.problems


def test_intake_lists_every_problem_at_once() -> None:
    with pytest.raises(InvalidTicketError) as caught:
        _new(subject="", category="nope", customer_id=None)
    assert set(caught.value.problems) == {"subject", "category", "customer_id"}


def test_intake_without_customer_needs_a_way_to_reach_them() -> None:
    new = _new(customer_id=None, contact_phone="0901234567", contact_name="  Mai   Hoang ")
    assert (new.customer_id, new.contact_name) == (None, "Mai Hoang")


def _load(agent_id: int, open_count: int, capacity: int, department: str = "support") -> HandlerLoad:
    return HandlerLoad(agent_id, department, ("billing",), capacity, open_count)


@pytest.mark.parametrize(
    ("loads", "expected_order", "best"),
    [
        ([_load(1, 5, 10), _load(2, 1, 10)], [2, 1], 2),
        # the share of capacity counts, not the raw number
        ([_load(1, 2, 4), _load(2, 3, 10)], [2, 1], 2),
        # a full handler goes last and is never suggested
        ([_load(1, 10, 10), _load(2, 9, 10)], [2, 1], 2),
        ([_load(1, 10, 10), _load(2, 0, 0)], [2, 1], None),
        # ties: fewer open tickets, then the lower id
        ([_load(3, 0, 5), _load(2, 0, 10)], [2, 3], 2),
        ([], [], None),
    ],
)
def test_handler_ranking(loads: list[HandlerLoad], expected_order: list[int], best: int | None) -> None:
    assert [h.agent_id for h in rank_handlers(loads)] == expected_order
    chosen = best_handler(loads)
    assert (chosen.agent_id if chosen else None) == best


def test_departments_sum_their_handlers() -> None:
    loads = [_load(1, 2, 5, "support"), _load(2, 1, 5, "support"), _load(3, 9, 10, "billing")]
    found = departments(loads)
    assert [(d.department, d.handlers, d.open_count, d.capacity, d.room) for d in found] == [
        ("support", 2, 3, 10, 7),
        ("billing", 1, 9, 10, 1),
    ]


@pytest.mark.parametrize(
    ("text", "stored"),
    [
        ("  Line one\r\nLine two\t(tab)  ", "Line one\nLine two\t(tab)"),
        ("bell\x07 nul\x00 esc\x1b del\x7f c1\x85\x9f cr\ronly", "bell nul esc del c1 cronly"),
        ("Nguyê\u0303n", "Nguyễn"),
        ("\x00\x01 \n", ""),
    ],
)
def test_free_text_is_stored_without_control_characters(text: str, stored: str) -> None:
    assert clean_text(text) == stored


def test_free_text_drops_exactly_the_control_characters() -> None:
    # Every character of the Basic Multilingual Plane but the surrogates: only category Cc goes,
    # newlines and tabs stay.
    text = "<" + "".join(chr(c) for c in range(0x10000) if not 0xD800 <= c <= 0xDFFF) + ">"
    normal = unicodedata.normalize("NFC", text)
    assert clean_text(text) == "".join(c for c in normal if c in "\n\t" or unicodedata.category(c) != "Cc")
