"""Phone normalisation: every spelling of a caller becomes one E.164 number, or a clear refusal."""

from __future__ import annotations

import pytest

from customers.errors import InvalidPhoneError
from customers.phone import COUNTRIES, normalise_phone


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
        "090/123/4567",
        " +84 90 123 45 67 ",
        "+84\u00a090\u00a0123\u00a04567",
        "901234567",
        "+84 (0) 90 123 4567",
        "+84 090 123 4567",
        "00 84 090 123 4567",
    ],
)
def test_vietnamese_spellings_are_one_caller(raw: str) -> None:
    assert normalise_phone(raw, "VN") == "+84901234567"


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        # Vietnam: mobile and Ho Chi Minh City landline; a mobile prefix equal to the calling code.
        ("0912345678", "VN", "+84912345678"),
        ("028 3812 3456", "VN", "+842838123456"),
        ("0841234567", "VN", "+84841234567"),
        ("841234567", "VN", "+84841234567"),
        ("0901234567", "vn", "+84901234567"),
        # North America: trunk 1 equals the calling code; international prefix 011.
        ("(212) 555-1234", "US", "+12125551234"),
        ("1 212 555 1234", "US", "+12125551234"),
        ("+1 212 555 1234", "US", "+12125551234"),
        ("212.555.1234", "CA", "+12125551234"),
        ("011 84 90 123 4567", "US", "+84901234567"),
        ("00 84 90 123 4567", "US", "+84901234567"),
        # Europe.
        ("020 7946 0958", "GB", "+442079460958"),
        ("+44 (0)20 7946 0958", "GB", "+442079460958"),
        ("+44 20 7946 0958", "VN", "+442079460958"),
        ("01 23 45 67 89", "FR", "+33123456789"),
        ("0033 1 23 45 67 89", "FR", "+33123456789"),
        ("030 1234567", "DE", "+49301234567"),
        # Asia-Pacific.
        ("02 9876 5432", "AU", "+61298765432"),
        ("0011 84 90 123 4567", "AU", "+84901234567"),
        ("03-1234-5678", "JP", "+81312345678"),
        ("010 84 90 123 4567", "JP", "+84901234567"),
        ("6123 4567", "SG", "+6561234567"),
        ("+65 6123 4567", "SG", "+6561234567"),
        ("65 6123 4567", "SG", "+6561234567"),
        ("02 123 4567", "TH", "+6621234567"),
        ("010 1234 5678", "CN", "+861012345678"),
        ("138 0013 8000", "CN", "+8613800138000"),
        ("098765 43210", "IN", "+919876543210"),
        ("0917 123 4567", "PH", "+639171234567"),
        ("0812-3456-789", "ID", "+628123456789"),
        ("012-345 6789", "MY", "+60123456789"),
        ("010-1234-5678", "KR", "+821012345678"),
        # A number from another country stays that country's, whatever the default.
        ("+33 1 23 45 67 89", "KR", "+33123456789"),
        ("+39 06 1234 5678", "VN", "+390612345678"),
    ],
)
def test_other_countries_and_international_numbers(raw: str, country: str, expected: str) -> None:
    assert normalise_phone(raw, country) == expected


@pytest.mark.parametrize("country", sorted(COUNTRIES))
def test_an_e164_number_is_its_own_normal_form_in_every_country(country: str) -> None:
    assert normalise_phone("+84901234567", country) == "+84901234567"
    assert normalise_phone(normalise_phone("0901234567", "VN"), country) == "+84901234567"


def test_the_country_table_covers_the_supported_countries() -> None:
    assert {
        "VN",
        "US",
        "CA",
        "GB",
        "FR",
        "DE",
        "AU",
        "JP",
        "SG",
        "TH",
        "CN",
        "IN",
        "PH",
        "ID",
        "MY",
        "KR",
    } <= set(COUNTRIES)
    assert COUNTRIES["SG"].trunk_prefix == ""
    assert (COUNTRIES["US"].calling_code, COUNTRIES["US"].trunk_prefix) == ("1", "1")


@pytest.mark.parametrize(
    ("raw", "country", "reason"),
    [
        ("", "VN", "empty"),
        ("   ", "VN", "empty"),
        ("-- ()", "VN", "empty"),
        ("call me", "VN", "only digits"),
        ("0901234567 ext 12", "VN", "only digits"),
        ("<unknown>", "VN", "only digits"),
        ("anonymous", "VN", "only digits"),
        ("+", "VN", "only digits"),
        ("++84901234567", "VN", "only digits"),
        ("0901+234567", "VN", "only digits"),
        ("0901\r\n234567", "VN", "only digits"),
        ("１２３４５６７８", "VN", "only digits"),
        ("٠٩٠١٢٣٤٥٦٧", "VN", "only digits"),
        ("12345", "VN", "too short"),
        ("1001", "VN", "too short"),
        ("0", "VN", "too short"),
        ("+84 90", "VN", "too short"),
        ("+8490123456789012", "VN", "more than 15 digits"),
        ("0084 9012 3456 7890 12", "VN", "more than 15 digits"),
        ("+0901234567", "VN", "never starts with 0"),
        ("000901234567", "VN", "never starts with 0"),
        ("0901234567", "XX", "unknown default country"),
        ("0901234567", "", "unknown default country"),
        ("9" * 60, "VN", "longer than 40"),
    ],
)
def test_unusable_numbers_are_refused_with_a_reason(raw: str, country: str, reason: str) -> None:
    with pytest.raises(InvalidPhoneError, match=reason) as caught:
        normalise_phone(raw, country)
    assert caught.value.reason
    assert isinstance(caught.value, ValueError)
