"""CSV validation of customer imports: good rows pass, each bad row is reported with its line."""

from __future__ import annotations

from datetime import date

from customers.importer import ImportReport, Rejected, format_report, parse_csv
from customers.model import Tier

GOOD = (
    "customer_no,name,phone,email,tier,birthday\r\n"
    "C1,Trần Văn Bình,0912345678;+84 90 111 2222,binh@example.com,VIP,1985-03-14\r\n"
    "C2,Jane Doe,0901234567,,gold,\r\n"
    ",Walk-in Customer,0977 000 111,,,\r\n"
)


def test_good_rows_become_validated_records() -> None:
    good, rejected = parse_csv(GOOD, "VN")
    assert rejected == []
    assert [line for line, _ in good] == [2, 3, 4]
    binh = good[0][1]
    assert (binh.name, binh.tier, binh.birthday) == ("Trần Văn Bình", Tier.VIP, date(1985, 3, 14))
    assert binh.phones == ("+84912345678", "+84901112222")
    assert good[2][1].customer_no is None
    assert good[2][1].tier is Tier.STANDARD


def test_a_byte_order_mark_and_header_case_are_accepted() -> None:
    good, rejected = parse_csv("\ufeffName,Phone\nAn Nguyen,0901000001\n", "VN")
    assert rejected == []
    assert good[0][1].phones == ("+84901000001",)


def test_bad_rows_are_listed_with_line_and_reason_and_good_rows_still_pass() -> None:
    text = (
        "customer_no,name,phone,email,tier,birthday\n"
        "C1,Good One,0901000001,,,\n"
        "C2,,0901000002,,,\n"
        "C3,Bad Phone,call me,,,\n"
        "C4,Bad Tier,0901000004,,platinum,\n"
        "C5,Bad Date,0901000005,,,14/03/1985\n"
        "C6,Bad Mail,0901000006,not-an-email,,\n"
        "C1,Duplicate,0901000007,,,\n"
        "C8,Too,Many,Fields,,,,\n"
        "\n"
        "C9,Last Good,0901000009,,,\n"
    )
    good, rejected = parse_csv(text, "VN")
    assert [line for line, _ in good] == [2, 11]
    reasons = {r.line: r.reason for r in rejected}
    assert sorted(reasons) == [3, 4, 5, 6, 7, 8, 9]
    assert "name: required" in reasons[3]
    assert "'call me' is not a phone number" in reasons[4]
    assert "'platinum' is not one of vip, gold, standard" in reasons[5]
    assert "not a date" in reasons[6]
    assert "not an email" in reasons[7]
    assert "already on line 2" in reasons[8]
    assert "more fields" in reasons[9]


def test_a_file_without_the_required_columns_is_refused_as_a_whole() -> None:
    good, rejected = parse_csv("id;fullname\n1;x\n", "VN")
    assert good == []
    assert rejected[0].line == 1
    assert "missing name, phone" in rejected[0].reason


def test_report_tells_what_to_do() -> None:
    text = format_report(ImportReport(created=2, updated=1, rejected=[Rejected(4, "phone: bad")]))
    assert text.splitlines()[0] == "2 customers created, 1 updated, 1 rows rejected"
    assert "line 4: phone: bad" in text
    assert "import the file again" in text
