"""`hotline demo` starting up as a newcomer sees it (issue 20): the seeding's details stay out of
sight, what fell due while the demo was not running (alerts, a birthday greeting) is sent and said
in one line each, and the banner with the address and the logins comes last."""

from __future__ import annotations

import asyncio
import logging
import re
import sys

import asyncpg
import pytest

from hotline.demo import run_demo
from hotline.logs import configure_logging
from hotline.settings import load_settings
from tests.conftest import eventually, free_port

pytestmark = pytest.mark.db

# The loggers `configure_logging` sets a level on besides the root.
TUNED_LOGGERS = ("cti.ami.wire", "ivr.agi.wire", "pgserver", "apscheduler", "aiohttp.access")


class Terminal:
    """What a newcomer's terminal shows: the log (stderr) and the banner (stdout), in order."""

    def __init__(self) -> None:
        self.text = ""

    def write(self, text: str) -> int:
        self.text += text
        return len(text)

    def flush(self) -> None:
        """Nothing is buffered."""


@pytest.fixture
def terminal(monkeypatch: pytest.MonkeyPatch) -> Terminal:
    """A terminal to show stdout and stderr in; the logging set-up is put back afterwards."""
    root = logging.getLogger()
    monkeypatch.setattr(root, "handlers", [])
    monkeypatch.setattr(root, "level", root.level)
    for name in TUNED_LOGGERS:
        monkeypatch.setattr(logging.getLogger(name), "level", logging.getLogger(name).level)
    return Terminal()


async def test_the_banner_comes_last_after_a_line_per_email_and_no_seeding_detail(
    empty_database_url: str, terminal: Terminal, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = load_settings(
        None,
        {
            "HOTLINE_DATABASE_URL": empty_database_url,
            "HOTLINE_SERVER_PORT": str(free_port()),
            "HOTLINE_IVR_PORT": str(free_port()),
        },
    )
    # Here, not in a fixture: pytest points stdout and stderr at its own capture before each test.
    monkeypatch.setattr(sys, "stdout", terminal)
    monkeypatch.setattr(sys, "stderr", terminal)
    configure_logging("INFO", "text")  # what `hotline demo` does first
    demo = asyncio.get_running_loop().create_task(run_demo(settings, calls_per_minute=1))
    try:
        await eventually(lambda: "Press Ctrl-C to stop" in terminal.text, timeout_s=60)
        # By the banner, everything that fell due was sent: nothing waits in either outbox.
        database = await asyncpg.connect(empty_database_url)
        try:
            waiting = await database.fetchval(
                "SELECT (SELECT count(*) FROM ticket_notices WHERE status = 'pending' AND next_attempt_at <= now())"
                " + (SELECT count(*) FROM alert_deliveries WHERE status = 'pending' AND next_attempt_at <= now())"
            )
        finally:
            await database.close()
    finally:
        demo.cancel()
        await asyncio.gather(demo, return_exceptions=True)
    before, _, after = re.split(
        r"(\n  Hotline demo is running at .*?Press Ctrl-C to stop.*?\n)", terminal.text, flags=re.S
    )
    # No line per seeded ticket, alert or article: one summary of the seeding.
    assert "INFO    hotline.demo: demo data seeded: 3 agents" in before
    assert not re.search(r"ticket \d+ opened|ticket \d+: \w+ by|alert \d+ raised|article \d+ ", before)
    # The escalation emails and the birthday greeting went out before the banner, a line each.
    emails = [line for line in before.splitlines() if "tickets.notify: email to" in line]
    assert any("escalated to team lead" in line for line in emails), before
    assert any("Happy birthday" in line for line in emails), before
    assert all(line.startswith("20") for line in before.splitlines()), "every line is one log record"
    assert len(before.splitlines()) <= 30, before
    assert waiting == 0
    # After the banner, none of the start-up's work: it was done before.
    assert "tickets." not in after, after
