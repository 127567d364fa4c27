"""The asyncio AMI client against a fake Asterisk replaying recorded Asterisk 22 traffic."""

from __future__ import annotations

import asyncio
import hashlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import pytest

from cti.ami_client import AmiClient, AmiListResult, AmiSettings
from cti.ami_protocol import AmiMessage, AmiParser
from cti.errors import (
    AmiActionError,
    AmiAuthenticationError,
    AmiInjectionError,
    AmiNotConnectedError,
    AmiTimeoutError,
)
from tests.conftest import eventually
from tests.protocol.fake_ami import FakeAmi, event_records, recorded_action

LOGIN = ("ami_a_login.txt", 2)  # plain Login, Ping, Logoff
MD5_LOGIN = ("ami_a_login.txt", 3)  # Challenge, Login with Key, Logoff
FAILED_LOGIN = ("ami_a_login.txt", 4)  # wrong secret: Error, then Asterisk closes
MISC = ("ami_h_misc_actions.txt", 1)
LISTS = ("ami_e_list_actions.txt", 1)
RINGALL = ("ami_i_ringall.txt", 1)
LIST_ITEM_EVENTS = {"QueueParams", "QueueMember", "QueueEntry", "QueueStatusComplete", "CoreShowChannel"}


@dataclass
class Observer:
    """What the client handed to the application: events, and how often it resynced."""

    events: list[AmiMessage] = field(default_factory=list)
    resyncs: int = 0

    def on_event(self, message: AmiMessage) -> None:
        """Keep the event."""
        self.events.append(message)

    async def on_connected(self) -> None:
        """Count the resync."""
        self.resyncs += 1

    def event_names(self) -> list[str]:
        """The names of the events seen so far, in order."""
        return [m.name for m in self.events]


def settings_for(fake: FakeAmi, **overrides: Any) -> AmiSettings:
    """Settings pointing at the fake, with short deadlines and a keepalive that stays out of the way."""
    values: dict[str, Any] = {
        "host": "127.0.0.1",
        "port": fake.port,
        "username": "cti",
        "secret": "cti-secret",
        "connect_timeout_s": 2.0,
        "action_timeout_s": 2.0,
        "ping_interval_s": 60.0,
        "reconnect_initial_s": 0.01,
        "reconnect_max_s": 0.05,
    }
    values.update(overrides)
    return AmiSettings(**values)


@asynccontextmanager
async def running(client: AmiClient) -> AsyncIterator[asyncio.Task[None]]:
    """Run the client in a task; cancel it at the end and surface anything it raised."""
    task = asyncio.create_task(client.run())
    try:
        yield task
    finally:
        task.cancel()
        await asyncio.wait([task])
        if not task.cancelled():
            task.result()


@asynccontextmanager
async def connected_client(
    *sources: tuple[str, int],
    observer: Observer | None = None,
    on_connected: Callable[[], Awaitable[None]] | None = None,
    chunk_size: int | None = None,
    **overrides: Any,
) -> AsyncIterator[tuple[FakeAmi, AmiClient, Observer]]:
    """A fake replaying `sources` and a client that has logged in to it."""
    observer = observer or Observer()
    async with FakeAmi(*sources, chunk_size=chunk_size) as fake:
        client = AmiClient(
            settings_for(fake, **overrides),
            on_event=observer.on_event,
            on_connected=on_connected or observer.on_connected,
        )
        async with running(client):
            await eventually(lambda: client.connected)
            yield fake, client, observer


def parse_recorded(messages: list[bytes]) -> list[AmiMessage]:
    """Recorded Asterisk messages parsed one by one, the way the client's parser sees them."""
    parser = AmiParser()
    parser.feed(b"Asterisk Call Manager/11.0.0\r\n")
    return [message for data in messages for message in parser.feed(data)]


