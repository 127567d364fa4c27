"""The sans-I/O AMI parser and encoder against every byte Asterisk 22 sent in the recordings."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cti.ami_protocol import (
    MAX_ACTION_HEADERS,
    MAX_ACTION_LINE_BYTES,
    AmiMessage,
    AmiParser,
    MessageKind,
    encode_action,
)
from cti.errors import AmiInjectionError, AmiProtocolError
from tests.recordings import ami_files, records

UTF8_NAME = "Trần Văn Bình"


def connections(name: str) -> list[int]:
    """The AMI connections Asterisk spoke on in a transcript."""
    return sorted({r.conn for r in records(name) if r.direction == "ASTERISK->CLIENT"})


def server_records(name: str, conn: int) -> list[bytes]:
    """What Asterisk sent on one connection, one record per message."""
    return [r.data for r in records(name) if r.direction == "ASTERISK->CLIENT" and r.conn == conn]


STREAMS = [(name, conn) for name in ami_files() for conn in connections(name)]
STREAM_IDS = [f"{name.removesuffix('.txt')}-conn{conn}" for name, conn in STREAMS]


def feed_in_chunks(stream: bytes, sizes: list[int]) -> list[AmiMessage]:
    """Feed the stream in reads of the given sizes, cycling through them."""
    parser = AmiParser()
    messages: list[AmiMessage] = []
    position, turn = 0, 0
    while position < len(stream):
        size = sizes[turn % len(sizes)]
        messages.extend(parser.feed(stream[position : position + size]))
        position += size
        turn += 1
    assert parser.buffered_bytes == 0
    return messages


def feed_each(parser: AmiParser, chunks: list[bytes]) -> list[AmiMessage]:
    """Feed every chunk to one parser and collect the messages."""
    return [message for chunk in chunks for message in parser.feed(chunk)]


def first_line(data: bytes) -> tuple[str, str]:
    """The key and value of a raw message's first header."""
    key, _, value = data.split(b"\r\n", 1)[0].decode().partition(": ")
    return key, value


@pytest.mark.parametrize(("name", "conn"), STREAMS, ids=STREAM_IDS)
def test_each_recorded_record_is_one_message(name: str, conn: int) -> None:
    recorded = server_records(name, conn)
    parser = AmiParser()

    messages = parser.feed(b"".join(recorded))

    assert len(messages) == len(recorded)
    assert parser.buffered_bytes == 0
    assert messages[0].kind is MessageKind.BANNER
    assert (messages[0].name, messages[0].get("Version")) == ("Asterisk Call Manager", "11.0.0")
    kinds = {"Event": MessageKind.EVENT, "Response": MessageKind.RESPONSE}
    for data, message in zip(recorded[1:], messages[1:], strict=True):
        key, value = first_line(data)
        assert (message.kind, message.name) == (kinds[key], value)


@pytest.mark.parametrize(("name", "conn"), STREAMS, ids=STREAM_IDS)
@settings(max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sizes=st.lists(st.integers(min_value=1, max_value=700), min_size=1, max_size=12))
def test_any_chunking_gives_the_same_messages(name: str, conn: int, sizes: list[int]) -> None:
    stream = b"".join(server_records(name, conn))

    assert feed_in_chunks(stream, sizes) == AmiParser().feed(stream)


def test_byte_by_byte_feeding_gives_the_same_messages() -> None:
    stream = b"".join(server_records("ami_a_login.txt", 1))

    assert feed_in_chunks(stream, [1]) == AmiParser().feed(stream)


@pytest.mark.parametrize(("name", "conn"), STREAMS, ids=STREAM_IDS)
def test_one_message_per_read_gives_the_same_messages(name: str, conn: int) -> None:
    recorded = server_records(name, conn)
    parser = AmiParser()

    messages = feed_each(parser, recorded)

    assert messages == AmiParser().feed(b"".join(recorded))
    assert parser.buffered_bytes == 0


