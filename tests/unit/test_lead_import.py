"""Lead CSV validation: bad numbers and zones listed, duplicates merged by name + number similarity."""

from __future__ import annotations

from cti.leads_import import fold_name, parse_leads


def e164(raw: str) -> str:
    """A stand-in for customers' normaliser: Vietnamese national numbers only."""
    digits = raw.replace(" ", "").replace(".", "")
    if not digits.isdigit() or not digits.startswith("0") or len(digits) != 10:
        raise ValueError("not a 10-digit national number")
    return "+84" + digits[1:]


def test_good_rows_are_kept_with_their_line_and_the_default_zone() -> None:
    parsed = parse_leads("phone;name\n0901234567;An\n0912 345 678;Bình\n", e164, "Asia/Ho_Chi_Minh")
    assert [(r.line, r.lead.phone, r.lead.name, r.lead.timezone) for r in parsed.rows] == [
        (2, "+84901234567", "An", "Asia/Ho_Chi_Minh"),
        (3, "+84912345678", "Bình", "Asia/Ho_Chi_Minh"),
    ]
    assert parsed.rejected == []


def test_bad_numbers_and_zones_are_listed_with_their_line() -> None:
    parsed = parse_leads(
        "phone,name,timezone\n12345,Short,\n0901234567,Good,Europe/Paris\n0901234568,Zone,Mars/Olympus\n,Empty,\n",
        e164,
        "Asia/Ho_Chi_Minh",
    )
    assert [r.lead.timezone for r in parsed.rows] == ["Europe/Paris"]
    assert [(r.line, r.reason.split(":")[0]) for r in parsed.rejected] == [
        (2, "bad number '12345'"),
        (4, "unknown time zone 'Mars/Olympus' (expected e.g. Asia/Ho_Chi_Minh)"),
        (5, "bad number ''"),
    ]


def test_duplicates_are_merged_by_number_and_by_name_plus_number_similarity() -> None:
    parsed = parse_leads(
        "phone,name\n"
        "0901234567,Nguyễn Văn An\n"  # 2 kept
        "090 123 4567,Someone Else\n"  # 3 the same number
        "0901234568,Nguyen Van An\n"  # 4 same name without diacritics, one digit off
        "0901234569,Nguyen Van Anh\n"  # 5 nearly the same name, one digit off
        "0901234560,Tran Thi Bich\n"  # 6 a different person on a neighbouring number: kept
        "0987654321,Nguyen Van An\n"  # 7 the same name on a far number: another person, kept
        "0901234500,Nguyễn Văn An\n",  # 8 same name, two digits off: kept
        e164,
        "Asia/Ho_Chi_Minh",
    )
    assert [r.line for r in parsed.rows] == [2, 6, 7, 8]
    assert [(m.line, m.into_line) for m in parsed.merged] == [(3, 2), (4, 2), (5, 2)]
    assert parsed.merged[0].reason == "the same number"


def test_folding_drops_case_diacritics_and_the_crossed_d() -> None:
    assert fold_name("  Đặng   Quốc HUY ") == "dang quoc huy"


def test_a_header_without_phone_refuses_the_file() -> None:
    parsed = parse_leads("name,number\nAn,0901234567\n", e164, "Asia/Ho_Chi_Minh")
    assert parsed.rows == []
    assert parsed.rejected[0].line == 1
    assert "phone" in parsed.rejected[0].reason