def without_action_id(message: AmiMessage) -> tuple[str, list[tuple[str, str]]]:
    """A message's name and headers minus its ActionID, which the fake rewrites."""
    return message.name, [(k, v) for k, v in message.headers if k != "ActionID"]


async def test_plain_login_sends_the_secret_and_the_wire_log_masks_it(
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG, logger="cti.ami.wire")
    async with asyncio.timeout(10), connected_client(LOGIN) as (fake, client, observer):
        login = fake.actions[0]
        assert (login.name, login.get("Username"), login.get("Secret")) == ("Login", "cti", "cti-secret")
        # The resync runs in the client's keep-alive task, which may not have started yet.
        await eventually(lambda: observer.resyncs == 1)
        await eventually(lambda: observer.event_names() == ["FullyBooted", "SuccessfulAuth"])

        pong = await client.action("Ping")

        assert (pong.name, pong.get("Ping")) == ("Success", "Pong")
        assert pong.action_id == fake.actions[-1].get("ActionID")
        assert fake.unmatched == []
    wire = "\n".join(r.getMessage() for r in caplog.records if r.name == "cti.ami.wire")
    assert "Secret: ********" in wire
    assert "cti-secret" not in caplog.text


async def test_md5_challenge_login_sends_md5_of_challenge_and_secret() -> None:
    async with asyncio.timeout(10), connected_client(MD5_LOGIN, auth="md5") as (fake, client, _):
        challenge, login = fake.actions
        assert (challenge.name, challenge.get("AuthType")) == ("Challenge", "MD5")
        # The recorded challenge is 127351996; the recorder's NOTE gives the key Asterisk accepted.
        expected_key = hashlib.md5(b"127351996cti-secret", usedforsecurity=False).hexdigest()
        assert expected_key == "6f0bb507dbc167ed88b7513abc43a540"
        assert (login.name, login.get("AuthType"), login.get("Key")) == ("Login", "MD5", expected_key)
        assert login.get("Secret") is None
        assert client.connected


async def test_wrong_secret_raises_authentication_error_once_and_never_retries() -> None:
    observer = Observer()
    async with asyncio.timeout(10), FakeAmi(FAILED_LOGIN, LOGIN) as fake:
        client = AmiClient(
            settings_for(fake, secret="wrong-secret"),
            on_event=observer.on_event,
            on_connected=observer.on_connected,
        )

        with pytest.raises(AmiAuthenticationError) as caught:
            await client.run()

        assert caught.value.message == "Authentication failed"
        assert caught.value.username == "cti"
        assert "wrong-secret" not in str(caught.value)
        assert fake.connections == 1
        assert [a.name for a in fake.actions] == ["Login"]
        assert observer.resyncs == 0
        assert not client.connected
        await eventually(lambda: fake.open_connections == 0)


@pytest.mark.parametrize(
    ("fields", "item_count", "item_names"),
    [
        ({}, 11, {"QueueParams", "QueueMember", "QueueEntry"}),
        ({"Queue": "support"}, 3, {"QueueParams", "QueueMember"}),
        ({"Queue": "support", "Member": "Local/1002@agents/n"}, 2, {"QueueParams", "QueueMember"}),
        ({"Queue": "nosuchqueue"}, 0, set()),
    ],
    ids=["all-queues", "one-queue", "one-member", "unknown-queue"],
)
async def test_queue_status_lists(fields: dict[str, str], item_count: int, item_names: set[str]) -> None:
    async with asyncio.timeout(10), connected_client(LISTS) as (fake, client, observer):
        result = await client.list_action("QueueStatus", fields)

        assert isinstance(result, AmiListResult)
        assert (result.response.name, result.response.get("EventList")) == ("Success", "start")
        assert len(result.items) == item_count
        assert {m.name for m in result.items} == item_names
        assert result.complete.name == "QueueStatusComplete"
        assert result.complete.get("ListItems") == str(item_count)
        sent_id = fake.actions_named("QueueStatus")[0].get("ActionID")
        assert {m.action_id for m in (result.response, *result.items, result.complete)} == {sent_id}
        assert not LIST_ITEM_EVENTS & set(observer.event_names())


