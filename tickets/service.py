"""The service flow's use cases: intake, assignment, first response, resolution, the customer's answer.

Each use case is one transaction: the ticket is locked, the state machine decides, the SLA clock
moves, an audited entry is written and any customer notice is queued in the outbox. Events go
to the bus only after the commit, so nobody hears of a change that was rolled back.
"""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Protocol

from tickets.assignment import (
    DepartmentLoad,
    HandlerLoad,
    best_handler,
    departments,
    handler_profile,
    rank_handlers,
)
from tickets.errors import (
    ConfirmationInvalidError,
    InvalidTicketError,
    NoHandlerAvailableError,
    NotYourTicketError,
    TicketConflictError,
    TicketLookupFailedError,
    TicketNotFoundError,
    UnknownHandlerError,
)
from tickets.events import (
    EventSink,
    TicketAssigned,
    TicketClosed,
    TicketEvent,
    TicketOpened,
    TicketReopened,
    TicketResolved,
    TicketUpdated,
)
from tickets.model import (
    CUSTOMER,
    SYSTEM,
    Actor,
    ActorKind,
    NewTicket,
    Ticket,
    TicketAction,
    TicketEntry,
    TicketStatus,
    clean_text,
    next_status,
)
from tickets.notify import SERVICE_COMPLETED, NoticeChannel, render_service_completed
from tickets.ports import CustomerDirectory, CustomerRecord
from tickets.sla import SlaPolicy
from tickets.store import (
    MIN_PHONE_DIGITS,
    NoticeStatus,
    ReopenCount,
    TicketPage,
    TicketQuery,
    TicketRow,
    TicketStore,
    TicketUnit,
)

log = logging.getLogger(__name__)

MAX_NOTE_CHARS = 10_000
# PostgreSQL's bigint: a ticket number beyond it is nobody's ticket.
MAX_TICKET_ID = 2**63 - 1
CONFIRM_TOKEN_MAX_CHARS = 128
_PHONE_LIKE = re.compile(r"\+?[0-9 ().-]{8,40}")
# The assign entry's note: how, the handler's department and their open tickets before this one.
_ASSIGN_NOTE = "{} ({}, {} open before)"
# The same for the one-statement intake, as PostgreSQL's format() takes it.
_AUTO_ASSIGN_NOTE = _ASSIGN_NOTE.format("auto-assigned", "%s", "%s")


@dataclass(frozen=True)
class TicketSettings:
    """The categories tickets are filed under (they are also the handlers' skills) and the confirm link."""

    categories: tuple[str, ...] = ("billing", "technical", "account", "delivery", "other")
    public_url: str = "http://127.0.0.1:8080"
    confirm_ttl_s: int = 14 * 86_400


@dataclass(frozen=True)
class TicketDetail:
    """A ticket with its whole audited timeline and its notices' delivery status."""

    ticket: Ticket
    entries: tuple[TicketEntry, ...]
    notices: tuple[NoticeStatus, ...]


@dataclass(frozen=True)
class AssignmentOptions:
    """Who can take a ticket of `category`: handlers best first, their departments, and the suggestion."""

    category: str
    handlers: tuple[HandlerLoad, ...]
    departments: tuple[DepartmentLoad, ...]
    best: HandlerLoad | None


def hash_confirm_token(token: str) -> bytes:
    """The SHA-256 under which a confirm link is stored (tokens are random: no salt needed)."""
    return hashlib.sha256(token.encode("utf-8")).digest()


