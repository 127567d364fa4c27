"""Click-to-dial: call a customer from an agent's desktop with one AMI Originate.

The customer leg is dialled through the trunk context, as the dialer's calls are; when they
answer, the agent context (`outbound-agent` in config/asterisk/extensions_hotline_dialer.conf)
rings the agent named in `HOTLINE_AGENT`. The `ChannelId` names the call, so every event of it
(its Linkedid) maps back to this dial. Numbers and interfaces are checked here: CR/LF or
anything that is not a phone number never reaches Asterisk.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from cti.ami_client import AmiActions
from cti.campaigns import CALLER_ID_RE
from cti.errors import AmiInjectionError

# What a customer number may look like on the way to the trunk: digits, an optional leading +.
_NUMBER = re.compile(r"^\+?[0-9]{3,20}$")
# An agent interface as Asterisk names it (PJSIP/1001, Local/1001@agents, SIP/agent-7).
_INTERFACE = re.compile(r"^[A-Za-z0-9]+/[A-Za-z0-9@._+-]{1,80}$")
_CONTEXT = re.compile(r"^[A-Za-z0-9_-]{1,80}$")


@dataclass(frozen=True)
class ClickToDialSettings:
    """Through which contexts a click-to-dial call goes, and what the customer sees as caller id."""

    trunk_context: str = "customers"
    agent_context: str = "outbound-agent"
    caller_id: str = '"Hotline" <5550100>'
    ring_timeout_s: int = 20

    def __post_init__(self) -> None:
        if not (_CONTEXT.match(self.trunk_context) and _CONTEXT.match(self.agent_context)):
            raise ValueError("trunk_context and agent_context must be dialplan context names")
        if not CALLER_ID_RE.match(self.caller_id):
            raise ValueError('caller_id must be a number, optionally with a name: "Shop" <0281234567>')
        if not 5 <= self.ring_timeout_s <= 120:
            raise ValueError("ring_timeout_s must be 5..120")


def new_channel_id() -> str:
    """A fresh ChannelId for one click-to-dial call."""
    return f"ctd-{uuid.uuid4().hex[:24]}"


class ClickToDial:
    """Places an agent's outbound call to a number (AMI Originate, asynchronous)."""

    def __init__(
        self,
        ami: AmiActions,
        settings: ClickToDialSettings,
        channel_ids: Callable[[], str] = new_channel_id,
    ) -> None:
        self._ami = ami
        self._settings = settings
        self._channel_ids = channel_ids

    async def dial(self, interface: str, number: str) -> str:
        """Call `number` for the agent on `interface`; return the call's ChannelId.

        AmiInjectionError for a number or interface that could not be dialled safely; the AMI
        client's errors (not connected, refused, timeout) when the PBX does not take it.
        """
        if not _NUMBER.match(number):
            raise AmiInjectionError("number", "a phone number is digits with an optional leading +")
        if not _INTERFACE.match(interface):
            raise AmiInjectionError("interface", "not an agent interface such as PJSIP/1001")
        s = self._settings
        channel_id = self._channel_ids()
        await self._ami.action(
            "Originate",
            [
                ("Channel", f"Local/{number}@{s.trunk_context}"),
                ("Context", s.agent_context),
                ("Exten", "s"),
                ("Priority", "1"),
                ("Timeout", str(s.ring_timeout_s * 1000)),
                ("CallerID", s.caller_id),
                ("ChannelId", channel_id),
                ("OtherChannelId", f"{channel_id}-b"),
                ("Async", "true"),
                ("Variable", f"HOTLINE_AGENT={interface}"),
            ],
        )
        return channel_id
