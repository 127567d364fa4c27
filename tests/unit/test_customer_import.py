"""CSV validation of customer imports (pure): good rows pass, each bad row is reported with its line."""

from __future__ import annotations

import unicodedata
from datetime import UTC, date, datetime

import pytest

from customers.errors import InvalidCustomerError
from customers.importer import ImportReport, Rejected, format_report, parse_csv
from customers.model import Interaction, NewCustomer, Tier

HEADER = "customer_no,name,phone,email,tier,birthday\n"


def reasons(text: str) -> dict[int, str]:
    return {r.line: r.reason for r in parse_csv(text, "VN").rejected}


def test_good_rows_become_validated_records() -> None:
    text = (
        "customer_no,name,phone,email,tier,birthday\r\n"
        "C1,Trần Văn Bình,0912345678;+84 90 111 2222,binh@example.com,VIP,1985-03-14\r\n"
        "C2,Jane Doe,0901234567|0901234567,,gold,\r\n"
        ",Walk-in Customer,0977 000 111,,,\r\n"
    )
    parsed = parse_csv(text, "VN")
    assert parsed.rejected == []
    assert [row.line for row in parsed.rows] == [2, 3, 4]
    binh = parsed.rows[0].customer
    assert binh == NewCustomer(
        name="Trần Văn Bình",
        phones=("+84912345678", "+84901112222"),
        email="binh@example.com",
        tier=Tier.VIP,
        birthday=date(1985, 3, 14),
        customer_no="C1",
    )
    assert parsed.rows[1].customer.phones == ("+84901234567",)
    walk_in = parsed.rows[2].customer
    assert (walk_in.customer_no, walk_in.tier, walk_in.email) == (None, None, None)


def test_a_byte_order_mark_header_case_and_column_order_are_accepted() -> None:
    parsed = parse_csv("\ufeff Phone ,NAME\n0901000001,An Nguyen\n", "VN")
    assert parsed.rejected == []
    assert parsed.rows[0].customer.name == "An Nguyen"
    assert parsed.rows[0].customer.phones == ("+84901000001",)


def test_vietnamese_names_keep_their_diacritics_and_become_nfc() -> None:
    decomposed = unicodedata.normalize("NFD", "Trần Văn Bình")
    assert decomposed != "Trần Văn Bình"
    parsed = parse_csv(f"name,phone\n{decomposed},0901000001\n  Nguyễn   Thị  Đào ,0901000002\n", "VN")
    assert [row.customer.name for row in parsed.rows] == ["Trần Văn Bình", "Nguyễn Thị Đào"]


def test_a_semicolon_separated_file_as_excel_writes_it_in_vietnam() -> None:
    parsed = parse_csv('name;phone;tier\nLê Thị Hoa;"0901000001;0901000002";gold\n', "VN")
    assert parsed.rejected == []
    assert parsed.rows[0].customer.phones == ("+84901000001", "+84901000002")
    assert parsed.rows[0].customer.tier is Tier.GOLD


def test_bad_rows_are_listed_with_line_and_reason_and_good_rows_still_pass() -> None:
    text = (
        HEADER
        + "C1,Good One,0901000001,,,\n"
        + "C2,,0901000002,,,\n"
        + "C3,Bad Phone,call me,,,\n"
        + "C4,Bad Tier,0901000004,,platinum,\n"
        + "C5,Bad Date,0901000005,,,14/03/1985\n"
        + "C6,Bad Mail,0901000006,not-an-email,,\n"
        + "C1,Duplicate,0901000007,,,\n"
        + "C8,Too,Many,Fields,,,,\n"
        + "\n"
        + "C9,Last Good,0901000009,,,\n"
        + "C10,No Phone,,,,\n"
        + "bad no!,Bad Number,0901000011,,,\n"
        + "C12,Bad Everything,12,x@,gold-ish,1985-02-30\n"
    )
    parsed = parse_csv(text, "VN")
    assert [row.line for row in parsed.rows] == [2, 11]
    found = {r.line: r.reason for r in parsed.rejected}
    assert sorted(found) == [3, 4, 5, 6, 7, 8, 9, 12, 13, 14]
    assert "name: required" in found[3]
    assert "'call me' is not a phone number" in found[4]
    assert "'platinum' is not one of vip, gold, standard" in found[5]
    assert "'14/03/1985' is not a date" in found[6]
    assert "'not-an-email' is not an email address" in found[7]
    assert "customer_no C1 is already on line 2" in found[8]
    assert "8 fields but the header names 6 columns" in found[9]
    assert "at least one phone number is required" in found[12]
    assert "customer_no:" in found[13]
    for field in ("phone:", "email:", "tier:", "birthday:"):
        assert field in found[14]


@pytest.mark.parametrize(
    ("row", "reason"),
    [
        ("C1,x" + "y" * 200 + ",0901000001,,,", "at most 200 characters"),
        ("C1,Nul\x00Name,0901000001,,,", "control characters"),
        ("C1,Esc\x1b[2JName,0901000001,,,", "control characters"),
        ("C1,Ann,0901000001,ann@@example.com,,", "not an email address"),
        ("C1,Ann,0901000001,ann@example,,", "not an email address"),
        ("C1,Ann,0901000001,a b@example.com,,", "not an email address"),
        ("C1,Ann,0901000001,,,1899-12-31", "birthday: before 1900"),
        ("C1,Ann," + ";".join(f"09010000{i:02d}" for i in range(11)) + ",,,", "at most 10 numbers"),
    ],
)
def test_each_field_rule_is_enforced(row: str, reason: str) -> None:
    assert reason in reasons(HEADER + row + "\n")[2]


