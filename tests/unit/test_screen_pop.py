"""Screen-pop assembly: one lookup per call, per-call order kept, failures never lose a pop."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from cti.events import (
    CallAnswered,
    CallEnded,
    CallOffered,
    CallOutcome,
    OfferRetracted,
    QueueCallerAbandoned,
    RetractReason,
)
from cti.screen_pop import PopDetails, PopMessage, ScreenPop, ScreenPopService
from cti.store import IvrPathStep, IvrVisitRecord
from tests.conftest import eventually


@dataclass(frozen=True)
class Customer:
    id: int = 7
    customer_no: str | None = "C7"
    name: str = "Jane Doe"
    email: str | None = None
    tier: str = "gold"
    birthday: None = None
    phones: tuple[str, ...] = ("+84901234567",)


@dataclass(frozen=True)
class Interaction:
    occurred_at: datetime = datetime(2026, 11, 1, tzinfo=UTC)
    channel: str = "call"
    summary: str = "asked about an invoice"


@dataclass(frozen=True)
class Card:
    customer: Customer = Customer()
    interactions: tuple[Interaction, ...] = (Interaction(),)


@dataclass
class Lookup:
    gate: asyncio.Event = field(default_factory=asyncio.Event)
    calls: list[str] = field(default_factory=list)
    fail: bool = False

    async def caller_card(self, raw_number: str) -> Card | None:
        self.calls.append(raw_number)
        await self.gate.wait()
        if self.fail:
            raise ConnectionError("database went away")
        return Card() if raw_number == "0901234567" else None


@dataclass
class Sink:
    sent: list[tuple[frozenset[str], PopMessage]] = field(default_factory=list)

    def send(self, interfaces: object, message: PopMessage) -> None:
        self.sent.append((frozenset(interfaces), message))  # type: ignore[arg-type]


@dataclass
class Recorder:
    recorded: list[tuple[CallEnded, Card | None]] = field(default_factory=list)
    failures_left: int = 0
    attempts: int = 0

    async def record_call(self, ended: CallEnded, card: Card | None) -> None:
        self.attempts += 1
        if self.failures_left:
            self.failures_left -= 1
            raise ConnectionError("the database went away")
        self.recorded.append((ended, card))


def offered(iface: str, call: str = "1.0", number: str = "0901234567") -> CallOffered:
    return CallOffered(call, iface, "support", number, "Jane Doe", 100.0)


def ended(call: str = "1.0", iface: str | None = "Local/1001@agents") -> CallEnded:
    outcome = CallOutcome.ANSWERED if iface else CallOutcome.ABANDONED
    return CallEnded(
        call, "0901234567", "Jane Doe", "support", iface, outcome, "16", 2, 30, 100.0, 102.0, 132.0
    )


async def test_answer_arriving_during_the_lookup_waits_for_the_pop() -> None:
    lookup, sink, recorder = Lookup(), Sink(), Recorder()
    service = ScreenPopService(lookup, sink, recorder)
    service.handle(offered("Local/1001@agents"))
    service.handle(CallAnswered("1.0", "Local/1001@agents", "support", "0901234567", 2, 102.0))
    service.handle(ended())
    await asyncio.sleep(0)
    assert sink.sent == []
    lookup.gate.set()
    async with asyncio.timeout(5):
        await eventually(lambda: len(recorder.recorded) == 1)
    kinds = [type(m).__name__ for _, m in sink.sent]
    assert kinds == ["ScreenPop", "CallAnswered", "CallEnded"]
    pop = sink.sent[0][1]
    assert isinstance(pop, ScreenPop)
    assert pop.card == Card()
    assert recorder.recorded[0][1] == Card()
    assert service.calls_in_progress == 0
    await service.close()


async def test_ring_all_looks_the_caller_up_once_and_retracts_only_the_loser() -> None:
    lookup, sink = Lookup(), Sink()
    lookup.gate.set()
    service = ScreenPopService(lookup, sink, Recorder())
    service.handle(offered("Local/2001@agents"))
    service.handle(offered("Local/2002@agents"))
    async with asyncio.timeout(5):
        await eventually(lambda: len(sink.sent) == 2)
    service.handle(OfferRetracted("1.0", "Local/2002@agents", RetractReason.ANSWERED_ELSEWHERE))
    service.handle(CallAnswered("1.0", "Local/2001@agents", "support", "0901234567", 2, 102.0))
    async with asyncio.timeout(5):
        await eventually(lambda: len(sink.sent) == 4)
    assert lookup.calls == ["0901234567"]
    assert {next(iter(i)) for i, m in sink.sent[:2]} == {"Local/2001@agents", "Local/2002@agents"}
    assert sink.sent[2] == (
        frozenset({"Local/2002@agents"}),
        OfferRetracted("1.0", "Local/2002@agents", RetractReason.ANSWERED_ELSEWHERE),
    )
    assert sink.sent[3][0] == frozenset({"Local/2001@agents"})
    await service.close()


async def test_failed_lookup_still_pops_as_unknown_caller(caplog: pytest.LogCaptureFixture) -> None:
    lookup, sink = Lookup(fail=True), Sink()
    lookup.gate.set()
    service = ScreenPopService(lookup, sink, Recorder())
    service.handle(offered("Local/1001@agents"))
    async with asyncio.timeout(5):
        await eventually(lambda: len(sink.sent) == 1)
    pop = sink.sent[0][1]
    assert isinstance(pop, ScreenPop)
    assert pop.card is None
    assert "customer lookup for caller '0901234567' failed" in caplog.text
    await service.close()


async def test_abandoned_call_without_offers_is_still_recorded() -> None:
    lookup, sink, recorder = Lookup(), Sink(), Recorder()
    lookup.gate.set()
    service = ScreenPopService(lookup, sink, recorder)
    service.handle(QueueCallerAbandoned("2.0", "support", 1, 1, 5))
    service.handle(ended("2.0", iface=None))
    async with asyncio.timeout(5):
        await eventually(lambda: len(recorder.recorded) == 1)
    assert sink.sent == []
    assert recorder.recorded[0][0].outcome is CallOutcome.ABANDONED
    await service.close()


async def test_events_of_unknown_calls_are_ignored() -> None:
    sink = Sink()
    service = ScreenPopService(Lookup(), sink, Recorder())
    service.handle(CallAnswered("9.9", "Local/1001@agents", None, "1", 0, 1.0))
    service.handle(OfferRetracted("9.9", "Local/1001@agents", RetractReason.NO_ANSWER))
    assert sink.sent == []
    assert service.calls_in_progress == 0
    await service.close()


async def test_a_call_log_write_that_fails_is_retried_until_the_database_is_back(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lookup, recorder = Lookup(), Recorder(failures_left=2)
    lookup.gate.set()
    service = ScreenPopService(lookup, Sink(), recorder, record_retry_delays_s=(0, 0, 0))
    service.handle(ended())
    async with asyncio.timeout(5):
        await eventually(lambda: len(recorder.recorded) == 1)
    assert recorder.attempts == 3
    assert caplog.text.count("storing call 1.0 failed (the database went away); retrying") == 2
    await service.close()


async def test_a_call_that_cannot_be_stored_is_named_in_the_log(caplog: pytest.LogCaptureFixture) -> None:
    lookup, recorder = Lookup(), Recorder(failures_left=10)
    lookup.gate.set()
    service = ScreenPopService(lookup, Sink(), recorder, record_retry_delays_s=(0, 0))
    service.handle(ended())
    async with asyncio.timeout(5):
        await eventually(lambda: "NOT stored" in caplog.text)
    assert recorder.attempts == 3
    assert "call 1.0 was NOT stored in the call log after 3 attempts" in caplog.text
    await service.close()


@dataclass(frozen=True)
class Suggestion:
    article_id: int
    title: str
    body: str = "Vào mục Hóa đơn."
    category: str = "billing"


@dataclass
class Topics:
    asked: list[int] = field(default_factory=list)

    async def open_categories(self, customer_id: int) -> list[str]:
        self.asked.append(customer_id)
        return ["technical", "billing"] if customer_id == 7 else []


@dataclass
class GatedTopics(Topics):
    gate: asyncio.Event = field(default_factory=asyncio.Event)

    async def open_categories(self, customer_id: int) -> list[str]:
        await self.gate.wait()
        return await super().open_categories(customer_id)


@dataclass
class Answers:
    asked: list[tuple[list[str], int]] = field(default_factory=list)
    fail: bool = False

    async def suggestions(self, categories: Sequence[str], *, limit: int) -> list[Suggestion]:
        self.asked.append((list(categories), limit))
        if self.fail:
            raise ConnectionError("the database went away")
        return [Suggestion(1, " then ".join(categories))]


@dataclass
class IvrVisits:
    chosen: dict[str, str]

    async def latest_for_call(self, call_id: str, caller_number: str) -> IvrVisitRecord | None:
        if call_id not in self.chosen:
            return None
        at = datetime(2026, 11, 1, tzinfo=UTC)
        steps = (IvrPathStep("faq_billing", "faq_category", "", "read 1 of 1"),)
        return IvrVisitRecord(
            call_id,
            call_id,
            caller_number,
            "",
            7,
            at,
            at,
            steps,
            "queued",
            "support",
            5,
            self.chosen[call_id],
            1,
            "t",
            False,
        )


async def test_suggestions_for_the_caller_and_their_ivr_choice_follow_the_pop_to_its_cards() -> None:
    lookup, sink, topics, answers = Lookup(), Sink(), Topics(), Answers()
    service = ScreenPopService(
        lookup, sink, Recorder(), topics=topics, answers=answers, ivr_visits=IvrVisits({"1.0": "security"})
    )
    lookup.gate.set()
    service.handle(offered("Local/1001@agents"))
    service.handle(offered("Local/1002@agents"))
    service.handle(offered("Local/1001@agents", call="2.0", number="0999"))
    async with asyncio.timeout(5):
        await eventually(lambda: len(sink.sent) == 5)
    # Each card gets its pop first, then the details (none for the unknown caller who skipped the IVR).
    for interface in ("Local/1001@agents", "Local/1002@agents"):
        mine = [m for to, m in sink.sent if interface in to and m.call_id == "1.0"]
        assert [type(m).__name__ for m in mine] == ["ScreenPop", "PopDetails"]
        details = mine[1]
        assert isinstance(details, PopDetails)
        assert [s.title for s in details.suggestions] == ["security then technical then billing"]
        assert details.ivr is not None
        assert details.ivr.category == "security"
    assert [type(m).__name__ for _, m in sink.sent if m.call_id == "2.0"] == ["ScreenPop"]
    # One question per call, however many agents it rings; an unknown caller with no IVR choice: none.
    assert topics.asked == [7]
    assert answers.asked == [(["security", "technical", "billing"], 3)]
    await service.close()


async def test_the_pop_never_waits_for_its_details_and_a_later_offer_gets_them_at_once() -> None:
    lookup, sink, answers, topics = Lookup(), Sink(), Answers(), GatedTopics()
    service = ScreenPopService(lookup, sink, Recorder(), topics=topics, answers=answers)
    lookup.gate.set()
    alice, bob = "Local/1001@agents", "Local/1002@agents"
    service.handle(offered(alice))
    async with asyncio.timeout(5):
        await eventually(lambda: len(sink.sent) == 1)
    assert isinstance(sink.sent[0][1], ScreenPop)
    topics.gate.set()
    async with asyncio.timeout(5):
        await eventually(lambda: len(sink.sent) == 2)
    assert sink.sent[1] == (frozenset({alice}), service.open_pops([alice])[0].details)
    service.handle(offered(bob))
    async with asyncio.timeout(5):
        await eventually(lambda: len(sink.sent) == 4)
    assert [(to, type(m).__name__) for to, m in sink.sent[2:]] == [
        (frozenset({bob}), "ScreenPop"),
        (frozenset({bob}), "PopDetails"),
    ]
    # The details of a card that was retracted meanwhile go nowhere.
    service.handle(OfferRetracted("1.0", bob, RetractReason.ANSWERED_ELSEWHERE))
    async with asyncio.timeout(5):
        await eventually(lambda: len(sink.sent) == 5)
    service.show([alice, bob], sink.sent[1][1])
    assert sink.sent[-1][0] == frozenset({alice})
    await service.close()


@pytest.mark.parametrize(
    ("customer_id", "ivr_category", "categories"),
    [
        (7, "security", ["security", "technical", "billing"]),  # what the caller chose leads
        (7, None, ["technical", "billing"]),
        (None, "security", ["security"]),
        (8, None, None),  # nothing to go on: the knowledge base is not asked
        (None, None, None),
    ],
)
async def test_suggestions_ask_for_the_ivr_choice_first_then_the_open_tickets(
    customer_id: int | None, ivr_category: str | None, categories: list[str] | None
) -> None:
    answers = Answers()
    service = ScreenPopService(Lookup(), Sink(), Recorder(), topics=Topics(), answers=answers)
    found = await service.suggestions(customer_id, ivr_category)
    assert answers.asked == ([(categories, 3)] if categories else [])
    assert [s.title for s in found] == ([" then ".join(categories)] if categories else [])


async def test_failing_suggestions_never_hold_or_lose_the_pop_or_its_ivr_path() -> None:
    lookup, sink = Lookup(), Sink()
    service = ScreenPopService(
        lookup,
        sink,
        Recorder(),
        topics=Topics(),
        answers=Answers(fail=True),
        ivr_visits=IvrVisits({"1.0": "security"}),
    )
    lookup.gate.set()
    service.handle(offered("Local/1001@agents"))
    async with asyncio.timeout(5):
        await eventually(lambda: len(sink.sent) == 2)
    (_, pop), (_, details) = sink.sent
    assert isinstance(pop, ScreenPop)
    assert pop.card is not None
    assert isinstance(details, PopDetails)
    assert details.suggestions == ()
    assert details.ivr is not None
    await service.close()


async def test_the_pops_left_open_on_each_interface_are_kept_for_a_reconnecting_desktop() -> None:
    lookup, sink = Lookup(), Sink()
    lookup.gate.set()
    service = ScreenPopService(lookup, sink, Recorder())
    alice, bob = "Local/1001@agents", "Local/1002@agents"
    service.handle(offered(alice))
    service.handle(offered(bob))
    service.handle(offered(bob, call="2.0", number="0909999999"))
    async with asyncio.timeout(5):
        await eventually(lambda: len(sink.sent) == 3)
    assert [(p.pop.call_id, p.answered) for p in service.open_pops([alice, bob])] == [
        ("1.0", False),
        ("1.0", False),
        ("2.0", False),
    ]
    # Alice answers: her pop stays (answered), Bob's goes; his other call is still ringing.
    service.handle(CallAnswered("1.0", alice, "support", "0901234567", 2, 102.0))
    async with asyncio.timeout(5):
        await eventually(lambda: len(sink.sent) == 4)
    assert [(p.pop.call_id, p.answered) for p in service.open_pops([alice])] == [("1.0", True)]
    assert [p.pop.call_id for p in service.open_pops([bob])] == ["2.0"]
    service.handle(OfferRetracted("2.0", bob, RetractReason.CALLER_LEFT))
    service.handle(ended())
    async with asyncio.timeout(5):
        await eventually(lambda: len(sink.sent) == 6)
    assert service.open_pops([alice, bob]) == []
    await service.close()
