"""Errors raised by the tickets package.

TicketsError
├── InvalidTicketError        a request breaks rules; `problems` maps each field to its problem
├── TicketNotFoundError       no ticket has `ticket_id`
├── TicketLookupFailedError   a customer's ticket number and contact do not match a ticket (or there is none)
├── IllegalTransitionError    `action` is not allowed while the ticket is `status`; `allowed` lists what is
├── TicketConflictError       someone else changed the ticket first (`expected` != `actual` version)
├── NotYourTicketError        an agent acted on a ticket assigned to someone else
├── UnknownHandlerError       `agent_id` is not set up as a handler (no skills, department, capacity)
├── NoHandlerAvailableError   nobody with the skill for `category` has room right now
├── ConfirmationInvalidError  a customer's confirm link is unknown, used or expired
├── NoticeDeliveryError       a channel could not deliver a notice (`channel`, `reason`); it is retried
└── SlaConfigError            config/sla.toml or config/calendar.toml is wrong; `problems` lists each
"""

from __future__ import annotations


class TicketsError(Exception):
    """Base class of every error raised by `tickets`."""


class InvalidTicketError(TicketsError, ValueError):
    """The request is malformed; `problems` maps each field to its problem in plain words."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems.items()))
        self.problems = problems


class TicketNotFoundError(TicketsError, LookupError):
    """No ticket has this id."""

    def __init__(self, ticket_id: int) -> None:
        super().__init__(f"There is no ticket #{ticket_id}.")
        self.ticket_id = ticket_id


class TicketLookupFailedError(TicketsError, LookupError):
    """No ticket has this number with this email or phone; deliberately not saying which part is wrong."""

    def __init__(self) -> None:
        super().__init__(
            "We found no ticket with that number and that email or phone. Check both (they are in the "
            "message we sent when you opened the request) and try again, or call us."
        )


class IllegalTransitionError(TicketsError):
    """The service flow does not allow `action` from `status`."""

    def __init__(self, ticket_id: int, status: str, action: str, allowed: tuple[str, ...]) -> None:
        can = f"; it can: {', '.join(allowed)}" if allowed else "; it is closed"
        super().__init__(f"Ticket #{ticket_id} is {status.replace('_', ' ')}, so it cannot {action}{can}.")
        self.ticket_id = ticket_id
        self.status = status
        self.action = action
        self.allowed = allowed


class TicketConflictError(TicketsError):
    """The ticket changed since the caller read it; nothing was written."""

    def __init__(self, ticket_id: int, expected: int, actual: int) -> None:
        super().__init__(
            f"Ticket #{ticket_id} was changed by someone else (version {actual}, you had {expected}); "
            "reload it and try again."
        )
        self.ticket_id = ticket_id
        self.expected = expected
        self.actual = actual


class NotYourTicketError(TicketsError):
    """Only the assigned handler (or a supervisor) may work a ticket."""

    def __init__(self, ticket_id: int, agent_id: int) -> None:
        super().__init__(
            f"Ticket #{ticket_id} is assigned to someone else; ask a supervisor to reassign it to you."
        )
        self.ticket_id = ticket_id
        self.agent_id = agent_id


class UnknownHandlerError(TicketsError, LookupError):
    """The agent has no handler profile (skills, department, capacity)."""

    def __init__(self, agent_id: int) -> None:
        super().__init__(f"Agent {agent_id} is not set up to handle tickets (no skills or capacity).")
        self.agent_id = agent_id


class NoHandlerAvailableError(TicketsError):
    """Every handler with the skill is full (or there is none)."""

    def __init__(self, category: str) -> None:
        super().__init__(
            f"Nobody with the {category!r} skill has room right now; the ticket stays unassigned "
            "in the queue until a supervisor assigns it."
        )
        self.category = category


class ConfirmationInvalidError(TicketsError):
    """The confirm link does not match a resolved ticket waiting for this customer's answer."""

    def __init__(self) -> None:
        super().__init__(
            "This link is no longer valid: the ticket was already answered or the link expired. "
            "Call us or open a new request if you still need help."
        )


class NoticeDeliveryError(TicketsError):
    """A notice channel (email, SMS, webhook) failed to deliver; the outbox retries it."""

    def __init__(self, channel: str, reason: str) -> None:
        super().__init__(f"{channel} delivery failed: {reason}")
        self.channel = channel
        self.reason = reason


class SlaConfigError(TicketsError):
    """The SLA or calendar configuration has problems; `problems` lists each."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("invalid SLA configuration:\n" + "\n".join(f"  - {p}" for p in problems))
        self.problems = problems