def test_a_number_shared_by_rows_without_customer_no_is_refused() -> None:
    # Without a customer_no the phone is what identifies a row, so two rows would be one customer.
    text = (
        HEADER
        + ",Parent,0901000001,,,\n"
        + ",Child,0901000001,,,\n"
        + "C3,Grandma,0901000001,,,\n"
        + "C4,Aunt,0901000004,,,\n"
        + "C5,Uncle,0901000004,,,\n"
        + ",Cousin,0901000004,,,\n"
    )
    parsed = parse_csv(text, "VN")
    assert [row.customer.name for row in parsed.rows] == ["Parent", "Aunt", "Uncle"]
    found = {r.line: r.reason for r in parsed.rejected}
    assert "phone +84901000001 is already on line 2" in found[3]
    assert "phone +84901000001 is already on line 2" in found[4]
    assert "phone +84901000004 is already on line 5" in found[7]


def test_line_numbers_count_physical_lines_across_quoted_newlines() -> None:
    text = HEADER + 'C1,"Multi\nLine",0901000001,,,\nC2,,0901000002,,,\n'
    parsed = parse_csv(text, "VN")
    assert [(r.line, r.reason) for r in parsed.rejected] == [(4, "name: required")]
    # Whitespace inside a name, line breaks included, becomes one space.
    assert parse_csv(text, "VN").rows[0].customer.name == "Multi Line"


def test_broken_quoting_is_reported_and_later_rows_still_pass() -> None:
    found = reasons(HEADER + 'C1,"Ann"x,0901000001,,,\nC2,Bob,0901000002,,,\nC3,"Open,0901000003,,,\n')
    assert "not valid CSV" in found[2]
    assert "not valid CSV" in found[4]
    assert [row.line for row in parse_csv(HEADER + 'C1,"Ann"x,0,,,\nC2,Bob,0901000002,,,\n', "VN").rows] == [
        3
    ]


def test_unknown_columns_are_reported_as_ignored() -> None:
    parsed = parse_csv("name,phone,notes,emial\nAn,0901000001,likes tea,an@example.com\n", "VN")
    assert parsed.ignored_columns == ("notes", "emial")
    assert parsed.rows[0].customer.email is None


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "the file is empty"),
        ("\ufeff", "the file is empty"),
        ("id;fullname\n1;x\n", "missing name, phone"),
        ("C1,Jane Doe,0901234567,,gold,\n", "missing name, phone"),
        ("name,phone,name\nA,0901000001,B\n", "column name appears more than once"),
    ],
)
def test_a_file_without_a_usable_header_is_refused_as_a_whole(text: str, reason: str) -> None:
    parsed = parse_csv(text, "VN")
    assert parsed.rows == []
    assert len(parsed.rejected) == 1
    assert parsed.rejected[0].line == 1
    assert reason in parsed.rejected[0].reason


def test_the_default_country_reads_national_numbers() -> None:
    parsed = parse_csv("name,phone\nJohn,(212) 555-1234\n", "US")
    assert parsed.rows[0].customer.phones == ("+12125551234",)


def test_rejected_rows_are_line_reason_pairs() -> None:
    rejected = Rejected(4, "phone: bad")
    line, reason = rejected
    assert (line, reason) == (4, "phone: bad")


def test_report_tells_what_happened_and_what_to_do() -> None:
    text = format_report(
        ImportReport(created=2, updated=1, rejected=[Rejected(4, "phone: bad")], ignored_columns=("notes",))
    )
    lines = text.splitlines()
    assert lines[0] == "2 customers created, 1 updated, 1 rows rejected"
    assert "Ignored columns: notes" in lines[1]
    assert "  line 4: phone: bad" in lines
    assert "import the file again" in lines[-1]
    assert format_report(ImportReport(created=3)) == "3 customers created, 0 updated, 0 rows rejected"


def test_invalid_customers_list_every_problem() -> None:
    with pytest.raises(InvalidCustomerError) as caught:
        NewCustomer.create(name=" ", phones=["abc"], email="nope", customer_no="bad no!")
    assert set(caught.value.problems) == {"name", "phone", "email", "customer_no"}


def test_tiers_are_ordered_vip_highest() -> None:
    assert Tier.VIP > Tier.GOLD > Tier.STANDARD
    assert max([Tier.STANDARD, Tier.VIP, Tier.GOLD]) is Tier.VIP
    assert sorted(Tier) == [Tier.STANDARD, Tier.GOLD, Tier.VIP]
    assert Tier.GOLD <= Tier.GOLD
    # By importance, not by spelling ("gold" < "standard" < "vip" as text).
    assert Tier.STANDARD < Tier.GOLD
    assert Tier.GOLD >= Tier.STANDARD


def test_a_tier_is_its_text_and_compares_only_with_tiers() -> None:
    assert Tier.VIP == "vip"
    assert str(Tier.GOLD) == "gold"
    assert {"vip": 1}[Tier.VIP] == 1
    with pytest.raises(TypeError, match="only with a tier"):
        assert Tier.VIP > "a"


def test_an_interaction_needs_a_time_zone() -> None:
    with pytest.raises(ValueError, match="time zone"):
        Interaction(datetime(2026, 11, 1, 9, 0), "call", "hello", None)
    assert Interaction(datetime(2026, 11, 1, 9, 0, tzinfo=UTC), "call", "hello", None).ref is None
