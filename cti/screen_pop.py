"""Screen-pop assembly: turns call events into pops and updates for the agents whose phones ring.

The caller is looked up once per call (one round trip to Postgres through the `CallerLookup`
port) and the result is reused for every agent the call rings (ring-all, retries). Messages for
one call always leave in the order the PBX produced the events, even though the lookup is
asynchronous: an answer that arrives while the lookup is still running waits for the pop.
The pop waits for nothing else: the IVR path and the suggested answers follow it to the open
card as `PopDetails` when they are known, so they never hold the ringing agent's screen.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Collection, Coroutine, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Any, Protocol, TypeVar

from cti.events import CallAnswered, CallEnded, CallEvent, CallOffered, OfferRetracted, QueueCallerAbandoned
from cti.store import IvrVisitRecord

log = logging.getLogger(__name__)
_T = TypeVar("_T")
# Covers a database restart or failover of about half a minute.
RECORD_RETRY_DELAYS_S = (0.5, 2.0, 5.0, 10.0, 15.0)
# Answers shown on a pop.
SUGGESTIONS = 3


class InteractionLike(Protocol):
    """One past contact with the customer, as the pop shows it."""

    @property
    def occurred_at(self) -> datetime: ...
    @property
    def channel(self) -> str: ...
    @property
    def summary(self) -> str: ...


class CustomerLike(Protocol):
    """The customer fields a pop shows."""

    @property
    def id(self) -> int: ...
    @property
    def customer_no(self) -> str | None: ...
    @property
    def name(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def tier(self) -> str: ...
    @property
    def birthday(self) -> date | None: ...
    @property
    def phones(self) -> tuple[str, ...]: ...


class CallerCardLike(Protocol):
    """A known caller and their latest interactions."""

    @property
    def customer(self) -> CustomerLike: ...
    @property
    def interactions(self) -> Sequence[InteractionLike]: ...


class CallerLookup(Protocol):
    """Port: find the customer behind a raw caller number, with their recent history."""

    async def caller_card(self, raw_number: str) -> CallerCardLike | None:
        """The caller's card, or None for an unknown or unusable number."""
        ...


class IvrVisitLookup(Protocol):
    """Port: what the caller did in the IVR before the queue (by the call's Linkedid)."""

    async def latest_for_call(self, call_id: str, caller_number: str) -> IvrVisitRecord | None:
        """The call's latest IVR visit (by Linkedid, else the caller's hand-off), or None."""
        ...


class SuggestionLike(Protocol):
    """An answer from the knowledge base the agent may need on this call."""

    @property
    def article_id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def category(self) -> str: ...


class OpenTopics(Protocol):
    """Port: what a known caller's open tickets are about (the tickets' service)."""

    async def open_categories(self, customer_id: int) -> Sequence[str]:
        """The categories of the customer's open tickets, most recently changed first."""
        ...


class Answers(Protocol):
    """Port: the most read answers of some categories (the knowledge base)."""

    async def suggestions(self, categories: Sequence[str], *, limit: int) -> Sequence[SuggestionLike]:
        """Answers for these categories, the first category's first."""
        ...


@dataclass(frozen=True, slots=True)
class ScreenPop:
    """What a ringing agent sees first: the caller, the customer and their history."""

    call_id: str
    queue: str | None
    caller_number: str
    caller_name: str
    offered_at: float
    card: CallerCardLike | None


@dataclass(frozen=True, slots=True)
class PopDetails:
    """What follows a pop to its open card: the caller's IVR path and the answers they may need."""

    call_id: str
    suggestions: tuple[SuggestionLike, ...] = ()
    ivr: IvrVisitRecord | None = None


PopMessage = ScreenPop | PopDetails | OfferRetracted | CallAnswered | CallEnded


class PopSink(Protocol):
    """Port: deliver a message to the agents signed in on the given interfaces."""

    def send(self, interfaces: Collection[str], message: PopMessage) -> None:
        """Queue `message` for every socket of the agents owning `interfaces`."""
        ...


@dataclass(frozen=True, slots=True)
class OpenPop:
    """A pop still on an agent's screen: ringing, or answered on their phone; not yet retracted or ended."""

    pop: ScreenPop
    answered: bool = False
    details: PopDetails | None = None


