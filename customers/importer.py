"""CSV import of customers: every good row is imported, every bad row is reported with its reason.

Reading and validating the file is pure (`parse_csv`); `import_csv` only writes the validated
rows, in batches of one transaction each. Re-importing a file is safe: rows are matched by
customer_no, else by phone, and update what they match.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from typing import NamedTuple

from customers.errors import AmbiguousPhoneError, InvalidCustomerError
from customers.model import NewCustomer, Tier
from customers.store import CustomerStore

COLUMNS = ("customer_no", "name", "phone", "email", "tier", "birthday")
REQUIRED_COLUMNS = ("name", "phone")
MAX_ROWS = 1_000_000
BATCH_ROWS = 500
# Excel writes ';' (or tab) instead of ',' where ',' is the decimal mark, as in Vietnam.
_DELIMITERS = (",", ";", "\t")
_PHONE_SEPARATORS = str.maketrans({";": ",", "|": ","})


class Rejected(NamedTuple):
    """A row that was not imported: its line in the file (where the row starts) and why."""

    line: int
    reason: str


class ImportRow(NamedTuple):
    """A validated row: its line in the file and the customer it describes."""

    line: int
    customer: NewCustomer


@dataclass(frozen=True)
class ParsedCsv:
    """The outcome of validating a file: rows to import, rows refused, header columns not used."""

    rows: list[ImportRow]
    rejected: list[Rejected]
    ignored_columns: tuple[str, ...] = ()


@dataclass(frozen=True)
class ImportReport:
    """What an import did: customers created and updated, and each refused row with its reason."""

    created: int = 0
    updated: int = 0
    rejected: list[Rejected] = field(default_factory=list)
    ignored_columns: tuple[str, ...] = ()


def parse_csv(text: str, default_country: str = "VN") -> ParsedCsv:
    """Validate a CSV document (header required) into rows to import and rejected rows.

    A bad row never stops the others; a bad header refuses the whole file as line 1.
    """
    text = text.removeprefix("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(text), strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        return ParsedCsv(
            [], [Rejected(1, f"the file is empty; the first line must name the columns {', '.join(COLUMNS)}")]
        )
    except csv.Error as exc:
        return ParsedCsv([], [Rejected(1, f"the header cannot be read: {exc}")])
    problem = _header_problem(header)
    if problem:
        return ParsedCsv([], [Rejected(1, problem)])
    ignored = tuple(name for name in header if name not in COLUMNS)

    rows: list[ImportRow] = []
    rejected: list[Rejected] = []
    seen = _SeenInFile()
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rejected.append(Rejected(line, f"not valid CSV: {exc}"))
            continue
        if not any(value.strip() for value in fields):
            continue
        if len(rows) + len(rejected) >= MAX_ROWS:
            rejected.append(Rejected(line, f"the file has more than {MAX_ROWS} rows; split it"))
            break
        if len(fields) > len(header):
            rejected.append(
                Rejected(line, f"{len(fields)} fields but the header names {len(header)} columns")
            )
            continue
        values = {name: value.strip() for name, value in zip(header, fields, strict=False)}
        try:
            customer = _customer(values, default_country)
        except InvalidCustomerError as exc:
            rejected.append(Rejected(line, str(exc)))
            continue
        conflict = seen.conflict(customer)
        if conflict:
            rejected.append(Rejected(line, conflict))
            continue
        seen.add(customer, line)
        rows.append(ImportRow(line, customer))
    return ParsedCsv(rows, rejected, ignored)


def _delimiter(text: str) -> str:
    first_line = text.split("\n", 1)[0]
    return max(_DELIMITERS, key=first_line.count)


def _header_problem(header: list[str]) -> str | None:
    missing = [name for name in REQUIRED_COLUMNS if name not in header]
    if missing:
        return f"the first line must name the columns ({', '.join(COLUMNS)}); missing {', '.join(missing)}"
    twice = sorted({name for name in header if name and header.count(name) > 1})
    if twice:
        return f"column {', '.join(twice)} appears more than once in the header"
    return None


def _customer(values: dict[str, str], default_country: str) -> NewCustomer:
    """One row as a validated customer; InvalidCustomerError lists every problem of the row."""
    problems: dict[str, str] = {}
    tier = None
    if values.get("tier"):
        try:
            tier = Tier(values["tier"].lower())
        except ValueError:
            problems["tier"] = f"{values['tier']!r} is not one of {', '.join(t.value for t in Tier)}"
    birthday = None
    if values.get("birthday"):
        try:
            birthday = date.fromisoformat(values["birthday"])
        except ValueError:
            problems["birthday"] = f"{values['birthday']!r} is not a date like 1985-03-14"
    phones = [p.strip() for p in values.get("phone", "").translate(_PHONE_SEPARATORS).split(",")]
    try:
        customer = NewCustomer.create(
            name=values.get("name", ""),
            phones=[p for p in phones if p],
            email=values.get("email") or None,
            tier=tier,
            birthday=birthday,
            customer_no=values.get("customer_no") or None,
            default_country=default_country,
        )
    except InvalidCustomerError as exc:
        raise InvalidCustomerError({**exc.problems, **problems}) from None
    if problems:
        raise InvalidCustomerError(problems)
    return customer


class _SeenInFile:
    """Identities already used by earlier rows, so two rows never write one customer."""

    def __init__(self) -> None:
        self._customer_nos: dict[str, int] = {}
        self._phones: dict[str, int] = {}
        # Phones of rows without customer_no: for those rows the phone is the identity.
        self._anonymous_phones: dict[str, int] = {}

    def conflict(self, customer: NewCustomer) -> str | None:
        """Why this row clashes with an earlier one, or None."""
        if customer.customer_no:
            line = self._customer_nos.get(customer.customer_no)
            if line is not None:
                return f"customer_no {customer.customer_no} is already on line {line}"
        earlier = self._phones if customer.customer_no is None else self._anonymous_phones
        for phone in customer.phones:
            line = earlier.get(phone)
            if line is not None:
                return (
                    f"phone {phone} is already on line {line}; give both rows a customer_no "
                    "to import a shared number"
                )
        return None

    def add(self, customer: NewCustomer, line: int) -> None:
        """Remember the identities of an accepted row."""
        if customer.customer_no:
            self._customer_nos[customer.customer_no] = line
        for phone in customer.phones:
            self._phones.setdefault(phone, line)
            if customer.customer_no is None:
                self._anonymous_phones.setdefault(phone, line)


async def import_csv(
    store: CustomerStore, text: str, *, default_country: str, batch_rows: int = BATCH_ROWS
) -> ImportReport:
    """Validate the whole file, then create or update each good row, `batch_rows` per transaction.

    A database failure stops the import; the batches before it stay committed, and importing
    the file again finishes the job without duplicates.
    """
    parsed = parse_csv(text, default_country)
    created = updated = 0
    rejected = list(parsed.rejected)
    for start in range(0, len(parsed.rows), batch_rows):
        async with store.in_transaction() as batch:
            for row in parsed.rows[start : start + batch_rows]:
                try:
                    _, was_created = await batch.upsert(row.customer)
                except AmbiguousPhoneError as exc:
                    # Nothing was written for this row, so the batch's transaction goes on.
                    rejected.append(Rejected(row.line, str(exc)))
                    continue
                if was_created:
                    created += 1
                else:
                    updated += 1
    rejected.sort()
    return ImportReport(created, updated, rejected, parsed.ignored_columns)


def format_report(report: ImportReport) -> str:
    """The report as a person reads it on a terminal."""
    lines = [
        f"{report.created} customers created, {report.updated} updated, {len(report.rejected)} rows rejected"
    ]
    if report.ignored_columns:
        lines.append(f"Ignored columns: {', '.join(report.ignored_columns)} (known: {', '.join(COLUMNS)})")
    lines.extend(f"  line {r.line}: {r.reason}" for r in report.rejected)
    if report.rejected:
        lines.append(
            "Fix the rejected rows and import the file again; rows already imported are updated, not duplicated."
        )
    return "\n".join(lines)