async def test_core_show_channels_list_and_status_of_unknown_channel() -> None:
    async with asyncio.timeout(10), connected_client(LISTS) as (_, client, observer):
        channels = await client.list_action("CoreShowChannels")
        assert len(channels.items) == 8
        assert {m.name for m in channels.items} == {"CoreShowChannel"}
        assert channels.complete.name == "CoreShowChannelsComplete"
        # In CoreShowChannel the ActionID is the second line, not the last as in QueueStatus items.
        assert all(m.headers[1][0] == "ActionID" for m in channels.items)

        with pytest.raises(AmiActionError) as caught:
            await client.list_action("Status", {"Channel": "Local/nope-00000000;1"})

        assert (caught.value.action, caught.value.message) == ("Status", "No such channel")
        assert "CoreShowChannel" not in observer.event_names()
        assert client.connected


async def test_concurrent_actions_answered_in_reverse_are_matched_by_action_id() -> None:
    # A leading * marks a list action.
    checks: list[tuple[str, dict[str, str], Callable[[Any], bool]]] = [
        ("Ping", {}, lambda r: r.get("Ping") == "Pong"),
        ("CoreStatus", {}, lambda r: r.get("CoreCurrentCalls") == "0"),
        ("CoreSettings", {}, lambda r: r.get("AsteriskVersion") == "22.10.1"),
        ("Getvar", {"Variable": "AGENT_TALK_SECONDS"}, lambda r: r.get("Value") == "4"),
        ("Getvar", {"Variable": "NO_SUCH_GLOBAL"}, lambda r: r.fields["Value"] == ""),
        ("Command", {"Command": "queue show support"}, lambda r: len(r.get_all("Output")) == 6),
        ("*QueueStatus", {"Queue": "support"}, lambda r: len(r.items) == 3),
        ("*CoreShowChannels", {}, lambda r: len(r.items) == 8),
        ("*QueueSummary", {"Queue": "noanswer"}, lambda r: r.items[0].get("Queue") == "noanswer"),
        ("Command", {"Command": "core show version"}, lambda r: r.get("Output").startswith("Asterisk 22")),
    ]
    async with asyncio.timeout(10), connected_client(LOGIN, MISC, LISTS) as (fake, client, observer):
        fake.answer_in_reverse(len(checks))

        async def send(name: str, fields: dict[str, str]) -> AmiMessage | AmiListResult:
            if name.startswith("*"):
                return await client.list_action(name[1:], fields)
            return await client.action(name, fields)

        async with asyncio.TaskGroup() as group:
            tasks = [group.create_task(send(name, fields)) for name, fields, _ in checks]
        results = [task.result() for task in tasks]

        for (name, _, check), result in zip(checks, results, strict=True):
            assert check(result), f"{name} got the answer to another action"
        answer_ids = [r.response.action_id if isinstance(r, AmiListResult) else r.action_id for r in results]
        sent_ids = [a.get("ActionID") for a in fake.actions[1:]]
        assert answer_ids == sent_ids
        assert len(set(sent_ids)) == len(checks)
        assert fake.unmatched == []
        assert not LIST_ITEM_EVENTS & set(observer.event_names())


async def test_connection_dropped_mid_list_fails_the_list_then_reconnects_and_resyncs() -> None:
    observer = Observer()
    resyncs: list[tuple[AmiListResult, AmiListResult]] = []

    async def resync() -> None:
        # What the application does after every login: rebuild calls and queues from scratch.
        channels = await client.list_action("CoreShowChannels")
        queues = await client.list_action("QueueStatus")
        resyncs.append((channels, queues))

    async with asyncio.timeout(10), FakeAmi(LISTS) as fake:
        client = AmiClient(settings_for(fake), on_event=observer.on_event, on_connected=resync)
        async with running(client):
            await eventually(lambda: len(resyncs) == 1)
            fake.cut_next("QueueStatus", after_messages=4)

            with pytest.raises(AmiNotConnectedError):
                await client.list_action("QueueStatus")

            await eventually(lambda: len(resyncs) == 2 and client.connected)
            assert fake.connections == 2
            assert [a.connection for a in fake.actions_named("Login")] == [1, 2]
            channels, queues = resyncs[1]
            assert (len(channels.items), len(queues.items)) == (8, 11)
            assert not LIST_ITEM_EVENTS & set(observer.event_names())


