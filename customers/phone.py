"""Phone-number normalisation to E.164, so every spelling of one caller finds one customer.

With default country VN, `0901234567`, `+84901234567`, `84901234567`, `0084901234567` and
`(090) 123-4567` are all `+84901234567`. Pure: no I/O, no dependency.
"""

from __future__ import annotations

from customers.errors import InvalidPhoneError

# ISO country -> (calling code, national trunk prefix or "" where there is none).
COUNTRIES: dict[str, tuple[str, str]] = {
    "VN": ("84", "0"),
    "US": ("1", "1"),
    "CA": ("1", "1"),
    "GB": ("44", "0"),
    "FR": ("33", "0"),
    "DE": ("49", "0"),
    "AU": ("61", "0"),
    "JP": ("81", "0"),
    "SG": ("65", ""),
    "TH": ("66", "0"),
    "CN": ("86", "0"),
    "IN": ("91", "0"),
    "PH": ("63", "0"),
    "ID": ("62", "0"),
    "MY": ("60", "0"),
    "KR": ("82", "0"),
}
# National significant numbers: shortest and longest seen in these countries' plans.
_MIN_NATIONAL_DIGITS = 6
_MAX_E164_DIGITS = 15
_SEPARATORS = str.maketrans("", "", " -.()/\u00a0")
MAX_RAW_CHARS = 40


def normalise_phone(raw: str, default_country: str = "VN") -> str:
    """The E.164 form (`+84901234567`) of a number as a person or a PBX wrote it."""
    country = COUNTRIES.get(default_country.upper())
    if country is None:
        raise InvalidPhoneError(raw, f"unknown default country {default_country!r}")
    calling_code, trunk = country
    if len(raw) > MAX_RAW_CHARS:
        raise InvalidPhoneError(raw[:MAX_RAW_CHARS] + "…", f"longer than {MAX_RAW_CHARS} characters")
    text = raw.strip().translate(_SEPARATORS)
    if not text:
        raise InvalidPhoneError(raw, "it is empty")
    international = False
    if text.startswith("+"):
        text, international = text[1:], True
    elif text.startswith("00"):
        text, international = text[2:], True
    if not text.isdigit() or not text.isascii():
        raise InvalidPhoneError(raw, "only digits, spaces, '+', '-', '.', '/' and brackets are allowed")
    if international:
        digits = text
    elif trunk and text.startswith(trunk) and len(text) - len(trunk) >= _MIN_NATIONAL_DIGITS:
        digits = calling_code + text[len(trunk) :]
    elif text.startswith(calling_code) and len(text) - len(calling_code) >= _MIN_NATIONAL_DIGITS + 2:
        # Written internationally without the '+' (84901234567): long enough to hold a national number.
        digits = text
    elif len(text) >= _MIN_NATIONAL_DIGITS:
        digits = calling_code + text
    else:
        raise InvalidPhoneError(raw, "too short to be a phone number")
    if digits.startswith("0"):
        raise InvalidPhoneError(raw, "a country code never starts with 0")
    if len(digits) > _MAX_E164_DIGITS:
        raise InvalidPhoneError(raw, f"more than {_MAX_E164_DIGITS} digits")
    if len(digits) < _MIN_NATIONAL_DIGITS + 1:
        raise InvalidPhoneError(raw, "too short to be a phone number")
    return "+" + digits
