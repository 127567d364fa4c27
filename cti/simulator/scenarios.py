"""The calls the simulator plays, compiled from recorded calls (ami_b answered, ami_c abandon, ami_i ringall).

Each recorded call becomes its event frames as templates: the identifying values (channels,
Uniqueids, caller, queue, agent names, counters and timings) are holes, the rest is the
recording. For each frame the scenario also knows which agent it needs (a frame of the second
agent's Local half is skipped for a SIP phone), the state change it stands for (a `Hook`), and
the CoreShowChannel items of the channels alive after it.
"""

from __future__ import annotations

import enum
import functools
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from cti.simulator.frames import AgentInterface, RecordingError, by_seq, hole, literal, split_frame
from cti.simulator.transcript import FROM_ASTERISK, Record, packaged

__all__ = ["MEMBER_STATUS_HOLES", "ChannelItem", "CompiledScenario", "Frame", "Hook", "Scenario", "scenarios"]

Scenario = Literal["answered", "abandon", "ringall"]


class Hook(enum.Enum):
    """A state change the PBX model applies right before a frame is rendered."""

    JOIN = "QueueCallerJoin"
    CALLED = "AgentCalled"
    CONNECT = "AgentConnect"
    LEAVE = "QueueCallerLeave"
    ABANDON = "QueueCallerAbandon"
    COMPLETE = "AgentComplete"
    RELEASE_A = "Hangup a1"
    RELEASE_B = "Hangup b1"


_HOLE_RE = re.compile(r"%\((\w+)\)s")
# Agent holes are a1, a2, a1_uid, a2_uid, a_<what> (and b...): a frame using one needs that agent.
_AGENT_HOLE_RE = re.compile(r"([ab])([12_])")
_BLOCK_PREFIXES = ("", "Dest", "LocalOne", "LocalTwo")
_SNAPSHOT_FIELDS = (
    "Channel",
    "ChannelState",
    "ChannelStateDesc",
    "CallerIDNum",
    "CallerIDName",
    "ConnectedLineNum",
    "ConnectedLineName",
    "Language",
    "AccountCode",
    "Context",
    "Exten",
    "Priority",
    "Uniqueid",
    "Linkedid",
)
_ROLE_ORDER = ("c2", "c1", "a2", "a1", "b2", "b1")  # CoreShowChannels order seen in ami_e
_EVENT_HOLES = {
    ("AgentConnect", "HoldTime"): "hold_s",
    ("AgentConnect", "RingTime"): "ring_time_s",
    ("AgentComplete", "HoldTime"): "hold_s",
    ("AgentComplete", "TalkTime"): "talk_time_s",
    ("QueueCallerAbandon", "HoldTime"): "hold_s",
    ("QueueCallerAbandon", "Position"): "position",
    ("QueueCallerAbandon", "OriginalPosition"): "join_position",
    ("QueueCallerJoin", "Position"): "join_position",
    ("QueueCallerJoin", "Count"): "join_count",
    ("QueueCallerLeave", "Position"): "position",
    ("QueueCallerLeave", "Count"): "leave_count",
}
_VARSET_HOLES = {
    "QEHOLDTIME": "hold_s",
    "QEORIGINALPOS": "join_position",
    "QUEUEPOSITION": "position",
    "QUEUEWAIT": "hold_s",
    "QUEUEWAIT_MS": "hold_ms",
    "ANSWEREDTIME": "answered_s",
    "ANSWEREDTIME_MS": "answered_ms",
    "DIALEDTIME": "dialed_s",
    "DIALEDTIME_MS": "dialed_ms",
    "QUEUECALLS": "q_calls",
    "QUEUEHOLDTIME": "q_holdtime",
    "QUEUETALKTIME": "q_talktime",
    "QUEUECOMPLETED": "q_completed",
    "QUEUEABANDONED": "q_abandoned",
    "QUEUESRVLEVELPERF": "q_slperf",
    "MEMBERCALLS": "a_calls_taken",
    "MEMBERLASTCALL": "a_last_call",
    "QUEUENAME": "queue",
    "QUEUE_NAME": "queue",
}
# A call's QueueMemberStatus events say what the PBX model knows of the member (its pause above
# all: a member paused during a call stays paused, issue 20); InCall and Status follow the call as
# recorded. The holes are `<group>_<key>`, the keys those of `Pbx.member_values`.
MEMBER_STATUS_HOLES = {
    "Membership": "membership",
    "Penalty": "penalty",
    "CallsTaken": "calls_taken",
    "LastCall": "last_call",
    "LastPause": "last_pause",
    "Paused": "paused",
    "PausedReason": "paused_reason",
}
_FRAME_HOOKS = {
    "QueueCallerJoin": Hook.JOIN,
    "AgentConnect": Hook.CONNECT,
    "QueueCallerLeave": Hook.LEAVE,
    "QueueCallerAbandon": Hook.ABANDON,
    "AgentComplete": Hook.COMPLETE,
}


