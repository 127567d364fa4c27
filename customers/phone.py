"""Phone-number normalisation to E.164, so every spelling of one caller finds one customer.

With default country VN, `0901234567`, `+84901234567`, `84901234567`, `0084901234567`,
`090 123 4567` and `(090) 123-4567` are all `+84901234567`. Pure: no I/O, no dependency.
"""

from __future__ import annotations

from typing import NamedTuple

from customers.errors import InvalidPhoneError


class Country(NamedTuple):
    """How a country writes numbers: calling code, national trunk prefix, extra international prefix."""

    calling_code: str
    trunk_prefix: str
    # Dialled before a foreign number where that is not "00"; "00" and "+" are always understood.
    international_prefix: str = "00"


COUNTRIES: dict[str, Country] = {
    "VN": Country("84", "0"),
    "US": Country("1", "1", "011"),
    "CA": Country("1", "1", "011"),
    "GB": Country("44", "0"),
    "FR": Country("33", "0"),
    "DE": Country("49", "0"),
    "AU": Country("61", "0", "0011"),
    "JP": Country("81", "0", "010"),
    "SG": Country("65", ""),
    "TH": Country("66", "0"),
    "CN": Country("86", "0"),
    "IN": Country("91", "0"),
    "PH": Country("63", "0"),
    "ID": Country("62", "0"),
    "MY": Country("60", "0"),
    "KR": Country("82", "0"),
}
# Calling codes form a prefix code, so at most one of these starts any international number.
_TRUNK_BY_CALLING_CODE = {country.calling_code: country.trunk_prefix for country in COUNTRIES.values()}

# A national number shorter than this is an extension or a short code, not a customer's line.
MIN_NATIONAL_DIGITS = 6
MAX_E164_DIGITS = 15
# Raw input beyond this is not a number someone wrote; it also bounds the work done per call.
MAX_RAW_CHARS = 40
_SEPARATORS = str.maketrans("", "", " -.()/\u00a0\t")
_DIGITS = frozenset("0123456789")


def normalise_phone(raw: str, default_country: str = "VN") -> str:
    """The E.164 form (`+84901234567`) of a number as a person or a PBX wrote it.

    InvalidPhoneError (with a plain reason) for anything that cannot be a phone number.
    """
    home = COUNTRIES.get(default_country.strip().upper())
    if home is None:
        raise InvalidPhoneError(raw, f"unknown default country {default_country!r}")
    if len(raw) > MAX_RAW_CHARS:
        raise InvalidPhoneError(raw[:MAX_RAW_CHARS] + "…", f"longer than {MAX_RAW_CHARS} characters")
    # "+44 (0)20 7946 0958": the bracketed 0 is the trunk prefix, dropped when dialling from abroad.
    text = raw.strip().replace("(0)", "").translate(_SEPARATORS)
    if not text:
        raise InvalidPhoneError(raw, "it is empty")
    international = _without_international_prefix(text, home)
    body = text if international is None else international
    if not body or not set(body) <= _DIGITS:
        raise InvalidPhoneError(raw, "only digits, spaces, '+', '-', '.', '/' and brackets are allowed")
    if international is not None:
        digits = _without_misplaced_trunk(body)
    else:
        digits = home.calling_code + _national_number(body, home)
        if len(digits) - len(home.calling_code) < MIN_NATIONAL_DIGITS:
            raise InvalidPhoneError(raw, "too short to be a phone number")
    if digits.startswith("0"):
        raise InvalidPhoneError(raw, "a country code never starts with 0")
    if len(digits) > MAX_E164_DIGITS:
        raise InvalidPhoneError(raw, f"more than {MAX_E164_DIGITS} digits")
    if len(digits) < MIN_NATIONAL_DIGITS + 1:
        raise InvalidPhoneError(raw, "too short to be a phone number")
    return "+" + digits


def _national_number(body: str, home: Country) -> str:
    """The national significant number of digits written without '+' or an international prefix."""
    if home.trunk_prefix and body.startswith(home.trunk_prefix):
        return body[len(home.trunk_prefix) :]
    if body.startswith(home.calling_code) and len(body) - len(home.calling_code) >= MIN_NATIONAL_DIGITS + 2:
        # Written internationally without '+' (84901234567): too long to be a national number
        # that happens to start with the calling code.
        return body[len(home.calling_code) :]
    return body


def _without_international_prefix(text: str, home: Country) -> str | None:
    """The number after '+', the country's international prefix or '00'; None for a national number."""
    for prefix in ("+", home.international_prefix, "00"):
        if text.startswith(prefix):
            return text[len(prefix) :]
    return None


def _without_misplaced_trunk(digits: str) -> str:
    """Drop a trunk prefix written after its calling code (+84 0901234567): never part of E.164."""
    for length in (1, 2, 3):
        code = digits[:length]
        trunk = _TRUNK_BY_CALLING_CODE.get(code)
        if trunk is not None:
            rest = digits[length:]
            return code + rest[len(trunk) :] if trunk and rest.startswith(trunk) else digits
    return digits