@pytest.mark.parametrize(("name", "conn"), STREAMS, ids=STREAM_IDS)
def test_get_answers_as_the_fields_do(name: str, conn: int) -> None:
    recorded = server_records(name, conn)
    odd_keys = ["", " ", "Nope", "Event:", "A:B", "Privilege: call", "\r\n"]

    for messages in (feed_each(AmiParser(), recorded), AmiParser().feed(b"".join(recorded))):
        for message in messages:
            fields = dict(message.headers)
            for key in [*fields, *odd_keys]:
                assert message.get(key, "<absent>") == fields.get(key, "<absent>"), (message, key)
            assert message.action_id == fields.get("ActionID")


def _utf8_split_points() -> list[int]:
    """Offsets inside the UTF-8 name where a read would cut a multi-byte character in two."""
    encoded = UTF8_NAME.encode()
    starts = {len(UTF8_NAME[:i].encode()) for i in range(len(UTF8_NAME) + 1)}
    return [offset for offset in range(1, len(encoded)) if offset not in starts]


@pytest.mark.parametrize("inside_name", _utf8_split_points())
def test_utf8_name_survives_a_read_split_inside_a_character(inside_name: int) -> None:
    stream = b"".join(server_records("ami_i_ringall.txt", 1))
    split = stream.index(b"CallerIDName: " + UTF8_NAME.encode()) + len(b"CallerIDName: ") + inside_name
    parser = AmiParser()

    messages = parser.feed(stream[:split]) + parser.feed(stream[split:])

    assert messages == AmiParser().feed(stream)
    assert any(m.get("CallerIDName") == UTF8_NAME for m in messages)
    assert not any("\ufffd" in value for m in messages for _, value in m.headers)


def test_split_points_really_fall_inside_characters() -> None:
    # ầ, ă and ì are 3 or 2 bytes each, so the table above must not be empty.
    assert len(_utf8_split_points()) == len(UTF8_NAME.encode()) - len(UTF8_NAME)


def test_repeated_output_headers_keep_every_line_in_order() -> None:
    messages = AmiParser().feed(b"".join(server_records("ami_h_misc_actions.txt", 1)))
    queue_show = next(m for m in messages if m.get("ActionID") == "cmd-queue")

    output = queue_show.get_all("Output")

    assert len(output) == 6
    assert output[0].startswith("support has 0 calls")
    assert output[-1] == ""
    assert queue_show.get("Output") == output[-1]


def test_repeated_chan_variable_headers_and_their_prefixed_forms() -> None:
    messages = AmiParser().feed(b"".join(server_records("ami_l_channelvars.txt", 1)))
    with_values = [
        m for m in messages if m.get_all("ChanVariable") == ["HOTLINE_CUSTOMER=42", "QUEUE_PRIO=10"]
    ]
    local_bridge = next(m for m in messages if m.name == "LocalBridge")
    originate = next(m for m in messages if m.name == "OriginateResponse")

    assert with_values
    assert next(m for m in messages if m.name == "Newchannel").get_all("ChanVariable") == [
        "HOTLINE_CUSTOMER=",
        "QUEUE_PRIO=",
    ]
    assert len(local_bridge.get_all("LocalOneChanVariable")) == 2
    assert len(local_bridge.get_all("LocalTwoChanVariable")) == 2
    assert originate.get_all("ChanVariable(Local/5551305@from-pstn-00000000;1)") == [
        "HOTLINE_CUSTOMER=42",
        "QUEUE_PRIO=10",
    ]


def test_an_event_holding_a_response_header_is_still_an_event() -> None:
    messages = AmiParser().feed(b"".join(server_records("ami_d4_originate_errors.txt", 1)))
    failure = next(m for m in messages if m.name == "OriginateResponse" and m.get("ActionID") == "bad-tech")

    assert (failure.kind, failure.get("Response"), failure.get("Reason")) == (
        MessageKind.EVENT,
        "Failure",
        "0",
    )


def _recorded_event() -> bytes:
    return server_records("ami_b_inbound_answered.txt", 1)[3]


