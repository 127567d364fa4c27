"""CSV import of customers: every good row is imported, every bad row is reported with its reason.

Parsing and validation are pure (`parse_csv`); only `import_csv` touches the store.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date
from typing import Protocol

from customers.errors import InvalidCustomerError
from customers.model import Customer, NewCustomer, Tier

COLUMNS = ("customer_no", "name", "phone", "email", "tier", "birthday")
REQUIRED = ("name", "phone")
MAX_ROWS = 1_000_000
_PHONE_SEPARATORS = (";", "|")


@dataclass(frozen=True)
class Rejected:
    """A row that was not imported: its line in the file and why."""

    line: int
    reason: str


@dataclass
class ImportReport:
    """What an import did."""

    created: int = 0
    updated: int = 0
    rejected: list[Rejected] = field(default_factory=list)


class CustomerWriter(Protocol):
    """The part of the store an import needs."""

    async def upsert(self, new: NewCustomer) -> tuple[Customer, bool]:
        """Create or update one customer; True when created."""
        ...


def parse_csv(text: str, default_country: str) -> tuple[list[tuple[int, NewCustomer]], list[Rejected]]:
    """Validate a CSV document: (line number, record) for good rows, and the rejected rows."""
    reader = csv.DictReader(io.StringIO(text.removeprefix("\ufeff"), newline=""))
    header = [name.strip().lower() for name in reader.fieldnames or ()]
    missing = [name for name in REQUIRED if name not in header]
    if missing:
        return [], [
            Rejected(
                1, f"the header must name the columns {', '.join(COLUMNS)}; missing {', '.join(missing)}"
            )
        ]
    reader.fieldnames = header
    good: list[tuple[int, NewCustomer]] = []
    rejected: list[Rejected] = []
    seen_numbers: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if len(good) + len(rejected) >= MAX_ROWS:
            rejected.append(Rejected(line, f"the file has more than {MAX_ROWS} rows; split it"))
            break
        if None in row:
            rejected.append(Rejected(line, "more fields than the header has columns"))
            continue
        values = {key: (value or "").strip() for key, value in row.items()}
        if not any(values.values()):
            continue
        try:
            record = _record(values, default_country)
        except (InvalidCustomerError, ValueError) as exc:
            rejected.append(Rejected(line, str(exc)))
            continue
        if record.customer_no:
            if record.customer_no in seen_numbers:
                rejected.append(
                    Rejected(
                        line,
                        f"customer_no {record.customer_no} already on line {seen_numbers[record.customer_no]}",
                    )
                )
                continue
            seen_numbers[record.customer_no] = line
        good.append((line, record))
    return good, rejected


def _record(values: dict[str, str], default_country: str) -> NewCustomer:
    problems: dict[str, str] = {}
    tier = Tier.STANDARD
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
    phones = values.get("phone", "")
    for separator in _PHONE_SEPARATORS:
        phones = phones.replace(separator, ",")
    try:
        record = NewCustomer.create(
            name=values.get("name", ""),
            phones=[p for p in (part.strip() for part in phones.split(",")) if p],
            email=values.get("email") or None,
            tier=tier,
            birthday=birthday,
            customer_no=values.get("customer_no") or None,
            default_country=default_country,
        )
    except InvalidCustomerError as exc:
        problems.update(exc.problems)
    if problems:
        raise InvalidCustomerError(problems)
    return record


async def import_csv(store: CustomerWriter, text: str, *, default_country: str) -> ImportReport:
    """Validate the whole file, then create or update each good row."""
    good, rejected = parse_csv(text, default_country)
    report = ImportReport(rejected=rejected)
    for _line, record in good:
        _, created = await store.upsert(record)
        if created:
            report.created += 1
        else:
            report.updated += 1
    report.rejected.sort(key=lambda r: r.line)
    return report


def format_report(report: ImportReport) -> str:
    """The report as a person reads it on a terminal."""
    lines = [
        f"{report.created} customers created, {report.updated} updated, {len(report.rejected)} rows rejected"
    ]
    lines.extend(f"  line {r.line}: {r.reason}" for r in report.rejected)
    if report.rejected:
        lines.append(
            "Fix the rejected rows and import the file again; rows already imported are updated, not duplicated."
        )
    return "\n".join(lines)