@dataclass(frozen=True, slots=True)
class _ScenarioSpec:
    """Where a call scenario lives in its recording; seq numbers are the transcript's own."""

    file: str
    caller: str  # the caller's Local channel without ;1/;2
    agents: tuple[str, ...]  # the agents' Local channels, the one who answers first
    ring: tuple[int, int]  # (AgentCalled seq, seq of the frame that ends the ringing)
    talk: tuple[int, int] | None  # (AgentConnect seq, seq of the frame that ends the talk)
    wait_for_agent: bool  # False: the caller gives up rather than wait for a free agent


_SPECS: dict[Scenario, _ScenarioSpec] = {
    # The agent's Answer() ends the ring; the agent's Hangup() ends the talk.
    "answered": _ScenarioSpec(
        "ami_b_inbound_answered.txt",
        "Local/5551234@from-pstn-00000000",
        ("Local/1001@agents-00000001",),
        ring=(49, 52),
        talk=(101, 115),
        wait_for_agent=True,
    ),
    # The caller's Hangup() ends the ring.
    "abandon": _ScenarioSpec(
        "ami_c_abandon.txt",
        "Local/5551235@from-pstn-00000000",
        ("Local/1003@agents-00000001",),
        ring=(51, 61),
        talk=None,
        wait_for_agent=False,
    ),
    "ringall": _ScenarioSpec(
        "ami_i_ringall.txt",
        "Local/5551300@from-pstn-00000000",
        ("Local/2001@agents-00000001", "Local/2002@agents-00000002"),
        ring=(55, 80),
        talk=(138, 145),
        wait_for_agent=True,
    ),
}


@dataclass(frozen=True, slots=True)
class Frame:
    """One recorded event frame compiled into a %-template."""

    index: int
    seq: int  # the record it was compiled from, to trace a frame back to the transcript
    t: float
    name: str
    template: str
    needs: frozenset[str]
    hook: Hook | None


@dataclass(frozen=True, slots=True)
class ChannelItem:
    """A CoreShowChannel item template for one channel of a call at one point of its plan."""

    template: str
    needs: frozenset[str]


@dataclass(frozen=True, slots=True)
class CompiledScenario:
    """A call scenario compiled from its recording: frames, where agents get seated, channel lists."""

    frames: tuple[Frame, ...]
    groups: tuple[str, ...]
    caller_prefix: str
    gate_index: int
    ring: tuple[int, int]
    talk: tuple[int, int] | None
    wait_for_agent: bool
    channels_after: tuple[tuple[ChannelItem, ...], ...]
    holes: frozenset[str]


@functools.cache
def scenarios() -> dict[Scenario, CompiledScenario]:
    """Every call scenario, compiled once from the packaged recordings."""
    item_record = by_seq("ami_e_list_actions.txt")[216]
    item_keys = tuple(key for key, _ in split_frame(item_record.data))
    return {name: _compile_scenario(spec, item_keys) for name, spec in _SPECS.items()}