def _banner() -> bytes:
    return server_records("ami_b_inbound_answered.txt", 1)[0]


@pytest.mark.parametrize(
    ("stream", "match"),
    [
        pytest.param(lambda: _recorded_event(), "banner", id="no-banner"),
        pytest.param(lambda: b"SSH-2.0-OpenSSH_9.6\r\n", "banner", id="other-protocol"),
        pytest.param(
            lambda: _banner() + _recorded_event().replace(b"Privilege: ", b"Privilege ", 1),
            "without 'Key:'",
            id="header-without-colon",
        ),
        pytest.param(
            lambda: _banner() + _recorded_event().replace(b"Event: ", b"Channel: ", 1),
            "not Event or Response",
            id="neither-event-nor-response",
        ),
    ],
)
def test_malformed_streams_raise_protocol_error(stream: Any, match: str) -> None:
    with pytest.raises(AmiProtocolError, match=match):
        AmiParser().feed(stream())


_ODD_MESSAGES = [
    pytest.param(b"Privilege: ", b"Privilege ", "without 'Key:'", id="header-without-colon"),
    pytest.param(b"\r\nPrivilege: ", b"\r\n: ", "without 'Key:'", id="header-without-key"),
    pytest.param(b"\r\n\r\n", b"\r\nLast\r\n\r\n", "without 'Key:'", id="last-header-without-colon"),
    pytest.param(b"Event: ", b"Channel: ", "not Event or Response", id="neither-event-nor-response"),
    pytest.param(
        b"\r\n\r\n", b"\r\nA: b\nc\r\n\r\n", ("SuccessfulAuth", "A", "b\nc"), id="bare-lf-in-a-value"
    ),
    pytest.param(b"\r\n\r\n", b"\r\nA:\r\n\r\n", ("SuccessfulAuth", "A", ""), id="empty-value"),
    pytest.param(b"Event: ", b"Event:", ("SuccessfulAuth", "Service", "AMI"), id="event-without-space"),
    pytest.param(b"Service: ", b"Service:  ", ("SuccessfulAuth", "Service", " AMI"), id="two-spaces"),
]


@pytest.mark.parametrize(("old", "new", "expected"), _ODD_MESSAGES)
@pytest.mark.parametrize("alone", [True, False], ids=["alone-in-its-read", "with-the-banner"])
def test_odd_messages_get_the_same_treatment_in_any_read(
    old: bytes, new: bytes, expected: str | tuple[str, str, str], alone: bool
) -> None:
    event = _recorded_event().replace(old, new, 1)
    reads = [_banner(), event] if alone else [_banner() + event]

    if isinstance(expected, str):
        with pytest.raises(AmiProtocolError, match=expected):
            feed_each(AmiParser(), reads)
        return
    [_, message] = feed_each(AmiParser(), reads)
    name, key, value = expected
    assert (message.kind, message.name, message.get(key), message.fields[key]) == (
        MessageKind.EVENT,
        name,
        value,
        value,
    )


@pytest.mark.parametrize(
    "chunks",
    [
        pytest.param([b"x" * 5000], id="endless-banner-one-read"),
        pytest.param([b"Asterisk Call Manager/11.0.0\r\n", b"Event: Flood\r\n" * 400], id="endless-message"),
        pytest.param(
            [b"Asterisk Call Manager/11.0.0\r\n"] + [b"Key: value\r\n"] * 200, id="endless-in-small-reads"
        ),
    ],
)
def test_messages_past_the_size_limit_raise_instead_of_buffering_forever(chunks: list[bytes]) -> None:
    parser = AmiParser(max_message_bytes=1024)

    with pytest.raises(AmiProtocolError, match="exceeds 1024 bytes"):
        feed_each(parser, chunks)

    assert parser.buffered_bytes > 1024


def test_a_message_within_the_limit_is_accepted() -> None:
    event = _recorded_event()
    parser = AmiParser(max_message_bytes=len(event))

    assert [m.kind for m in parser.feed(_banner() + event)] == [MessageKind.BANNER, MessageKind.EVENT]


