"""Click-to-dial against a fake Asterisk replaying the recorded Originate with ChannelId (ami_d5)."""

from __future__ import annotations

import asyncio

import pytest

from cti.ami_client import AmiClient
from cti.click_to_dial import ClickToDial, ClickToDialSettings
from cti.errors import AmiInjectionError, AmiNotConnectedError
from tests.conftest import eventually
from tests.protocol.fake_ami import FakeAmi
from tests.protocol.test_ami_client import Observer, running, settings_for

CHANNEL_ID = ("ami_d5_originate_channelid.txt", 1)
# What the recording's dialer sent, as click-to-dial settings.
RECORDED = ClickToDialSettings(
    trunk_context="customers",
    agent_context="outbound-agent",
    caller_id='"CTI Dialer" <5550100>',
    ring_timeout_s=20,
)


async def test_click_to_dial_sends_the_recorded_originate_and_follows_its_channel_id() -> None:
    observer = Observer()
    # The agent's interface travels in a channel variable, which does not change Asterisk's answer.
    async with asyncio.timeout(20), FakeAmi(CHANNEL_ID, ignore_fields=("Variable",)) as fake:
        client = AmiClient(settings_for(fake), on_event=observer.on_event, on_connected=observer.on_connected)
        async with running(client):
            await eventually(lambda: client.connected)
            dialer = ClickToDial(client, RECORDED, channel_ids=lambda: "cti-0001")

            channel_id = await dialer.dial("PJSIP/1001", "0555000111")

            assert channel_id == "cti-0001"
            [originate] = fake.actions_named("Originate")
            assert originate.get("Channel") == "Local/0555000111@customers"
            assert originate.get("ChannelId") == "cti-0001"
            assert originate.get("OtherChannelId") == "cti-0001-b"
            assert originate.get("Variable") == "HOTLINE_AGENT=PJSIP/1001"
            assert fake.unmatched == []
            # The recorded answer follows: the call's events carry the ChannelId as Uniqueid.
            await eventually(
                lambda: any(m.name == "OriginateResponse" for m in observer.events), timeout_s=10
            )
            response = next(m for m in observer.events if m.name == "OriginateResponse")
            assert (response.get("Response"), response.get("Uniqueid")) == ("Success", "cti-0001")


@pytest.mark.parametrize(
    ("interface", "number", "field"),
    [
        ("PJSIP/1001", "0555000111\r\nAction: Hangup", "number"),
        ("PJSIP/1001", "0555\n000111", "number"),
        ("PJSIP/1001", "*99#", "number"),
        ("PJSIP/1001\r\nChannel: SIP/evil", "0555000111", "interface"),
        ("not an interface", "0555000111", "interface"),
    ],
)
async def test_cr_lf_and_non_numbers_never_reach_asterisk(interface: str, number: str, field: str) -> None:
    async with asyncio.timeout(20), FakeAmi(CHANNEL_ID) as fake:
        client = AmiClient(settings_for(fake), on_event=Observer().on_event)
        async with running(client):
            await eventually(lambda: client.connected)
            with pytest.raises(AmiInjectionError) as caught:
                await ClickToDial(client, RECORDED).dial(interface, number)
            assert caught.value.field == field
            assert fake.actions_named("Originate") == []


async def test_without_a_pbx_connection_the_dial_is_refused_with_a_clear_error() -> None:
    async with asyncio.timeout(20), FakeAmi(CHANNEL_ID) as fake:
        client = AmiClient(settings_for(fake), on_event=Observer().on_event)
        with pytest.raises(AmiNotConnectedError):
            await ClickToDial(client, RECORDED).dial("PJSIP/1001", "0555000111")


def test_settings_refuse_a_bad_context_or_caller_id() -> None:
    with pytest.raises(ValueError, match="context"):
        ClickToDialSettings(trunk_context="cust omers")
    with pytest.raises(ValueError, match="caller_id"):
        ClickToDialSettings(caller_id="Hotline\r\nAction: Hangup")
