"""Agent-state use cases: log in/out of queues, pause and unpause on Asterisk; the live wallboard.

Every request is an AMI action (QueueAdd, QueueRemove, QueuePause); the state shown changes
only when Asterisk's own events confirm it (see `cti.agent_states`). Queue figures are pushed
through the `BoardSink` port at most `publish_delay_s` after the AMI event that changed them,
and every `tick_s` while time passes (windows slide, waits grow). Closed state periods go to
the `PeriodRecorder` port through one bounded background writer, many in one write.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from cti.agent_states import (
    DEFAULT_WRAP_UP_REASON,
    AgentStateChanged,
    AgentStateTracker,
    AgentStatus,
    Presence,
    StatePeriod,
    member_interface,
)
from cti.ami_client import AmiActions
from cti.ami_protocol import AmiMessage
from cti.errors import AmiNotConnectedError, CtiError, NotInQueueError, UnknownPauseReasonError
from cti.kpi import Forecast, KpiSettings, QueueBoard, QueueFigures
from cti.store import StateTotal

log = logging.getLogger(__name__)

DEFAULT_PAUSE_REASONS = ("Break", "Lunch", "Training", DEFAULT_WRAP_UP_REASON)
_PERIOD_BACKLOG = 10_000
_PERIOD_BATCH = 500
_PERIOD_RETRY_MAX_S = 60.0


@dataclass(frozen=True)
class AgentStateSettings:
    """Pause reasons, wrap-up and the wallboard's thresholds and update pace."""

    pause_reasons: tuple[str, ...] = DEFAULT_PAUSE_REASONS
    wrap_up_reason: str = DEFAULT_WRAP_UP_REASON
    kpi: KpiSettings = field(default_factory=KpiSettings)
    # Figures follow an AMI event within this delay; bursts of events cost one computation.
    publish_delay_s: float = 0.5
    tick_s: float = 5.0
    # A failed write of state periods is retried after this, doubling up to a minute.
    store_retry_s: float = 1.0
    # State periods closing within this of the first go to the database in one write: a busy
    # center closes dozens a second, and one round trip each would cost more than the rest.
    store_batch_s: float = 0.5

    def __post_init__(self) -> None:
        if not self.pause_reasons or any(not r.strip() or len(r) > 40 for r in self.pause_reasons):
            raise ValueError("pause_reasons must be a non-empty list of reasons of 1..40 characters")
        if not 0 < self.publish_delay_s <= 1 or not self.tick_s > 0 or not self.store_retry_s > 0:
            raise ValueError("publish_delay_s must be in (0, 1], tick_s and store_retry_s greater than 0")
        if not 0 <= self.store_batch_s <= 5:
            raise ValueError("store_batch_s must be within 0..5")


@dataclass(frozen=True, slots=True)
class StaffingWarning:
    """Pausing this agent would bring a queue's projected service level under the target."""

    interface: str
    queue: str
    reason: str
    projected_now: Forecast
    projected_after: Forecast


class BoardSink(Protocol):
    """Port: push agent states, queue figures and staffing warnings to the browsers."""

    def agent_state(self, status: AgentStatus) -> None:
        """An agent's state changed."""
        ...

    def queue_figures(self, figures: Sequence[QueueFigures], at: float) -> None:
        """The figures of every queue at `at`."""
        ...

    def watching_figures(self) -> bool:
        """Whether anyone would see queue figures pushed now (a supervisor's stream is open)."""
        ...

    def staffing_warning(self, warning: StaffingWarning) -> None:
        """A pause would push a queue under its service-level target."""
        ...


class PeriodRecorder(Protocol):
    """Port: keep closed state periods, and sum them for the time-in-state reports (cti's store)."""

    async def record_periods(self, periods: Sequence[StatePeriod]) -> None:
        """Store the periods."""
        ...

    async def totals(self, since: datetime, until: datetime) -> Sequence[StateTotal]:
        """Seconds per interface, state and reason of the periods overlapping [since, until)."""
        ...


