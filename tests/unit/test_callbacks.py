"""Promised callbacks (pure): checking a request, and whom a due callback pops for."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from cti.callbacks import NewCallback, TeamMember, route_callback
from cti.errors import InvalidCallbackError

NOW = datetime(2026, 12, 1, 3, 0, tzinfo=UTC)

ANNA = TeamMember(1, ("PJSIP/1001",), "billing")
BEN = TeamMember(2, ("PJSIP/1002",), "billing")
CHI = TeamMember(3, ("PJSIP/1003",), "technical")
DUC = TeamMember(4, ("PJSIP/1004",), None)
TEAM = (ANNA, BEN, CHI, DUC)


@pytest.mark.parametrize(
    ("promised_by", "ready", "agent_ids", "to_team"),
    [
        # The agent who promised it is there: it is theirs.
        (1, {1, 2, 3}, (1,), False),
        # Away: the ready agents of their department.
        (1, {2, 3}, (2,), True),
        # Nobody of the department ready: every ready agent.
        (1, {3, 4}, (3, 4), True),
        # Nobody ready at all: the department keeps it in its list.
        (1, set(), (2,), True),
        # A department of one, nobody ready: everyone else.
        (3, set(), (1, 2, 4), True),
        # Requested without an agent (IVR): every ready agent.
        (None, {2, 4}, (2, 4), True),
        (None, set(), (1, 2, 3, 4), True),
        # An agent who no longer takes callbacks (account gone): the ready agents.
        (99, {3}, (3,), True),
    ],
)
def test_a_due_callback_goes_to_its_agent_or_else_the_team(
    promised_by: int | None, ready: set[int], agent_ids: tuple[int, ...], to_team: bool
) -> None:
    route = route_callback(promised_by, TEAM, lambda m: m.agent_id in ready)
    assert (route.agent_ids, route.to_team) == (agent_ids, to_team)


def test_with_no_agents_at_all_it_pops_for_nobody_but_is_kept() -> None:
    route = route_callback(None, (), lambda m: True)
    assert route.agent_ids == ()


def _request(**overrides: object) -> NewCallback:
    values: dict[str, object] = {
        "customer_id": 7,
        "number": "090 123-4567",
        "due_at": NOW + timedelta(hours=2),
        "note": "  Wants the new price list  ",
        "requested_by": "agent",
        "agent_id": 1,
        "now": NOW,
    }
    values.update(overrides)
    return NewCallback.create(**values)  # type: ignore[arg-type]


def test_a_request_is_cleaned_and_no_time_means_now() -> None:
    callback = _request(due_at=None)
    assert callback.phone == "0901234567"
    assert callback.note == "Wants the new price list"
    assert callback.due_at == NOW


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        ({"number": "0901\r\nAction: Hangup"}, "number"),
        ({"number": "call me"}, "number"),
        ({"number": ""}, "number"),
        ({"due_at": datetime(2026, 12, 1, 10, 0)}, "due_at"),
        ({"due_at": NOW + timedelta(days=400)}, "due_at"),
        ({"note": "x" * 501}, "note"),
        ({"note": "bell\x07"}, "note"),
        ({"requested_by": "robot"}, "requested_by"),
    ],
)
def test_a_bad_request_says_which_field_is_wrong(overrides: dict[str, object], field: str) -> None:
    with pytest.raises(InvalidCallbackError) as caught:
        _request(**overrides)
    assert field in caught.value.problems
