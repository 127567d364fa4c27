"""The shipped dialplan snippet hands calls to the IVR the way the server and the menu expect."""

from __future__ import annotations

import re
from pathlib import Path

from hotline.settings import load_settings
from tests.recordings import FIXTURES

SNIPPET = (
    Path(__file__).resolve().parents[2] / "config" / "asterisk" / "extensions_hotline.conf"
).read_text()
LAB = FIXTURES / "lab-config" / "etc" / "extensions.conf"


def dialplan_lines(text: str) -> list[str]:
    return [line.split(";", 1)[0].strip() for line in text.splitlines() if line.split(";", 1)[0].strip()]


def test_the_snippet_calls_the_ivr_on_the_default_address_and_script() -> None:
    settings = load_settings(None, {})
    agi = [line for line in dialplan_lines(SNIPPET) if "AGI(" in line]
    fastagi = settings.ivr.fastagi
    assert agi == [f"same => n,AGI(agi://{fastagi.host}:{fastagi.port}/{settings.ivr.script})"]


def test_the_snippet_uses_the_variables_the_ivr_sets() -> None:
    lines = dialplan_lines(SNIPPET)
    assert "same => n(queue),Queue(${HOTLINE_QUEUE})" in lines
    assert any("${HOTLINE_HANDLER}" in line and "Dial(" in line for line in lines)
    flows = (Path(__file__).resolve().parents[2] / "ivr" / "flows.py").read_text()
    for name in ("QUEUE_PRIO", "HOTLINE_QUEUE", "HOTLINE_HANDLER", "__HOTLINE_CUSTOMER"):
        assert f'"{name}"' in flows
        assert name in SNIPPET


def test_the_lab_pbx_runs_the_same_agi_request() -> None:
    # The recordings were made with this dialplan: the snippet must ask for the same script.
    lab_agi = re.findall(r"AGI\((agi://[^)]+)\)", LAB.read_text())
    assert lab_agi == ["agi://127.0.0.1:4573/ivr"]
    assert f"AGI({lab_agi[0]})" in SNIPPET
