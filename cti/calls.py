"""The call tracker: AMI events in, call-center events (offers, answers, outcomes) out.

Pure state, no I/O: the AMI client feeds it every event with the time from an injected clock,
and after a reconnect hands it CoreShowChannels and QueueStatus so nothing stays stuck.

A call is every channel sharing the Linkedid of its first channel (a parked call's retriever
joins it, as Asterisk relinks it); it is *tracked* (produces events) once it joins a queue or an
agent is rung for it, and forgotten when its last channel hangs up. Queue timings come from
Asterisk's own HoldTime/TalkTime fields; the clock fills in only where Asterisk says nothing
(how long the caller was away from the agent: redirected, parked). Dialplan context names are
never looked at.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from cti.ami_protocol import AmiMessage
from cti.events import (
    CallAnswered,
    CallEnded,
    CallEvent,
    CallOffered,
    CallOutcome,
    OfferRetracted,
    QueueCallerAbandoned,
    RetractReason,
)

_Handler = Callable[[AmiMessage, float], list[CallEvent]]

# Q.850 cause 26: a ring-all member hung up because another member took the call.
_CAUSE_ANSWERED_ELSEWHERE = "26"
_HEX_DIGITS = frozenset("0123456789abcdef")


def normalise_interface(raw: str) -> str:
    """The queue-member interface behind an interface or channel name.

    `Local/1001@agents/n`, `Local/1001@agents-00000001;1` -> `Local/1001@agents`;
    `PJSIP/1001-0000000a` -> `PJSIP/1001`; `PJSIP/1001` stays as it is.
    """
    name = raw.strip()
    if name.endswith((";1", ";2")):
        name = name[:-2]
    # Asterisk names a channel `<interface>-%08x`: strip exactly that sequence suffix.
    dash = name.rfind("-")
    if dash > 0 and len(name) - dash == 9 and _HEX_DIGITS.issuperset(name[dash + 1 :]):
        name = name[:dash]
    if name[:6].lower() == "local/":
        # chan_local options (`/n`, `/j`, `/m`, `/b`) follow the first slash after `Local/`.
        options = name.find("/", 6)
        if options >= 0:
            name = name[:options]
    return name


def _non_negative(raw: str | None, fallback: int) -> int:
    """A non-negative integer AMI field (seconds, positions), or `fallback` if absent or bad."""
    if raw:
        try:
            value = int(raw)
        except ValueError:
            return fallback
        if value >= 0:
            return value
    return fallback


def _caller_id(raw: str | None) -> str:
    # Asterisk writes an unset caller id as the literal `<unknown>`.
    return "" if raw is None or raw == "<unknown>" else raw


def _channel_age_s(duration: str) -> float:
    """Seconds from CoreShowChannel's `Duration: HH:MM:SS`; 0 when it cannot be read."""
    parts = duration.split(":")
    if len(parts) != 3:
        return 0.0
    try:
        hours, minutes, seconds = (int(p) for p in parts)
    except ValueError:
        return 0.0
    return float(hours * 3600 + minutes * 60 + seconds)


class _Call:
    """What the tracker knows about one Linkedid."""

    __slots__ = (
        "agent_left_at",
        "agent_since",
        "agent_uid",
        "answered_at",
        "away_s",
        "call_id",
        "caller_name",
        "caller_number",
        "caller_uid",
        "cause",
        "channels",
        "interface",
        "left_queue_at",
        "offers",
        "queue",
        "queued_since",
        "started_at",
        "talk_s",
        "timed_out",
        "tracked",
        "wait_s",
        "winner_uid",
    )

    def __init__(self, call_id: str, started_at: float) -> None:
        self.call_id = call_id
        self.started_at = started_at
        self.channels: set[str] = set()
        self.tracked = False
        self.caller_number = ""
        self.caller_name = ""
        self.queue: str | None = None
        # The channel that sat in the queue: its Hangup cause is the call's cause.
        self.caller_uid: str | None = None
        self.cause = ""
        # Open offers: member channel Uniqueid -> normalised interface.
        self.offers: dict[str, str] = {}
        # The member whose DialEnd said ANSWER; its AgentConnect is still to come.
        self.winner_uid: str | None = None
        # Current queue stay, not yet covered by an Asterisk HoldTime.
        self.queued_since: float | None = None
        self.left_queue_at: float | None = None
        self.wait_s = 0
        self.timed_out = False
        self.interface: str | None = None
        self.answered_at: float | None = None
        # Current agent conversation, not yet covered by an AgentComplete TalkTime.
        self.agent_uid: str | None = None
        self.agent_since: float | None = None
        self.agent_left_at: float | None = None
        # Seconds of it the caller spent parked until the agent came back on a new leg.
        self.away_s = 0.0
        self.talk_s = 0


