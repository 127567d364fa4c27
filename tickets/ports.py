"""What the tickets need from outside, as ports the other features' services satisfy as they are.

The composition root hands in the customers' and the agents' services; mypy checks that they fit.
"""

from __future__ import annotations

from collections.abc import Sequence
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