class TicketService:
    """Runs every step of the service flow against the store, the SLA policy and the notice channels."""

    def __init__(
        self,
        store: TicketStore,
        policy: SlaPolicy,
        customers: CustomerDirectory,
        events: EventSink,
        *,
        channels: Sequence[NoticeChannel],
        settings: TicketSettings,
        clock: Callable[[], datetime],
        notice_queued: Callable[[], None] = lambda: None,
    ) -> None:
        self._store = store
        self._policy = policy
        self._customers = customers
        self._events = events
        self._channels = tuple(channels)
        self._settings = settings
        self._clock = clock
        self._notice_queued = notice_queued

    @property
    def categories(self) -> tuple[str, ...]:
        """The categories a ticket can be filed under."""
        return self._settings.categories

    async def open(
        self, new: NewTicket, actor: Actor, *, assignee_id: int | None = None, auto_assign: bool = False
    ) -> Ticket:
        """Take in a request and, if asked, assign it in the same transaction.

        With `auto_assign` and nobody free, the ticket stays unassigned in the queue (an entry says why).
        """
        contact = await self._contact(new.customer_id)
        tier = contact.tier if contact else self._policy.tiers[-1]
        now = self._clock()
        due = self._policy.deadlines(now, new.priority, tier)
        published: list[TicketEvent] = []
        row = TicketRow(
            customer_name=(contact.name if contact else new.contact_name),
            customer_tier=tier,
            tier_rank=self._policy.tier_rank(tier),
            top_tier=self._policy.is_top_tier(tier),
            created_by=actor.id if actor.kind is ActorKind.AGENT else None,
            at=now,
            first_response_due=due.first_response_due,
            resolution_due=due.resolution_due,
            contact_email=new.contact_email or (contact.email if contact else None),
            contact_phone=new.contact_phone or (contact.phones[0] if contact and contact.phones else None),
        )
        if auto_assign and assignee_id is None:
            # The usual intake: one statement when a free handler has room.
            taken = await self._store.insert_auto_assigned(
                new, row, actor_kind=actor.kind, actor_id=actor.id, assign_note=_AUTO_ASSIGN_NOTE
            )
            if taken is not None:
                ticket = taken.ticket
                opened = replace(
                    ticket, status=TicketStatus.NEW, version=1, assignee_id=None, department=None
                )
                published += [
                    TicketOpened(opened, taken.opened),
                    TicketAssigned(ticket, taken.assigned, None),
                ]
                return self._opened(published, ticket, actor)
        async with self._store.unit() as unit:
            ticket = await unit.insert(new, row)
            entry = await self._entry(unit, ticket, actor, "open", None, ticket.status, new.description, now)
            published.append(TicketOpened(ticket, entry))
            if assignee_id is not None or auto_assign:
                try:
                    assigned = await self._assign_in(unit, ticket, actor, assignee_id, "", now)
                except NoHandlerAvailableError as exc:
                    await self._entry(unit, ticket, SYSTEM, "note", None, None, str(exc), now)
                else:
                    published.append(assigned)
                    ticket = assigned.ticket
        return self._opened(published, ticket, actor)

    def _opened(self, published: list[TicketEvent], ticket: Ticket, actor: Actor) -> Ticket:
        self._publish(published)
        log.debug(
            "ticket %d opened (%s, %s) by %s", ticket.id, ticket.category, ticket.priority.value, _who(actor)
        )
        return ticket

    async def assign(
        self,
        ticket_id: int,
        actor: Actor,
        *,
        assignee_id: int | None,
        note: str = "",
        expected_version: int | None = None,
    ) -> Ticket:
        """Give the ticket to `assignee_id`, or with None to the best handler with room (history is kept)."""
        now = self._clock()
        async with self._store.unit() as unit:
            ticket = await self._locked(unit, ticket_id, expected_version)
            if (
                not actor.supervisor
                and actor.kind is ActorKind.AGENT
                and ticket.assignee_id not in (None, actor.id)
            ):
                raise NotYourTicketError(ticket_id, actor.id or 0)
            event = await self._assign_in(unit, ticket, actor, assignee_id, _note(note), now)
        self._publish([event])
        return event.ticket

    async def respond(
        self, ticket_id: int, actor: Actor, note: str, *, expected_version: int | None = None
    ) -> Ticket:
        """The first response: tell the customer where things stand (a customer-visible note)."""
        text = _required(note, "note")

        def change(ticket: Ticket, now: datetime) -> Ticket:
            return replace(ticket, first_responded_at=ticket.first_responded_at or now)

        return await self._transition(
            ticket_id, actor, TicketAction.RESPOND, expected_version, text, change, customer_visible=True
        )

    async def wait_on_customer(
        self, ticket_id: int, actor: Actor, note: str, *, expected_version: int | None = None
    ) -> Ticket:
        """Waiting for the customer (information, a visit): the resolution clock stops."""

        def change(ticket: Ticket, now: datetime) -> Ticket:
            return replace(ticket, sla_paused_at=now)

        return await self._transition(
            ticket_id, actor, TicketAction.WAIT, expected_version, _note(note), change, customer_visible=True
        )

    async def resume(
        self, ticket_id: int, actor: Actor, note: str = "", *, expected_version: int | None = None
    ) -> Ticket:
        """The customer came back: the resolution clock runs again, its deadline moved by the pause."""
        return await self._transition(
            ticket_id, actor, TicketAction.RESUME, expected_version, _note(note), self._unpaused
        )

    async def resolve(
        self, ticket_id: int, actor: Actor, resolution: str, *, expected_version: int | None = None
    ) -> Ticket:
        """Record the solution and notify the customer, who is asked to confirm or reopen."""
        text = _required(resolution, "resolution")
        token = secrets.token_urlsafe(24)

        def change(ticket: Ticket, now: datetime) -> Ticket:
            unpaused = self._unpaused(ticket, now)
            return replace(
                unpaused,
                resolution=text,
                resolved_at=now,
                first_responded_at=ticket.first_responded_at or now,
            )

        async def notify(unit: TicketUnit, ticket: Ticket, now: datetime) -> None:
            expires = now + timedelta(seconds=self._settings.confirm_ttl_s)
            await unit.set_confirm_token(ticket.id, hash_confirm_token(token), expires)
            confirm_url = f"{self._settings.public_url.rstrip('/')}/confirm#{token}"
            subject, body = render_service_completed(ticket, confirm_url)
            reached = []
            for channel in self._channels:
                recipient = channel.recipient(ticket)
                if recipient:
                    await unit.enqueue_notice(
                        ticket.id,
                        kind=SERVICE_COMPLETED,
                        channel=channel.name,
                        recipient=recipient,
                        subject=subject,
                        body=body,
                        at=now,
                    )
                    reached.append(channel.name)
            if not reached:
                await self._entry(
                    unit,
                    ticket,
                    SYSTEM,
                    "note",
                    None,
                    None,
                    "No notice could be sent: no channel reaches this customer (no email address). "
                    "Tell them by phone and record their answer.",
                    now,
                )

        ticket = await self._transition(
            ticket_id,
            actor,
            TicketAction.RESOLVE,
            expected_version,
            text,
            change,
            after=notify,
            customer_visible=True,
        )
        self._notice_queued()
        return ticket

    async def confirm(
        self, ticket_id: int, actor: Actor, note: str = "", *, expected_version: int | None = None
    ) -> Ticket:
        """The customer accepts the solution (an agent records it, e.g. on the phone): closed."""
        return await self._transition(
            ticket_id,
            actor,
            TicketAction.CONFIRM,
            expected_version,
            _note(note),
            self._closed,
            after=_void_token,
        )

    async def reopen(
        self, ticket_id: int, actor: Actor, note: str, *, expected_version: int | None = None
    ) -> Ticket:
        """The customer raises further needs: back to the same handler, with a fresh resolution target."""
        return await self._transition(
            ticket_id,
            actor,
            TicketAction.REOPEN,
            expected_version,
            _required(note, "note"),
            self._reopened,
            after=_void_token,
        )

    async def confirmation(self, token: str) -> Ticket:
        """The resolved ticket a customer's confirm link belongs to; ConfirmationInvalidError otherwise."""
        if not token or len(token) > CONFIRM_TOKEN_MAX_CHARS:
            raise ConfirmationInvalidError()
        async with self._store.unit() as unit:
            ticket = await unit.lock_by_confirm_token(hash_confirm_token(token), self._clock())
        if ticket is None or ticket.status is not TicketStatus.RESOLVED:
            raise ConfirmationInvalidError()
        return ticket

    async def answer(self, token: str, *, accepted: bool, note: str = "") -> Ticket:
        """The customer's own answer from the confirm link: accepted (closed) or reopened with `note`."""
        if not token or len(token) > CONFIRM_TOKEN_MAX_CHARS:
            raise ConfirmationInvalidError()
        if not accepted:
            note = _required(note, "note")
        now = self._clock()
        async with self._store.unit() as unit:
            ticket = await unit.lock_by_confirm_token(hash_confirm_token(token), now)
            if ticket is None or ticket.status is not TicketStatus.RESOLVED:
                raise ConfirmationInvalidError()
            action = TicketAction.CONFIRM if accepted else TicketAction.REOPEN
            change = self._closed if accepted else self._reopened
            event = await self._apply(
                unit, ticket, CUSTOMER, action, _note(note), change, False, _void_token, now
            )
        self._publish([event])
        return event.ticket

    async def comment(
        self, ticket_id: int, actor: Actor, body: str, *, customer_visible: bool = False
    ) -> TicketEntry:
        """Add a note to the timeline; customer-visible ones are updates the customer may read."""
        text = _required(body, "body")
        now = self._clock()
        async with self._store.unit() as unit:
            ticket = await unit.lock(ticket_id)
            entry = await self._entry(unit, ticket, actor, "comment", None, None, text, now, customer_visible)
        self._publish([TicketUpdated(ticket, entry)])
        return entry

    async def get(self, ticket_id: int) -> Ticket:
        """The ticket, or TicketNotFoundError."""
        return await self._store.get(ticket_id)

    async def detail(self, ticket_id: int) -> TicketDetail:
        """The ticket, its timeline and its notices."""
        ticket = await self._store.get(ticket_id)
        entries = await self._store.entries(ticket_id)
        notices = await self._store.notices(ticket_id)
        return TicketDetail(ticket, tuple(entries), tuple(notices))

    async def search(self, query: TicketQuery) -> TicketPage:
        """A work list: top-tier customers first, then priority, then the nearest deadline."""
        return await self._store.search(query)

    async def options(self, category: str) -> AssignmentOptions:
        """Who could take a ticket of `category` now, with their open workload, and whom Hotline suggests."""
        self._check_category(category)
        loads = await self._store.handler_loads(category)
        return AssignmentOptions(
            category, tuple(rank_handlers(loads)), tuple(departments(loads)), best_handler(loads)
        )

    async def handlers(self) -> tuple[HandlerLoad, ...]:
        """Every handler's profile with their open workload, by agent id (the supervisors' view)."""
        return tuple(await self._store.handler_loads())

    async def set_handler(
        self, agent_id: int, *, department: str, skills: Sequence[str], capacity: int
    ) -> None:
        """Set who handles what: the agent's department, skills (categories) and open-ticket capacity."""
        clean, known = handler_profile(department, skills, capacity, self._settings.categories)
        await self._store.set_handler(agent_id, clean, known, capacity)

    async def has_overdue_ticket(self, customer_id: int) -> bool:
        """Whether the customer has an open ticket past a deadline whose clock is running."""
        return await self._store.has_overdue_ticket(customer_id, self._clock())

    async def status_for_caller(
        self, ticket_id: int, *, customer_id: int | None, caller_number: str
    ) -> Ticket | None:
        """A ticket for a caller (the IVR): only the caller's own, else None, as for one that does not exist.

        The caller's own: the identified customer's, or one whose contact is the number they call from
        (the portal's rule).
        """
        if not 1 <= ticket_id <= MAX_TICKET_ID:
            return None
        if customer_id is not None:
            try:
                ticket = await self.get(ticket_id)
            except TicketNotFoundError:
                return None
            if ticket.customer_id == customer_id:
                return ticket
        if not caller_number:
            return None
        try:
            return await self.status_for_contact(ticket_id, caller_number)
        except TicketLookupFailedError:
            return None

    async def status_for_contact(self, ticket_id: int, contact: str) -> Ticket:
        """A ticket for a customer who gives its number and the email or phone on it (portal, IVR).

        A wrong pair gets TicketLookupFailedError, exactly as a ticket that does not exist, so
        nobody learns which ticket numbers exist by guessing.
        """
        contact = contact.strip()
        digits = "".join(c for c in contact if c.isdigit())
        if "@" in contact:
            ticket = await self._store.by_contact(ticket_id, contact, None)
        elif len(digits) >= MIN_PHONE_DIGITS and _PHONE_LIKE.fullmatch(contact):
            ticket = await self._store.by_contact(ticket_id, None, digits)
        else:
            ticket = None
        if ticket is None:
            raise TicketLookupFailedError()
        return ticket

    async def open_categories(self, customer_id: int) -> list[str]:
        """The categories of the customer's open tickets, most recently changed first (screen-pop hints)."""
        return await self._store.open_categories(customer_id)

    async def reopen_counts(self, since: datetime) -> list[ReopenCount]:
        """Resolutions and reopens per handler and category since `since`, most reopened first."""
        return await self._store.reopen_counts(since)

    # --- internals -----------------------------------------------------------------------

    async def _contact(self, customer_id: int | None) -> CustomerRecord | None:
        if customer_id is None:
            return None
        contact = await self._customers.find(customer_id)
        if contact is None:
            raise InvalidTicketError({"customer_id": f"there is no customer {customer_id}"})
        return contact

    def _check_category(self, category: str) -> None:
        if category not in self._settings.categories:
            raise InvalidTicketError({"category": f"one of {', '.join(self._settings.categories)}"})

    async def _locked(self, unit: TicketUnit, ticket_id: int, expected_version: int | None) -> Ticket:
        ticket = await unit.lock(ticket_id)
        if expected_version is not None and expected_version != ticket.version:
            raise TicketConflictError(ticket_id, expected_version, ticket.version)
        return ticket

    async def _transition(
        self,
        ticket_id: int,
        actor: Actor,
        action: TicketAction,
        expected_version: int | None,
        note: str,
        change: Callable[[Ticket, datetime], Ticket],
        *,
        after: _After | None = None,
        customer_visible: bool = False,
    ) -> Ticket:
        now = self._clock()
        async with self._store.unit() as unit:
            ticket = await self._locked(unit, ticket_id, expected_version)
            _check_may_work(ticket, actor, action)
            event = await self._apply(unit, ticket, actor, action, note, change, customer_visible, after, now)
        self._publish([event])
        log.debug(
            "ticket %d: %s by %s -> %s", ticket_id, action.value, _who(actor), event.ticket.status.value
        )
        return event.ticket

    async def _apply(
        self,
        unit: TicketUnit,
        ticket: Ticket,
        actor: Actor,
        action: TicketAction,
        note: str,
        change: Callable[[Ticket, datetime], Ticket],
        customer_visible: bool,
        after: _After | None,
        now: datetime,
    ) -> TicketEvent:
        status = next_status(ticket.id, ticket.status, action)
        saved = await unit.save(change(replace(ticket, status=status, updated_at=now), now))
        entry = await self._entry(
            unit, saved, actor, action.value, ticket.status, status, note, now, customer_visible
        )
        if after is not None:
            await after(unit, saved, now)
        return _EVENT_OF[action](saved, entry)

    async def _assign_in(
        self,
        unit: TicketUnit,
        ticket: Ticket,
        actor: Actor,
        assignee_id: int | None,
        note: str,
        now: datetime,
    ) -> TicketAssigned:
        status = next_status(ticket.id, ticket.status, TicketAction.ASSIGN)
        previous = ticket.assignee_id
        # The previous handler's load row is written too: load rows are taken lowest agent id first
        # (a named handler), or the previous one first (the best free one is only ever skipped or
        # waited for after it), so two reassignments the opposite way round cannot wait for each other.
        if previous is not None and (assignee_id is None or previous < assignee_id):
            await unit.lock_load(previous)
        if assignee_id is None:
            chosen = await self._claim_best_handler(unit, ticket.category)
        else:
            found = await unit.lock_handler(assignee_id)
            if previous is not None and previous > assignee_id:
                await unit.lock_load(previous)
            if found is None:
                raise UnknownHandlerError(assignee_id)
            chosen = found
            if ticket.category not in chosen.skills:
                raise InvalidTicketError(
                    {
                        "assignee_id": f"this handler has no {ticket.category!r} skill; choose one from the suggestions"
                    }
                )
            if chosen.room == 0 and not actor.supervisor:
                raise InvalidTicketError(
                    {"assignee_id": "this handler is at capacity; choose another or ask a supervisor"}
                )
        if chosen.agent_id == ticket.assignee_id:
            raise InvalidTicketError({"assignee_id": "the ticket is already assigned to this handler"})
        saved = await unit.save(
            replace(
                ticket,
                status=status,
                assignee_id=chosen.agent_id,
                department=chosen.department,
                updated_at=now,
            )
        )
        how = "auto-assigned" if assignee_id is None else "assigned"
        text = _ASSIGN_NOTE.format(how, chosen.department, chosen.open_count) + (f": {note}" if note else "")
        entry = await self._entry(unit, saved, actor, "assign", ticket.status, status, text, now)
        return TicketAssigned(saved, entry, ticket.assignee_id)

    async def _claim_best_handler(self, unit: TicketUnit, category: str) -> HandlerLoad:
        """Lock the best skilled handler with room, as counted after the lock.

        Handlers being assigned by a concurrent unit are skipped rather than waited for, so
        simultaneous intakes spread over the team instead of queueing on one row; only when every
        candidate is busy does it wait, for the best one first.
        """
        candidates = [h for h in rank_handlers(await unit.handler_loads(category)) if h.room > 0]
        for skip_locked in (True, False):
            for candidate in candidates:
                locked = await unit.lock_handler_with_room(candidate.agent_id, skip_locked=skip_locked)
                if locked is not None:
                    return locked
        raise NoHandlerAvailableError(category)

    async def _entry(
        self,
        unit: TicketUnit,
        ticket: Ticket,
        actor: Actor,
        action: str,
        from_status: TicketStatus | None,
        to_status: TicketStatus | None,
        note: str,
        now: datetime,
        customer_visible: bool = False,
    ) -> TicketEntry:
        return await unit.add_entry(
            ticket,
            at=now,
            actor_kind=actor.kind,
            actor_id=actor.id,
            action=action,
            from_status=from_status,
            to_status=to_status,
            note=note,
            customer_visible=customer_visible,
        )

    def _unpaused(self, ticket: Ticket, now: datetime) -> Ticket:
        if ticket.sla_paused_at is None or ticket.resolution_due is None:
            return replace(ticket, sla_paused_at=None)
        due = self._policy.resolution_due_after_pause(
            ticket.resolution_due, ticket.sla_paused_at, now, ticket.priority, ticket.customer_tier
        )
        return replace(ticket, sla_paused_at=None, resolution_due=due)

    def _closed(self, ticket: Ticket, now: datetime) -> Ticket:
        return replace(ticket, closed_at=now)

    def _reopened(self, ticket: Ticket, now: datetime) -> Ticket:
        due = self._policy.restart_resolution(now, ticket.priority, ticket.customer_tier)
        return replace(ticket, reopen_count=ticket.reopen_count + 1, resolved_at=None, resolution_due=due)

    def _publish(self, events: list[TicketEvent]) -> None:
        for event in events:
            self._events.publish(event)