@dataclass(frozen=True, slots=True)
class _Identity:
    """The identifying values of one recorded call, and the holes they become."""

    channels: dict[str, str]  # recorded channel name -> role (c1, a2...)
    uids: dict[str, str]  # recorded Uniqueid -> hole
    tokens: tuple[tuple[str, str], ...]  # recorded text -> hole, longest first
    queue: str
    agent_extens: dict[str, str]  # group -> recorded exten
    agent_contexts: dict[str, str]  # group -> recorded context
    agent_locations: dict[str, str]  # recorded member interface -> group


def _identity(spec: _ScenarioSpec, events: list[tuple[Record, list[tuple[str, str]]]]) -> _Identity:
    channels = {f"{spec.caller};1": "c1", f"{spec.caller};2": "c2"}
    extens: dict[str, str] = {}
    contexts: dict[str, str] = {}
    locations: dict[str, str] = {}
    tokens: dict[str, str] = {}
    for group, prefix in zip("ab", spec.agents, strict=False):
        channels[f"{prefix};1"] = f"{group}1"
        channels[f"{prefix};2"] = f"{group}2"
        interface = prefix.rsplit("-", 1)[0]
        agent = AgentInterface.parse(interface)
        extens[group] = agent.exten
        contexts[group] = agent.context
        locations[agent.location] = group
        tokens[agent.location] = f"{group}_member"
        tokens[agent.interface] = f"{group}_device"
        tokens[agent.peer] = f"{group}_peer"
        tokens[agent.name] = f"{group}_name"
    uids: dict[str, str] = {}
    queue = caller_num = caller_name = ""
    for _, headers in events:
        fields = dict(headers)
        event = fields["Event"]
        if event == "Newchannel" and fields["Channel"] in channels:
            uids[fields["Uniqueid"]] = channels[fields["Channel"]] + "_uid"
        elif event == "NewCallerid" and fields["Channel"] == f"{spec.caller};1":
            caller_num, caller_name = fields["CallerIDNum"], fields["CallerIDName"]
        elif event == "QueueCallerJoin":
            queue = fields["Queue"]
    if not (queue and caller_num and caller_name) or len(uids) != len(channels):
        raise RecordingError(f"{spec.file}: cannot find the call's caller, queue and channels")
    for name, role in channels.items():
        tokens[name] = role
    tokens[caller_num] = "c_num"
    tokens[caller_name] = "c_name"
    ordered = tuple(sorted(tokens.items(), key=lambda item: -len(item[0])))
    return _Identity(channels, uids, ordered, queue, extens, contexts, locations)


