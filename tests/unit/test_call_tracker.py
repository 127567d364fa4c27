"""The call tracker against real Asterisk 22 recordings: the exact call events each one yields."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cti.ami_protocol import AmiMessage, AmiParser, MessageKind
from cti.calls import CallTracker, normalise_interface
from cti.events import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallOffered,
    OfferRetracted,
    QueueCallerAbandoned,
)
from tests.recordings import ami_files, records

EPOCH = 1_800_000_000.0

Timed = tuple[float, AmiMessage]


def ami_messages(name: str, conn: int = 1, rewrite: Callable[[bytes], bytes] | None = None) -> list[Timed]:
    """Every message Asterisk sent on `conn`, with the record time it arrived at."""
    parser = AmiParser()
    out: list[Timed] = []
    for r in records(name):
        if r.conn == conn and r.direction == "ASTERISK->CLIENT":
            data = rewrite(r.data) if rewrite else r.data
            out.extend((r.t, m) for m in parser.feed(data))
    return out


def play(tracker: CallTracker, messages: Iterable[Timed]) -> list[CallEvent]:
    """Feed messages with `now` = EPOCH + their record time; collect what the tracker says."""
    events: list[CallEvent] = []
    for t, message in messages:
        events.extend(tracker.feed(message, EPOCH + t))
    return events


def list_items(messages: Sequence[Timed], action_id: str) -> list[AmiMessage]:
    """The item events of one list action, as the AMI client hands them to resync."""
    return [
        m
        for _, m in messages
        if m.kind is MessageKind.EVENT and m.action_id == action_id and m.get("EventList") != "Complete"
    ]


def summary(events: Sequence[CallEvent]) -> list[tuple[object, ...]]:
    """Events as short tuples (layouts above EXPECTED). Call ids become call1, call2... in order
    of first appearance; times become seconds since the start of the recording."""
    ids: dict[str, str] = {}

    def call(call_id: str) -> str:
        return ids.setdefault(call_id, f"call{len(ids) + 1}")

    def t(at: float | None) -> float | None:
        return None if at is None else round(at - EPOCH, 3)

    out: list[tuple[object, ...]] = []
    for e in events:
        match e:
            case CallOffered():
                caller = (e.caller_number, e.caller_name)
                out.append(("offered", call(e.call_id), e.interface, e.queue, caller, t(e.offered_at)))
            case OfferRetracted():
                out.append(("retracted", call(e.call_id), e.interface, e.reason.value))
            case CallAnswered():
                answer = (e.interface, e.queue, e.caller_number, e.wait_s, t(e.answered_at))
                out.append(("answered", call(e.call_id), *answer))
            case QueueCallerAbandoned():
                out.append(("abandoned", call(e.call_id), e.queue, e.position, e.original_position, e.wait_s))
            case CallEnded():
                caller = (e.caller_number, e.caller_name)
                outcome = (e.outcome.value, caller, e.queue, e.interface, e.cause, e.wait_s, e.talk_s)
                times = (t(e.started_at), t(e.answered_at), t(e.ended_at))
                out.append(("ended", call(e.call_id), *outcome, times))
    return out


A1001, A1002, A1003 = "Local/1001@agents", "Local/1002@agents", "Local/1003@agents"
A1004, A2001, A2002 = "Local/1004@agents", "Local/2001@agents", "Local/2002@agents"
JANE = ("0901234567", "Jane Doe")
BOB = ("0907654321", "Bob Abandon")
CARL = ("0905550000", "Carl Timeout")
DANA = ("0907777777", "Dana Busy")
RITA = ("0903333333", "Rita Redirect")
TOM = ("0904444444", "Tom Transfer")
BINH_TV = ("0912345678", "Trần Văn Bình")
AN = ("0901000001", "An Nguyen")
BINH = ("0901000002", "Binh Tran")
CUONG = ("0901000003", "Cuong Le")
KHANH = ("0904040404", "Khanh Restart")
LAN = ("0905050505", "Lan Pham")
VERA = ("0908000042", "Vera VIP")
WALTER = ("0907000001", "Walter Waiting")
ALICE = ("0901234567", "Alice Caller")
BERT = ("0902222222", "Bert Waiting")
ANNA = ("0910000001", "Anna Attended")
BERT_CANCEL = ("0910000002", "Bert Cancel")
CORA = ("0910000003", "Cora Consult")
NINA = ("0910000005", "Nina Noxfer")
OTTO = ("0910000006", "Otto Complete")
TESS = ("0910000007", "Tess Threeway")
PAUL = ("0911000001", "Paul Parked")
TINA = ("0911000002", "Tina Timeout")
MIA = ("0912000001", "Mia Monitor")
REX = ("0912000002", "Rex Recorded")
SAM = ("0913000001", "Sam Spied")
HUGO = ("0914000001", "Hugo Hangup")
HANNA = ("0914000002", "Hanna Cause")
CARL_CALLER = ("0914000003", "Carl Caller")
CLEO_CAUSE = ("0914000004", "Cleo Cause")
RITA_REGEX = ("0914000005", "Rita Regex")
CLEO_CONF = ("0915000001", "Cleo Conference")
CECILIA = ("0916000001", "Cecilia Cdr")
ABE = ("0916000002", "Abe Abandon")
SALLY = ("0917000001", "Sally Sales")
BILL = ("0917000002", "Bill Billing")
BEA = ("0917000003", "Bea Billing")


def busy_retry(offered_at: float) -> list[tuple[object, ...]]:
    """One retry of the busy member in ami_c3: offered, then at once not answered."""
    return [
        ("offered", "call1", A1004, "busyagents", DANA, offered_at),
        ("retracted", "call1", A1004, "no_answer"),
    ]


# ("offered", call, interface, queue, (number, name), offered_at)
# ("retracted", call, interface, reason)
# ("answered", call, interface, queue, number, wait_s, answered_at)
# ("abandoned", call, queue, position, original_position, wait_s)
# ("ended", call, outcome, (number, name), queue, interface, cause, wait_s, talk_s,
#  (started_at, answered_at, ended_at))
EXPECTED: dict[str, list[tuple[object, ...]]] = {
    "ami_b_inbound_answered.txt": [
        ("offered", "call1", A1001, "support", JANE, 1.005),
        ("answered", "call1", A1001, "support", "0901234567", 0, 1.007),
        ("ended", "call1", "answered", JANE, "support", A1001, "16", 0, 3, (0.503, 1.007, 4.514)),
    ],
    "ami_c_abandon.txt": [
        ("offered", "call1", A1003, "noanswer", BOB, 1.007),
        ("retracted", "call1", A1003, "caller_left"),
        ("abandoned", "call1", "noanswer", 1, 1, 4),
        ("ended", "call1", "abandoned", BOB, "noanswer", None, "16", 4, 0, (0.504, None, 5.509)),
    ],
    # Queue() timeout: AMI says QueueCallerAbandon, only QUEUESTATUS=TIMEOUT tells it apart.
    "ami_c2_queue_timeout.txt": [
        ("offered", "call1", A1003, "noanswer", CARL, 1.006),
        ("retracted", "call1", A1003, "no_answer"),
        ("offered", "call1", A1003, "noanswer", CARL, 17.008),
        ("retracted", "call1", A1003, "no_answer"),
        ("abandoned", "call1", "noanswer", 1, 1, 18),
        ("ended", "call1", "timeout", CARL, "noanswer", None, "16", 18, 0, (0.503, None, 19.011)),
    ],
    # A busy member is retried every second: each AgentCalled is a new offer.
    "ami_c3_member_busy.txt": [
        *busy_retry(1.007),
        *busy_retry(2.009),
        *busy_retry(3.01),
        *busy_retry(4.012),
        *busy_retry(5.014),
        *busy_retry(6.016),
        ("abandoned", "call1", "busyagents", 1, 1, 5),
        ("ended", "call1", "abandoned", DANA, "busyagents", None, "16", 5, 0, (0.504, None, 6.507)),
    ],
    # Ends when the parked caller hangs up; the agent talked 2 s, not AgentComplete's 11.
    "ami_g_redirect.txt": [
        ("offered", "call1", A1001, "support", RITA, 1.007),
        ("answered", "call1", A1001, "support", "0903333333", 0, 1.008),
        ("ended", "call1", "answered", RITA, "support", A1001, "16", 0, 2, (0.503, 1.008, 12.515)),
    ],
    "ami_g2_blindtransfer.txt": [
        ("offered", "call1", A1001, "support", TOM, 1.007),
        ("answered", "call1", A1001, "support", "0904444444", 0, 1.009),
        ("ended", "call1", "answered", TOM, "support", A1001, "16", 0, 2, (0.504, 1.009, 12.517)),
    ],
    # One retraction for 2002 despite the duplicate DialEnd CANCEL and the cause-26 Hangups.
    "ami_i_ringall.txt": [
        ("offered", "call1", A2001, "ringall", BINH_TV, 1.008),
        ("offered", "call1", A2002, "ringall", BINH_TV, 1.009),
        ("retracted", "call1", A2002, "answered_elsewhere"),
        ("answered", "call1", A2001, "ringall", "0912345678", 2, 3.015),
        ("ended", "call1", "answered", BINH_TV, "ringall", A2001, "16", 2, 3, (0.503, 3.015, 6.522)),
    ],
    "ami_j_concurrent.txt": [
        ("offered", "call1", A1001, "support", AN, 1.007),
        ("answered", "call1", A1001, "support", "0901000001", 0, 1.009),
        ("offered", "call2", A1002, "support", BINH, 1.311),
        ("answered", "call2", A1002, "support", "0901000002", 0, 1.312),
        ("abandoned", "call3", "support", 1, 1, 2),
        ("ended", "call3", "abandoned", CUONG, "support", None, "16", 2, 0, (1.108, None, 4.112)),
        ("ended", "call1", "answered", AN, "support", A1001, "16", 0, 5, (0.505, 1.009, 5.516)),
        ("ended", "call2", "answered", BINH, "support", A1002, "16", 0, 4, (0.806, 1.312, 5.818)),
    ],
    "ami_k_restart.txt": [
        ("offered", "call1", A1001, "support", KHANH, 1.008),
        ("answered", "call1", A1001, "support", "0904040404", 0, 1.009),
        ("ended", "call1", "answered", KHANH, "support", A1001, "16", 0, 2, (0.503, 1.009, 3.027)),
    ],
    "ami_l_channelvars.txt": [
        ("offered", "call1", A1001, "support", LAN, 1.009),
        ("answered", "call1", A1001, "support", "0905050505", 0, 1.012),
        ("ended", "call1", "answered", LAN, "support", A1001, "16", 0, 3, (0.504, 1.012, 4.514)),
    ],
    # The VIP caller joins second, at position 1, and is answered first.
    "ami_m_ivr_to_queue.txt": [
        ("offered", "call1", A1001, "vip", VERA, 8.769),
        ("answered", "call1", A1001, "vip", "0908000042", 2, 8.773),
        ("offered", "call2", A1002, "vip", WALTER, 10.517),
        ("answered", "call2", A1002, "vip", "0907000001", 9, 10.519),
        ("ended", "call1", "answered", VERA, "vip", A1001, "16", 2, 4, (2.509, 8.773, 12.276)),
        ("ended", "call2", "answered", WALTER, "vip", A1002, "16", 9, 3, (1.005, 10.519, 14.023)),
    ],
    # List-action items (QueueStatus, CoreShowChannels, Status) pass through feed untouched;
    # Bert is hung up by the AMI Hangup action.
    "ami_e_list_actions.txt": [
        ("offered", "call1", A1001, "support", ALICE, 1.006),
        ("answered", "call1", A1001, "support", "0901234567", 0, 1.008),
        ("offered", "call2", A1003, "noanswer", BERT, 1.511),
        ("retracted", "call2", A1003, "caller_left"),
        ("abandoned", "call2", "noanswer", 1, 1, 2),
        ("ended", "call2", "abandoned", BERT, "noanswer", None, "16", 2, 0, (1.01, None, 3.523)),
        ("ended", "call1", "answered", ALICE, "support", A1001, "16", 0, 12, (0.503, 1.008, 13.522)),
    ],
    # Atxfer: the call stays 1001's, whose talk spans its leg, the consultation (Anna on hold)
    # included. Anna then talks 7 s with 1002 (not counted); Bert (CancelAtxfer) and Cora (1002
    # hangs up) go back to 1001 with no AttendedTransfer event at all.
    # The call-control issue adds CallTransferred, which hands Anna's call over to 1002.
    "ami_n_attended_transfer.txt": [
        ("offered", "call1", A1001, "support", ANNA, 1.511),
        ("answered", "call1", A1001, "support", "0910000001", 0, 1.516),
        ("ended", "call1", "answered", ANNA, "support", A1001, "16", 0, 6, (1.005, 1.516, 15.016)),
        ("offered", "call2", A1001, "support", BERT_CANCEL, 17.568),
        ("answered", "call2", A1001, "support", "0910000002", 0, 17.571),
        ("ended", "call2", "answered", BERT_CANCEL, "support", A1001, "16", 0, 14, (17.064, 17.571, 31.081)),
        ("offered", "call3", A1001, "support", CORA, 33.622),
        ("answered", "call3", A1001, "support", "0910000003", 0, 33.625),
        ("ended", "call3", "answered", CORA, "support", A1001, "16", 0, 14, (33.116, 33.625, 47.131)),
    ],
    # Nina's Atxfer does nothing (no BRIDGE_FEATURES); Otto's completes by *2 as Anna's does
    # (1002 talks on, not counted); Tess's becomes three-way, 1001 in it until it hangs up at 12 s.
    # The call-control issue adds CallTransferred for Otto's call (and decides on Tess's three-way).
    "ami_n2_atxfer_variants.txt": [
        ("offered", "call1", A1001, "support", NINA, 1.51),
        ("answered", "call1", A1001, "support", "0910000005", 0, 1.513),
        ("ended", "call1", "answered", NINA, "support", A1001, "16", 0, 6, (1.006, 1.513, 8.021)),
        ("offered", "call2", A1001, "support", OTTO, 10.642),
        ("answered", "call2", A1001, "support", "0910000006", 0, 10.645),
        ("ended", "call2", "answered", OTTO, "support", A1001, "16", 0, 7, (10.138, 10.645, 24.149)),
        ("offered", "call3", A1001, "support", TESS, 26.698),
        ("answered", "call3", A1001, "support", "0910000007", 0, 26.701),
        ("ended", "call3", "answered", TESS, "support", A1001, "16", 0, 12, (26.192, 26.701, 42.2)),
    ],
    # Park, the AMI "hold": the agent's legs hang up at the park. Paul is picked up by a new 1001
    # leg (UnParkedCall) after 4 s; Tina's park times out after 5 s and she dials 1001 back.
    # AgentComplete's 11 and 17 s count the parked time: 1001 talked 7 and 12 s. The tracker
    # used to say 3 and 2, taking the time after the park for parked.
    "ami_o_hold_park.txt": [
        ("offered", "call1", A1001, "support", PAUL, 1.514),
        ("answered", "call1", A1001, "support", "0911000001", 0, 1.516),
        ("ended", "call1", "answered", PAUL, "support", A1001, "16", 0, 7, (1.006, 1.516, 12.042)),
        ("offered", "call2", A1001, "support", TINA, 14.663),
        ("answered", "call2", A1001, "support", "0911000002", 0, 14.666),
        ("ended", "call2", "answered", TINA, "support", A1001, "16", 0, 12, (14.157, 14.666, 32.175)),
    ],
    # Recording changes nothing, started over AMI (Mia, muted seconds are still talk) or by the
    # queue itself (Rex, whose MixMonitorStart comes before AgentConnect).
    "ami_p_mixmonitor.txt": [
        ("offered", "call1", A1001, "support", MIA, 0.533),
        ("answered", "call1", A1001, "support", "0912000001", 0, 0.535),
        ("ended", "call1", "answered", MIA, "support", A1001, "16", 0, 14, (0.505, 0.535, 14.517)),
        ("offered", "call2", A1001, "recorded", REX, 17.113),
        ("answered", "call2", A1001, "recorded", "0912000002", 0, 17.124),
        ("ended", "call2", "answered", REX, "recorded", A1001, "16", 0, 8, (17.089, 17.124, 25.096)),
    ],
    # The supervisor's three ChanSpy originates are calls of their own (no queue). Sam hangs up
    # first, so AgentComplete comes without his block; Queue + Interface tie it to his call. It
    # used to be adopted as a second call, answered and never ended.
    "ami_q_chanspy.txt": [
        ("offered", "call1", A1001, "support", SAM, 0.528),
        ("answered", "call1", A1001, "support", "0913000001", 0, 0.531),
        ("ended", "call1", "answered", SAM, "support", A1001, "16", 0, 26, (0.505, 0.531, 26.512)),
    ],
    # AMI Hangup of the agent leg (Hugo, Hanna: Cause 21) or the caller leg (Carl; Cleo: Cause 17,
    # which spreads to all four halves), and of a waiting caller by /regex/ (Rita: Cause 0).
    # Hugo's, Hanna's and Cleo's AgentComplete carry no channel block at all: Hugo's is tied to
    # his call by Queue + Interface; Hanna's and Cleo's come after their last Hangup, when the
    # clock has counted the talk already. None may start a call of its own.
    "ami_r_hangup_action.txt": [
        ("offered", "call1", A1001, "support", HUGO, 1.519),
        ("answered", "call1", A1001, "support", "0914000001", 0, 1.521),
        ("ended", "call1", "answered", HUGO, "support", A1001, "16", 0, 2, (1.008, 1.521, 3.531)),
        ("offered", "call2", A1001, "support", HANNA, 6.238),
        ("answered", "call2", A1001, "support", "0914000002", 0, 6.24),
        ("ended", "call2", "answered", HANNA, "support", A1001, "21", 0, 2, (5.734, 6.24, 8.248)),
        ("offered", "call3", A1001, "support", CARL_CALLER, 10.953),
        ("answered", "call3", A1001, "support", "0914000003", 0, 10.959),
        ("ended", "call3", "answered", CARL_CALLER, "support", A1001, "16", 0, 2, (10.45, 10.959, 12.968)),
        ("offered", "call4", A1001, "support", CLEO_CAUSE, 15.673),
        ("answered", "call4", A1001, "support", "0914000004", 0, 15.677),
        ("ended", "call4", "answered", CLEO_CAUSE, "support", A1001, "17", 0, 2, (15.168, 15.677, 17.686)),
        ("offered", "call5", A1003, "noanswer", RITA_REGEX, 20.897),
        ("retracted", "call5", A1003, "caller_left"),
        ("abandoned", "call5", "noanswer", 1, 1, 2),
        ("ended", "call5", "abandoned", RITA_REGEX, "noanswer", None, "0", 2, 0, (20.393, None, 22.908)),
    ],
    # Both legs go to the conference and stay up: 1001 talks until both are kicked. 1002 joins on
    # an Originate of its own (another Linkedid), so it is not this call's talk.
    "ami_s_conference.txt": [
        ("offered", "call1", A1001, "support", CLEO_CONF, 1.512),
        ("answered", "call1", A1001, "support", "0915000001", 0, 1.515),
        ("ended", "call1", "answered", CLEO_CONF, "support", A1001, "16", 0, 8, (1.007, 1.515, 9.552)),
    ],
    # Cdr and CEL events (the first Cdr before AgentComplete) change nothing.
    "ami_t_cdr_cel.txt": [
        ("offered", "call1", A1001, "support", CECILIA, 2.017),
        ("answered", "call1", A1001, "support", "0916000001", 0, 2.021),
        ("ended", "call1", "answered", CECILIA, "support", A1001, "16", 0, 3, (1.514, 2.021, 5.528)),
        ("offered", "call2", A1003, "noanswer", ABE, 9.15),
        ("retracted", "call2", A1003, "caller_left"),
        ("abandoned", "call2", "noanswer", 1, 1, 3),
        ("ended", "call2", "abandoned", ABE, "noanswer", None, "16", 3, 0, (8.645, None, 12.653)),
    ],
    # 1001 is in four queues; Bea waits in billing until 1001 (penalty 2) is free again.
    "ami_u_queue_multi.txt": [
        ("offered", "call1", A1001, "sales", SALLY, 2.427),
        ("answered", "call1", A1001, "sales", "0917000001", 0, 2.429),
        ("offered", "call2", A1002, "billing", BILL, 3.943),
        ("answered", "call2", A1002, "billing", "0917000002", 0, 3.951),
        ("ended", "call1", "answered", SALLY, "sales", A1001, "16", 0, 9, (1.911, 2.429, 10.937)),
        ("offered", "call3", A1001, "billing", BEA, 11.469),
        ("answered", "call3", A1001, "billing", "0917000003", 6, 11.473),
        ("ended", "call3", "answered", BEA, "billing", A1001, "16", 6, 4, (4.956, 11.473, 14.98)),
        ("ended", "call2", "answered", BILL, "billing", A1002, "16", 0, 12, (3.435, 3.951, 16.464)),
    ],
}

# Originate-only legs (AMD included), AGI without a queue, logins and admin actions: nothing
# for the agents.
NO_CALL_EVENTS = [
    "ami_a_login.txt",
    "ami_agi_1_events.txt",
    "ami_d1_originate_answered.txt",
    "ami_d2_originate_busy.txt",
    "ami_d3_originate_noanswer.txt",
    "ami_d4_originate_errors.txt",
    "ami_d5_originate_channelid.txt",
    "ami_f_queue_member_admin.txt",
    "ami_h_misc_actions.txt",
    "ami_v_amd.txt",
]


def test_every_ami_recording_is_covered() -> None:
    assert set(ami_files()) == set(EXPECTED) | set(NO_CALL_EVENTS)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_recording_gives_exact_call_events(name: str) -> None:
    tracker = CallTracker()
    assert summary(play(tracker, ami_messages(name))) == EXPECTED[name]
    assert tracker.live_calls == 0, "ended calls must be forgotten"


@pytest.mark.parametrize("name", NO_CALL_EVENTS)
def test_calls_that_never_queue_give_no_events(name: str) -> None:
    tracker = CallTracker()
    for conn in sorted({r.conn for r in records(name) if r.direction == "ASTERISK->CLIENT"}):
        assert play(tracker, ami_messages(name, conn)) == []
    assert tracker.live_calls == 0


def test_dialplan_context_names_do_not_matter() -> None:
    def rename(data: bytes) -> bytes:
        return data.replace(b"from-pstn", b"inbound-trunk").replace(b"@agents", b"@sales-desk")

    events = summary(play(CallTracker(), ami_messages("ami_i_ringall.txt", rewrite=rename)))
    expected = [
        tuple(v.replace("@agents", "@sales-desk") if isinstance(v, str) else v for v in row)
        for row in EXPECTED["ami_i_ringall.txt"]
    ]
    assert events == expected


def test_an_agent_complete_that_fits_two_calls_closes_neither() -> None:
    # Hugo's call (ami_r) reaches 1001 in support while Sam's (ami_q) talks there too, as
    # ringinuse allows. Hugo's AgentComplete names only Queue and Interface, which fit both: it
    # must not close Sam's conversation with Hugo's 2 s. The clock counts Hugo's instead.
    hugo = [(t, m) for t, m in ami_messages("ami_r_hangup_action.txt") if t < 5.0]
    merged = sorted(ami_messages("ami_q_chanspy.txt") + hugo, key=lambda timed: timed[0])
    tracker = CallTracker()
    ended = [row for row in summary(play(tracker, merged)) if row[0] == "ended"]
    assert ended == [
        ("ended", "call2", "answered", HUGO, "support", A1001, "16", 0, 2, (1.008, 1.521, 3.531)),
        ("ended", "call1", "answered", SAM, "support", A1001, "16", 0, 26, (0.505, 0.531, 26.512)),
    ]
    assert tracker.live_calls == 0


def test_a_parked_caller_back_with_another_agent_is_not_the_first_agents_talk() -> None:
    # Tina's timed-out park dials 1002 instead of her parker (a comeback context would): 1001
    # talked only its 2 s before the park. Who has the call then is the call-control issue's.
    def to_1002(data: bytes) -> bytes:
        return data.replace(b"Local/1001@agents-00000005", b"Local/1002@agents-00000005")

    tina = summary(play(CallTracker(), ami_messages("ami_o_hold_park.txt", rewrite=to_1002)))[-1]
    assert tina[:9] == ("ended", "call2", "answered", TINA, "support", A1001, "16", 0, 2)


def test_a_park_retriever_joins_the_parked_call() -> None:
    # Asterisk relinks the retriever to Paul's Linkedid (its BridgeEnter and Hangup say so), so
    # its hangup ends 1001's talk. Once its Local ;2 half is gone, one call is left: Paul's.
    tracker = CallTracker()
    play(tracker, [(t, m) for t, m in ami_messages("ami_o_hold_park.txt") if t < 12.04])
    assert tracker.live_calls == 1


def test_a_park_retriever_alone_on_its_call_leaves_nothing_behind() -> None:
    # A phone dialling the parking space is one channel with a Linkedid of its own; without the
    # Local ;2 half, moving the retriever into Paul's call empties its own call.
    retriever_half = "Local/1001@agents-00000002;2"
    messages = [
        (t, m)
        for t, m in ami_messages("ami_o_hold_park.txt")
        if not (m.name == "Newchannel" and m.get("Channel") == retriever_half)
    ]
    tracker = CallTracker()
    assert summary(play(tracker, messages)) == EXPECTED["ami_o_hold_park.txt"]
    assert tracker.live_calls == 0


def test_shutdown_ends_calls_whose_hangups_never_came() -> None:
    # Drop the teardown between `core stop now` and Event: Shutdown, as a lost stream would.
    messages = [(t, m) for t, m in ami_messages("ami_k_restart.txt") if not 3.0 < t < 4.1]
    tracker = CallTracker()
    assert summary(play(tracker, messages))[-1] == (
        ("ended", "call1", "answered", KHANH, "support", A1001, "", 0, 3, (0.503, 1.009, 4.125))
    )
    assert tracker.live_calls == 0


# -- resync after a reconnect ---------------------------------------------------------------

AFTER_RESTART = ami_messages("ami_k_restart.txt", conn=2)
NO_CHANNELS = list_items(AFTER_RESTART, "csc-after-restart")
IDLE_QUEUES = list_items(AFTER_RESTART, "qs-after-restart")


def test_restart_lists_hold_no_calls() -> None:
    assert NO_CHANNELS == []
    assert {m.name for m in IDLE_QUEUES} == {"QueueParams", "QueueMember"}


def test_resync_ends_a_ringing_call_that_died_with_the_pbx() -> None:
    tracker = CallTracker()
    play(tracker, [(t, m) for t, m in ami_messages("ami_c_abandon.txt") if t < 3.0])
    events = tracker.resync(NO_CHANNELS, IDLE_QUEUES, EPOCH + 10.0)
    assert summary(events) == [
        ("retracted", "call1", A1003, "caller_left"),
        ("ended", "call1", "abandoned", BOB, "noanswer", None, "", 8, 0, (0.504, None, 10.0)),
    ]
    assert tracker.live_calls == 0
    assert tracker.resync(NO_CHANNELS, IDLE_QUEUES, EPOCH + 11.0) == []


def test_resync_retracts_every_ringall_offer_once() -> None:
    tracker = CallTracker()
    play(tracker, [(t, m) for t, m in ami_messages("ami_i_ringall.txt") if t < 2.0])
    events = tracker.resync(NO_CHANNELS, IDLE_QUEUES, EPOCH + 9.0)
    assert summary(events) == [
        ("retracted", "call1", A2001, "caller_left"),
        ("retracted", "call1", A2002, "caller_left"),
        ("ended", "call1", "abandoned", BINH_TV, "ringall", None, "", 7, 0, (0.503, None, 9.0)),
    ]


def test_resync_ends_a_talking_call_that_died_with_the_pbx() -> None:
    tracker = CallTracker()
    play(tracker, [(t, m) for t, m in ami_messages("ami_k_restart.txt") if t < 3.0])
    events = tracker.resync(NO_CHANNELS, IDLE_QUEUES, EPOCH + 8.311)
    # Asterisk never said when it ended: talk runs until we learned it was gone.
    assert summary(events) == [
        ("ended", "call1", "answered", KHANH, "support", A1001, "", 0, 7, (0.503, 1.009, 8.311)),
    ]


LISTS_WHILE_BUSY = ami_messages("ami_e_list_actions.txt")
LIVE_CHANNELS = list_items(LISTS_WHILE_BUSY, "csc-1")
LIVE_QUEUES = list_items(LISTS_WHILE_BUSY, "qs-all")
RESYNC_T = 3.518  # when ami_e's CoreShowChannels answered


def test_resync_keeps_calls_that_still_exist() -> None:
    tracker = CallTracker()
    before = play(tracker, [(t, m) for t, m in LISTS_WHILE_BUSY if t <= RESYNC_T])
    assert tracker.resync(LIVE_CHANNELS, LIVE_QUEUES, EPOCH + RESYNC_T) == []
    after = play(tracker, [(t, m) for t, m in LISTS_WHILE_BUSY if t > RESYNC_T])
    assert summary(before + after) == EXPECTED["ami_e_list_actions.txt"]


def test_resync_retracts_an_offer_whose_member_leg_vanished() -> None:
    tracker = CallTracker()
    play(tracker, [(t, m) for t, m in LISTS_WHILE_BUSY if t <= RESYNC_T])
    without_1003 = [m for m in LIVE_CHANNELS if not m.get("Channel").startswith("Local/1003@")]
    events = tracker.resync(without_1003, LIVE_QUEUES, EPOCH + RESYNC_T)
    # Bert still waits in the queue (QueueEntry), so the member simply stopped ringing.
    assert summary(events) == [("retracted", "call1", A1003, "no_answer")]


def test_resync_adopts_calls_first_seen_in_the_lists() -> None:
    tracker = CallTracker()
    assert tracker.resync(LIVE_CHANNELS, LIVE_QUEUES, EPOCH + RESYNC_T) == []
    events = play(tracker, [(t, m) for t, m in LISTS_WHILE_BUSY if t > RESYNC_T])
    # Bert was waiting (QueueEntry Wait: 2). Alice had been answered before we connected;
    # AgentComplete reveals it, so her answer is reported late, dated back by its TalkTime.
    assert summary(events) == [
        ("abandoned", "call1", "noanswer", 1, 1, 2),
        ("ended", "call1", "abandoned", BERT, "noanswer", None, "16", 2, 0, (1.518, None, 3.523)),
        ("answered", "call2", A1001, "support", "0901234567", 0, 1.52),
        ("ended", "call2", "answered", ALICE, "support", A1001, "16", 0, 12, (0.518, 1.52, 13.522)),
    ]
    assert tracker.live_calls == 0


# -- interface names ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "interface"),
    [
        ("Local/1001@agents/n", "Local/1001@agents"),
        ("Local/1001@agents/nj", "Local/1001@agents"),
        ("Local/1001@agents", "Local/1001@agents"),
        ("Local/1001@agents-00000001;1", "Local/1001@agents"),
        ("Local/2002@agents-0000000a;2", "Local/2002@agents"),
        ("PJSIP/1001", "PJSIP/1001"),
        ("PJSIP/1001-0000000a", "PJSIP/1001"),
        ("PJSIP/trunk-east-0000001f", "PJSIP/trunk-east"),
        ("SIP/alice-00000001", "SIP/alice"),
        ("PJSIP/1001-abc", "PJSIP/1001-abc"),
        ("PJSIP/1001-0000000G", "PJSIP/1001-0000000G"),
        ("DAHDI/1-1", "DAHDI/1-1"),
        ("", ""),
    ],
)
def test_normalise_interface(raw: str, interface: str) -> None:
    assert normalise_interface(raw) == interface


# -- interleaving ---------------------------------------------------------------------------


def _move_ids(data: bytes) -> bytes:
    """Another run's Uniqueids/Linkedids: same sequence numbers, another epoch prefix."""
    return re.sub(rb"\b1795392(\d{3}\.\d+)", rb"2795392\1", data)


