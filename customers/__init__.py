"""Customers: records, phone-number normalisation and lookup, tiers, CSV import."""

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
from customers.model import CallerCard, Customer, Interaction, NewCustomer, Tier
from customers.phone import COUNTRIES, normalise_phone
from customers.service import CustomerService
from customers.settings import CustomerSettings
from customers.store import CustomerStore

__all__ = [
    "COUNTRIES",
    "AmbiguousPhoneError",
    "CallerCard",
    "Customer",
    "CustomerNotFoundError",
    "CustomerService",
    "CustomerSettings",
    "CustomerStore",
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
    "format_report",
    "import_csv",
    "normalise_phone",
    "parse_csv",
]