def _compile_scenario(spec: _ScenarioSpec, item_keys: tuple[str, ...]) -> CompiledScenario:
    events = [
        (r, split_frame(r.data))
        for r in packaged(spec.file)
        if r.direction == FROM_ASTERISK and r.conn == 1 and r.data.startswith(b"Event: ")
    ]
    # Login events belong to the session, not to the call.
    events = [(r, h) for r, h in events if h[0][1] not in ("FullyBooted", "SuccessfulAuth")]
    ident = _identity(spec, events)
    frames: list[Frame] = []
    compiled_headers: list[tuple[str, list[tuple[str, str]]]] = []
    index_of: dict[int, int] = {}
    called_seen = False
    for record, headers in events:
        if _about_other_queue(headers, ident.queue):
            continue  # the lab agents sat in other queues too; this simulator has one queue
        event = headers[0][1]
        compiled = _compile_headers(event, headers, ident)
        template = "".join(f"{k}: {v}\r\n" for k, v in compiled) + "\r\n"
        holes = set(_HOLE_RE.findall(template))
        needs: set[str] = set()
        for name in holes:
            match = _AGENT_HOLE_RE.match(name)
            if match:
                needs.add(match[1])
                if match[2] == "2":
                    needs.add(match[1] + "2")
        fields = dict(compiled)
        hook = _FRAME_HOOKS.get(event)
        if event == "AgentCalled" and not called_seen and fields.get("DestChannel") == hole("a1"):
            hook, called_seen = Hook.CALLED, True
        elif event == "Hangup" and fields.get("Channel") in (hole("a1"), hole("b1")):
            hook = Hook.RELEASE_A if fields["Channel"] == hole("a1") else Hook.RELEASE_B
        index_of[record.seq] = len(frames)
        frames.append(Frame(len(frames), record.seq, record.t, event, template, frozenset(needs), hook))
        compiled_headers.append((event, compiled))
    ring = (_index(index_of, spec.ring[0]), _index(index_of, spec.ring[1]))
    talk = None if spec.talk is None else (_index(index_of, spec.talk[0]), _index(index_of, spec.talk[1]))
    if frames[ring[0]].name != "AgentCalled" or (talk is not None and frames[talk[0]].name != "AgentConnect"):
        raise RecordingError(f"{spec.file}: ring/talk anchors are not AgentCalled/AgentConnect")
    gate_index = next(f.index for f in frames if f.needs)
    channels_after = _channel_items(compiled_headers, item_keys)
    holes_all: set[str] = set()
    for frame in frames:
        holes_all.update(_HOLE_RE.findall(frame.template))
    for items in channels_after:
        for item in items:
            holes_all.update(_HOLE_RE.findall(item.template))
    return CompiledScenario(
        frames=tuple(frames),
        groups=tuple("ab"[: len(spec.agents)]),
        caller_prefix=spec.caller.rsplit("-", 1)[0],
        gate_index=gate_index,
        ring=ring,
        talk=talk,
        wait_for_agent=spec.wait_for_agent,
        channels_after=channels_after,
        holes=frozenset(holes_all),
    )


def _index(index_of: Mapping[int, int], seq: int) -> int:
    try:
        return index_of[seq]
    except KeyError:
        raise RecordingError(f"record {seq} is not an event of the call") from None


def _about_other_queue(headers: Sequence[tuple[str, str]], queue: str) -> bool:
    for key, value in headers:
        if key == "Queue" and value != queue:
            return True
        if key == "Device" and value.startswith("Queue:"):
            name = value.removeprefix("Queue:")
            if name != queue and not name.startswith(queue + "_"):
                return True
    return False


def _compile_headers(
    event: str, headers: Sequence[tuple[str, str]], ident: _Identity
) -> list[tuple[str, str]]:
    """Turn one recorded frame's headers into (key, value) template fragments."""
    out: list[tuple[str, str]] = []
    block_roles: dict[str, str] = {}
    variable = ""
    member_group = "a"
    for key, value in headers:
        if key == "Variable":
            variable = value
        if key == "Interface" and value in ident.agent_locations:
            member_group = ident.agent_locations[value]
        for prefix in _BLOCK_PREFIXES:
            if key == prefix + "Channel" and value in ident.channels:
                block_roles[prefix] = ident.channels[value]
                if event == "LocalBridge" and prefix == "LocalOne":
                    block_roles[""] = block_roles[prefix]  # its closing Context/Exten are the pair's
        out.append(
            (
                _substitute(key, ident),
                _compile_value(event, key, value, variable, member_group, block_roles, ident),
            )
        )
    return out