CALL_B = ami_messages("ami_b_inbound_answered.txt")
CALL_C = ami_messages("ami_c_abandon.txt", rewrite=_move_ids)


def per_call(events: Sequence[CallEvent]) -> dict[str, list[CallEvent]]:
    """The events of each call, in order, keyed by call id."""
    grouped: dict[str, list[CallEvent]] = {}
    for e in events:
        grouped.setdefault(e.call_id, []).append(e)
    return grouped


ALONE = {**per_call(play(CallTracker(), CALL_B)), **per_call(play(CallTracker(), CALL_C))}


def test_interleaving_inputs_are_two_distinct_calls() -> None:
    assert len(ALONE) == 2
    assert [len(events) for events in ALONE.values()] == [3, 4]


@settings(max_examples=200, deadline=None)
@given(st.lists(st.booleans(), min_size=len(CALL_B) + len(CALL_C), max_size=len(CALL_B) + len(CALL_C)))
def test_interleaved_calls_keep_their_own_events(picks: list[bool]) -> None:
    b, c = iter(CALL_B), iter(CALL_C)
    left_b, left_c = len(CALL_B), len(CALL_C)
    merged: list[Timed] = []
    for take_b in picks:
        if (take_b and left_b) or not left_c:
            merged.append(next(b))
            left_b -= 1
        else:
            merged.append(next(c))
            left_c -= 1
    tracker = CallTracker()
    assert per_call(play(tracker, merged)) == ALONE
    assert tracker.live_calls == 0
