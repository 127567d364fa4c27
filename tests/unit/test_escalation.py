"""Escalation rules: warnings, breaches, overdue, the ladder in and out of business hours, ack and snooze."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from tickets.errors import EscalationConfigError
from tickets.escalation import (
    AlertKind,
    EscalationPolicy,
    EscalationState,
    TicketClock,
    WatchOwner,
    evaluate,
    load_escalation_policy,
    parse_escalation_policy,
    repeated_calls_alarm,
)
from tickets.model import Priority, TicketStatus
from tickets.sla import load_sla_policy

CONFIG = Path(__file__).resolve().parents[2] / "config"
HCM = ZoneInfo("Asia/Ho_Chi_Minh")
SLA = load_sla_policy(CONFIG / "sla.toml", CONFIG / "calendar.toml", tiers=("vip", "gold", "standard"))

LADDER = """
[overdue]
days = 3
[overdue.priority.urgent]
gold = 1
[warnings]
share = 0.8
[[ladder.level]]
role = "team_lead"
delay_min = 0
[[ladder.level]]
role = "department_director"
delay_min = 60
[[ladder.level]]
role = "vice_president"
delay_min = 240
[[ladder.level]]
role = "general_manager"
delay_min = 480
all_hours = true
[departments.default.team_lead]
name = "Carol"
username = "carol"
email = "carol@example.com"
[departments.default.department_director]
name = "Duc"
email = "duc@example.com"
[departments.default.vice_president]
name = "Lan"
[departments.default.general_manager]
name = "Minh"
[departments.billing.team_lead]
name = "Hoa"
email = "hoa@example.com"
[snooze]
default_min = 30
max_min = 120
"""
POLICY = parse_escalation_policy(LADDER, SLA)


def vn(day: str, hhmm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hhmm}").replace(tzinfo=HCM)


def ticket(**changes: object) -> TicketClock:
    """A normal-priority standard ticket opened Monday 2026-12-07 08:00, first response due 12:00."""
    opened = vn("2026-12-07", "08:00")
    due = SLA.deadlines(opened, Priority.NORMAL, "standard")
    base = TicketClock(
        ticket_id=7,
        subject="Invoice wrong",
        status=TicketStatus.ASSIGNED,
        priority=Priority.NORMAL,
        tier="standard",
        top_tier=False,
        department="support",
        assignee_id=3,
        customer_id=11,
        customer_name="Jane Doe",
        created_at=opened,
        first_response_due=due.first_response_due,
        resolution_due=due.resolution_due,
    )
    return replace(base, **changes)  # type: ignore[arg-type]


def keys(
    policy: EscalationPolicy, t: TicketClock, now: datetime, state: EscalationState | None = None
) -> list[str]:
    return [
        a.key.split(":")[0] + (f":{a.level}" if a.level else "")
        for a in evaluate(policy, t, state or EscalationState(), now).alarms
    ]


# First response is 240 business minutes: due Monday 12:00; 80% is 192 minutes, 11:12.
@pytest.mark.parametrize(
    ("now", "expected"),
    [
        pytest.param(vn("2026-12-07", "11:11"), [], id="before-the-warning"),
        pytest.param(vn("2026-12-07", "11:12"), ["first_response_warning"], id="at-80-percent"),
        pytest.param(vn("2026-12-07", "12:00"), ["first_response_breach"], id="breach-in-the-lunch-break"),
        pytest.param(
            vn("2026-12-07", "13:00"), ["first_response_breach", "level:1"], id="team-lead-told-at-opening"
        ),
    ],
)
def test_first_response_warning_then_breach(now: datetime, expected: list[str]) -> None:
    assert keys(POLICY, ticket(), now) == expected


def test_the_next_look_is_the_next_step() -> None:
    result = evaluate(POLICY, ticket(), EscalationState(), vn("2026-12-07", "09:00"))
    assert result.alarms == ()
    assert result.next_check_at == vn("2026-12-07", "11:12")


def test_a_late_sweep_sends_the_breach_not_the_stale_warning() -> None:
    assert "first_response_warning" not in keys(POLICY, ticket(), vn("2026-12-07", "15:00"))


def test_a_first_response_stops_its_clock_and_a_pause_stops_resolution() -> None:
    answered = ticket(first_responded_at=vn("2026-12-07", "09:00"), sla_paused_at=vn("2026-12-07", "09:00"))
    result = evaluate(POLICY, answered, EscalationState(), vn("2026-12-07", "13:00"))
    assert result.alarms == ()
    # Only the overdue clock runs (3 days after intake, wall clock).
    assert result.next_check_at == vn("2026-12-10", "08:00")


@pytest.mark.parametrize(
    ("priority", "tier", "overdue_at"),
    [
        pytest.param(Priority.NORMAL, "standard", vn("2026-12-10", "08:00"), id="default-3-days"),
        pytest.param(Priority.URGENT, "gold", vn("2026-12-08", "08:00"), id="urgent-gold-1-day"),
    ],
)
def test_overdue_per_priority_and_tier(priority: Priority, tier: str, overdue_at: datetime) -> None:
    t = ticket(
        priority=priority,
        tier=tier,
        first_responded_at=vn("2026-12-07", "08:05"),
        sla_paused_at=vn("2026-12-07", "08:05"),
    )
    assert keys(POLICY, t, overdue_at - timedelta(seconds=1)) == []
    assert keys(POLICY, t, overdue_at) == ["overdue", "level:1"]


def test_a_resolved_ticket_still_goes_overdue_but_no_longer_climbs() -> None:
    t = ticket(status=TicketStatus.RESOLVED)
    assert keys(POLICY, t, vn("2026-12-10", "08:00")) == ["overdue"]
    assert (
        evaluate(
            POLICY, ticket(status=TicketStatus.CLOSED), EscalationState(), vn("2027-01-01", "08:00")
        ).next_check_at
        is None
    )


# Resolution breach on Friday 2026-12-04 17:00 local (open until 17:30; Saturday 08:00-12:00).
FRIDAY = ticket(
    created_at=vn("2026-12-04", "09:00"),
    first_response_due=None,
    resolution_due=vn("2026-12-04", "17:00"),
)


@pytest.mark.parametrize(
    ("state", "now", "fires", "next_check"),
    [
        pytest.param(
            EscalationState(),
            vn("2026-12-04", "17:00"),
            1,
            vn("2026-12-05", "08:00"),
            id="lead-at-breach-director-waits-for-opening",
        ),
        pytest.param(
            EscalationState(1, vn("2026-12-04", "17:00"), vn("2026-12-04", "17:00")),
            vn("2026-12-05", "02:00"),
            None,
            vn("2026-12-05", "08:00"),
            id="no-2am-email-for-the-director",
        ),
        pytest.param(
            EscalationState(1, vn("2026-12-04", "17:00"), vn("2026-12-04", "17:00")),
            vn("2026-12-05", "08:00"),
            2,
            vn("2026-12-07", "08:00"),
            id="director-at-opening-vp-after-the-weekend",
        ),
        pytest.param(
            EscalationState(3, vn("2026-12-07", "18:00"), vn("2026-12-04", "17:00")),
            vn("2026-12-08", "02:00"),
            4,
            None,
            id="general-manager-is-24-7",
        ),
        pytest.param(
            EscalationState(
                1,
                vn("2026-12-04", "17:00"),
                vn("2026-12-04", "17:00"),
                acknowledged_at=vn("2026-12-04", "17:05"),
            ),
            vn("2026-12-05", "09:00"),
            None,
            vn("2026-12-07", "09:00"),
            id="acknowledged-stops-the-climb",
        ),
        pytest.param(
            EscalationState(
                1,
                vn("2026-12-04", "17:00"),
                vn("2026-12-04", "17:00"),
                snoozed_until=vn("2026-12-05", "10:00"),
            ),
            vn("2026-12-05", "09:00"),
            None,
            vn("2026-12-05", "10:00"),
            id="snooze-holds-the-climb",
        ),
        pytest.param(
            EscalationState(
                1,
                vn("2026-12-04", "17:00"),
                vn("2026-12-04", "17:00"),
                snoozed_until=vn("2026-12-05", "10:00"),
            ),
            vn("2026-12-05", "10:00"),
            2,
            vn("2026-12-07", "08:00"),
            id="snooze-over-climb-resumes",
        ),
    ],
)
def test_the_ladder(
    state: EscalationState, now: datetime, fires: int | None, next_check: datetime | None
) -> None:
    result = evaluate(POLICY, FRIDAY, state, now)
    levels = [a.level for a in result.alarms if a.kind is AlertKind.ESCALATION]
    assert levels == ([fires] if fires else [])
    # The overdue clock (Monday 09:00) is the other thing to look at.
    overdue_at = vn("2026-12-07", "09:00")
    expected = [d for d in (next_check, overdue_at if now < overdue_at else None) if d is not None]
    assert result.next_check_at == (min(expected) if expected else None)
    if fires:
        assert result.state.level == fires
        assert result.state.level_at == now


def test_each_rank_is_told_by_department_with_the_default_as_fallback() -> None:
    lead = evaluate(
        POLICY, replace(FRIDAY, department="billing"), EscalationState(), vn("2026-12-04", "17:00")
    )
    (level1,) = [a for a in lead.alarms if a.kind is AlertKind.ESCALATION]
    assert level1.recipient is not None
    assert level1.recipient.name == "Hoa"
    assert level1.role == "team_lead"
    director = evaluate(
        POLICY,
        replace(FRIDAY, department="billing"),
        EscalationState(1, vn("2026-12-04", "17:00"), vn("2026-12-04", "17:00")),
        vn("2026-12-05", "08:00"),
    )
    (level2,) = [a for a in director.alarms if a.kind is AlertKind.ESCALATION]
    assert level2.recipient is not None
    assert level2.recipient.email == "duc@example.com"


def test_the_climb_stops_at_the_top() -> None:
    top = EscalationState(4, vn("2026-12-08", "02:00"), vn("2026-12-04", "17:00"))
    result = evaluate(POLICY, FRIDAY, top, vn("2026-12-09", "02:00"))
    assert [a for a in result.alarms if a.kind is AlertKind.ESCALATION] == []


def test_a_24_7_target_warns_at_night() -> None:
    # Urgent VIP tickets run on a 24/7 clock: 15 minutes to first response.
    opened = vn("2026-12-06", "02:00")  # Sunday night
    due = SLA.deadlines(opened, Priority.URGENT, "vip")
    t = ticket(
        priority=Priority.URGENT,
        tier="vip",
        top_tier=True,
        created_at=opened,
        first_response_due=due.first_response_due,
        resolution_due=due.resolution_due,
    )
    assert "first_response_warning" in keys(POLICY, t, vn("2026-12-06", "02:12"))


@pytest.mark.parametrize(
    ("top_tier", "owner", "now", "expected"),
    [
        pytest.param(False, None, vn("2026-12-07", "08:00"), False, id="ordinary-customer"),
        pytest.param(True, None, vn("2026-12-07", "08:00"), True, id="top-tier"),
        pytest.param(
            False,
            WatchOwner(5, "Olivia", "olivia@example.com"),
            vn("2026-12-07", "08:00"),
            True,
            id="watched",
        ),
        pytest.param(
            False, WatchOwner(5, "Olivia", None), vn("2026-12-09", "08:00"), False, id="watched-later-not-new"
        ),
    ],
)
def test_a_new_ticket_of_a_watched_or_top_tier_customer(
    top_tier: bool, owner: WatchOwner | None, now: datetime, expected: bool
) -> None:
    t = ticket(
        top_tier=top_tier,
        first_responded_at=vn("2026-12-07", "08:00"),
        sla_paused_at=vn("2026-12-07", "08:00"),
    )
    alarms = [
        a
        for a in evaluate(POLICY, t, EscalationState(), now, owner).alarms
        if a.kind is AlertKind.CUSTOMER_TICKET
    ]
    assert bool(alarms) is expected
    if alarms and owner is not None:
        assert alarms[0].agent_id == 5
        assert alarms[0].recipient is not None
        assert alarms[0].recipient.name == "Olivia"


@pytest.mark.parametrize(
    ("calls", "top_tier", "owner", "fires"),
    [
        pytest.param(2, True, None, False, id="two-calls"),
        pytest.param(3, True, None, True, id="three-calls-top-tier"),
        pytest.param(3, False, None, False, id="three-calls-nobody-watches"),
        pytest.param(5, False, WatchOwner(5, "Olivia", None), True, id="watched"),
    ],
)
def test_repeated_calls(calls: int, top_tier: bool, owner: WatchOwner | None, fires: bool) -> None:
    now = vn("2026-12-07", "10:00")
    alarm = repeated_calls_alarm(POLICY, "Jane Doe", calls, top_tier, owner, now)
    assert (alarm is not None) is fires
    if alarm is not None:
        # One burst of calls, one alarm: the key is the window, not the call.
        later = repeated_calls_alarm(
            POLICY, "Jane Doe", calls + 1, top_tier, owner, now + timedelta(minutes=5)
        )
        assert later is not None
        assert later.key == alarm.key


@pytest.mark.parametrize(
    ("requested", "expected"),
    [(None, 1800), (600, 600), (86_400, 7200)],
)
def test_snooze_default_and_cap(requested: int | None, expected: int) -> None:
    assert POLICY.snooze_s(requested) == expected


def test_the_shipped_policy_loads() -> None:
    policy = load_escalation_policy(CONFIG / "escalation.toml", SLA)
    assert [level.role for level in policy.ladder] == [
        "team_lead",
        "department_director",
        "vice_president",
        "general_manager",
    ]
    assert policy.ladder[-1].twenty_four_seven


def test_every_config_problem_is_listed_at_once() -> None:
    bad = """
    [overdue]
    days = -1
    [overdue.priority.asap]
    vip = 1
    [warnings]
    share = 1.5
    [[ladder.level]]
    delay_min = 5
    [departments.default.team_lead]
    email = "nobody"
    [extra]
    """
    with pytest.raises(EscalationConfigError) as caught:
        parse_escalation_policy(bad, SLA)
    text = "\n".join(caught.value.problems)
    for fragment in (
        "overdue.days",
        "asap",
        "warnings.share",
        "ladder.level[1].role",
        "team_lead.name",
        "extra",
    ):
        assert fragment in text


def test_a_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(EscalationConfigError, match="file not found"):
        load_escalation_policy(tmp_path / "nope.toml", SLA)
