"""The floor for bench/wallboard_fanout.py: one bare frame to every socket that must see an AgentConnect.

A minimal server in its own process: our AmiClient logs into the PBX, and every AgentConnect is
turned into one small JSON frame sent to the connected agent's socket and to every wallboard
socket. No agent-state tracker, no queue figures, no hub streams or buffers; what is left is
the AMI transport, the parse and the WebSocket fan-out that any live wallboard pays for.

Run by the benchmark as `python bench/wallboard_relay.py --port N` with POP_RELAY_AMI_URL set.
Agents connect to `/ws?interface=PJSIP/1000`, wallboards to `/ws?interface=` (empty).
"""

from __future__ import annotations

import json

import relay
from aiohttp import WSMsgType, web

from cti.ami_protocol import AmiMessage, MessageKind
from cti.calls import normalise_interface


class WallboardRelay(relay.Relay):
    """Forwards AgentConnect to the agent's socket and to every wallboard socket."""

    def __init__(self) -> None:
        super().__init__()
        self.wallboards: set[web.WebSocketResponse] = set()

    def on_ami_event(self, message: AmiMessage) -> None:
        """Relay one AgentConnect as an agent_state frame; every other event is dropped."""
        if message.kind is not MessageKind.EVENT or message.name != "AgentConnect":
            return
        interface = normalise_interface(message.get("Interface"))
        frame = json.dumps(
            {"op": "event", "type": "agent_state", "data": {"interface": interface, "state": "on_call"}}
        )
        targets = [*self.wallboards]
        agent = self.sockets.get(interface)
        if agent is not None:
            targets.append(agent)
        for ws in targets:
            self.send(ws, frame)

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        """Agents register by interface as in the pop relay; an empty interface is a wallboard."""
        if request.query.get("interface"):
            return await super().socket(request)
        ws = web.WebSocketResponse(heartbeat=20, compress=False)
        await ws.prepare(request)
        self.wallboards.add(ws)
        try:
            await ws.send_str('{"op":"hello"}', compress=False)
            async for message in ws:
                if message.type is WSMsgType.ERROR:
                    break
        finally:
            self.wallboards.discard(ws)
        return ws


if __name__ == "__main__":
    relay.main(WallboardRelay(), __doc__.splitlines()[0])
