"""Settings of the customers package."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class CustomerSettings:
    """The country assumed for numbers dialled without a country code (ISO 3166 alpha-2)."""

    default_country: str = "VN"
