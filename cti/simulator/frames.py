"""Frame templates taken from the recordings: every byte the simulator sends has a recorded source.

A recorded frame is compiled once into a %-template whose holes are the values that differ from
call to call or session to session (ids, names, counters, times, ActionIDs); its shape, the
headers and their order, is the recording's. This module holds the compiling machinery and the
session-level frames (login, errors, lists, member admin, Originate); `cti.simulator.scenarios`
compiles the calls. Values put into the holes are checked here too: no control characters.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass

from cti.simulator.transcript import Record, packaged

__all__ = [
    "MAX_VALUE_CHARS",
    "AgentInterface",
    "RecordingError",
    "SessionFrames",
    "bad_text",
    "c_escape",
    "check_caller",
    "hole",
    "literal",
    "session_frames",
    "split_frame",
]

MAX_VALUE_CHARS = 80


class RecordingError(RuntimeError):
    """A packaged recording is not what the simulator was written against."""


@dataclass(frozen=True, slots=True)
class AgentInterface:
    """A queue member as the recordings show it: Local members carry the `/n` option."""

    interface: str  # as configured: Local/1001@agents, PJSIP/1001
    location: str  # the member interface app_queue reports (Interface, MEMBERINTERFACE)
    peer: str  # DIALEDPEERNUMBER
    exten: str
    context: str
    name: str  # MemberName
    local: bool

    @classmethod
    def parse(cls, text: str) -> AgentInterface:
        """The names of a configured interface (Local/1001@agents, PJSIP/1001); ValueError if unusable."""
        if bad_text(text) or " " in text or len(text) > MAX_VALUE_CHARS:
            raise ValueError(f"agent interface {text!r} must be a short dial string without spaces")
        tech, sep, resource = text.partition("/")
        if not sep or not tech or not resource:
            raise ValueError(f"agent interface {text!r} must look like Local/1001@agents or PJSIP/1001")
        if tech.lower() == "local":
            resource = resource.removesuffix("/n")
            exten, at, context = resource.partition("@")
            if not at or not exten or not context or "/" in context:
                raise ValueError(f"Local agent interface {text!r} must look like Local/1001@agents")
            interface = f"{tech}/{resource}"
            return cls(interface, f"{interface}/n", f"{resource}/n", exten, context, f"Agent {exten}", True)
        # Non-Local channels keep the recorded dialplan context of the agent leg.
        return cls(text, text, resource, resource, "agents", f"Agent {resource}", False)


def bad_text(text: str) -> bool:
    """Whether `text` holds a control character, which would break (or inject into) a frame."""
    return any(ord(c) < 32 or ord(c) == 127 for c in text)


def check_caller(number: str, name: str) -> None:
    """Refuse caller ids that could break an AMI frame or would not fit a channel field."""
    if not number or bad_text(number) or len(number) > MAX_VALUE_CHARS:
        raise ValueError(f"caller number {number!r} must be 1-{MAX_VALUE_CHARS} printable characters")
    if bad_text(name) or len(name) > MAX_VALUE_CHARS:
        raise ValueError(f"caller name {name!r} must be at most {MAX_VALUE_CHARS} printable characters")


def c_escape(text: str) -> str:
    """A name as Asterisk writes it in a frame (ast_escape_c_alloc; control characters are refused earlier)."""
    return text.replace("\\", "\\\\").replace('"', '\\"')


# -- compiling recorded frames ---------------------------------------------------------------


def split_frame(raw: bytes) -> list[tuple[str, str]]:
    """The (header, value) pairs of one recorded AMI message."""
    text = raw.decode("utf-8")
    if not text.endswith("\r\n\r\n"):
        raise RecordingError(f"recorded frame does not end in an empty line: {text[:60]!r}")
    pairs: list[tuple[str, str]] = []
    for line in text[:-4].split("\r\n"):
        key, sep, value = line.partition(": ")
        if not sep:
            raise RecordingError(f"recorded header line without ': ': {line!r}")
        pairs.append((key, value))
    return pairs


def hole(name: str) -> str:
    """The template hole that a value called `name` fills."""
    return f"%({name})s"


def literal(text: str) -> str:
    """Recorded text as template text (a `%` stays a `%`)."""
    return text.replace("%", "%%")


def by_seq(name: str) -> dict[int, Record]:
    """The records of a packaged recording, by their seq number."""
    return {record.seq: record for record in packaged(name)}


def _session_template(record: Record, holes: Mapping[str, str | tuple[str, str]]) -> str:
    """Compile a session-level frame; `holes` maps a header to a hole, or (recorded part, hole)."""
    lines: list[str] = []
    used: set[str] = set()
    for key, value in split_frame(record.data):
        wanted = holes.get(key)
        if key == "ActionID":
            # The line goes away when the action carried no ActionID, as Asterisk does.
            lines.append(hole("action_id_line"))
            continue
        if wanted is None:
            text = literal(value)
        elif isinstance(wanted, str):
            text = hole(wanted)
        else:
            part, name = wanted
            if part not in value:
                raise RecordingError(f"record {record.seq}: {key} has no {part!r}")
            text = literal(value).replace(part, hole(name))
        used.add(key)
        lines.append(f"{literal(key)}: {text}\r\n")
    missing = set(holes) - used
    if missing:
        raise RecordingError(f"record {record.seq} lacks headers {sorted(missing)}")
    return "".join(lines) + "\r\n"


# -- session-level frames --------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SessionFrames:
    """Session-level frames (login, errors, list actions, member admin, Originate), each from its recording."""

    banner: bytes
    login_ok: str
    fully_booted: str
    successful_auth: str
    challenge: str
    invalid_password: str
    auth_failed: str
    permission_denied: str
    error: str
    request_not_allowed: str
    pong: str
    goodbye: str
    unknown_command: str
    request_bad_format: str
    events_off: str
    events_on: str
    queue_status_start: str
    queue_params: str
    queue_member: str
    queue_entry: str
    queue_status_complete: str
    channels_start: str
    channels_complete: str
    shutdown: str
    queue_add_ok: str
    already_there: str
    member_added: str
    pause_ok: str
    unpause_ok: str
    member_pause: str
    remove_ok: str
    remove_not_there: str
    member_removed: str
    pause_not_found: str
    originate_queued: str
    originate_busy: str
    originate_no_answer: str
    channel_hungup: str


# A queue member's state, as both QueueMember (list reply) and the QueueMember* events carry it.
MEMBER_STATE_HOLES: dict[str, str | tuple[str, str]] = {
    "Queue": "queue",
    "StateInterface": "location",
    "Membership": "membership",
    "Penalty": "penalty",
    "CallsTaken": "calls_taken",
    "LastCall": "last_call",
    "LastPause": "last_pause",
    "LoginTime": "login_time",
    "InCall": "in_call",
    "Status": "status",
    "Paused": "paused",
    "PausedReason": "paused_reason",
}
# The events name the member MemberName/Interface; the QueueStatus list names it Name/Location.
_MEMBER_EVENT_HOLES: dict[str, str | tuple[str, str]] = {
    **MEMBER_STATE_HOLES,
    "MemberName": "name",
    "Interface": "location",
}

_SECURITY_HOLES: dict[str, str | tuple[str, str]] = {
    "EventTV": "event_tv",
    "AccountID": "account",
    "SessionID": "session_id",
    "LocalAddress": "local_address",
    "RemoteAddress": "remote_address",
    "SessionTV": "session_tv",
}


_ORIGINATE_HOLES: dict[str, str | tuple[str, str]] = {
    "Channel": "channel",
    "Context": "context",
    "Exten": "exten",
    "Uniqueid": "uid",
    "CallerIDNum": "cid_num",
    "CallerIDName": "cid_name",
}


@functools.cache
def session_frames() -> SessionFrames:
    """The session-level frames, compiled once from the packaged recordings."""
    a = by_seq("ami_a_login.txt")
    h = by_seq("ami_h_misc_actions.txt")
    e = by_seq("ami_e_list_actions.txt")
    k = by_seq("ami_k_restart.txt")
    f = by_seq("ami_f_queue_member_admin.txt")
    d5 = by_seq("ami_d5_originate_channelid.txt")
    d3 = by_seq("ami_d3_originate_noanswer.txt")
    if a[1].data != b"Asterisk Call Manager/11.0.0\r\n":
        raise RecordingError("ami_a_login.txt record 1 is not the AMI banner")
    list_complete: dict[str, str | tuple[str, str]] = {"ListItems": "list_items"}
    return SessionFrames(
        banner=a[1].data,
        login_ok=_session_template(a[3], {}),
        fully_booted=_session_template(a[4], {"Uptime": "uptime", "LastReload": "uptime"}),
        successful_auth=_session_template(a[5], _SECURITY_HOLES),
        challenge=_session_template(a[19], {"Challenge": "challenge"}),
        invalid_password=_session_template(a[31], _SECURITY_HOLES),
        auth_failed=_session_template(a[32], {}),
        permission_denied=_session_template(a[37], {}),
        error=_session_template(a[37], {"Message": "message"}),
        request_not_allowed=_session_template(a[38], {**_SECURITY_HOLES, "RequestType": ("Ping", "action")}),
        pong=_session_template(a[13], {"Timestamp": "timestamp"}),
        goodbye=_session_template(a[15], {}),
        unknown_command=_session_template(h[27], {"Message": ("NoSuchAction", "action")}),
        request_bad_format=_session_template(
            h[29], {**_SECURITY_HOLES, "RequestType": ("NoSuchAction", "action")}
        ),
        events_off=_session_template(h[32], {}),
        events_on=_session_template(h[36], {}),
        queue_status_start=_session_template(e[176], {}),
        queue_params=_session_template(
            e[177],
            {
                "Queue": "queue",
                "Calls": "calls",
                "Holdtime": "holdtime",
                "TalkTime": "talktime",
                "Completed": "completed",
                "Abandoned": "abandoned",
                "ServicelevelPerf": "sl_perf",
                "ServicelevelPerf2": "sl_perf2",
            },
        ),
        queue_member=_session_template(
            e[178],
            {**MEMBER_STATE_HOLES, "Name": "name", "Location": "location"},
        ),
        queue_entry=_session_template(
            e[185],
            {
                "Queue": "queue",
                "Position": "position",
                "Channel": "c2",
                "Uniqueid": "c2_uid",
                "CallerIDNum": "c_num",
                "CallerIDName": "c_name",
                "ConnectedLineNum": "c_num",
                "ConnectedLineName": "c_name",
                "Wait": "wait",
            },
        ),
        queue_status_complete=_session_template(e[188], list_complete),
        channels_start=_session_template(e[215], {}),
        channels_complete=_session_template(e[224], list_complete),
        shutdown=_session_template(k[169], {}),
        queue_add_ok=_session_template(f[7], {}),
        already_there=_session_template(f[12], {}),
        member_added=_session_template(f[9], _MEMBER_EVENT_HOLES),
        pause_ok=_session_template(f[14], {}),
        unpause_ok=_session_template(f[23], {}),
        member_pause=_session_template(f[16], _MEMBER_EVENT_HOLES),
        remove_ok=_session_template(f[34], {}),
        remove_not_there=_session_template(f[37], {}),
        member_removed=_session_template(f[35], _MEMBER_EVENT_HOLES),
        pause_not_found=_session_template(f[39], {}),
        originate_queued=_session_template(d5[7], {}),
        originate_busy=_session_template(d5[53], _ORIGINATE_HOLES),
        originate_no_answer=_session_template(d3[25], _ORIGINATE_HOLES),
        channel_hungup=_session_template(e[244], {}),
    )
