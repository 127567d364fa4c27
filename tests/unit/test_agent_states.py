"""Agent states derived from recorded Asterisk 22 traffic, with an injected clock."""

from __future__ import annotations

from cti.agent_states import AgentStateTracker, Presence, member_interface
from cti.ami_protocol import AmiMessage, AmiParser, MessageKind
from tests.recordings import server_stream

T0 = 1_795_392_300.0
AGENT_1002 = "Local/1002@agents"


def events(name: str, conn: int = 1) -> list[AmiMessage]:
    return [m for m in AmiParser().feed(server_stream(name, conn)) if m.kind is MessageKind.EVENT]


def list_items(name: str, conn: int, action_id: str) -> list[AmiMessage]:
    return [m for m in AmiParser().feed(server_stream(name, conn)) if m.get("ActionID") == action_id]


def test_queue_member_admin_recording_gives_ready_paused_ready() -> None:
    tracker = AgentStateTracker()
    changes = []
    for i, message in enumerate(events("ami_f_queue_member_admin.txt")):
        changes.extend(tracker.feed(message, T0 + i))
    assert [(c.previous, c.status.presence, c.status.reason) for c in changes] == [
        (Presence.LOGGED_OUT, Presence.READY, ""),
        (Presence.READY, Presence.PAUSED, "Lunch"),
        (Presence.PAUSED, Presence.READY, ""),
    ]
    paused = changes[1].status
    assert paused.interface == AGENT_1002
    assert paused.member_name == "Agent 1002"
    # Asterisk's LastPause (1795392298) dates the pause, not the moment we read it.
    assert paused.in_queue("noanswer") is not None
    assert paused.in_queue("noanswer").paused_since == 1_795_392_298.0  # type: ignore[union-attr]
    # After QueueRemove of noanswer the agent is still a static member of support and vip.
    final = tracker.status(AGENT_1002)
    assert final is not None
    assert [m.queue for m in final.queues] == ["support", "vip"]
    assert final.presence is Presence.READY
    # Each change closes the previous period, for the time-in-state report and occupancy.
    periods = [c.closed for c in changes]
    assert [(p.presence, p.reason, p.queues) for p in periods] == [
        (Presence.LOGGED_OUT, "", ()),
        (Presence.READY, "", ("noanswer",)),
        (Presence.PAUSED, "Lunch", ("noanswer",)),
    ]
    assert periods[2].ended_at - periods[2].started_at == changes[2].changed_at - changes[1].changed_at


def test_a_call_puts_the_agent_on_call_until_agent_complete() -> None:
    tracker = AgentStateTracker()
    seen = []
    for i, message in enumerate(events("ami_b_inbound_answered.txt")):
        for change in tracker.feed(message, T0 + i):
            seen.append((change.status.interface, change.status.presence))
    assert ("Local/1001@agents", Presence.ON_CALL) in seen
    status = tracker.status("Local/1001@agents")
    assert status is not None
    assert status.presence is Presence.READY


def test_a_wrap_up_pause_is_shown_as_wrap_up() -> None:
    tracker = AgentStateTracker(wrap_up_reason="Lunch")  # the recording's reason, read as wrap-up
    states = [
        c.status.presence
        for i, m in enumerate(events("ami_f_queue_member_admin.txt"))
        for c in tracker.feed(m, T0 + i)
    ]
    assert Presence.WRAP_UP in states
    assert Presence.PAUSED not in states


def test_resync_after_an_asterisk_restart_clears_a_pause_asterisk_forgot() -> None:
    tracker = AgentStateTracker()
    admin = events("ami_f_queue_member_admin.txt")
    pause_at = next(i for i, m in enumerate(admin) if m.name == "QueueMemberPause")
    for i, message in enumerate(admin[: pause_at + 1]):
        tracker.feed(message, T0 + i)
    status = tracker.status(AGENT_1002)
    assert status is not None
    assert (status.presence, status.reason) == (Presence.PAUSED, "Lunch")
    # The restart recording: a call to 1001 is cut by `core stop now`, then QueueStatus on the new login.
    for i, message in enumerate(events("ami_k_restart.txt", 1)):
        tracker.feed(message, T0 + 100 + i)
    status_1001 = tracker.status("Local/1001@agents")
    assert status_1001 is not None
    assert status_1001.presence is not Presence.ON_CALL
    items = list_items("ami_k_restart.txt", 2, "qs-after-restart")
    assert [m.name for m in items].count("QueueMember") == 8
    changes = tracker.resync(items, T0 + 200)
    by_interface = {c.status.interface: c for c in changes}
    correction = by_interface[AGENT_1002]
    assert (correction.previous, correction.previous_reason) == (Presence.PAUSED, "Lunch")
    assert correction.status.presence is Presence.READY
    assert [m.queue for m in correction.status.queues] == ["support", "vip"]  # the dynamic noanswer is gone
    assert {s.interface for s in tracker.statuses()} >= {
        "Local/1001@agents",
        "Local/1003@agents",
        "Local/1004@agents",
        "Local/2001@agents",
        "Local/2002@agents",
    }
    assert all(s.presence is Presence.READY for s in tracker.statuses())
    # A second resync with the same answer changes nothing.
    assert tracker.resync(items, T0 + 300) == []


def test_member_interface_adds_the_local_n_option() -> None:
    assert member_interface("Local/1002@agents") == "Local/1002@agents/n"
    assert member_interface("Local/1002@agents/n") == "Local/1002@agents/n"
    assert member_interface("PJSIP/1001") == "PJSIP/1001"
