"""Accounts, people, customers and timeline lines as the pages see them, in REST replies and socket frames."""

from __future__ import annotations

from typing import Any

import msgspec

from agents import Agent, Role
from cti import CallerCardLike, CustomerLike, InteractionLike
from customers import Tier
from web_agent.routes import Day, Instant, Reply, iso


class AgentView(Reply):
    """An account as the desktop sees it."""

    id: int
    username: str
    display_name: str
    role: Role
    interfaces: list[str]

    @classmethod
    def of(cls, agent: Agent) -> AgentView:
        """The view of an account."""
        return cls(agent.id, agent.username, agent.display_name, agent.role, list(agent.interfaces))


class Person(Reply):
    """An agent by id and display name; `name` is null when the account is gone."""

    id: int
    name: str | None


def person(agent_id: int | None, names: dict[int, str]) -> Person | None:
    """The Person of an agent id (None for nobody); `names` maps ids to display names."""
    return None if agent_id is None else Person(agent_id, names.get(agent_id))


class CustomerView(Reply):
    """A customer as the desktop shows it."""

    id: int
    customer_no: str | None
    name: str
    tier: Tier
    email: str | None
    phones: list[str]
    birthday: Day | None

    @classmethod
    def of(cls, customer: CustomerLike) -> CustomerView:
        """The view of a customer (the customers' own, or a caller's on a pop)."""
        return cls(
            id=customer.id,
            customer_no=customer.customer_no,
            name=customer.name,
            tier=Tier(customer.tier),
            email=customer.email,
            phones=list(customer.phones),
            birthday=iso(customer.birthday),
        )


class InteractionView(Reply):
    """One line of a customer's timeline."""

    occurred_at: Instant
    channel: str
    summary: str

    @classmethod
    def of(cls, interaction: InteractionLike) -> InteractionView:
        """The view of a timeline line."""
        return cls(interaction.occurred_at.isoformat(), interaction.channel, interaction.summary)


def card_json(card: CallerCardLike | None) -> tuple[dict[str, Any] | None, list[dict[str, Any]]]:
    """The customer and interactions parts of a pop, as the socket frames carry them."""
    if card is None:
        return None, []
    customer: dict[str, Any] = msgspec.to_builtins(CustomerView.of(card.customer))
    interactions: list[dict[str, Any]] = msgspec.to_builtins(
        [InteractionView.of(i) for i in card.interactions]
    )
    return customer, interactions
