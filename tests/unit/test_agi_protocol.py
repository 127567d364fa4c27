"""The sans-I/O FastAGI parser and command builders, against the byte-exact Asterisk 22 recordings."""

from __future__ import annotations

import pytest

from ivr import agi_protocol as agi
from ivr.agi_protocol import AgiEnvironment, AgiParser, AgiReply, HangupNotice
from ivr.errors import AgiCommandRefusedError, AgiProtocolError
from tests.recordings import agi_files, records, server_stream

FROM_ASTERISK = "ASTERISK->AGI"


def events_of(transcript: str, chunk: int) -> list[agi.AgiEvent]:
    stream = server_stream(transcript, conn=101, direction=FROM_ASTERISK)
    parser = AgiParser()
    events: list[agi.AgiEvent] = []
    for i in range(0, len(stream), chunk):
        events.extend(parser.feed(stream[i : i + chunk]))
    return events


@pytest.mark.parametrize("transcript", agi_files())
@pytest.mark.parametrize("chunk", [1, 3, 64, 100_000])
def test_every_recording_parses_the_same_in_any_chunking(transcript: str, chunk: int) -> None:
    events = events_of(transcript, chunk)
    assert events == events_of(transcript, 100_000)
    assert isinstance(events[0], AgiEnvironment)
    assert not any(isinstance(e, AgiEnvironment) for e in events[1:])
    # Every recorded reply record became exactly one event (520 blocks span three records).
    replies = [r for r in records(transcript) if r.direction == FROM_ASTERISK][1:]
    inner_usage = sum(1 for r in replies if not r.data[:3].isdigit() and r.data != b"HANGUP\n")
    assert len(events) - 1 == len(replies) - inner_usage - sum(
        1 for r in replies if r.data.startswith(b"520-")
    )


def test_environment_block_in_call_center_names() -> None:
    env = events_of("agi_1_command_tour.txt", 100_000)[0]
    assert env == AgiEnvironment(
        channel="Local/1234@from-pstn-00000000;2",
        unique_id="1795392348.1",
        caller_number="0906666666",
        caller_name="Ivy Caller",
        language="en",
        channel_type="Local",
        context="from-pstn",
        extension="1234",
        priority="8",
        dialled_number=None,
        redirecting_number=None,
        request="agi://127.0.0.1:4573/ivr",
        script="ivr",
        account_code="",
        asterisk_version="22.10.1",
        arguments=(),
        extra={
            "network": "yes",
            "callingpres": "0",
            "callingani2": "0",
            "callington": "0",
            "callingtns": "0",
            "enhanced": "0.0",
            "threadid": "139853626959552",
        },
    )


def test_replies_of_the_command_tour() -> None:
    events = events_of("agi_1_command_tour.txt", 100_000)[1:]
    assert events[:6] == [
        AgiReply(200, "0"),  # ANSWER
        AgiReply(200, "1"),  # VERBOSE
        AgiReply(200, "1"),  # SET VARIABLE
        AgiReply(200, "1", "menu 1"),  # GET VARIABLE, set
        AgiReply(200, "0"),  # GET VARIABLE, unset
        AgiReply(200, "1", "0906666666/Ivy Caller/Local/1234@from-pstn-00000000;2"),  # GET FULL VARIABLE
    ]
    assert events[7] == AgiReply(200, "-1", None, 0)  # STREAM FILE of a missing file
    assert events[8] == AgiReply(200, "0", None, 8000)  # STREAM FILE played
    assert events[9].result_int == 53  # type: ignore[union-attr]  # WAIT FOR DIGIT: '5'
    assert events[11] == AgiReply(200, "42")  # GET DATA, '#' not included
    unknown, usage = events[15], events[16]
    assert unknown == AgiReply(510, message="Invalid or unknown command")
    assert isinstance(usage, AgiReply)
    assert usage.code == 520
    assert usage.message == "Invalid command syntax.  Proper usage follows:"
    assert len(usage.usage) == 1
    assert usage.usage[0].startswith("Waits up to <replaceable>timeout")
    assert events[17] == AgiReply(200, "1")  # HANGUP
    assert events[18] == HangupNotice()
    assert events[20] == AgiReply(511, message="Command Not Permitted on a dead channel or intercept routine")
    assert events[-1] == HangupNotice()  # after the server's half-close


def test_the_caller_hanging_up_during_wait_for_digit() -> None:
    events = events_of("agi_2_caller_hangup.txt", 100_000)[1:]
    assert events[2] == AgiReply(200, "-1")
    assert events[3] == HangupNotice()
    assert [e.code for e in events if isinstance(e, AgiReply)].count(511) == 3


def test_a_utf8_caller_name_split_across_reads_stays_whole() -> None:
    block = server_stream("agi_4_ivr_to_queue.txt", conn=101, direction=FROM_ASTERISK).split(b"\n\n")[0]
    block = block.replace(b"agi_calleridname: Vera VIP", "agi_calleridname: Trần Văn Bình".encode())
    parser = AgiParser()
    events = [e for byte in block + b"\n\n" for e in parser.feed(bytes([byte]))]
    assert isinstance(events[0], AgiEnvironment)
    assert events[0].caller_name == "Trần Văn Bình"


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        (b"agi_network: yes\nnot an environment line\n", "not an agi_ environment line"),
        (b"agi_network: yes\n\n", "lacks agi_channel, agi_uniqueid"),
        (b"agi_network: " + b"x" * 9000, "longer than 8192 bytes"),
        (b"".join(b"agi_x%d: 1\n" % i for i in range(201)), "longer than 200 lines"),
    ],
)
def test_broken_environment_blocks_are_refused(data: bytes, problem: str) -> None:
    with pytest.raises(AgiProtocolError, match=problem):
        AgiParser().feed(data)