def _compile_value(
    event: str,
    key: str,
    value: str,
    variable: str,
    member_group: str,
    block_roles: Mapping[str, str],
    ident: _Identity,
) -> str:
    if key == "ActionID":
        return hole("orig_action_id")
    if key == "BridgeUniqueid":
        return hole("bridge")
    if key.endswith(("Uniqueid", "Linkedid")) and value in ident.uids:
        return hole(ident.uids[value])
    if (event, key) in _EVENT_HOLES:
        return hole(_EVENT_HOLES[(event, key)])
    if event == "VarSet" and key == "Value" and value and variable in _VARSET_HOLES:
        name = _VARSET_HOLES[variable]
        if name != "queue" or value == ident.queue:
            return hole(name)
    if event == "QueueMemberStatus" and key in MEMBER_STATUS_HOLES:
        return hole(f"{member_group}_{MEMBER_STATUS_HOLES[key]}")
    if event == "QueueMemberStatus" and key == "LoginTime":
        return hole("login_time")
    if key == "Queue" and value == ident.queue:
        return hole("queue")
    if key == "Device" and value.startswith(f"Queue:{ident.queue}"):
        return "Queue:" + hole("queue") + literal(value.removeprefix(f"Queue:{ident.queue}"))
    if key == "AppData" and value.startswith(ident.queue + ","):
        return hole("queue") + literal(value.removeprefix(ident.queue))
    # An agent leg's Context/Exten/Extension: which agent depends on the block's channel.
    for suffix, recorded, what in (
        ("Context", ident.agent_contexts, "context"),
        ("Exten", ident.agent_extens, "exten"),
        ("Extension", ident.agent_extens, "exten"),
    ):
        if key.endswith(suffix):
            role = block_roles.get(key.removesuffix(suffix), "")
            group = role[:1]
            if group in recorded and value == recorded[group]:
                return hole(f"{group}_{what}")
    return _substitute(value, ident)


def _substitute(text: str, ident: _Identity) -> str:
    out = literal(text)
    for token, name in ident.tokens:
        if token in out:
            out = out.replace(token, hole(name))
    return out


def _channel_items(
    frames: Sequence[tuple[str, Sequence[tuple[str, str]]]], item_keys: tuple[str, ...]
) -> tuple[tuple[ChannelItem, ...], ...]:
    """For each frame, the CoreShowChannel items of the channels alive after it."""
    state: dict[str, dict[str, str]] = {}
    items: dict[str, ChannelItem] = {}
    out: list[tuple[ChannelItem, ...]] = []
    current: tuple[ChannelItem, ...] = ()
    for event, headers in frames:
        fields = dict(headers)
        touched: set[str] = set()
        for prefix in _BLOCK_PREFIXES:
            match = _HOLE_RE.fullmatch(fields.get(prefix + "Channel", ""))
            if match is None or match[1] not in _ROLE_ORDER:
                continue
            role = match[1]
            if event == "Newchannel" and prefix == "":
                state[role] = {"Application": "", "ApplicationData": "", "BridgeId": ""}
            snapshot = state.get(role)
            if snapshot is None:
                continue
            for name in _SNAPSHOT_FIELDS:
                if prefix + name in fields:
                    snapshot[name] = fields[prefix + name]
            if prefix == "":
                if event == "Newexten":
                    snapshot["Application"] = fields["Application"]
                    snapshot["ApplicationData"] = fields["AppData"]
                elif event == "BridgeEnter":
                    snapshot["BridgeId"] = hole("bridge")
                elif event == "BridgeLeave":
                    snapshot["BridgeId"] = ""
                elif event == "Hangup":
                    del state[role]
                    items.pop(role, None)
                    touched.add(role)
                    continue
            touched.add(role)
        for role in touched:
            if role in state:
                items[role] = _channel_item(role, state[role], item_keys)
        if touched:
            current = tuple(items[r] for r in _ROLE_ORDER if r in items)
        out.append(current)
    return tuple(out)


def _channel_item(role: str, snapshot: Mapping[str, str], item_keys: tuple[str, ...]) -> ChannelItem:
    lines: list[str] = []
    for key in item_keys:
        if key == "Event":
            lines.append("Event: CoreShowChannel\r\n")
        elif key == "ActionID":
            lines.append(hole("action_id_line"))
        elif key == "Duration":
            lines.append(f"Duration: {hole('dur_' + role[0])}\r\n")
        elif key in snapshot:
            lines.append(f"{key}: {snapshot[key]}\r\n")
        else:
            raise RecordingError(f"no value for CoreShowChannel field {key}")
    needs = frozenset() if role[0] == "c" else frozenset({role[0], role} if role.endswith("2") else {role[0]})
    return ChannelItem("".join(lines) + "\r\n", needs)