@pytest.mark.parametrize(
    "fields",
    [
        {"Channel": "Local/1@x\r\nAction: Hangup"},
        {"Channel": "Local/1@x\nAction: Hangup"},
        [("Chan\r\nnel", "Local/1@x")],
        {"Application": "Wait", "Data": "1" * 2000},
        {"ActionID": "mine"},
        [(f"Variable{i}", "x") for i in range(200)],
    ],
    ids=["crlf-value", "lf-value", "crlf-key", "over-long-line", "own-action-id", "too-many-headers"],
)
async def test_injection_is_refused_before_anything_is_sent(fields: Any) -> None:
    async with asyncio.timeout(10), connected_client(LOGIN) as (fake, client, _):
        with pytest.raises(AmiInjectionError):
            await client.action("Originate", fields)

        await client.action("Ping")  # TCP keeps order: anything sent before it has arrived by now
        assert [a.name for a in fake.actions] == ["Login", "Ping"]
        assert client.connected


async def test_unanswered_ping_drops_the_connection_and_reconnects(caplog: pytest.LogCaptureFixture) -> None:
    async with FakeAmi(LOGIN) as fake:
        fake.hold_next("Ping")
        observer = Observer()
        client = AmiClient(
            settings_for(fake, ping_interval_s=0.05, action_timeout_s=0.3),
            on_event=observer.on_event,
            on_connected=observer.on_connected,
        )
        async with asyncio.timeout(10), running(client):
            await eventually(lambda: observer.resyncs == 2 and client.connected)
            await eventually(lambda: len(fake.actions_named("Ping")) >= 2)

            assert fake.connections == 2
            assert fake.open_connections == 1
            assert fake.actions_named("Ping")[0].connection == 1
    assert "AMI action Ping got no answer" in caplog.text


async def test_unanswered_action_times_out_and_the_connection_stays() -> None:
    async with asyncio.timeout(10), connected_client(LOGIN, MISC) as (fake, client, _):
        fake.hold_next("CoreStatus")

        with pytest.raises(AmiTimeoutError) as caught:
            await client.action("CoreStatus", timeout_s=0.1)

        assert (caught.value.action, caught.value.timeout_s) == ("CoreStatus", 0.1)
        assert client.connected
        assert (await client.action("CoreStatus")).get("CoreCurrentCalls") == "0"
        assert fake.connections == 1


async def test_actions_without_a_login_raise_not_connected() -> None:
    settings = AmiSettings(host="127.0.0.1", port=9, username="cti", secret="cti-secret")
    client = AmiClient(settings, on_event=Observer().on_event)

    assert not client.connected
    with pytest.raises(AmiNotConnectedError):
        await client.action("Ping")
    with pytest.raises(AmiNotConnectedError):
        await client.list_action("QueueStatus")


async def test_recorded_call_events_arrive_in_order_with_the_utf8_caller_name() -> None:
    # The fake writes 7 bytes at a time, so multi-byte characters straddle TCP writes.
    async with asyncio.timeout(20), connected_client(RINGALL, chunk_size=7) as (fake, client, observer):
        originate = recorded_action("ami_i_ringall.txt", 6)
        fields = [(k, v) for k, v in originate.fields if k != "ActionID"]

        response = await client.action("Originate", fields)

        assert response.get("Message") == "Originate successfully queued"
        expected = parse_recorded(event_records("ami_i_ringall.txt"))
        await eventually(lambda: len(observer.events) == len(expected), timeout_s=15)
        assert [without_action_id(m) for m in observer.events] == [without_action_id(m) for m in expected]
        assert "Trần Văn Bình" in {m.get("CallerIDName") for m in observer.events}
        originate_response = next(m for m in observer.events if m.name == "OriginateResponse")
        assert originate_response.action_id == response.action_id
        assert fake.unmatched == []


