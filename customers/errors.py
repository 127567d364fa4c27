"""Errors raised by the customers package.

CustomersError
├── InvalidPhoneError           `raw` cannot be read as a phone number; `reason` says why
├── InvalidCustomerError        a customer record breaks rules; `problems` maps each field to its problem
├── CustomerNotFoundError       no customer has `customer_id`
├── DuplicateCustomerNoError    `customer_no` already belongs to another customer
└── AmbiguousPhoneError         `phones` belong to several customers (`customer_ids`), so an
                                update by phone cannot tell which one is meant
"""

from __future__ import annotations

from collections.abc import Sequence


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


class DuplicateCustomerNoError(CustomersError):
    """Another customer already has this customer number."""

    def __init__(self, customer_no: str) -> None:
        super().__init__(f"customer_no {customer_no} already belongs to another customer")
        self.customer_no = customer_no


class AmbiguousPhoneError(CustomersError):
    """The numbers of a record without customer number belong to several customers."""

    def __init__(self, phones: Sequence[str], customer_ids: Sequence[int]) -> None:
        ids = ", ".join(str(i) for i in customer_ids)
        super().__init__(
            f"{', '.join(phones)} belongs to several customers ({ids}); "
            "give a customer_no to say which one to update"
        )
        self.phones = tuple(phones)
        self.customer_ids = tuple(customer_ids)
