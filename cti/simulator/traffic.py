"""The simulator's traffic: who calls, when, how each call goes, and what callers do in the IVR.

One seeded random generator draws everything, so two simulators with the same settings and seed
play the same calls (the benchmarks give both contenders the same traffic this way).
"""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Awaitable, Callable
from typing import Literal

from cti.simulator.ivr_caller import walk_ivr
from cti.simulator.scenarios import Scenario
from cti.simulator.settings import SimulatorSettings

__all__ = ["DialOutcome", "Traffic"]

logger = logging.getLogger(__name__)

DialOutcome = Literal["answered", "busy", "no_answer"]

# What a simulated caller keys in the IVR's main menu: an agent, a FAQ then an agent, ...
_IVR_CHOICES: tuple[tuple[str, ...], ...] = (("0",), ("2", "0"), ("3", "0"), ("4", "0"))
_DEMO_NAMES = (
    "Nguyễn Văn An",
    "Trần Thị Bích",
    "Lê Hoàng Cường",
    "Phạm Thu Dung",
    "Hoàng Minh Đức",
    "Võ Thị Giang",
    "Đặng Quốc Huy",
    "Bùi Ngọc Lan",
)
# The dialled number the IVR sees (agi_extension), as in the lab's from-pstn calls.
_IVR_EXTENSION = "5551234"


class Traffic:
    """Draws the calls from `settings`: arrival times, callers, scenarios, dial outcomes, IVR keys."""

    def __init__(self, settings: SimulatorSettings) -> None:
        self._settings = settings
        self._rng = random.Random(settings.seed)  # noqa: S311 - traffic shape, not security
        self._ivr_reachable = True

    async def run(
        self, place: Callable[[str, str, Scenario], Awaitable[object]], stopped: Callable[[], bool]
    ) -> None:
        """`place(number, name, scenario)` as a Poisson process at `calls_per_minute` until cancelled
        or `stopped()` (returns at once for 0)."""
        rate_per_s = self._settings.calls_per_minute / 60.0
        if rate_per_s <= 0:
            return
        loop = asyncio.get_running_loop()
        due = loop.time()
        while True:
            due += self._rng.expovariate(rate_per_s)
            # Sleep towards an absolute schedule so a busy loop does not lower the rate.
            await asyncio.sleep(max(due - loop.time(), 0.0))
            if stopped():
                return
            number, name = self.caller()
            await place(number, name, self.scenario())

    def caller(self) -> tuple[str, str]:
        """A caller's (number, name): one of `caller_numbers`, else a made-up mobile number."""
        if self._settings.caller_numbers:
            return self._rng.choice(self._settings.caller_numbers)
        number = "09" + "".join(self._rng.choice("0123456789") for _ in range(8))
        return number, self._rng.choice(_DEMO_NAMES)

    def scenario(self) -> Scenario:
        """How the next call goes: abandoned, ring-all, or answered, in the configured shares."""
        draw = self._rng.random()
        if draw < self._settings.abandon_share:
            return "abandon"
        if draw < self._settings.abandon_share + self._settings.ringall_share:
            return "ringall"
        return "answered"

    def takes_ivr(self) -> bool:
        """Whether an inbound caller walks the IVR before the queue (`ivr_share` of them do)."""
        return self._rng.random() < self._settings.ivr_share

    def dial_outcome(self) -> DialOutcome:
        """How an Originate ends: answered, busy, or ringing out, in the configured shares."""
        draw = self._rng.random()
        if draw < self._settings.originate_answer_share:
            return "answered"
        if draw < self._settings.originate_answer_share + self._settings.originate_busy_share:
            return "busy"
        return "no_answer"

    async def walk_ivr(
        self, *, channel: str, unique_id: str, linked_id: str, caller_number: str, caller_name: str
    ) -> None:
        """The caller goes through Hotline's IVR first (AGI on the ;2 leg, as the lab dialplan does).

        An IVR that does not answer is said once, when it goes away, and the caller goes on to the
        queue (the demo's first calls may come before Hotline listens).
        """
        settings = self._settings
        try:
            variables = await walk_ivr(
                settings.ivr_host,
                settings.ivr_port,
                channel=channel,
                unique_id=unique_id,
                linked_id=linked_id,
                caller_number=caller_number,
                caller_name=caller_name,
                extension=_IVR_EXTENSION,
                keys=self._rng.choice(_IVR_CHOICES),
            )
        except (OSError, TimeoutError) as exc:
            if self._ivr_reachable:
                logger.warning(
                    "the IVR at %s:%d is not reachable (%s); calls go straight to the queue",
                    settings.ivr_host,
                    settings.ivr_port,
                    exc,
                )
            self._ivr_reachable = False
            return
        if not self._ivr_reachable:
            logger.info(
                "the IVR at %s:%d answers; callers walk it again", settings.ivr_host, settings.ivr_port
            )
        self._ivr_reachable = True
        logger.debug("simulated call %s left the IVR with %s", linked_id, variables)
