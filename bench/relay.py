"""The floors' shell: our AmiClient in front of bare WebSocket delivery, in a process of its own.

bench/pop_relay.py and bench/wallboard_relay.py are the baselines of the screen-pop and wallboard
benchmarks: each turns one AMI event into one small JSON frame for the sockets that must see it,
with no tracker, no database and no hub queues. What they share is here: the AMI login (the URL
in POP_RELAY_AMI_URL, so the secret stays out of the process list), the sockets registered by
interface, /api/health as Hotline answers it, and serving until SIGTERM.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import signal
from abc import ABC, abstractmethod

from aiohttp import WSMsgType, web

from cti.ami_client import AmiClient, AmiSettings
from cti.ami_protocol import AmiMessage

AMI_URL_ENV = "POP_RELAY_AMI_URL"


class Relay(ABC):
    """Sockets by interface and the AMI client; a floor says in `on_ami_event` what it forwards."""

    def __init__(self) -> None:
        self.sockets: dict[str, web.WebSocketResponse] = {}
        self.client: AmiClient | None = None
        # aiohttp's send_str is a coroutine; the tasks are kept so none is collected mid-send.
        self._sends: set[asyncio.Task[None]] = set()

    @abstractmethod
    def on_ami_event(self, message: AmiMessage) -> None:
        """One AMI message in; the floors forward the events they are the baseline for."""

    def send(self, ws: web.WebSocketResponse, frame: str) -> None:
        """Send one frame without waiting for it."""
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


async def serve_app(relay: Relay, port: int, ami: AmiSettings) -> None:
    """Serve `relay` on 127.0.0.1:`port` until SIGTERM or SIGINT, then close AMI and the web side."""
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


def main(relay: Relay, description: str) -> None:
    """Parse the port, read the AMI URL from the environment, serve `relay`."""
    cli = argparse.ArgumentParser(description=description)
    cli.add_argument("--port", type=int, required=True, help="HTTP and WebSocket port on 127.0.0.1")
    args = cli.parse_args()
    asyncio.run(serve_app(relay, args.port, AmiSettings.from_url(os.environ[AMI_URL_ENV])))
