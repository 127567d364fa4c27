"""Settings of the customers package."""

from __future__ import annotations

from dataclasses import dataclass

from customers.phone import COUNTRIES


@dataclass(frozen=True)
class CustomerSettings:
    """The country assumed for numbers dialled without a country code (ISO 3166 alpha-2, in COUNTRIES)."""

    default_country: str = "VN"

    def __post_init__(self) -> None:
        # Refused here rather than at the first call: an unknown country would make every
        # caller unknown and every import row invalid.
        if self.default_country not in COUNTRIES:
            raise ValueError(
                f"default_country {self.default_country!r} is not one of {', '.join(sorted(COUNTRIES))}"
            )
