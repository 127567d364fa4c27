"""The `hotline` command: configuration errors, migrations, accounts and customer import."""

from __future__ import annotations

import asyncio
import io
import logging
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from hotline.cli import EXIT_CONFIG, main

pytestmark = pytest.mark.db


@pytest.fixture(autouse=True)
def restore_logging() -> Iterator[None]:
    """`main` configures the root logger for a real process; put pytest's back afterwards."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def database(app_database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> str:
    monkeypatch.setenv("HOTLINE_DATABASE_URL", app_database_url)
    monkeypatch.chdir(tmp_path)
    return app_database_url


async def fetch(url: str, query: str) -> list[asyncpg.Record]:
    conn = await asyncpg.connect(url)
    try:
        return await conn.fetch(query)
    finally:
        await conn.close()


def test_a_bad_configuration_exits_2_listing_every_problem(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("HOTLINE_SERVER_PORT", "eighty")
    monkeypatch.setenv("HOTLINE_AMI_URL", "http://pbx")
    monkeypatch.setenv("HOTLINE_DATABSE_URL", "typo")
    assert main(["migrate"]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert "HOTLINE_SERVER_PORT" in err
    assert "HOTLINE_AMI_URL" in err
    assert "unknown environment variable HOTLINE_DATABSE_URL" in err


def test_migrate_then_add_and_list_an_agent(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    assert "database is up to date" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("a-good-password\n"))
    args = ["agents", "add", "--username", "cli-agent", "--display-name", "Cli Agent", "--role", "supervisor"]
    assert main([*args, "--interface", "PJSIP/7001", "--password-stdin"]) == 0
    assert "created supervisor cli-agent ringing on PJSIP/7001" in capsys.readouterr().out
    assert main(["agents", "list"]) == 0
    assert "cli-agent" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("short\n"))
    assert main(["agents", "add", "--username", "x y", "--password-stdin"]) == 1
    err = capsys.readouterr().err
    assert "username:" in err
    assert "password:" in err


def test_customer_import_prints_the_report(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    csv_file = tmp_path / "customers.csv"
    csv_file.write_text(
        "customer_no,name,phone,email,tier,birthday\nCLI1,Lê Minh Đức,0934567890,,vip,\nCLI2,No Phone,,,,\n",
        "utf-8",
    )
    assert main(["customers", "import", str(csv_file)]) == 1
    out = capsys.readouterr().out
    assert "1 customers created, 0 updated, 1 rows rejected" in out
    assert "line 3: phone: at least one phone number is required" in out
    assert main(["customers", "import", str(tmp_path / "missing.csv")]) == 1
    assert "cannot read" in capsys.readouterr().err


def test_agents_handle_sets_department_skills_and_capacity(
    database: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["migrate"]) == 0
    monkeypatch.setattr("sys.stdin", io.StringIO("a-good-password\n"))
    assert main(["agents", "add", "--username", "handler-1", "--password-stdin"]) == 0
    capsys.readouterr()
    args = ["agents", "handle", "--username", "handler-1", "--department", " billing  desk "]
    assert main([*args, "--skill", "billing", "--skill", "account", "--capacity", "7"]) == 0
    assert (
        "handler-1 handles account, billing in billing desk, up to 7 open tickets" in capsys.readouterr().out
    )
    rows = asyncio.run(
        fetch(
            database,
            "SELECT h.department, h.skills, h.capacity FROM ticket_handlers h"
            " JOIN agents a ON a.id = h.agent_id WHERE a.username = 'handler-1'",
        )
    )
    assert [(r["department"], r["skills"], r["capacity"]) for r in rows] == [
        ("billing desk", ["account", "billing"], 7)
    ]
    assert main([*args, "--skill", "astrology", "--capacity", "-1"]) == 1
    err = capsys.readouterr().err
    assert "skills: unknown categories astrology" in err
    assert "capacity: 0..1000" in err
    assert main(["agents", "handle", "--username", "nobody", "--department", "x"]) == 1
    assert "there is no account 'nobody'" in capsys.readouterr().err


async def test_campaign_lead_import_prints_the_report(
    database: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    conn = await asyncpg.connect(database)
    try:
        campaign_id = await conn.fetchval(
            "INSERT INTO campaigns (name, queue, dial_method, caller_id, window_start, window_end, max_attempts,"
            " retry_busy_s, retry_no_answer_s, retry_failed_s, retry_machine_s, dial_context, drop_action,"
            " drop_message_context, abandon_cap, dial_timeout_s) VALUES ('CLI campaign', 'sales', 'predictive',"
            " '0281234567', '08:00', '21:00', 3, 600, 3600, 1800, 7200, 'outbound-agent', 'hangup',"
            " 'outbound-drop', 0.03, 25) RETURNING id"
        )
    finally:
        await conn.close()
    csv_file = tmp_path / "leads.csv"
    csv_file.write_text("phone,name\n0934567890,Lê Minh Đức\n0934567891,Le Minh Duc\nabc,Nobody\n", "utf-8")
    exit_code = await asyncio.to_thread(main, ["campaigns", "import-leads", str(campaign_id), str(csv_file)])
    assert exit_code == 1
    out = capsys.readouterr().out
    assert "1 leads added, 0 updated, 1 merged as duplicates, 1 refused" in out
    assert "line 3: merged into line 2" in out
    assert await asyncio.to_thread(main, ["campaigns", "list"]) == 0
    assert "CLI campaign" in capsys.readouterr().out
    assert await asyncio.to_thread(main, ["campaigns", "import-leads", "999999", str(csv_file)]) == 1
    assert "campaign 999999 does not exist" in capsys.readouterr().err
