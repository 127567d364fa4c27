"""The floor for bench/screen_pop_latency.py: one WebSocket frame out per AgentCalled in.

A minimal server in its own process: our AmiClient logs into the PBX, and every AgentCalled
event is turned into a small JSON frame for the socket registered for its interface. No call
tracker, no database lookup, no hub queues; what is left is the AMI transport, the parse and
the WebSocket delivery that any screen pop pays for.

Run by the benchmark as `python bench/pop_relay.py --port N` with POP_RELAY_AMI_URL set (the
AMI secret stays out of the process list). Agents connect to `/ws?interface=PJSIP/1000`;
`/api/health` says whether the AMI login is up.
"""

from __future__ import annotations

import json

import relay

from cti.ami_protocol import AmiMessage, MessageKind
from cti.calls import normalise_interface


class PopRelay(relay.Relay):
    """Forwards AgentCalled to the socket of the called interface, nothing more."""

    def on_ami_event(self, message: AmiMessage) -> None:
        """Relay one AgentCalled as a screen_pop frame; every other event is dropped."""
        if message.kind is not MessageKind.EVENT or message.name != "AgentCalled":
            return
        ws = self.sockets.get(normalise_interface(message.get("Interface") or message.get("DestChannel")))
        if ws is None:
            return
        frame = json.dumps(
            {
                "op": "event",
                "type": "screen_pop",
                "data": {
                    "call_id": message.get("Linkedid"),
                    "caller": {"number": message.get("CallerIDNum"), "name": message.get("CallerIDName")},
                },
            },
            ensure_ascii=False,
        )
        self.send(ws, frame)


if __name__ == "__main__":
    relay.main(PopRelay(), __doc__.splitlines()[0])