class CallRecorder(Protocol):
    """Port: keep the call log (and the customer's timeline) when a call ends."""

    async def record_call(self, ended: CallEnded, card: CallerCardLike | None) -> None:
        """Store one finished call."""
        ...


@dataclass
class _CallState:
    card: asyncio.Task[CallerCardLike | None] | None = None
    details: asyncio.Task[PopDetails | None] | None = None
    offered: set[str] | None = None
    tail: asyncio.Task[None] | None = None


class ScreenPopService:
    """Routes call events to the right agents, in order, with one customer lookup per call."""

    def __init__(
        self,
        lookup: CallerLookup,
        sink: PopSink,
        recorder: CallRecorder,
        *,
        record_retry_delays_s: Sequence[float] = RECORD_RETRY_DELAYS_S,
        topics: OpenTopics | None = None,
        answers: Answers | None = None,
        ivr_visits: IvrVisitLookup | None = None,
    ) -> None:
        self._lookup = lookup
        self._topics = topics
        self._answers = answers
        self._ivr_visits = ivr_visits
        self._sink = sink
        self._recorder = recorder
        self._retry_delays_s = tuple(record_retry_delays_s)
        self._calls: dict[str, _CallState] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        # Per interface, the pops on its agent's screen by call id (what a reconnecting desktop shows).
        self._open: dict[str, dict[str, OpenPop]] = {}

    def handle(self, event: CallEvent) -> None:
        """Take one call event from the tracker; never blocks the AMI reader."""
        if isinstance(event, QueueCallerAbandoned):
            return
        state = self._calls.get(event.call_id)
        if state is None:
            if not isinstance(event, CallOffered | CallEnded):
                return
            state = self._calls[event.call_id] = _CallState()
        # The first offer looks the caller up; a call that ends unoffered still needs it for the log.
        if isinstance(event, CallOffered | CallEnded) and state.card is None:
            state.card = self._spawn(self._lookup_caller(event.caller_number))
        if (
            isinstance(event, CallOffered)
            and state.card is not None
            and state.details is None
            and (self._ivr_visits is not None or self._answers is not None)
        ):
            state.details = self._spawn(self._details(state, state.card, event))
        if state.tail is None and not isinstance(event, CallOffered | CallEnded):
            self._dispatch(state, event, None)
            return
        state.tail = self._spawn(self._after(state.tail, state, event))

    def show(self, interfaces: Collection[str], message: PopMessage) -> None:
        """Send a pop message to the agents on `interfaces`, keeping track of the pops left open."""
        call_id = message.call_id
        if isinstance(message, PopDetails):
            # Only to the cards still open: a retracted or ended pop has nothing to show them on.
            interfaces = [i for i in interfaces if call_id in self._open.get(i, {})]
            for interface in interfaces:
                cards = self._open[interface]
                cards[call_id] = replace(cards[call_id], details=message)
            if interfaces:
                self._sink.send(interfaces, message)
            return
        for interface in interfaces:
            if isinstance(message, ScreenPop):
                self._open.setdefault(interface, {})[call_id] = OpenPop(message)
                continue
            pops = self._open.get(interface)
            if pops is None or call_id not in pops:
                continue
            if isinstance(message, CallAnswered) and message.interface == interface:
                pops[call_id] = replace(pops[call_id], answered=True)
            else:
                del pops[call_id]
                if not pops:
                    del self._open[interface]
        self._sink.send(interfaces, message)

    def open_pops(self, interfaces: Collection[str]) -> list[OpenPop]:
        """The pops open on these interfaces, oldest first per interface."""
        return [pop for interface in interfaces for pop in self._open.get(interface, {}).values()]

    @property
    def calls_in_progress(self) -> int:
        """Calls this service still holds state for."""
        return len(self._calls)

    async def close(self) -> None:
        """Cancel work in flight (at shutdown) and wait for it to finish."""
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._calls.clear()

    def _spawn(self, coro: Coroutine[object, None, _T]) -> asyncio.Task[_T]:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return task

    async def _lookup_caller(self, number: str) -> CallerCardLike | None:
        try:
            return await self._lookup.caller_card(number)
        except asyncio.CancelledError:
            raise
        except Exception:
            # The pop still goes out, as for an unknown caller: an agent must never miss a call.
            log.exception("customer lookup for caller %r failed; popping as unknown caller", number)
            return None

    async def _lookup_ivr(self, call_id: str, caller_number: str) -> IvrVisitRecord | None:
        if self._ivr_visits is None:
            return None
        try:
            return await self._ivr_visits.latest_for_call(call_id, caller_number)
        except asyncio.CancelledError:
            raise
        except Exception:
            log.exception("IVR path lookup for call %s failed; popping without it", call_id)
            return None

    async def suggestions(
        self, customer_id: int | None, ivr_category: str | None
    ) -> tuple[SuggestionLike, ...]:
        """The answers an agent may need on a call: for the IVR choice first (what the caller said
        they call about), then for the categories of the caller's open tickets."""
        if self._answers is None:
            return ()
        categories = [ivr_category] if ivr_category else []
        if customer_id is not None and self._topics is not None:
            categories += await self._topics.open_categories(customer_id)
        if not categories:
            return ()
        return tuple(await self._answers.suggestions(categories, limit=SUGGESTIONS))

    async def _suggest(
        self, card: CallerCardLike | None, visit: IvrVisitRecord | None, call_id: str
    ) -> tuple[SuggestionLike, ...]:
        try:
            # The category the caller chose in the IVR leads.
            return await self.suggestions(
                card.customer.id if card else None, visit.category if visit else None
            )
        except asyncio.CancelledError:
            raise
        except Exception:
            # Suggestions are a help, never a reason to lose the pop or its IVR path.
            log.exception("suggestions for call %s failed; the pop goes without them", call_id)
            return ()

    async def _details(
        self, state: _CallState, card_task: asyncio.Task[CallerCardLike | None], offer: CallOffered
    ) -> PopDetails | None:
        """The call's IVR path and answers, sent to the cards already open; None when there are neither."""
        visit = await self._lookup_ivr(offer.call_id, offer.caller_number)
        card = await asyncio.shield(card_task)
        suggestions = await self._suggest(card, visit, offer.call_id)
        if visit is None and not suggestions:
            return None
        details = PopDetails(offer.call_id, suggestions, visit)
        # Later offers of the call get them right after their pop (`_dispatch`).
        if state.offered:
            self.show(sorted(state.offered), details)
        return details

    async def _after(self, previous: asyncio.Task[None] | None, state: _CallState, event: CallEvent) -> None:
        if previous is not None and not previous.done():
            await asyncio.wait([previous])
        card = await state.card if state.card is not None else None
        self._dispatch(state, event, card)
        if isinstance(event, CallEnded):
            await self._record(event, card)
        if state.tail is asyncio.current_task():
            state.tail = None

    def _dispatch(self, state: _CallState, event: CallEvent, card: CallerCardLike | None) -> None:
        if isinstance(event, CallOffered):
            if state.offered is None:
                state.offered = set()
            state.offered.add(event.interface)
            pop = ScreenPop(
                event.call_id, event.queue, event.caller_number, event.caller_name, event.offered_at, card
            )
            self.show((event.interface,), pop)
            details = state.details
            if details is not None and details.done() and not details.cancelled() and not details.exception():
                found = details.result()
                if found is not None:
                    self.show((event.interface,), found)
        elif isinstance(event, OfferRetracted):
            if state.offered is not None:
                state.offered.discard(event.interface)
            self.show((event.interface,), event)
        elif isinstance(event, CallAnswered):
            self.show(_with(state.offered, event.interface), event)
        elif isinstance(event, CallEnded):
            self._calls.pop(event.call_id, None)
            if event.interface is not None:
                self.show((event.interface,), event)

    async def _record(self, event: CallEnded, card: CallerCardLike | None) -> None:
        # A database blip must not cost the call log a row: retry a few times, then say
        # exactly which call is missing so it can be put back by hand.
        for attempt, delay_s in enumerate((*self._retry_delays_s, None), start=1):
            try:
                await self._recorder.record_call(event, card)
                return
            except asyncio.CancelledError:
                raise
            except Exception as exc:
                if delay_s is None:
                    log.exception(
                        "call %s was NOT stored in the call log after %d attempts: %r",
                        event.call_id,
                        attempt,
                        event,
                    )
                    return
                log.warning("storing call %s failed (%s); retrying in %g s", event.call_id, exc, delay_s)
                await asyncio.sleep(delay_s)


def _with(interfaces: set[str] | None, extra: str) -> set[str]:
    return {*(interfaces or ()), extra}
