"""The private PostgreSQL Hotline starts for itself when no HOTLINE_DATABASE_URL is given."""

from __future__ import annotations

import asyncio
import logging
import os
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
        pgdata = self.data_dir / "pg"
        pgdata.parent.mkdir(parents=True, exist_ok=True)
        # pgserver keeps a lock file in the user's runtime dir, read when it is imported;
        # headless machines often have no XDG_RUNTIME_DIR, so give it one beside the data.
        if not os.environ.get("XDG_RUNTIME_DIR"):
            runtime = (self.data_dir / "run").resolve()
            runtime.mkdir(mode=0o700, exist_ok=True)
            os.environ["XDG_RUNTIME_DIR"] = str(runtime)
        from pgserver.postgres_server import get_server

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
