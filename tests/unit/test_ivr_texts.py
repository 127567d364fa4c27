"""What the IVR hands a TTS application, and the timeline line of a visit."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from ivr import agi_protocol as agi
from ivr.flows import MAX_TTS_BYTES, IvrOutcome, IvrStep, IvrVisit, speech_text

AT = datetime(2026, 12, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("text", "spoken"),
    [
        ("Vào mục Hóa đơn,\nchọn Xuất.\r\n", "Vào mục Hóa đơn chọn Xuất."),
        ("a,b,,c", "a b c"),
        ('say "hi" \\ now', 'say "hi" \\ now'),
    ],
)
def test_speech_text_is_one_line_without_commas(text: str, spoken: str) -> None:
    assert speech_text(text) == spoken
    # and always fits one EXEC command
    agi.exec_application("Festival", speech_text(text))


def test_long_articles_are_cut_on_a_word_within_the_command_limit() -> None:
    body = "hóa đơn " * 1000
    spoken = speech_text(body)
    assert len(spoken.encode()) <= MAX_TTS_BYTES
    assert spoken.split()[-1] in ("hóa", "đơn")  # a whole word, never half a character
    assert len(agi.exec_application("Festival", spoken).line) <= agi.MAX_COMMAND_BYTES


def visit(outcome: IvrOutcome, **changes: object) -> IvrVisit:
    fields: dict[str, object] = {
        "call_id": "1.1",
        "unique_id": "1.2",
        "caller_number": "0901234567",
        "caller_name": "Jane",
        "customer_id": 7,
        "started_at": AT,
        "ended_at": AT,
        "steps": (IvrStep("welcome", "identify", "", "known_number"), IvrStep("main", "menu", "5", "chosen")),
        "outcome": outcome,
        "queue": None,
        "queue_priority": None,
        "category": None,
        "article_id": None,
        "article_title": None,
        "callback_requested": False,
        **changes,
    }
    return IvrVisit(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("made", "summary"),
    [
        (visit(IvrOutcome.HUNG_UP), "IVR: welcome > main [5]; hung up"),
        (
            visit(IvrOutcome.COMPLETED, callback_requested=True),
            "IVR: welcome > main [5]; asked for a callback; completed",
        ),
        (
            visit(IvrOutcome.QUEUED, queue="vip", queue_priority=10, article_title="Hóa đơn"),
            "IVR: welcome > main [5]; heard 'Hóa đơn'; queued to vip (priority 10)",
        ),
        (visit(IvrOutcome.FAILED, steps=()), "IVR: nothing; failed"),
    ],
)
def test_the_timeline_line_of_a_visit(made: IvrVisit, summary: str) -> None:
    assert made.summary() == summary