def _recorded_actions() -> list[tuple[str, bytes]]:
    return [
        (f"{name.removesuffix('.txt')}#{r.seq}", r.data)
        for name in ami_files()
        for r in records(name)
        if r.direction == "CLIENT->ASTERISK"
    ]


@pytest.mark.parametrize(("source", "data"), _recorded_actions(), ids=[s for s, _ in _recorded_actions()])
def test_encode_action_reproduces_every_recorded_action_byte_for_byte(source: str, data: bytes) -> None:
    lines = data.decode().removesuffix("\r\n\r\n").split("\r\n")
    pairs = [(key, value) for key, _, value in (line.partition(": ") for line in lines)]
    (action_key, action), fields = pairs[0], pairs[1:]

    assert action_key == "Action"
    assert encode_action(action, fields) == data


def test_encode_action_repeats_a_header_for_a_sequence_value() -> None:
    data = encode_action("Originate", {"Channel": "Local/1@x", "Variable": ["A=1", "B=2"]})

    assert data == b"Action: Originate\r\nChannel: Local/1@x\r\nVariable: A=1\r\nVariable: B=2\r\n\r\n"


def test_encode_action_keeps_utf8_values() -> None:
    data = encode_action("Originate", [("CallerID", f'"{UTF8_NAME}" <0912345678>')])

    assert data.decode("utf-8").splitlines()[1] == f'CallerID: "{UTF8_NAME}" <0912345678>'


_LONGEST_VALUE = "v" * (MAX_ACTION_LINE_BYTES - len("Data: "))


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        pytest.param("Originate", {"Channel": "Local/1@x\r\nAction: Hangup"}, id="crlf-in-value"),
        pytest.param("Originate", {"Channel": "Local/1@x\nAction: Hangup"}, id="lf-in-value"),
        pytest.param("Originate", {"Channel": "Local/1@x\rAction: Hangup"}, id="cr-in-value"),
        pytest.param(
            "Originate", {"Variable": ["A=1", "B=2\r\nAction: Hangup"]}, id="crlf-in-repeated-value"
        ),
        pytest.param("Originate", [("Chan\r\nnel", "x")], id="crlf-in-key"),
        pytest.param("Originate", [("Chan\nnel", "x")], id="lf-in-key"),
        pytest.param("Originate", [("Channel:", "x")], id="colon-in-key"),
        pytest.param("Originate", [("Chan nel", "x")], id="space-in-key"),
        pytest.param("Originate", [("", "x")], id="empty-key"),
        pytest.param("Ping\r\nAction: Hangup", {}, id="crlf-in-action"),
        pytest.param("Originate", {"Data": _LONGEST_VALUE + "v"}, id="line-one-byte-too-long"),
        pytest.param("Originate", {"Data": "ầ" * 400}, id="line-too-long-in-bytes-not-characters"),
        pytest.param("Originate", [(f"V{i}", "x") for i in range(MAX_ACTION_HEADERS)], id="too-many-headers"),
        pytest.param("Originate", {"Variable": ["A=1", 5]}, id="value-not-text"),
    ],
)
def test_encode_action_refuses(action: str, fields: Any) -> None:
    with pytest.raises(AmiInjectionError) as caught:
        encode_action(action, fields)

    assert isinstance(caught.value, ValueError)


@pytest.mark.parametrize(
    "fields",
    [
        pytest.param({"Data": _LONGEST_VALUE}, id="longest-line"),
        pytest.param([(f"V{i}", "x") for i in range(MAX_ACTION_HEADERS - 1)], id="most-headers"),
        pytest.param({"Data": ""}, id="empty-value"),
    ],
)
def test_encode_action_accepts_the_limits_themselves(fields: Any) -> None:
    data = encode_action("Originate", fields)

    assert data.endswith(b"\r\n\r\n")
    assert all(len(line) <= MAX_ACTION_LINE_BYTES for line in data.split(b"\r\n"))
