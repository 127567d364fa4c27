"""The private PostgreSQL Hotline starts for itself when no HOTLINE_DATABASE_URL is given."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

log = logging.getLogger(__name__)


@dataclass
class EmbeddedPostgres:
    """A PostgreSQL server (from the `pgserver` wheel) with its data under `data_dir`."""

    data_dir: Path
    _server: Any = None

    async def start(self) -> str:
        """Start (or reuse) the server and return its connection URL (a Unix socket, no TCP port)."""
        from pgserver.postgres_server import get_server

        pgdata = self.data_dir / "pg"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        log.info("starting the embedded PostgreSQL in %s", pgdata)
        # pgserver blocks while initdb and pg_ctl run; keep the event loop free meanwhile.
        self._server = await asyncio.to_thread(get_server, pgdata, cleanup_mode="stop")
        uri: str = self._server.get_uri()
        return uri

    async def stop(self) -> None:
        """Stop the server; its data stays in place for the next start."""
        if self._server is not None:
            server, self._server = self._server, None
            await asyncio.to_thread(server.cleanup)
            log.info("embedded PostgreSQL stopped")
