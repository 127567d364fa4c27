"""The IVR's actions: walk the menu with the caller and do what each node says.

Everything outside the IVR comes through the ports below (customers, tickets, the agents'
phones, articles, callbacks, the journal, the bus), which the other features' services satisfy
as they are. A port that fails never leaves the caller in silence: the call goes to an agent
queue. Whatever happens, the path the caller took is handed to the journal when the session
ends, and `IvrVisitEnded` carries its line for the caller's timeline.
"""

from __future__ import annotations

import asyncio
import enum
import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from ivr.agi_protocol import MAX_COMMAND_BYTES, SOUND_NAME
from ivr.errors import CallerHungUpError, IvrError
from ivr.fastagi import AgiSession, DigitEntry
from ivr.menu import Action, Menu, MenuNode

log = logging.getLogger(__name__)

MAX_SPEECH_CHARS = 200
# Room for `EXEC <app> "…"` and escapes inside res_agi's command limit.
MAX_TTS_BYTES = MAX_COMMAND_BYTES - 200


# ------------------------------------------------------------------------------------------ ports


class IvrCustomer(Protocol):
    """The caller, once identified: enough to greet, route and prioritise them."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def tier(self) -> str: ...


class CustomerFinder(Protocol):
    """Port: find a customer by the number they call from, or the customer number they key in."""

    async def by_phone(self, caller_number: str) -> IvrCustomer | None:
        """The customer owning this caller number, or None."""
        ...

    async def by_customer_no(self, customer_no: str) -> IvrCustomer | None:
        """The customer with this customer number, or None."""
        ...


class Labelled(Protocol):
    """A status as the menu keys its prompts: by its text."""

    @property
    def value(self) -> str: ...


class CallerTicket(Protocol):
    """What the caller may hear about one of their tickets (the tickets' `Ticket`)."""

    @property
    def id(self) -> int: ...
    @property
    def status(self) -> Labelled: ...
    @property
    def category(self) -> str: ...
    @property
    def assignee_id(self) -> int | None: ...


class TicketDesk(Protocol):
    """Port: the caller's own tickets, and whether they have an overdue one (the tickets' service)."""

    async def status_for_caller(
        self, ticket_id: int, *, customer_id: int | None, caller_number: str
    ) -> CallerTicket | None:
        """The ticket, only if it belongs to this customer or caller number; else None."""
        ...

    async def has_overdue_ticket(self, customer_id: int) -> bool:
        """True while the customer has an open ticket past a deadline."""
        ...


class AgentPhones(Protocol):
    """Port: the phones of an agent (the agents' service), to put a caller through to their handler."""

    async def interfaces_of(self, agent_id: int) -> Sequence[str]:
        """The PBX interfaces that ring on the agent's desk (none for an unknown agent)."""
        ...


class ArticleLike(Protocol):
    """A knowledge-base article as the IVR reads it out."""

    @property
    def article_id(self) -> int: ...
    @property
    def title(self) -> str: ...
    @property
    def body(self) -> str: ...
    @property
    def sound_file(self) -> str | None: ...


class ArticleFinder(Protocol):
    """Port: the FAQ (satisfied by knowledge_base.service.KnowledgeBase)."""

    async def top_articles(self, category: str, *, limit: int) -> Sequence[ArticleLike]:
        """The most useful published articles of a category."""
        ...

    async def search(self, text: str, *, category: str | None, limit: int) -> Sequence[ArticleLike]:
        """Articles matching free text (fuzzy), best first."""
        ...

    async def record_view(self, article_id: int) -> None:
        """Count one play of an article (popularity ranks the FAQ)."""
        ...


class CallbackRequests(Protocol):
    """Port: promise a callback, so an agent calls the customer back (cti's callback service)."""

    async def request_callback(
        self, customer_id: int | None, number: str, due_at: datetime | None, note: str, requested_by: str
    ) -> object:
        """Promise a call back to `number` at `due_at` (None: as soon as possible)."""
        ...


class IvrOutcome(enum.StrEnum):
    """How the caller left the IVR."""

    QUEUED = "queued"
    COMPLETED = "completed"
    HUNG_UP = "hung_up"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class IvrStep:
    """One node the caller went through: what they keyed (or said) and what came of it."""

    node: str
    action: str
    input: str
    result: str


@dataclass(frozen=True)
class IvrVisit:
    """The caller's whole way through the IVR, as the call log and the screen pop keep it."""

    call_id: str
    unique_id: str
    caller_number: str
    caller_name: str
    customer_id: int | None
    started_at: datetime
    ended_at: datetime
    steps: tuple[IvrStep, ...]
    outcome: IvrOutcome
    queue: str | None
    queue_priority: int | None
    category: str | None
    article_id: int | None
    article_title: str | None
    callback_requested: bool

    def summary(self) -> str:
        """One line for the customer's timeline."""
        path = " > ".join(f"{s.node} [{s.input}]" if s.input else s.node for s in self.steps) or "nothing"
        parts = [f"IVR: {path}"]
        if self.article_title:
            parts.append(f"heard '{self.article_title}'")
        if self.callback_requested:
            parts.append("asked for a callback")
        if self.outcome is IvrOutcome.QUEUED:
            parts.append(f"queued to {self.queue} (priority {self.queue_priority})")
        else:
            parts.append(self.outcome.value.replace("_", " "))
        return "; ".join(parts)


class IvrJournal(Protocol):
    """Port: keep the IVR path with the call (cti's call history), where the screen pop finds it."""

    async def record_visit(self, visit: IvrVisit) -> None:
        """Store one finished IVR visit."""
        ...


@dataclass(frozen=True, slots=True)
class IvrVisitEnded:
    """A caller left the IVR (queued, done or gone); the visit carries its line for their timeline."""

    visit: IvrVisit

    @property
    def customer_id(self) -> int | None:
        """Whose timeline (None: the caller was not identified)."""
        return self.visit.customer_id

    @property
    def occurred_at(self) -> datetime:
        """When the caller left the IVR."""
        return self.visit.ended_at

    @property
    def channel(self) -> str:
        """The timeline's channel: the IVR."""
        return "ivr"

    @property
    def ref(self) -> str:
        """The AGI session: each visit is on the timeline once."""
        return f"ivr:{self.visit.unique_id}"

    @property
    def summary(self) -> str:
        """The timeline line."""
        return self.visit.summary()


class EventSink(Protocol):
    """Port: where the IVR's events go (the bus)."""

    def publish(self, event: object) -> None:
        """Hand one event on; must not block."""
        ...


# ------------------------------------------------------------------------------------------ flows


@dataclass
class _Call:
    call_id: str
    unique_id: str
    caller_number: str
    caller_name: str
    started_at: datetime
    customer: IvrCustomer | None = None
    steps: list[IvrStep] = field(default_factory=list)
    outcome: IvrOutcome = IvrOutcome.FAILED
    queue: str | None = None
    queue_priority: int | None = None
    category: str | None = None
    article: ArticleLike | None = None
    handler_interface: str | None = None
    callback_requested: bool = False

    def step(self, node: MenuNode, typed: str, result: str) -> None:
        self.steps.append(IvrStep(node.name, node.action.value, typed[:MAX_SPEECH_CHARS], result))


def speech_text(text: str) -> str:
    """Article text as a TTS application's single argument: one line, no commas, bounded."""
    # res_agi hands EXEC's options to the application as they are (no ${} substitution), and the
    # application splits them on commas; a newline would end the AGI command.
    flat = " ".join(text.replace(",", " ").split())
    encoded = flat.encode("utf-8")
    if len(encoded) <= MAX_TTS_BYTES:
        return flat
    cut = encoded[:MAX_TTS_BYTES].decode("utf-8", "ignore")
    return cut.rsplit(" ", 1)[0]


class IvrFlows:
    """Runs config/ivr.toml with each caller (the FastAGI session handler for `agi://…/ivr`)."""

    def __init__(
        self,
        menu: Menu,
        *,
        customers: CustomerFinder,
        tickets: TicketDesk,
        agents: AgentPhones,
        callbacks: CallbackRequests,
        journal: IvrJournal,
        articles: ArticleFinder,
        events: EventSink,
        clock: Callable[[], datetime],
    ) -> None:
        self._menu = menu
        self._customers = customers
        self._tickets = tickets
        self._agents = agents
        self._callbacks = callbacks
        self._journal = journal
        self._events = events
        self._articles = articles
        self._clock = clock
        self._fallback = next(n.name for n in menu.nodes.values() if n.action is Action.QUEUE)
        self._missing_sounds: set[str] = set()

    async def handle(self, session: AgiSession) -> None:
        """Serve one call from answer to hand-off (or hangup), then journal its path."""
        env = session.environment
        call = _Call(env.unique_id, env.unique_id, env.caller_number, env.caller_name, self._clock())
        try:
            await session.answer()
            # Every channel of the call shares the Linkedid: the key the screen pop uses.
            call.call_id = await session.get_full_variable("${CHANNEL(linkedid)}") or env.unique_id
            await self._walk(session, call)
        except Exception as exc:
            call.outcome = IvrOutcome.HUNG_UP if isinstance(exc, CallerHungUpError) else IvrOutcome.FAILED
            await self._record(call)
            raise
        await self._record(call)

    async def _walk(self, session: AgiSession, call: _Call) -> None:
        name: str | None = self._menu.start
        for _ in range(self._menu.max_steps):
            if name is None:
                return
            name = await self._run_node(session, call, self._menu.node(name))
        if name is not None:
            log.warning(
                "call %s looped through %d IVR nodes; putting it through", call.call_id, len(call.steps)
            )
            await self._run_node(session, call, self._menu.node(self._fallback))

    async def _run_node(self, session: AgiSession, call: _Call, node: MenuNode) -> str | None:
        try:
            return await _ACTIONS[node.action](self, session, call, node)
        except IvrError:
            raise
        except Exception:
            # A database or knowledge-base failure: the caller still reaches a person.
            log.exception(
                "IVR node %s failed for call %s; sending the caller to an agent", node.name, call.call_id
            )
            call.step(node, "", "error")
            if node.action is Action.QUEUE:
                raise
            return self._fallback

    async def _record(self, call: _Call) -> None:
        visit = IvrVisit(
            call_id=call.call_id,
            unique_id=call.unique_id,
            caller_number=call.caller_number,
            caller_name=call.caller_name,
            customer_id=call.customer.id if call.customer else None,
            started_at=call.started_at,
            ended_at=self._clock(),
            steps=tuple(call.steps),
            outcome=call.outcome,
            queue=call.queue,
            queue_priority=call.queue_priority,
            category=call.category,
            article_id=call.article.article_id if call.article else None,
            article_title=call.article.title if call.article else None,
            callback_requested=call.callback_requested,
        )
        try:
            await self._journal.record_visit(visit)
        except Exception:
            log.exception("the IVR path of call %s was NOT stored: %r", call.call_id, visit)
        self._events.publish(IvrVisitEnded(visit))

    # ------------------------------------------------------------------ helpers

    async def _play(self, session: AgiSession, sounds: Sequence[str], escape_digits: str = "") -> str | None:
        for sound in sounds:
            playback = await session.stream_file(sound, escape_digits)
            if not playback.played and sound not in self._missing_sounds:
                self._missing_sounds.add(sound)
                log.warning("IVR prompt %r could not be played (is the sound file installed?)", sound)
            if playback.digit is not None:
                return playback.digit
        return None

    async def _ask(self, session: AgiSession, node: MenuNode, prompts: Sequence[str]) -> DigitEntry:
        await self._play(session, prompts[:-1])
        entry = await session.get_data(prompts[-1], node.timeout_ms, node.max_digits)
        if entry.prompt_failed:
            # A missing prompt makes GET DATA return at once (agi_1): still let the caller key.
            self._missing_sounds.add(prompts[-1])
            digits: list[str] = []
            while len(digits) < node.max_digits:
                digit = await session.wait_for_digit(node.timeout_ms)
                if digit is None or digit == "#":
                    break
                digits.append(digit)
            return DigitEntry("".join(digits), not digits, False)
        return entry

    async def _read_out(self, session: AgiSession, articles: Sequence[ArticleLike]) -> list[ArticleLike]:
        read: list[ArticleLike] = []
        tts = self._menu.tts_application
        for article in articles:
            if article.sound_file and SOUND_NAME.fullmatch(article.sound_file):
                playback = await session.stream_file(article.sound_file, "#")
                if playback.played:
                    read.append(article)
                    await self._count_play(article)
                    continue
            if tts is not None:
                code = await session.exec_application(tts, speech_text(f"{article.title}. {article.body}"))
                if code == -2:
                    log.warning("TTS application %s is not available in Asterisk", tts)
                else:
                    read.append(article)
                    await self._count_play(article)
        return read

    async def _count_play(self, article: ArticleLike) -> None:
        try:
            await self._articles.record_view(article.article_id)
        except asyncio.CancelledError:
            raise
        except Exception:
            # A lost view count must not end the caller's FAQ; the traceback says why it was lost.
            log.exception("could not count the play of article %d", article.article_id)

    # ------------------------------------------------------------------ actions

    async def _menu_node(self, session: AgiSession, call: _Call, node: MenuNode) -> str | None:
        keys = "".join(node.options)
        for _ in range(node.attempts):
            digit = await self._play(session, node.prompts, keys)
            if digit is None:
                digit = await session.wait_for_digit(node.timeout_ms)
            target = node.choose(digit)
            if target is not None:
                call.step(node, digit or "", "chosen")
                return target
            call.step(node, digit or "", "no_key" if digit is None else "invalid")
            await self._play(session, node.invalid_prompts)
        return node.on_failure

    async def _identify(self, session: AgiSession, call: _Call, node: MenuNode) -> str | None:
        await self._play(session, node.prompts)
        if call.caller_number:
            call.customer = await self._customers.by_phone(call.caller_number)
        if call.customer is not None:
            call.step(node, "", "known_number")
            return node.next
        for _ in range(node.attempts):
            entry = await self._ask(session, node, node.ask_prompts)
            if entry.digits:
                call.customer = await self._customers.by_customer_no(entry.digits)
                if call.customer is not None:
                    call.step(node, entry.digits, "customer_number")
                    return node.next
            call.step(node, entry.digits, "not_found" if entry.digits else "no_key")
            await self._play(session, node.invalid_prompts)
        return node.on_failure

    async def _ticket_status(self, session: AgiSession, call: _Call, node: MenuNode) -> str | None:
        for _ in range(node.attempts):
            entry = await self._ask(session, node, node.prompts)
            digits = entry.digits.rstrip("#")
            ticket = None
            if digits.isdigit():
                ticket = await self._tickets.status_for_caller(
                    int(digits),
                    customer_id=call.customer.id if call.customer else None,
                    caller_number=call.caller_number,
                )
            if ticket is None:
                call.step(node, digits, "not_found" if digits else "no_key")
                await self._play(session, node.invalid_prompts)
                continue
            status = ticket.status.value
            call.step(node, digits, status)
            call.category = ticket.category
            assert node.number_prompt is not None
            await self._play(session, (node.number_prompt,))
            await session.say_number(ticket.id)
            await self._play(session, [node.status_prompts[status]])
            # Offered only when someone handles the ticket: "press 1 for your handler" must be true.
            handler = await self._handler_phone(ticket) if node.handler_digit is not None else None
            if node.handler_digit is not None and node.on_handler is not None and handler:
                digit = await self._play(session, node.handler_prompts, node.handler_digit)
                if digit is None:
                    digit = await session.wait_for_digit(node.timeout_ms)
                if digit == node.handler_digit:
                    call.handler_interface = handler
                    call.step(node, digit, "to_handler")
                    return node.on_handler
            return node.next
        return node.on_failure

    async def _handler_phone(self, ticket: CallerTicket) -> str | None:
        """The first phone of the agent handling the ticket, or None when nobody (reachable) does."""
        if ticket.assignee_id is None:
            return None
        interfaces = await self._agents.interfaces_of(ticket.assignee_id)
        return interfaces[0] if interfaces else None

    async def _faq_category(self, session: AgiSession, call: _Call, node: MenuNode) -> str | None:
        assert node.category is not None
        call.category = node.category
        articles = await self._articles.top_articles(node.category, limit=node.limit)
        if not articles:
            call.step(node, "", "no_articles")
            await self._play(session, node.unavailable_prompts)
            return node.next
        await self._play(session, node.prompts)
        read = await self._read_out(session, articles)
        if read:
            call.article = read[0]
        call.step(node, "", f"read {len(read)} of {len(articles)}")
        return node.next

    async def _faq_speech(self, session: AgiSession, call: _Call, node: MenuNode) -> str | None:
        if node.category is not None:
            call.category = node.category
        said = " ".join((await session.get_variable(self._menu.speech_variable) or "").split())
        said = said[:MAX_SPEECH_CHARS]
        matches = await self._articles.search(said, category=node.category, limit=node.limit) if said else ()
        if not matches:
            call.step(node, said, "no_match" if said else "no_speech")
            await self._play(session, node.invalid_prompts)
            return node.on_failure
        await self._play(session, node.prompts)
        read = await self._read_out(session, matches)
        call.article = read[0] if read else matches[0]
        call.step(node, said, f"matched {call.article.article_id}")
        return node.next

    async def _callback(self, session: AgiSession, call: _Call, node: MenuNode) -> str | None:
        category = node.category or call.category or "other"
        if call.customer is None and not call.caller_number:
            call.step(node, "", "no_number")
            await self._play(session, node.invalid_prompts)
            return node.on_failure or node.next
        await self._callbacks.request_callback(
            call.customer.id if call.customer else None,
            call.caller_number,
            None,
            f"{call.caller_name or 'The caller'} asked in the IVR to be called back about {category}"
            f" (call {call.call_id})",
            "ivr",
        )
        call.callback_requested = True
        call.step(node, "", "requested")
        await self._play(session, node.prompts)
        return node.next

    async def _queue(self, session: AgiSession, call: _Call, node: MenuNode) -> str | None:
        category = node.category or call.category
        customer = call.customer
        tier = customer.tier if customer else None
        escalated = False
        if customer is not None:
            try:
                escalated = await self._tickets.has_overdue_ticket(customer.id)
            except Exception:
                # The caller is queued all the same, at their tier's priority.
                log.exception("open escalations of customer %d unknown; queueing by tier", customer.id)
        priority = self._menu.priority.queue_priority(tier, escalated=escalated)
        queue = self._menu.routing.queue_for(category, tier)
        await self._play(session, node.prompts)
        await session.set_variable("QUEUE_PRIO", priority)
        if customer is not None:
            # Inherited (__), so the agent's leg carries it too (README, channelvars).
            await session.set_variable("__HOTLINE_CUSTOMER", customer.id)
        await session.set_variable("HOTLINE_QUEUE", queue)
        if call.handler_interface:
            await session.set_variable("HOTLINE_HANDLER", call.handler_interface)
        call.queue, call.queue_priority, call.category = queue, priority, category
        call.outcome = IvrOutcome.QUEUED
        call.step(node, "", f"{queue} priority {priority}" + (" escalated" if escalated else ""))
        return None

    async def _goodbye(self, session: AgiSession, call: _Call, node: MenuNode) -> str | None:
        await self._play(session, node.prompts)
        call.step(node, "", "hung_up_by_ivr")
        call.outcome = IvrOutcome.COMPLETED
        await session.hangup()
        return None


_ACTIONS: dict[Action, Callable[[IvrFlows, AgiSession, _Call, MenuNode], Awaitable[str | None]]] = {
    Action.MENU: IvrFlows._menu_node,
    Action.IDENTIFY: IvrFlows._identify,
    Action.TICKET_STATUS: IvrFlows._ticket_status,
    Action.FAQ_CATEGORY: IvrFlows._faq_category,
    Action.FAQ_SPEECH: IvrFlows._faq_speech,
    Action.CALLBACK: IvrFlows._callback,
    Action.QUEUE: IvrFlows._queue,
    Action.GOODBYE: IvrFlows._goodbye,
}
