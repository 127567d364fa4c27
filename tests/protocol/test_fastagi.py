"""The FastAGI server against a fake Asterisk on 127.0.0.1 replaying the Asterisk 22 recordings."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

from ivr import agi_protocol as agi
from ivr.agi_protocol import AgiCommand
from ivr.errors import AgiCommandFailedError, CallerHungUpError
from ivr.fastagi import AgiSession, DigitEntry, FastAgiServer, FastAgiSettings, Playback
from tests.conftest import eventually
from tests.protocol.fake_agi import environment_block, replay

SILENCE = "/srv/asterisk-lab/sounds/lab-silence"
Handler = Callable[[AgiSession], Awaitable[None]]


class Served:
    """What the handlers saw, and the server they ran on."""

    def __init__(self) -> None:
        self.results: list[object] = []
        self.errors: list[BaseException] = []
        self.done = asyncio.Event()
        self.server: FastAgiServer | None = None

    def wrap(self, handler: Handler) -> Handler:
        async def run(session: AgiSession) -> None:
            try:
                await handler(session)
            except BaseException as exc:
                self.errors.append(exc)
                raise
            finally:
                self.done.set()

        return run


@pytest.fixture
async def serve() -> AsyncIterator[Callable[..., Awaitable[tuple[FastAgiServer, Served]]]]:
    servers: list[FastAgiServer] = []

    async def start(handler: Handler, **settings: float) -> tuple[FastAgiServer, Served]:
        served = Served()
        server = FastAgiServer(FastAgiSettings(port=0, **settings), {"ivr": served.wrap(handler)})  # type: ignore[arg-type]
        await server.start()
        served.server = server
        servers.append(server)
        return server, served

    yield start
    for server in servers:
        await server.close()


async def test_the_command_tour_gives_typed_results(
    serve: Callable[..., Awaitable[tuple[FastAgiServer, Served]]],
) -> None:
    async def tour(session: AgiSession) -> None:
        r = served.results
        assert session.environment.caller_number == "0906666666"
        await session.answer()
        await session.verbose("CTI lab FastAGI session started")
        await session.set_variable("LAB_IVR_STEP", "menu 1")
        r.append(await session.get_variable("LAB_IVR_STEP"))
        r.append(await session.get_variable("NO_SUCH_VAR"))
        r.append(await session.get_full_variable("${CALLERID(num)}/${CALLERID(name)}/${CHANNEL}"))
        r.append((await session.run(agi.channel_status())).result_int)
        r.append(await session.stream_file("no-such-prompt"))
        r.append(await session.stream_file(SILENCE, "0123456789#*"))
        r.append(await session.wait_for_digit(5000))
        r.append(await session.get_data("no-such-prompt", 8000, 3))
        r.append(await session.get_data(SILENCE, 8000, 3))
        r.append(await session.exec_application("Playback", "no-such-prompt"))
        r.append(await session.get_variable("PLAYBACKSTATUS"))
        r.append(await session.wait_for_digit(1000))
        r.append((await session.run(AgiCommand("NO SUCH COMMAND", b"NO SUCH COMMAND\n"))).code)
        with pytest.raises(AgiCommandFailedError) as usage:
            await session.run_ok(AgiCommand("WAIT FOR DIGIT", b"WAIT FOR DIGIT\n"))
        r.append((usage.value.code, len(usage.value.usage)))
        await session.hangup()
        # Still answered on the dead channel (agi_1) ...
        r.append(await session.get_variable("LAB_IVR_STEP"))
        # ... but a channel command is not even sent once the channel is gone.
        with pytest.raises(CallerHungUpError):
            await session.stream_file("no-such-prompt")

    server, served = await serve(tour)
    result = await replay(server.port, "agi_1_command_tour.txt")
    assert served.errors == []
    assert served.results == [
        "menu 1",
        None,
        "0906666666/Ivy Caller/Local/1234@from-pstn-00000000;2",
        6,
        Playback(None, False, 0),
        Playback(None, True, 8000),
        "5",
        DigitEntry("", False, True),
        DigitEntry("42", False, False),
        0,
        "FAILED",
        None,
        510,
        (520, 1),
        "menu 1",
    ]
    assert result.commands[-1] == b"GET VARIABLE LAB_IVR_STEP\n"
    assert result.half_closed
    await eventually(lambda: server.sessions_in_progress == 0)


async def test_the_caller_hanging_up_mid_menu_ends_the_session_cleanly(
    serve: Callable[..., Awaitable[tuple[FastAgiServer, Served]]], caplog: pytest.LogCaptureFixture
) -> None:
    async def menu(session: AgiSession) -> None:
        await session.answer()
        await session.verbose("waiting for a digit; the caller will hang up after 3 s")
        await session.wait_for_digit(10000)
        served.results.append("not reached")

    server, served = await serve(menu)
    with caplog.at_level(logging.INFO, logger="ivr.fastagi"):
        result = await replay(server.port, "agi_2_caller_hangup.txt")
    assert [type(e) for e in served.errors] == [CallerHungUpError]
    assert served.results == []
    assert result.commands[-1] == b"WAIT FOR DIGIT 10000\n"
    assert result.half_closed
    assert "ended in the IVR" in caplog.text
    await eventually(lambda: server.sessions_in_progress == 0)


async def test_a_dead_channel_answers_511_and_that_ends_the_session(
    serve: Callable[..., Awaitable[tuple[FastAgiServer, Served]]],
) -> None:
    async def menu(session: AgiSession) -> None:
        await session.answer()
        await session.verbose("waiting for a digit; the caller will hang up after 3 s")
        served.results.append((await session.run(agi.wait_for_digit(10000))).result)
        served.results.append(await session.get_variable("LAB_IVR_STEP"))
        await session.run(agi.channel_status())

    server, served = await serve(menu)
    # The HANGUP line comes late here, so the server meets the 511 first.
    result = await replay(server.port, "agi_2_caller_hangup.txt", withhold_hangup=True)
    assert served.results == ["-1", None]
    assert [type(e) for e in served.errors] == [CallerHungUpError]
    assert "dead" in str(served.errors[0])
    assert result.commands[-1] == b"CHANNEL STATUS\n"


async def test_the_server_ends_the_session_by_half_closing(
    serve: Callable[..., Awaitable[tuple[FastAgiServer, Served]]],
) -> None:
    async def short(session: AgiSession) -> None:
        await session.answer()
        await session.set_variable("LAB_RESULT", "ok")

    server, served = await serve(short)
    result = await replay(server.port, "agi_3_normal_end.txt")
    assert served.errors == []
    assert result.half_closed
    assert result.commands == [b"ANSWER\n", b'SET VARIABLE LAB_RESULT "ok"\n']
    await eventually(lambda: server.sessions_in_progress == 0)


async def test_the_ivr_hand_off_to_the_queue(
    serve: Callable[..., Awaitable[tuple[FastAgiServer, Served]]],
) -> None:
    async def hand_off(session: AgiSession) -> None:
        await session.answer()
        served.results.append(await session.stream_file(SILENCE, "0123456789#*"))
        served.results.append(await session.get_data(SILENCE, 8000, 4))
        await session.set_variable("QUEUE_PRIO", 10)
        await session.set_variable("HOTLINE_CUSTOMER", 42)

    server, served = await serve(hand_off)
    result = await replay(server.port, "agi_4_ivr_to_queue.txt")
    assert served.errors == []
    assert served.results == [Playback(None, True, 8000), DigitEntry("1234", False, False)]
    assert len(result.commands) == 5


async def test_a_half_sent_header_never_blocks_other_calls(
    serve: Callable[..., Awaitable[tuple[FastAgiServer, Served]]],
) -> None:
    async def short(session: AgiSession) -> None:
        await session.answer()
        await session.set_variable("LAB_RESULT", "ok")

    server, served = await serve(short, environment_timeout_s=0.3)
    block = environment_block("agi_3_normal_end.txt")
    # One peer sends half a header and goes away; another sends half and stays silent.
    _gone_reader, gone = await asyncio.open_connection("127.0.0.1", server.port)
    gone.write(block[:100])
    await gone.drain()
    gone.close()
    silent_reader, silent = await asyncio.open_connection("127.0.0.1", server.port)
    silent.write(block[: len(block) // 2])
    await silent.drain()
    # Meanwhile a real call is served at once.
    async with asyncio.timeout(5):
        await replay(server.port, "agi_3_normal_end.txt")
    assert served.errors == []
    # The silent peer is dropped after the environment deadline.
    async with asyncio.timeout(5):
        assert await silent_reader.read() == b""
    silent.close()
    await eventually(lambda: server.sessions_in_progress == 0)


async def test_an_oversized_line_is_refused(
    serve: Callable[..., Awaitable[tuple[FastAgiServer, Served]]],
) -> None:
    async def never(session: AgiSession) -> None:
        served.results.append("called")

    server, served = await serve(never, max_line_bytes=1024)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(b"agi_network: " + b"y" * 5000)
    await writer.drain()
    async with asyncio.timeout(5):
        assert await reader.read() == b""
    writer.close()
    assert served.results == []


async def test_a_command_without_reply_times_out(
    serve: Callable[..., Awaitable[tuple[FastAgiServer, Served]]],
) -> None:
    async def asks(session: AgiSession) -> None:
        await session.answer()

    server, served = await serve(asks, command_timeout_s=0.2)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(environment_block("agi_3_normal_end.txt"))
    await writer.drain()
    async with asyncio.timeout(5):
        assert await reader.readline() == b"ANSWER\n"
        await served.done.wait()
        assert await reader.read() == b""  # the server half-closed after the timeout
    writer.close()
    assert "no reply to ANSWER within 0.2 s" in str(served.errors[0])


async def test_an_unknown_script_is_not_served(
    serve: Callable[..., Awaitable[tuple[FastAgiServer, Served]]],
) -> None:
    async def never(session: AgiSession) -> None:
        served.results.append("called")

    server, served = await serve(never)
    block = environment_block("agi_3_normal_end.txt").replace(
        b"agi_network_script: ivr", b"agi_network_script: other"
    )
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(block)
    await writer.drain()
    async with asyncio.timeout(5):
        assert await reader.read() == b""
    writer.close()
    assert served.results == []


async def test_closing_the_server_ends_sessions_in_flight(
    serve: Callable[..., Awaitable[tuple[FastAgiServer, Served]]],
) -> None:
    async def asks(session: AgiSession) -> None:
        await session.answer()

    server, served = await serve(asks)
    reader, writer = await asyncio.open_connection("127.0.0.1", server.port)
    writer.write(environment_block("agi_3_normal_end.txt"))
    await writer.drain()
    async with asyncio.timeout(5):
        assert await reader.readline() == b"ANSWER\n"
        await server.close()
        assert await reader.read() == b""
    writer.close()
    assert server.sessions_in_progress == 0
    assert [type(e) for e in served.errors] == [asyncio.CancelledError]
