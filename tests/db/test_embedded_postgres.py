"""The embedded PostgreSQL path of `make run`: starts, migrates, keeps data across restarts."""

from __future__ import annotations

from pathlib import Path

import asyncpg
import pytest

from hotline.db import migrate
from hotline.embedded_pg import EmbeddedPostgres

pytestmark = pytest.mark.db


@pytest.mark.timeout(120)
async def test_embedded_postgres_starts_migrates_and_keeps_data(tmp_path: Path) -> None:
    embedded = EmbeddedPostgres(tmp_path / "var")
    url = await embedded.start()
    try:
        conn = await asyncpg.connect(url)
        try:
            assert await migrate(conn)
            await conn.execute("INSERT INTO customers (name) VALUES ('Kept Across Restarts')")
        finally:
            await conn.close()
    finally:
        await embedded.stop()

    again = EmbeddedPostgres(tmp_path / "var")
    url = await again.start()
    try:
        conn = await asyncpg.connect(url)
        try:
            assert await migrate(conn) == []
            assert await conn.fetchval("SELECT name FROM customers") == "Kept Across Restarts"
        finally:
            await conn.close()
    finally:
        await again.stop()
