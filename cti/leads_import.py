"""CSV import of a campaign's leads, with a validation report.

Reading and validating is pure (`parse_leads`): bad numbers and unknown time zones are listed
with their line, and duplicates are merged: the same number exactly, or a name and a number
that are both nearly the same (a typo in one digit, a name spelt with or without diacritics),
scored with rapidfuzz. Only the first row of a duplicate group is kept; the report names the
line it was merged into. Phone numbers are normalised through a port, so cti needs no
knowledge of national numbering plans.
"""

from __future__ import annotations

import csv
import io
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import NamedTuple
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from rapidfuzz import fuzz
from rapidfuzz.distance import Levenshtein

from cti.dialer_store import DialerStore, NewLead

PhoneNormaliser = Callable[[str], str]
"""Port: the E.164 form of a number as a person wrote it; raises ValueError with a reason."""

COLUMNS = ("phone", "name", "timezone")
MAX_ROWS = 200_000
# Both must be close for two rows to be one person: 88 lets "Nguyen Van An" match
# "Nguyễn Văn An" or "Nguyen Van Anh"; 0.9 allows one wrong digit in a ten-digit number.
NAME_SIMILARITY = 88.0
PHONE_SIMILARITY = 0.9
_DELIMITERS = (",", ";", "\t")


class RejectedLead(NamedTuple):
    """A row that was not imported: its line and why."""

    line: int
    reason: str


class MergedLead(NamedTuple):
    """A row merged into an earlier one as the same person."""

    line: int
    into_line: int
    reason: str


class LeadRow(NamedTuple):
    """A validated lead and the line it came from."""

    line: int
    lead: NewLead


@dataclass(frozen=True)
class ParsedLeads:
    """The validated file: leads to import, rows refused, rows merged as duplicates."""

    rows: list[LeadRow]
    rejected: list[RejectedLead] = field(default_factory=list)
    merged: list[MergedLead] = field(default_factory=list)


@dataclass(frozen=True)
class LeadImportReport:
    """What an import did."""

    created: int
    updated: int
    rejected: list[RejectedLead]
    merged: list[MergedLead]


def fold_name(name: str) -> str:
    """A name for comparing: lower case, no diacritics (đ -> d), single spaces."""
    text = name.replace("đ", "d").replace("Đ", "D")
    text = "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))
    return " ".join(text.casefold().split())


class _Seen:
    """Rows kept so far, indexed so each new row is compared with a few candidates only."""

    def __init__(self) -> None:
        self.by_phone: dict[str, int] = {}
        self.by_name: dict[str, list[tuple[str, int]]] = {}
        self.by_prefix: dict[str, list[tuple[str, str, int]]] = {}

    def duplicate_of(self, phone: str, name: str) -> tuple[int, str] | None:
        if phone in self.by_phone:
            return self.by_phone[phone], "the same number"
        folded = fold_name(name)
        # Same name, a number one typo away.
        for other_phone, line in self.by_name.get(folded, ()):
            if Levenshtein.normalized_similarity(phone, other_phone) >= PHONE_SIMILARITY:
                return line, f"the same name and a nearly identical number ({other_phone})"
        # Nearly the same name, a number differing in its last digits only.
        for other_phone, other_name, line in self.by_prefix.get(phone[:-2], ()):
            if (
                Levenshtein.normalized_similarity(phone, other_phone) >= PHONE_SIMILARITY
                and fuzz.token_sort_ratio(folded, other_name) >= NAME_SIMILARITY
            ):
                return line, f"a nearly identical name and number ({other_phone})"
        return None

    def add(self, phone: str, name: str, line: int) -> None:
        folded = fold_name(name)
        self.by_phone[phone] = line
        self.by_name.setdefault(folded, []).append((phone, line))
        self.by_prefix.setdefault(phone[:-2], []).append((phone, folded, line))


def parse_leads(text: str, normalise: PhoneNormaliser, default_timezone: str) -> ParsedLeads:
    """Validate a lead CSV (header with phone, name and optionally timezone)."""
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = max(_DELIMITERS, key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = [name.strip().lower() for name in next(reader)]
    except StopIteration:
        return ParsedLeads([], [RejectedLead(1, "the file is empty; the first line must name the columns")])
    except csv.Error as exc:
        return ParsedLeads([], [RejectedLead(1, f"the header cannot be read: {exc}")])
    missing = [c for c in ("phone", "name") if c not in header]
    if missing:
        return ParsedLeads([], [RejectedLead(1, f"the header lacks the column(s) {', '.join(missing)}")])
    rows: list[LeadRow] = []
    rejected: list[RejectedLead] = []
    merged: list[MergedLead] = []
    seen = _Seen()
    zones: dict[str, bool] = {}
    while True:
        line = reader.line_num + 1
        try:
            fields = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            rejected.append(RejectedLead(line, f"not valid CSV: {exc}"))
            continue
        if not any(value.strip() for value in fields):
            continue
        if len(rows) + len(rejected) + len(merged) >= MAX_ROWS:
            rejected.append(RejectedLead(line, f"the file has more than {MAX_ROWS} rows; split it"))
            break
        values = {name: value.strip() for name, value in zip(header, fields, strict=False)}
        name = values.get("name", "")
        if not name or len(name) > 200:
            rejected.append(RejectedLead(line, "the name is empty or longer than 200 characters"))
            continue
        try:
            phone = normalise(values.get("phone", ""))
        except ValueError as exc:
            rejected.append(RejectedLead(line, f"bad number {values.get('phone', '')!r}: {exc}"))
            continue
        zone = values.get("timezone") or default_timezone
        if zone not in zones:
            zones[zone] = _known_zone(zone)
        if not zones[zone]:
            rejected.append(
                RejectedLead(line, f"unknown time zone {zone!r} (expected e.g. Asia/Ho_Chi_Minh)")
            )
            continue
        duplicate = seen.duplicate_of(phone, name)
        if duplicate is not None:
            into, reason = duplicate
            merged.append(MergedLead(line, into, reason))
            continue
        seen.add(phone, name, line)
        rows.append(LeadRow(line, NewLead(phone, name, zone)))
    return ParsedLeads(rows, rejected, merged)


def _known_zone(zone: str) -> bool:
    if len(zone) > 64 or "\r" in zone or "\n" in zone:
        return False
    try:
        ZoneInfo(zone)
    except (ZoneInfoNotFoundError, ValueError):
        return False
    return True


async def import_leads(store: DialerStore, campaign_id: int, parsed: ParsedLeads) -> LeadImportReport:
    """Store the validated leads of a file in one statement; the report keeps what was refused."""
    created, updated = await store.add_leads(campaign_id, [row.lead for row in parsed.rows])
    return LeadImportReport(created, updated, parsed.rejected, parsed.merged)


def format_report(report: LeadImportReport) -> str:
    """The report as lines for a terminal."""
    lines = [
        f"{report.created} leads added, {report.updated} updated, "
        f"{len(report.merged)} merged as duplicates, {len(report.rejected)} refused"
    ]
    lines += [f"  line {r.line}: refused: {r.reason}" for r in report.rejected]
    lines += [f"  line {m.line}: merged into line {m.into_line}: {m.reason}" for m in report.merged]
    return "\n".join(lines)