class AgentStateService:
    """Agent states and queue figures from AMI; queue login, logout, pause and unpause on Asterisk."""

    def __init__(
        self,
        settings: AgentStateSettings,
        sink: BoardSink,
        recorder: PeriodRecorder,
        *,
        clock: Callable[[], float] = time.time,
        day_start: Callable[[float], float] | None = None,
    ) -> None:
        self._settings = settings
        self._sink = sink
        self._recorder = recorder
        self._clock = clock
        self._tracker = AgentStateTracker(wrap_up_reason=settings.wrap_up_reason)
        self._board = QueueBoard(settings.kpi, day_start or _local_midnight)
        self._ami: AmiActions | None = None
        self._publish_handle: asyncio.TimerHandle | None = None
        self._periods: asyncio.Queue[StatePeriod] = asyncio.Queue(maxsize=_PERIOD_BACKLOG)
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def settings(self) -> AgentStateSettings:
        """Reasons and thresholds in use."""
        return self._settings

    def attach(self, ami: AmiActions) -> None:
        """Send requests through this AMI connection."""
        self._ami = ami

    def status(self, interface: str) -> AgentStatus | None:
        """One interface's state (None until Asterisk mentioned it)."""
        return self._tracker.status(interface)

    def takes_calls(self, interface: str) -> bool:
        """Free for a call now: ready in a queue, or not (yet) reported by Asterisk at all."""
        status = self._tracker.status(interface)
        return status is None or status.presence is Presence.READY

    async def totals(self, since: datetime, until: datetime) -> Sequence[StateTotal]:
        """Time in each state per interface and reason over [since, until) (the supervisors' report)."""
        return await self._recorder.totals(since, until)

    def statuses(self) -> list[AgentStatus]:
        """Every agent interface Asterisk reported."""
        return self._tracker.statuses()

    def figures(self) -> tuple[list[QueueFigures], float]:
        """Every queue's figures now, and the time (epoch seconds) they are for."""
        now = self._clock()
        return self._board.figures(self._tracker.statuses(), now), now

    # The AMI events `on_ami_event` reads; the rest need not be fed to it.
    EVENT_NAMES = AgentStateTracker.EVENT_NAMES | QueueBoard.EVENT_NAMES

    def on_ami_event(self, msg: AmiMessage) -> None:
        """Feed one AMI event (from the AMI client's reader; never blocks)."""
        now = self._clock()
        changed = self._board.feed(msg, now)
        changes = self._tracker.feed(msg, now)
        self._apply(changes)
        if changed or changes:
            self._schedule_publish()

    def resync(self, queue_status: Sequence[AmiMessage]) -> list[AgentStateChanged]:
        """Rebuild states and waiting callers from QueueStatus after a (re)connect; return the corrections."""
        now = self._clock()
        self._board.resync(queue_status, now)
        changes = self._tracker.resync(queue_status, now)
        for change in changes:
            log.info(
                "resync: %s is %s%s per Asterisk (Hotline had %s%s)",
                change.status.interface,
                change.status.presence.value,
                f" ({change.status.reason})" if change.status.reason else "",
                change.previous.value,
                f" ({change.previous_reason})" if change.previous_reason else "",
            )
        self._apply(changes)
        self._schedule_publish()
        return changes

    # -- requests ----------------------------------------------------------------------------

    async def log_in(self, interface: str, queue: str, *, member_name: str, penalty: int = 0) -> None:
        """QueueAdd: put the agent's interface into `queue` (unpaused)."""
        await self._send(
            "QueueAdd",
            [
                ("Queue", queue),
                ("Interface", member_interface(interface)),
                ("MemberName", member_name),
                ("Penalty", str(penalty)),
                ("Paused", "false"),
            ],
        )

    async def log_out(self, interface: str, queue: str) -> None:
        """QueueRemove: take the agent's interface out of `queue`."""
        await self._send("QueueRemove", [("Queue", queue), ("Interface", member_interface(interface))])

    async def pause(self, interface: str, reason: str) -> list[StaffingWarning]:
        """QueuePause in every queue the agent is in, with a configured reason.

        Returns the warnings raised when the pause pushes a queue's projected service level
        under its target (the pause still happens; the supervisors see the warning).
        """
        if reason not in self._settings.pause_reasons:
            raise UnknownPauseReasonError(reason, self._settings.pause_reasons)
        status = self._tracker.status(interface)
        if status is None or not status.queues:
            raise NotInQueueError(interface, None)
        warnings = self._pause_warnings(status, reason)
        for warning in warnings:
            self._sink.staffing_warning(warning)
        for membership in status.queues:
            await self._send(
                "QueuePause",
                [
                    ("Queue", membership.queue),
                    ("Interface", member_interface(interface)),
                    ("Paused", "true"),
                    ("Reason", reason),
                ],
            )
        return warnings

    async def unpause(self, interface: str) -> None:
        """QueuePause Paused=false without a queue: Asterisk unpauses the interface everywhere."""
        status = self._tracker.status(interface)
        if status is None or not status.queues:
            raise NotInQueueError(interface, None)
        await self._send("QueuePause", [("Interface", member_interface(interface)), ("Paused", "false")])

    # -- background work ---------------------------------------------------------------------

    async def run(self) -> None:
        """Store closed periods and refresh the figures every `tick_s`, until cancelled."""
        async with asyncio.TaskGroup() as group:
            group.create_task(self._store_periods())
            group.create_task(self._tick())

    async def close(self) -> None:
        """Stop pending work (at shutdown)."""
        if self._publish_handle is not None:
            self._publish_handle.cancel()
            self._publish_handle = None
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)

    async def _tick(self) -> None:
        while True:
            await asyncio.sleep(self._settings.tick_s)
            self._publish()

    async def _store_periods(self) -> None:
        # A batch that failed (the database went away) is kept and retried; new periods wait in
        # the bounded backlog meanwhile, which says so when it overflows.
        batch: list[StatePeriod] = []
        retry_s = self._settings.store_retry_s
        while True:
            if not batch:
                batch.append(await self._periods.get())
                if self._periods.qsize() < _PERIOD_BATCH:
                    await asyncio.sleep(self._settings.store_batch_s)
            while not self._periods.empty() and len(batch) < _PERIOD_BATCH:
                batch.append(self._periods.get_nowait())
            try:
                await self._recorder.record_periods(batch)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception(
                    "could not store %d agent state periods; retrying in %.0f s", len(batch), retry_s
                )
                await asyncio.sleep(retry_s)
                retry_s = min(retry_s * 2, _PERIOD_RETRY_MAX_S)
                continue
            batch = []
            retry_s = self._settings.store_retry_s

    def _apply(self, changes: Sequence[AgentStateChanged]) -> None:
        for change in changes:
            self._sink.agent_state(change.status)
            if change.previous_since < change.changed_at:
                period = change.closed
                self._board.record_period(period)
                try:
                    self._periods.put_nowait(period)
                except asyncio.QueueFull:
                    log.error("agent state period backlog full; dropping %r", period)
            if change.previous is Presence.ON_CALL and self._settings.kpi.wrap_up_s > 0:
                self._spawn(self._wrap_up(change.status.interface))

    async def _wrap_up(self, interface: str) -> None:
        status = self._tracker.status(interface)
        if status is None or status.presence is not Presence.READY:
            return
        try:
            for membership in status.queues:
                await self._send(
                    "QueuePause",
                    [
                        ("Queue", membership.queue),
                        ("Interface", member_interface(interface)),
                        ("Paused", "true"),
                        ("Reason", self._settings.wrap_up_reason),
                    ],
                )
            await asyncio.sleep(self._settings.kpi.wrap_up_s)
            status = self._tracker.status(interface)
            # The agent may have ended wrap-up early or paused for another reason meanwhile.
            if status is not None and status.presence is Presence.WRAP_UP:
                await self._send(
                    "QueuePause", [("Interface", member_interface(interface)), ("Paused", "false")]
                )
        except CtiError as exc:
            log.warning("wrap-up of %s could not be set on Asterisk: %s", interface, exc)

    def _pause_warnings(self, status: AgentStatus, reason: str) -> list[StaffingWarning]:
        now = self._clock()
        statuses = self._tracker.statuses()
        warnings = []
        for membership in status.queues:
            if membership.paused and status.presence is not Presence.WRAP_UP:
                continue
            staffed = self._board.staffed_agents(membership.queue, statuses)
            before = self._board.forecast_for(membership.queue, staffed, now)
            after = self._board.forecast_for(
                membership.queue,
                self._board.staffed_agents(membership.queue, statuses, without=status.interface),
                now,
            )
            if after.below_target:
                warnings.append(StaffingWarning(status.interface, membership.queue, reason, before, after))
        return warnings

    async def _send(self, name: str, fields: list[tuple[str, str]]) -> None:
        if self._ami is None:
            raise AmiNotConnectedError(f"cannot send {name}: no PBX is configured")
        await self._ami.action(name, fields)

    def _schedule_publish(self) -> None:
        if self._publish_handle is None:
            loop = asyncio.get_running_loop()
            self._publish_handle = loop.call_later(self._settings.publish_delay_s, self._publish)

    def _publish(self) -> None:
        self._publish_handle = None
        try:
            # Nobody watching: nothing to work out (a supervisor who connects gets them fresh).
            if self._sink.watching_figures():
                self._sink.queue_figures(*self.figures())
        except Exception:
            log.exception("publishing the queue figures failed; the next change retries")

    def _spawn(self, coro: Coroutine[object, None, None]) -> None:
        task = asyncio.get_running_loop().create_task(coro)
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)


def _local_midnight(now: float) -> float:
    local = time.localtime(now)
    return now - (local.tm_hour * 3600 + local.tm_min * 60 + local.tm_sec)
