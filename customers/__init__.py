"""Customers: records, phone-number normalisation and lookup, tiers, the timeline, CSV import.

What other packages use of it is named here (its store is not).
"""

from customers.errors import (
    AmbiguousPhoneError,
    CustomerNotFoundError,
    CustomersError,
    DuplicateCustomerNoError,
    InvalidCustomerError,
    InvalidPhoneError,
)
from customers.importer import (
    ImportReport,
    ImportRow,
    ParsedCsv,
    Rejected,
    format_report,
    import_csv,
    parse_csv,
)
from customers.model import (
    MAX_EMAIL_CHARS,
    MAX_NAME_CHARS,
    CallerCard,
    Customer,
    Interaction,
    NewCustomer,
    Tier,
)
from customers.phone import COUNTRIES, normalise_phone
from customers.service import CustomerService, TimelineEvent
from customers.settings import CustomerSettings

__all__ = [
    "COUNTRIES",
    "MAX_EMAIL_CHARS",
    "MAX_NAME_CHARS",
    "AmbiguousPhoneError",
    "CallerCard",
    "Customer",
    "CustomerNotFoundError",
    "CustomerService",
    "CustomerSettings",
    "CustomersError",
    "DuplicateCustomerNoError",
    "ImportReport",
    "ImportRow",
    "Interaction",
    "InvalidCustomerError",
    "InvalidPhoneError",
    "NewCustomer",
    "ParsedCsv",
    "Rejected",
    "Tier",
    "TimelineEvent",
    "format_report",
    "import_csv",
    "normalise_phone",
    "parse_csv",
]
