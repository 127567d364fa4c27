"""Errors raised by the customers package.

CustomersError
├── InvalidPhoneError         a phone number cannot be read as a number of a known country
├── InvalidCustomerError      a customer record breaks a rule; `problems` lists each field
└── CustomerNotFoundError     no customer with that id
"""

from __future__ import annotations


class CustomersError(Exception):
    """Base class of every error raised by `customers`."""


class InvalidPhoneError(CustomersError, ValueError):
    """`raw` is not a usable phone number; `reason` says why in plain words."""

    def __init__(self, raw: str, reason: str) -> None:
        super().__init__(f"{raw!r} is not a phone number: {reason}")
        self.raw = raw
        self.reason = reason


class InvalidCustomerError(CustomersError, ValueError):
    """A customer record breaks one or more rules; `problems` maps each field to its problem."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(f"{field}: {problem}" for field, problem in problems.items()))
        self.problems = problems


class CustomerNotFoundError(CustomersError, LookupError):
    """No customer has this id."""

    def __init__(self, customer_id: int) -> None:
        super().__init__(f"no customer with id {customer_id}")
        self.customer_id = customer_id
