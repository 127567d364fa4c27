"""The IVR's slice of the settings: the FastAGI listener and the validated menu."""

from __future__ import annotations

from dataclasses import dataclass

from ivr.fastagi import FastAgiSettings
from ivr.menu import Menu


@dataclass(frozen=True)
class IvrSettings:
    """Whether Hotline answers FastAGI, where, and the menu it plays (config/ivr.toml)."""

    enabled: bool
    fastagi: FastAgiSettings
    menu: Menu
    script: str = "ivr"
