"""Campaign rules: OriginateResponse outcomes from the recorded transcripts, retries, calling windows."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from cti.ami_protocol import AmiParser
from cti.campaigns import (
    CampaignSpec,
    DialMethod,
    DialOutcome,
    RetryPolicy,
    dial_outcome,
    in_calling_window,
    originate_result,
)
from cti.errors import InvalidCampaignError
from tests.recordings import server_stream


def originate_responses(transcript: str) -> list[tuple[str, str, str]]:
    """(Response, Reason, Uniqueid) of every OriginateResponse Asterisk sent in a recording."""
    messages = AmiParser().feed(server_stream(transcript))
    return [
        (m.get("Response"), m.get("Reason"), m.get("Uniqueid"))
        for m in messages
        if m.name == "OriginateResponse"
    ]


def test_channel_id_comes_back_as_uniqueid_on_success_and_on_failure() -> None:
    messages = [m for m in AmiParser().feed(server_stream("ami_d5_originate_channelid.txt"))]
    results = [r for r in map(originate_result, messages) if r is not None]
    assert [(r.channel_id, r.outcome) for r in results] == [
        ("cti-0001", DialOutcome.ANSWERED),
        ("cti-0002", DialOutcome.BUSY),
    ]
    assert results[0].channel == "Local/0555000111@customers-00000000;1"


@pytest.mark.parametrize(
    ("transcript", "expected"),
    [
        ("ami_d1_originate_answered.txt", [DialOutcome.ANSWERED]),
        ("ami_d2_originate_busy.txt", [DialOutcome.BUSY]),
        ("ami_d3_originate_noanswer.txt", [DialOutcome.NO_ANSWER]),
        ("ami_d4_originate_errors.txt", [DialOutcome.FAILED, DialOutcome.FAILED]),
    ],
)
def test_recorded_reasons_map_to_outcomes(transcript: str, expected: list[DialOutcome]) -> None:
    seen = [dial_outcome(response, reason) for response, reason, _ in originate_responses(transcript)]
    assert seen == expected


def test_an_answer_reason_on_a_failure_response_is_a_failure() -> None:
    assert dial_outcome("Failure", "4") is DialOutcome.FAILED


def test_responses_without_our_channel_id_are_not_ours() -> None:
    # d1..d4 were sent without ChannelId: Uniqueid is Asterisk's own or <unknown>.
    for transcript in (
        "ami_d2_originate_busy.txt",
        "ami_d3_originate_noanswer.txt",
        "ami_d4_originate_errors.txt",
    ):
        messages = AmiParser().feed(server_stream(transcript))
        assert [originate_result(m) for m in messages if m.name == "OriginateResponse"] == [None] * len(
            originate_responses(transcript)
        )


def test_other_messages_are_ignored() -> None:
    messages = AmiParser().feed(server_stream("ami_d5_originate_channelid.txt"))
    assert all(originate_result(m) is None for m in messages if m.name != "OriginateResponse")


NOW = datetime(2026, 12, 1, 10, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("outcome", "attempts", "expected"),
    [
        (DialOutcome.BUSY, 1, NOW + timedelta(seconds=600)),
        (DialOutcome.NO_ANSWER, 1, NOW + timedelta(seconds=3600)),
        (DialOutcome.FAILED, 2, NOW + timedelta(seconds=1800)),
        (DialOutcome.MACHINE, 1, NOW + timedelta(seconds=7200)),
        (DialOutcome.BUSY, 3, None),
        (DialOutcome.ANSWERED, 1, None),
    ],
)
def test_retry_delay_per_outcome_until_attempts_run_out(
    outcome: DialOutcome, attempts: int, expected: datetime | None
) -> None:
    assert RetryPolicy(max_attempts=3).next_attempt_at(outcome, attempts, NOW) == expected


@pytest.mark.parametrize(
    ("local", "start", "end", "inside"),
    [
        (time(8, 0), time(8, 0), time(21, 0), True),
        (time(21, 0), time(8, 0), time(21, 0), False),
        (time(7, 59), time(8, 0), time(21, 0), False),
        (time(23, 0), time(22, 0), time(2, 0), True),
        (time(1, 59), time(22, 0), time(2, 0), True),
        (time(12, 0), time(22, 0), time(2, 0), False),
    ],
)
def test_calling_window(local: time, start: time, end: time, inside: bool) -> None:
    assert in_calling_window(local, start, end) is inside


def test_a_bad_campaign_lists_every_problem() -> None:
    with pytest.raises(InvalidCampaignError) as caught:
        CampaignSpec(
            name="",
            queue="sales queue",
            dial_method=DialMethod.PREDICTIVE,
            caller_id="0281234567\r\nAction: Hangup",
            window_start=time(9),
            window_end=time(9),
            abandon_cap=0.5,
        )
    assert len(caught.value.problems) == 5
    assert any("caller_id" in p for p in caught.value.problems)
