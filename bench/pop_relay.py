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

import argparse
import asyncio
import contextlib
import json
import os
import signal

from aiohttp import WSMsgType, web

from cti.ami_client import AmiClient, AmiSettings
from cti.ami_protocol import AmiMessage, MessageKind
from cti.calls import normalise_interface

AMI_URL_ENV = "POP_RELAY_AMI_URL"


class PopRelay:
    """Forwards AgentCalled to the socket of the called interface, nothing more."""

    def __init__(self) -> None:
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.client: AmiClient | None = None
        # aiohttp's send_str is a coroutine; the tasks are kept so none is collected mid-send.
        self._sends: set[asyncio.Task[None]] = set()

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
        task = asyncio.get_running_loop().create_task(ws.send_str(frame, compress=False))
        self._sends.add(task)
        task.add_done_callback(self._sent)

    def _sent(self, task: asyncio.Task[None]) -> None:
        self._sends.discard(task)
        # A socket closing under a send is normal at the end of a run; fetching the exception
        # keeps asyncio from reporting it as never retrieved.
        if not task.cancelled():
            task.exception()

    async def socket(self, request: web.Request) -> web.WebSocketResponse:
        """GET /ws?interface=…: register the socket, greet it, and read until it closes."""
        interface = request.query.get("interface", "")
        ws = web.WebSocketResponse(heartbeat=20, compress=False)
        await ws.prepare(request)
        self.sockets[interface] = ws
        try:
            await ws.send_str('{"op":"hello"}', compress=False)
            async for message in ws:
                if message.type is WSMsgType.ERROR:
                    break
        finally:
            if self.sockets.get(interface) is ws:
                del self.sockets[interface]
        return ws

    async def health(self, request: web.Request) -> web.Response:
        """GET /api/health: `{"ami": "connected"|"disconnected"}`, as Hotline answers it."""
        connected = self.client is not None and self.client.connected
        return web.json_response({"ami": "connected" if connected else "disconnected"})


async def serve(port: int, ami: AmiSettings) -> None:
    """Serve on 127.0.0.1:`port` until SIGTERM or SIGINT, then close AMI and the web side."""
    await serve_app(PopRelay(), port, ami)


async def serve_app(relay: PopRelay, port: int, ami: AmiSettings) -> None:
    """Serve `relay` (a PopRelay or a subclass) until SIGTERM or SIGINT."""
    app = web.Application()
    app.router.add_get("/ws", relay.socket)
    app.router.add_get("/api/health", relay.health)
    client = relay.client = AmiClient(ami, on_event=relay.on_ami_event)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=2)
    await runner.setup()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    ami_task = loop.create_task(client.run())
    try:
        await web.TCPSite(runner, "127.0.0.1", port).start()
        await stop.wait()
    finally:
        ami_task.cancel()
        await asyncio.gather(ami_task, return_exceptions=True)
        with contextlib.suppress(TimeoutError):
            async with asyncio.timeout(5):
                await client.close()
        await runner.cleanup()


def main() -> None:
    """Parse the port, read the AMI URL from the environment, serve."""
    cli = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    cli.add_argument("--port", type=int, required=True, help="HTTP and WebSocket port on 127.0.0.1")
    args = cli.parse_args()
    asyncio.run(serve(args.port, AmiSettings.from_url(os.environ[AMI_URL_ENV])))


if __name__ == "__main__":
    main()
