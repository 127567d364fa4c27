"""What the tickets need from outside, as ports the other features' services satisfy as they are.

The composition root hands in the customers' and the agents' services; mypy checks that they fit.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from typing import Protocol


class CustomerRecord(Protocol):
    """What the service flow reads of a customer."""

    @property
    def id(self) -> int: ...
    @property
    def name(self) -> str: ...
    @property
    def tier(self) -> str: ...
    @property
    def email(self) -> str | None: ...
    @property
    def phones(self) -> Sequence[str]: ...


class CustomerDirectory(Protocol):
    """Port: find a customer by id (the customers' service)."""

    async def find(self, customer_id: int) -> CustomerRecord | None:
        """The customer, or None if there is no such customer."""
        ...


class CustomersById(Protocol):
    """Port: several customers at once, for lists that show their names and tiers (the customers' service)."""

    async def find_many(self, customer_ids: Collection[int]) -> Mapping[int, CustomerRecord]:
        """The customers with these ids, by id (unknown ids are left out)."""
        ...


class LoggedCall(Protocol):
    """What the alarms read of a call that was logged (cti's CallLogged)."""

    @property
    def customer_id(self) -> int | None: ...
    @property
    def customer_name(self) -> str | None: ...
    @property
    def customer_tier(self) -> str | None: ...


class AgentDirectory(Protocol):
    """Port: who the agents are (the agents' service): names to show, accounts behind usernames."""

    async def display_names(self, agent_ids: Collection[int]) -> dict[int, str]:
        """Display names of the given accounts (unknown ids are left out)."""
        ...

    async def ids_for_usernames(self, usernames: Collection[str]) -> dict[str, int]:
        """Account ids of the given usernames (unknown usernames are left out)."""
        ...
