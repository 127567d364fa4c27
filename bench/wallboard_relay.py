"""The floor for bench/wallboard_fanout.py: one bare frame to every socket that must see an AgentConnect.

A minimal server in its own process: our AmiClient logs into the PBX, and every AgentConnect is
turned into one small JSON frame sent to the connected agent's socket and to every wallboard
socket. No agent-state tracker, no queue figures, no hub streams or buffers; what is left is
the AMI transport, the parse and the WebSocket fan-out that any live wallboard pays for.

Run by the benchmark as `python bench/wallboard_relay.py --port N` with POP_RELAY_AMI_URL set.
Agents connect to `/ws?interface=PJSIP/1000`, wallboards to `/ws?interface=` (empty).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os

from aiohttp import WSMsgType, web
from pop_relay import AMI_URL_ENV, PopRelay, serve_app

from cti.ami_client import AmiSettings
from cti.ami_protocol import AmiMessage, MessageKind
from cti.calls import normalise_interface


class WallboardRelay(PopRelay):
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
        loop = asyncio.get_running_loop()
        for ws in targets:
            task = loop.create_task(ws.send_str(frame, compress=False))
            self._sends.add(task)
            task.add_done_callback(self._sent)

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


def main() -> None:
    """Parse the port, read the AMI URL from the environment, serve."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--port", type=int, required=True, help="HTTP and WebSocket port on 127.0.0.1")
    args = cli.parse_args()
    asyncio.run(serve_app(WallboardRelay(), args.port, AmiSettings.from_url(os.environ[AMI_URL_ENV])))


if __name__ == "__main__":
    main()