async def test_asterisk_shutdown_then_restart_reconnects_and_resyncs_to_the_empty_pbx() -> None:
    observer = Observer()
    resyncs: list[tuple[AmiListResult, AmiListResult]] = []

    async def resync() -> None:
        channels = await client.list_action("CoreShowChannels")
        queues = await client.list_action("QueueStatus")
        resyncs.append((channels, queues))

    # conn 1 talks until `core stop now` (Shutdown event, then EOF); conn 2 is after the restart.
    async with asyncio.timeout(10), FakeAmi(("ami_k_restart.txt", 1), ("ami_k_restart.txt", 2)) as fake:
        client = AmiClient(settings_for(fake), on_event=observer.on_event, on_connected=resync)
        async with running(client):
            await eventually(lambda: len(resyncs) == 1)
            originate = recorded_action("ami_k_restart.txt", 6)

            await client.action("Originate", [(k, v) for k, v in originate.fields if k != "ActionID"])

            await eventually(lambda: len(resyncs) == 2 and client.connected)
            assert observer.event_names().count("Shutdown") == 1
            assert observer.event_names().index("Shutdown") < observer.event_names().index("FullyBooted", 2)
            assert fake.connections == 2
            channels, queues = resyncs[1]
            assert channels.items == ()
            queue_params = [m for m in queues.items if m.name == "QueueParams"]
            assert len(queue_params) == 5
            assert {m.get("Calls") for m in queue_params} == {"0"}


async def test_event_stream_order_survives_a_failing_event_handler(caplog: pytest.LogCaptureFixture) -> None:
    seen: list[AmiMessage] = []

    def on_event(message: AmiMessage) -> None:
        seen.append(message)
        if message.name == "VarSet":
            raise ValueError("the application choked on a VarSet")

    async with asyncio.timeout(10), FakeAmi(LOGIN) as fake:
        client = AmiClient(settings_for(fake), on_event=on_event)
        async with running(client):
            await eventually(lambda: client.connected)
            await eventually(lambda: len(seen) == 2)  # FullyBooted, SuccessfulAuth

            pushed = await fake.push_events("ami_j_concurrent.txt")

            expected = parse_recorded(pushed)
            await eventually(lambda: len(seen) == 2 + len(expected))
            assert seen[2:] == expected
            assert client.connected
            assert fake.connections == 1
    assert "on_event failed for AMI event VarSet" in caplog.text


async def test_malformed_stream_drops_the_connection_and_reconnects(caplog: pytest.LogCaptureFixture) -> None:
    async with asyncio.timeout(10), connected_client(LOGIN) as (fake, client, observer):
        # A recorded event with its first header's colon removed: no longer AMI.
        corrupted = event_records("ami_b_inbound_answered.txt")[0].replace(b"Privilege: ", b"Privilege ", 1)

        await fake.send_raw(corrupted)

        await eventually(lambda: observer.resyncs == 2 and client.connected)
        assert fake.connections == 2
    assert "malformed AMI stream" in caplog.text


async def test_connections_closed_before_the_banner_are_retried() -> None:
    async with asyncio.timeout(10), FakeAmi(LOGIN) as fake:
        fake.refuse_connections(2)
        observer = Observer()
        client = AmiClient(settings_for(fake), on_event=observer.on_event, on_connected=observer.on_connected)
        async with running(client):
            await eventually(lambda: client.connected and observer.resyncs == 1)

            assert fake.connections == 3
            assert [a.connection for a in fake.actions_named("Login")] == [3]