class _After(Protocol):
    async def __call__(self, unit: TicketUnit, ticket: Ticket, now: datetime) -> None: ...


async def _void_token(unit: TicketUnit, ticket: Ticket, now: datetime) -> None:
    await unit.set_confirm_token(ticket.id, None, None)


_EVENT_OF: dict[TicketAction, Callable[[Ticket, TicketEntry], TicketEvent]] = {
    TicketAction.RESPOND: TicketUpdated,
    TicketAction.WAIT: TicketUpdated,
    TicketAction.RESUME: TicketUpdated,
    TicketAction.RESOLVE: TicketResolved,
    TicketAction.CONFIRM: TicketClosed,
    TicketAction.REOPEN: TicketReopened,
}

# Anyone who takes the customer's call may record their answer; the rest is the handler's work.
_ANY_AGENT = (TicketAction.CONFIRM, TicketAction.REOPEN)


def _check_may_work(ticket: Ticket, actor: Actor, action: TicketAction) -> None:
    if actor.kind is not ActorKind.AGENT or actor.supervisor or action in _ANY_AGENT:
        return
    if ticket.assignee_id != actor.id:
        raise NotYourTicketError(ticket.id, actor.id or 0)


def _note(text: str) -> str:
    clean = clean_text(text)
    if len(clean) > MAX_NOTE_CHARS:
        raise InvalidTicketError({"note": f"at most {MAX_NOTE_CHARS} characters"})
    return clean


def _required(text: str, field: str) -> str:
    clean = clean_text(text)
    if not clean:
        raise InvalidTicketError({field: "required"})
    if len(clean) > MAX_NOTE_CHARS:
        raise InvalidTicketError({field: f"at most {MAX_NOTE_CHARS} characters"})
    return clean


def _who(actor: Actor) -> str:
    return f"{actor.kind.value} {actor.id}" if actor.id is not None else actor.kind.value