def test_a_reply_that_is_not_agi_is_refused() -> None:
    parser = AgiParser()
    parser.feed(
        server_stream("agi_3_normal_end.txt", conn=101, direction=FROM_ASTERISK).split(b"\n\n")[0] + b"\n\n"
    )
    with pytest.raises(AgiProtocolError, match="not an AGI reply"):
        parser.feed(b"hello there\n")
    with pytest.raises(AgiProtocolError, match="without result="):
        agi.parse_reply("200 something")


# Every command line the recorder sent, and the builder call that must produce the same bytes.
RECORDED_COMMANDS = [
    (agi.answer(), b"ANSWER\n"),
    (agi.verbose("CTI lab FastAGI session started", 1), b'VERBOSE "CTI lab FastAGI session started" 1\n'),
    (agi.set_variable("LAB_IVR_STEP", "menu 1"), b'SET VARIABLE LAB_IVR_STEP "menu 1"\n'),
    (agi.get_variable("LAB_IVR_STEP"), b"GET VARIABLE LAB_IVR_STEP\n"),
    (
        agi.get_full_variable("${CALLERID(num)}/${CALLERID(name)}/${CHANNEL}"),
        b'GET FULL VARIABLE "${CALLERID(num)}/${CALLERID(name)}/${CHANNEL}"\n',
    ),
    (agi.channel_status(), b"CHANNEL STATUS\n"),
    (agi.stream_file("no-such-prompt"), b'STREAM FILE no-such-prompt ""\n'),
    (
        agi.stream_file("/srv/asterisk-lab/sounds/lab-silence", "0123456789#*"),
        b'STREAM FILE /srv/asterisk-lab/sounds/lab-silence "0123456789#*"\n',
    ),
    (agi.wait_for_digit(5000), b"WAIT FOR DIGIT 5000\n"),
    (agi.get_data("no-such-prompt", 8000, 3), b"GET DATA no-such-prompt 8000 3\n"),
    (agi.exec_application("Playback", "no-such-prompt"), b"EXEC Playback no-such-prompt\n"),
    (agi.hangup(), b"HANGUP\n"),
    (agi.noop(), b"NOOP\n"),
    (agi.set_variable("LAB_RESULT", "ok"), b'SET VARIABLE LAB_RESULT "ok"\n'),
    (
        agi.get_data("/srv/asterisk-lab/sounds/lab-silence", 8000, 4),
        b"GET DATA /srv/asterisk-lab/sounds/lab-silence 8000 4\n",
    ),
    (agi.set_variable("QUEUE_PRIO", 10), b"SET VARIABLE QUEUE_PRIO 10\n"),
    (agi.set_variable("HOTLINE_CUSTOMER", 42), b"SET VARIABLE HOTLINE_CUSTOMER 42\n"),
]


@pytest.mark.parametrize(("command", "line"), RECORDED_COMMANDS, ids=lambda v: getattr(v, "verb", None))
def test_builders_produce_the_recorded_bytes(command: agi.AgiCommand, line: bytes) -> None:
    assert command.line == line
    recorded = {r.data for name in agi_files() for r in records(name) if r.direction == "AGI->ASTERISK"}
    assert line in recorded


def test_digit_waits_count_in_the_command_deadline() -> None:
    assert agi.wait_for_digit(5000).wait_s == 5.0
    assert agi.get_data("x", 8000, 4).wait_s == 32.0
    assert agi.answer().wait_s == 0.0


def test_text_is_quoted_so_caller_input_stays_one_argument() -> None:
    command = agi.set_variable("SPEECH", 'say "hi" \\ then HANGUP')
    assert command.line == b'SET VARIABLE SPEECH "say \\"hi\\" \\\\ then HANGUP"\n'
    assert agi.exec_application("Festival", "Hello world").line == b'EXEC Festival "Hello world"\n'


@pytest.mark.parametrize(
    "build",
    [
        lambda: agi.set_variable("X", "a\nHANGUP"),
        lambda: agi.set_variable("X", "a\rHANGUP"),
        lambda: agi.verbose("nul\x00"),
        lambda: agi.get_full_variable("x\n"),
        lambda: agi.exec_application("Festival", "line one\nEXEC System rm"),
        lambda: agi.set_variable("X Y", "1"),
        lambda: agi.set_variable("X\n", "1"),
        lambda: agi.stream_file("hello world"),
        lambda: agi.stream_file('a"b'),
        lambda: agi.stream_file("ok", "12a"),
        lambda: agi.exec_application("System;rm", ""),
        lambda: agi.say_digits("12 34"),
        lambda: agi.wait_for_digit(-1),
        lambda: agi.get_data("x", 1000, 0),
        lambda: agi.set_variable("X", True),
        lambda: agi.set_variable("X", "x" * 2100),
        lambda: agi.exec_application("Festival", "é" * 1100),
    ],
)
def test_unsafe_commands_are_refused_before_sending(build: object) -> None:
    with pytest.raises(AgiCommandRefusedError):
        build()  # type: ignore[operator]


def test_a_command_at_the_limit_is_accepted() -> None:
    text = "x" * (agi.MAX_COMMAND_BYTES - len(b'SET VARIABLE X ""\n'))
    assert len(agi.set_variable("X", text).line) == agi.MAX_COMMAND_BYTES
