"""IVR: the FastAGI server and the menu engine; what other packages use of it is named here."""

from ivr.errors import (
    AgiCommandFailedError,
    AgiCommandRefusedError,
    AgiConnectionClosedError,
    AgiProtocolError,
    AgiSessionEndedError,
    AgiTimeoutError,
    CallerHungUpError,
    IvrError,
    MenuConfigError,
)
from ivr.fastagi import (
    FastAgiServer,
    FastAgiSettings,
)
from ivr.flows import (
    IvrFlows,
    IvrOutcome,
    IvrStep,
    IvrVisit,
    IvrVisitEnded,
)
from ivr.settings import IvrSettings

__all__ = [
    "AgiCommandFailedError",
    "AgiCommandRefusedError",
    "AgiConnectionClosedError",
    "AgiProtocolError",
    "AgiSessionEndedError",
    "AgiTimeoutError",
    "CallerHungUpError",
    "FastAgiServer",
    "FastAgiSettings",
    "IvrError",
    "IvrFlows",
    "IvrOutcome",
    "IvrSettings",
    "IvrStep",
    "IvrVisit",
    "IvrVisitEnded",
    "MenuConfigError",
]