async def test_failed_resync_drops_the_connection_and_tries_again(caplog: pytest.LogCaptureFixture) -> None:
    attempts: list[int] = []

    async def resync() -> None:
        attempts.append(len(attempts) + 1)
        if len(attempts) == 1:
            raise RuntimeError("the call store was unavailable")

    async with asyncio.timeout(10), FakeAmi(LOGIN) as fake:
        client = AmiClient(settings_for(fake), on_event=Observer().on_event, on_connected=resync)
        async with running(client):
            await eventually(lambda: attempts == [1, 2] and client.connected)

            assert fake.connections == 2
    assert "on_connected failed" in caplog.text


async def test_close_logs_off_and_run_returns() -> None:
    async with asyncio.timeout(10), FakeAmi(LOGIN) as fake:
        client = AmiClient(settings_for(fake), on_event=Observer().on_event)
        task = asyncio.create_task(client.run())
        await eventually(lambda: client.connected)

        await client.close()
        await task

        assert [a.name for a in fake.actions] == ["Login", "Logoff"]
        assert not client.connected
        assert fake.connections == 1
        await eventually(lambda: fake.open_connections == 0)


async def test_cancelling_run_reraises_and_fails_pending_actions() -> None:
    async with asyncio.timeout(10), FakeAmi(LOGIN, MISC) as fake:
        client = AmiClient(settings_for(fake), on_event=Observer().on_event)
        task = asyncio.create_task(client.run())
        await eventually(lambda: client.connected)
        fake.hold_next("CoreStatus")
        pending = asyncio.create_task(client.action("CoreStatus"))
        await eventually(lambda: bool(fake.actions_named("CoreStatus")))

        task.cancel()

        with pytest.raises(asyncio.CancelledError):
            await task
        with pytest.raises(AmiNotConnectedError):
            await pending
        assert not client.connected
        await eventually(lambda: fake.open_connections == 0)


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("ami://cti:cti-secret@pbx.example:5038", ("pbx.example", 5038, "cti", "cti-secret", "plain")),
        ("ami://cti:s%40cr%3At%2F1@10.0.0.5?auth=md5", ("10.0.0.5", 5038, "cti", "s@cr:t/1", "md5")),
        ("ami://hot%20line:pw@[::1]:15038?auth=PLAIN", ("::1", 15038, "hot line", "pw", "plain")),
    ],
)
def test_settings_from_url(url: str, expected: tuple[str, int, str, str, str]) -> None:
    s = AmiSettings.from_url(url, ping_interval_s=5.0)

    assert (s.host, s.port, s.username, s.secret, s.auth) == expected
    assert s.ping_interval_s == 5.0
    assert s.secret not in repr(s)


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("http://cti:pw@pbx:5038", "ami://"),
        ("ami://pbx:5038", "user and a secret"),
        ("ami://cti@pbx:5038", "user and a secret"),
        ("ami://cti:@pbx:5038", "secret is empty"),
        ("ami://cti:pw@:5038", "no host"),
        ("ami://cti:pw@pbx:99999", "port"),
        ("ami://cti:pw@pbx:0", "port 0"),
        ("ami://cti:pw@pbx:abc", "port"),
        ("ami://cti:pw@pbx/manager", "path"),
        ("ami://cti:pw@pbx?auth=sha1", "auth"),
        ("ami://cti:pw@pbx?auth=md5&auth=plain", "auth"),
        ("ami://cti:pw@pbx?timeout=3", "unknown parameters: timeout"),
        ("ami://cti:p%0D%0Aw@pbx", "secret contains CR or LF"),
    ],
)
def test_settings_from_bad_url_say_what_is_wrong_without_the_secret(url: str, message: str) -> None:
    with pytest.raises(ValueError, match=message) as caught:
        AmiSettings.from_url(url)

    assert "pw" not in str(caught.value)
