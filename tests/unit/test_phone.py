"""Phone normalisation: every spelling of a caller becomes one E.164 number."""

from __future__ import annotations

import pytest

from customers.errors import InvalidPhoneError
from customers.phone import normalise_phone


@pytest.mark.parametrize(
    "raw",
    [
        "0901234567",
        "+84901234567",
        "84901234567",
        "0084901234567",
        "090 123 4567",
        "(090) 123-4567",
        "090.123.4567",
        " +84 90 123 45 67 ",
        "901234567",
    ],
)
def test_vietnamese_spellings_are_one_caller(raw: str) -> None:
    assert normalise_phone(raw, "VN") == "+84901234567"


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("(212) 555-1234", "US", "+12125551234"),
        ("1 212 555 1234", "US", "+12125551234"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", "VN", "+442079460958"),
        ("6123 4567", "SG", "+6561234567"),
        ("01 23 45 67 89", "fr", "+33123456789"),
        ("0912345678", "VN", "+84912345678"),
        ("02838123456", "VN", "+842838123456"),
    ],
)
def test_other_countries_and_international_numbers(raw: str, country: str, expected: str) -> None:
    assert normalise_phone(raw, country) == expected


@pytest.mark.parametrize(
    ("raw", "country", "reason"),
    [
        ("", "VN", "empty"),
        ("   ", "VN", "empty"),
        ("call me", "VN", "only digits"),
        ("0901\r\n234567", "VN", "only digits"),
        ("１２３４５６７８", "VN", "only digits"),
        ("12345", "VN", "too short"),
        ("+8490123456789012", "VN", "more than 15 digits"),
        ("+0901234567", "VN", "never starts with 0"),
        ("0901234567", "XX", "unknown default country"),
        ("9" * 60, "VN", "longer than 40"),
    ],
)
def test_unusable_numbers_are_refused_with_a_reason(raw: str, country: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneError, match=reason):
        normalise_phone(raw, country)