def _clock_talk_s(call: _Call, since: float, now: float) -> int:
    """Whole seconds an agent leg of the conversation opened at `since` was up, by our clock."""
    ended = call.agent_left_at if call.agent_left_at is not None else now
    return max(0, int(ended - since - call.away_s))


def _track(call: _Call, caller_uid: str, msg: AmiMessage) -> None:
    """Start producing events for a call: it is in a queue, `caller_uid` is the queued channel."""
    call.tracked = True
    call.caller_uid = caller_uid
    call.caller_number = _caller_id(msg.get("CallerIDNum"))
    call.caller_name = _caller_id(msg.get("CallerIDName"))
    call.queue = msg.get("Queue") or None


class CallTracker:
    """Derives offers, retractions, answers, abandons and call ends from the AMI event stream.

    Feed it every AMI event in arrival order; it ignores what it does not need with one lookup.
    """

    def __init__(self) -> None:
        self._calls: dict[str, _Call] = {}
        self._channel_call: dict[str, _Call] = {}
        self._handlers: dict[str, _Handler] = {
            "Newchannel": self._on_newchannel,
            "Hangup": self._on_hangup,
            "VarSet": self._on_varset,
            "DialEnd": self._on_dial_end,
            "QueueCallerJoin": self._on_join,
            "QueueCallerLeave": self._on_leave,
            "QueueCallerAbandon": self._on_abandon,
            "AgentCalled": self._on_agent_called,
            "AgentRingNoAnswer": self._on_ring_no_answer,
            "AgentConnect": self._on_agent_connect,
            "AgentComplete": self._on_agent_complete,
            "UnParkedCall": self._on_unparked,
            "Shutdown": self._on_shutdown,
        }

    @property
    def event_names(self) -> frozenset[str]:
        """The AMI events it reads; the rest need not be fed to it."""
        return frozenset(self._handlers)

    @property
    def live_calls(self) -> int:
        """How many calls (tracked or not) have a channel up; bounded by the PBX's live channels."""
        return len(self._calls)

    def feed(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        """Apply one AMI message received at `now` (epoch seconds); return the events it causes."""
        handler = self._handlers.get(msg.name)
        if handler is None:
            return []
        return handler(msg, now)

    def resync(
        self, channels: Sequence[AmiMessage], queue_status: Sequence[AmiMessage], now: float
    ) -> list[CallEvent]:
        """Reconcile with CoreShowChannels and QueueStatus items fetched after a (re)connect.

        Calls whose channels all vanished end (open offers retracted first); calls still up keep
        their state; channels and queue entries that appeared meanwhile are adopted.
        """
        live: dict[str, AmiMessage] = {}
        for item in channels:
            uid = item.get("Uniqueid")
            if item.name == "CoreShowChannel" and uid:
                live[uid] = item
        waiting: dict[str, AmiMessage] = {}
        for item in queue_status:
            uid = item.get("Uniqueid")
            if item.name == "QueueEntry" and uid:
                waiting[uid] = item
        events: list[CallEvent] = []
        for call in list(self._calls.values()):
            gone = call.channels.difference(live)
            if not gone:
                continue
            if gone == call.channels:
                self._end(call, now, events)
                continue
            call.channels -= gone
            for uid in gone:
                del self._channel_call[uid]
                interface = call.offers.pop(uid, None)
                if interface is not None:
                    # The member stopped ringing while we were away; the caller is still here.
                    still_queued = call.caller_uid in waiting
                    reason = RetractReason.NO_ANSWER if still_queued else RetractReason.CALLER_LEFT
                    events.append(OfferRetracted(call.call_id, interface, reason))
                    if call.winner_uid == uid:
                        call.winner_uid = None
                if uid == call.agent_uid and call.agent_left_at is None:
                    call.agent_left_at = now
        for uid, item in live.items():
            if uid not in self._channel_call:
                started_at = now - _channel_age_s(item.get("Duration"))
                call = self._attach(uid, item.get("Linkedid") or uid, started_at)
                call.started_at = min(call.started_at, started_at)
        for uid, item in waiting.items():
            known = self._channel_call.get(uid)
            if known is not None and known.queued_since is None and known.answered_at is None:
                # It joined a queue while we were away.
                if not known.tracked:
                    _track(known, uid, item)
                self._start_queue_stay(known, item, now - _non_negative(item.get("Wait"), 0))
        for call in self._calls.values():
            # Left its queue while we were away without an answer we could see: stop its clock.
            queued = call.queued_since is not None and call.left_queue_at is None
            if queued and call.caller_uid not in waiting:
                call.left_queue_at = now
        return events

    # -- channels -------------------------------------------------------------------------

    def _attach(self, uid: str, linked_id: str, now: float) -> _Call:
        call = self._calls.get(linked_id)
        if call is None:
            call = self._calls[linked_id] = _Call(linked_id, now)
        call.channels.add(uid)
        self._channel_call[uid] = call
        return call

    def _on_newchannel(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        uid = msg.get("Uniqueid")
        if uid and uid not in self._channel_call:
            self._attach(uid, msg.get("Linkedid") or uid, now)
        return []

    def _on_hangup(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        uid = msg.get("Uniqueid", "")
        call = self._channel_call.pop(uid, None)
        if call is None:
            return []
        call.channels.discard(uid)
        events: list[CallEvent] = []
        if call.tracked:
            cause = msg.get("Cause", "")
            if uid == call.caller_uid:
                call.cause = cause
            elif uid == call.agent_uid:
                call.agent_left_at = now
            interface = call.offers.pop(uid, None)
            if interface is not None:
                # Normally DialEnd or AgentRingNoAnswer closed the offer already; this is the
                # safety net so a pop never outlives the ringing leg.
                if cause == _CAUSE_ANSWERED_ELSEWHERE:
                    reason = RetractReason.ANSWERED_ELSEWHERE
                else:
                    reason = RetractReason.NO_ANSWER
                if call.winner_uid == uid:
                    call.winner_uid = None
                events.append(OfferRetracted(call.call_id, interface, reason))
        if not call.channels:
            self._end(call, now, events)
        return events

    def _on_shutdown(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        # Asterisk hangs up every channel before it stops; whatever we still hold is dead.
        events: list[CallEvent] = []
        for call in list(self._calls.values()):
            self._end(call, now, events)
        return events

    def _end(self, call: _Call, now: float, events: list[CallEvent]) -> None:
        del self._calls[call.call_id]
        channel_call = self._channel_call
        for uid in call.channels:
            channel_call.pop(uid, None)
        call.channels.clear()
        if not call.tracked:
            return
        self._retract_all(call, RetractReason.CALLER_LEFT, events)
        self._close_queue_stay(call, now)
        if call.agent_since is not None:
            call.talk_s += _clock_talk_s(call, call.agent_since, now)
            call.agent_since = None
        if call.answered_at is not None:
            outcome = CallOutcome.ANSWERED
        elif call.timed_out:
            outcome = CallOutcome.TIMEOUT
        else:
            outcome = CallOutcome.ABANDONED
        events.append(
            CallEnded(
                call_id=call.call_id,
                caller_number=call.caller_number,
                caller_name=call.caller_name,
                queue=call.queue,
                interface=call.interface,
                outcome=outcome,
                cause=call.cause,
                wait_s=call.wait_s,
                talk_s=call.talk_s,
                started_at=call.started_at,
                answered_at=call.answered_at,
                ended_at=now,
            )
        )

    # -- queue ----------------------------------------------------------------------------

    def _queue_call(self, msg: AmiMessage, now: float) -> _Call:
        """The call a queue event belongs to, found by the queued channel; adopted if unseen."""
        uid = msg.get("Uniqueid", "")
        call = self._channel_call.get(uid)
        if call is None:
            # We missed its Newchannel (connected mid-call): the queued channel is alive now.
            call = self._attach(uid, msg.get("Linkedid") or uid, now)
        if not call.tracked:
            _track(call, uid, msg)
        return call

    def _start_queue_stay(self, call: _Call, msg: AmiMessage, since: float) -> None:
        self._close_queue_stay(call, since)
        call.queue = msg.get("Queue") or call.queue
        call.queued_since = since
        call.left_queue_at = None
        call.timed_out = False

    def _close_queue_stay(self, call: _Call, now: float) -> None:
        """Count a queue stay Asterisk gave no HoldTime for (left without answer or abandon)."""
        if call.queued_since is not None:
            left = call.left_queue_at if call.left_queue_at is not None else now
            call.wait_s += max(0, int(left - call.queued_since))
            call.queued_since = None
            call.left_queue_at = None

    def _on_join(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        self._start_queue_stay(self._queue_call(msg, now), msg, now)
        return []

    def _on_leave(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        call = self._channel_call.get(msg.get("Uniqueid", ""))
        # Leave comes before AgentConnect and after QueueCallerAbandon; only note the time, the
        # HoldTime of whichever follows replaces it.
        if call is not None and call.queued_since is not None:
            call.left_queue_at = now
        return []

    def _on_abandon(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        call = self._queue_call(msg, now)
        events: list[CallEvent] = []
        self._retract_all(call, RetractReason.CALLER_LEFT, events)
        fallback = int(now - call.queued_since) if call.queued_since is not None else 0
        wait = _non_negative(msg.get("HoldTime"), fallback)
        call.wait_s += wait
        call.queued_since = None
        call.left_queue_at = None
        events.append(
            QueueCallerAbandoned(
                call_id=call.call_id,
                queue=msg.get("Queue", ""),
                position=_non_negative(msg.get("Position"), 0),
                original_position=_non_negative(msg.get("OriginalPosition"), 0),
                wait_s=wait,
            )
        )
        return events

    def _on_varset(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        # app_queue sets QUEUESTATUS=TIMEOUT when Queue()'s own timeout expired; AMI still says
        # QueueCallerAbandon for that, so this is the only way to tell a timeout apart.
        if msg.has("Variable", "QUEUESTATUS") and msg.get("Value") == "TIMEOUT":
            call = self._channel_call.get(msg.get("Uniqueid", ""))
            if call is not None and call.tracked:
                call.timed_out = True
        return []

    # -- agents ---------------------------------------------------------------------------

    def _retract_all(
        self, call: _Call, reason: RetractReason, events: list[CallEvent], keep: str | None = None
    ) -> None:
        offers = call.offers
        for uid in [u for u in offers if u != keep]:
            events.append(OfferRetracted(call.call_id, offers.pop(uid), reason))

    def _on_agent_called(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        call = self._queue_call(msg, now)
        interface = normalise_interface(msg.get("Interface") or msg.get("DestChannel", ""))
        call.offers[msg.get("DestUniqueid") or interface] = interface
        return [
            CallOffered(
                call_id=call.call_id,
                interface=interface,
                queue=msg.get("Queue") or call.queue,
                caller_number=call.caller_number,
                caller_name=call.caller_name,
                offered_at=now,
            )
        ]

    def _on_ring_no_answer(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        call = self._channel_call.get(msg.get("Uniqueid", ""))
        if call is None:
            return []
        interface = call.offers.pop(msg.get("DestUniqueid", ""), None)
        if interface is None:
            return []
        return [OfferRetracted(call.call_id, interface, RetractReason.NO_ANSWER)]

    def _on_dial_end(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        # An Originate's DialEnd has no caller channel (no Uniqueid): not ours.
        uid = msg.get("Uniqueid", "")
        call = self._channel_call.get(uid)
        if call is None:
            return []
        if not call.offers:
            if call.agent_left_at is not None and uid == call.caller_uid and msg.has("DialStatus", "ANSWER"):
                # The caller dials its agent back itself: a park that timed out (comebacktoorigin).
                self._resume_talk(call, msg.get("DestUniqueid"), msg.get("DestChannel"), now)
            return []
        member = msg.get("DestUniqueid", "")
        if member not in call.offers:
            return []
        status = msg.get("DialStatus")
        events: list[CallEvent] = []
        if status == "ANSWER":
            # app_queue publishes the winner's ANSWER before it cancels the others (ring-all:
            # two CANCELs and Hangups with cause 26, all before AgentConnect), so this is the
            # earliest moment the other pops can go.
            call.winner_uid = member
            self._retract_all(call, RetractReason.ANSWERED_ELSEWHERE, events, keep=member)
            return events
        if status == "CANCEL":
            reason = RetractReason.ANSWERED_ELSEWHERE if call.winner_uid else RetractReason.CALLER_LEFT
        else:
            reason = RetractReason.NO_ANSWER
        events.append(OfferRetracted(call.call_id, call.offers.pop(member), reason))
        return events

    def _on_agent_connect(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        call = self._queue_call(msg, now)
        member = msg.get("DestUniqueid", "")
        events: list[CallEvent] = []
        self._retract_all(call, RetractReason.ANSWERED_ELSEWHERE, events, keep=member)
        offered = call.offers.pop(member, None)
        interface = offered or normalise_interface(msg.get("Interface") or msg.get("DestChannel", ""))
        fallback = int(now - call.queued_since) if call.queued_since is not None else 0
        call.wait_s += _non_negative(msg.get("HoldTime"), fallback)
        call.queued_since = None
        call.left_queue_at = None
        call.winner_uid = None
        self._start_talk(call, member, interface, now)
        events.append(
            CallAnswered(
                call_id=call.call_id,
                interface=interface,
                queue=msg.get("Queue") or call.queue,
                caller_number=call.caller_number,
                wait_s=call.wait_s,
                answered_at=now,
            )
        )
        return events

    def _start_talk(self, call: _Call, member: str, interface: str, now: float) -> None:
        if call.agent_since is not None:
            # A second answer without AgentComplete for the first: count the first by the clock.
            call.talk_s += _clock_talk_s(call, call.agent_since, now)
        call.interface = interface
        if call.answered_at is None:
            call.answered_at = now
        call.agent_uid = member
        call.agent_since = now
        call.agent_left_at = None
        call.away_s = 0.0

    def _resume_talk(self, call: _Call, member: str, channel: str, now: float) -> None:
        """The caller, away since the agent's leg hung up, is back with that agent on `member`."""
        left = call.agent_left_at
        if call.agent_since is None or left is None or normalise_interface(channel) != call.interface:
            # Another interface taking the caller is a transfer, which these events cannot say.
            return
        call.away_s += now - left
        call.agent_uid = member
        call.agent_left_at = None

    def _on_unparked(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        call = self._channel_call.get(msg.get("ParkeeUniqueid", ""))
        retriever = msg.get("RetrieverUniqueid")
        events: list[CallEvent] = []
        if call is None or not retriever:
            return events
        # Asterisk moves the retriever into the parked call's Linkedid (its Hangup says so), so
        # its leg ends the conversation and the call lasts until it hangs up.
        previous = self._channel_call.get(retriever)
        if previous is not call:
            call.channels.add(retriever)
            self._channel_call[retriever] = call
            if previous is not None:
                previous.channels.discard(retriever)
                if not previous.channels:
                    self._end(previous, now, events)
        self._resume_talk(call, retriever, msg.get("RetrieverChannel"), now)
        return events

    def _talking_call(self, msg: AmiMessage) -> _Call | None:
        """The call an AgentComplete without its caller block closes, if exactly one fits.

        app_queue leaves a channel's block out when that channel is gone by the time it builds
        the event, so Queue + Interface of a conversation AgentConnect opened say which call it
        is. None when no call (or more than one) fits.
        """
        queue = msg.get("Queue")
        interface = normalise_interface(msg.get("Interface"))
        found = None
        for call in self._calls.values():
            if call.agent_since is not None and call.interface == interface and call.queue == queue:
                if found is not None:
                    return None
                found = call
        return found

    def _on_agent_complete(self, msg: AmiMessage, now: float) -> list[CallEvent]:
        events: list[CallEvent] = []
        if msg.get("Uniqueid"):
            # The queued channel is usually still up when AgentComplete comes (it hangs up right
            # after), so a call answered while we were disconnected can still be adopted here.
            call = self._queue_call(msg, now)
        else:
            found = self._talking_call(msg)
            if found is None:
                # Its call already ended (the clock counted the talk) or was never seen.
                return events
            call = found
        talk = _non_negative(msg.get("TalkTime"), -1)
        agent_since = call.agent_since
        if agent_since is None:
            if call.answered_at is not None:
                return events
            # The answer happened while we were not connected: report it now, late but once.
            # Dest* fields are missing when the member leg is already gone, hence Interface.
            member = msg.get("DestUniqueid", "")
            interface = call.offers.pop(member, None) or normalise_interface(
                msg.get("Interface") or msg.get("DestChannel", "")
            )
            self._retract_all(call, RetractReason.ANSWERED_ELSEWHERE, events)
            call.wait_s += _non_negative(msg.get("HoldTime"), 0)
            call.queued_since = None
            call.left_queue_at = None
            agent_since = now - max(talk, 0)
            self._start_talk(call, member, interface, agent_since)
            events.append(
                CallAnswered(
                    call_id=call.call_id,
                    interface=interface,
                    queue=msg.get("Queue") or call.queue,
                    caller_number=call.caller_number,
                    wait_s=call.wait_s,
                    answered_at=agent_since,
                )
            )
        left = call.agent_left_at
        if talk < 0:
            talk = _clock_talk_s(call, agent_since, now)
        else:
            # Redirect, park: Asterisk sends AgentComplete only when the moved caller hangs up and
            # counts all of that as talk; the agent talked only while one of its legs was up.
            away = call.away_s + (now - left if left is not None else 0.0)
            talk = max(0, talk - int(away))
        call.talk_s += talk
        call.agent_since = None
        call.away_s = 0.0
        return events
