"""Dial pacing: how many calls to place now, and the abandon (drop) rate it is held under.

Pure arithmetic on an injected clock (seconds, any epoch), so the live dialer, the simulated-clock
benchmark and the tests share every line. The live dialer feeds it what happened (attempts,
answers, drops, handle times) and asks `calls_to_place()` on every tick.

Predictive pacing dials ahead: with `p` the live answer rate, it places enough calls that the
answers expected from the lines in flight match the agents expected free by the time those
answers come (free agents now, plus busy ones whose average handle time runs out meanwhile),
scaled by a *pacing level*. Every `recompute_every_s` the level is lowered when the drop rate
of the last hour is above the target (the cap by default), and raised slowly back towards its
ceiling when it is not. Whenever the rate over 24 hours or over 30 days reaches the cap,
predictive dials at the floor level (never less than progressive's one call per free agent),
which almost never drops, until the rate is under the cap again.
"""

from __future__ import annotations

import bisect
import math
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from cti.campaigns import DialMethod

Clock = Callable[[], float]

DAY_S = 86_400.0
MONTH_S = 30 * DAY_S


@dataclass(frozen=True, slots=True)
class PacingSettings:
    """The knobs of the pacer; the defaults are the issue's rules (3% cap, 30 days and 24 hours)."""

    abandon_cap: float = 0.03
    # The controller's target as a share of the cap (1.0: trim only when the last hour is over it).
    target_share_of_cap: float = 1.0
    recompute_every_s: float = 5.0
    control_window_s: float = 3600.0
    # The level scales the agents expected free. 0.35 was the best level under a 3% cap on the
    # simulated shift (bench/dialer_sim.py); the controller only trims it when drops run high.
    initial_level: float = 0.35
    min_level: float = 0.1
    max_level: float = 0.35
    level_up_step: float = 0.0005
    level_down_factor: float = 0.995
    max_lines_per_agent: float = 4.0
    prior_answer_rate: float = 0.3
    prior_weight: float = 20.0
    answer_rate_window: int = 400
    prior_aht_s: float = 180.0
    prior_answer_delay_s: float = 12.0
    ewma_alpha: float = 0.05
    # Fewer answered calls than this in the control window: the drop rate says too little yet.
    min_answers_for_control: int = 100
    # Recent answer delays, unanswered ring durations and handle times the forecasts draw on.
    sample_size: int = 300
    # How far ahead busy agents count as about to be free, as a share of the mean answer delay.
    horizon_share: float = 1.0
    min_samples: int = 30

    def __post_init__(self) -> None:
        if not 0.0 < self.abandon_cap < 1.0:
            raise ValueError("abandon_cap must be within 0..1")
        if not 0.0 < self.target_share_of_cap <= 1.0:
            raise ValueError("target_share_of_cap must be within 0..1")
        if not 0.0 < self.min_level <= self.initial_level <= self.max_level:
            raise ValueError("levels must satisfy 0 < min_level <= initial_level <= max_level")
        if self.recompute_every_s <= 0 or self.control_window_s <= 0:
            raise ValueError("recompute_every_s and control_window_s must be > 0")


class RollingRatio:
    """Answered and dropped calls over a sliding window, kept in fixed buckets (bounded memory)."""

    def __init__(self, window_s: float, bucket_s: float) -> None:
        self._window_s = window_s
        self._bucket_s = bucket_s
        self._buckets: deque[list[float]] = deque()  # [bucket start, answered, dropped]
        self.answered = 0
        self.dropped = 0

    def add(self, now: float, *, dropped: bool) -> None:
        """Count one live-answered call, dropped or connected to an agent."""
        start = math.floor(now / self._bucket_s) * self._bucket_s
        if not self._buckets or self._buckets[-1][0] != start:
            self._buckets.append([start, 0, 0])
        bucket = self._buckets[-1]
        bucket[1] += 1
        self.answered += 1
        if dropped:
            bucket[2] += 1
            self.dropped += 1

    def seed(self, answered: int, dropped: int, at: float) -> None:
        """Start from counts read back from the database (after a restart)."""
        start = math.floor(at / self._bucket_s) * self._bucket_s
        self._buckets.append([start, answered, dropped])
        self.answered += answered
        self.dropped += dropped

    def expire(self, now: float) -> None:
        """Forget buckets that lie wholly outside the window."""
        while self._buckets and self._buckets[0][0] + self._bucket_s <= now - self._window_s:
            _, answered, dropped = self._buckets.popleft()
            self.answered -= int(answered)
            self.dropped -= int(dropped)

    def rate(self, now: float) -> float:
        """Dropped / answered in the window (0 when nothing was answered)."""
        self.expire(now)
        return self.dropped / self.answered if self.answered else 0.0


@dataclass(frozen=True, slots=True)
class PacingSnapshot:
    """What the supervisor page shows about pacing."""

    level: float
    answer_rate: float
    aht_s: float
    abandon_rate_24h: float
    abandon_rate_30d: float
    answered_24h: int
    dropped_24h: int
    answered_30d: int
    dropped_30d: int
    capped: bool


class Pacer:
    """Decides how many calls a campaign places now, and keeps its drop rate under the cap."""

    def __init__(self, settings: PacingSettings, clock: Clock) -> None:
        self._s = settings
        self._clock = clock
        self.level = settings.initial_level
        self._attempts: deque[bool] = deque(maxlen=settings.answer_rate_window)
        self._answered_in_window = 0
        self._aht_s = settings.prior_aht_s
        self._answer_delay_s = settings.prior_answer_delay_s
        self._day = RollingRatio(DAY_S, 60.0)
        self._month = RollingRatio(MONTH_S, 3600.0)
        self._control = RollingRatio(settings.control_window_s, 60.0)
        self._next_recompute = clock() + settings.recompute_every_s
        self._answer_delays: deque[float] = deque(maxlen=settings.sample_size)
        self._unanswered_durations: deque[float] = deque(maxlen=settings.sample_size)
        self._handle_times: deque[float] = deque(maxlen=settings.sample_size)
        self._sorted: dict[int, list[float]] = {}  # sorted copies of the samples, by id()

    # -- what happened ---------------------------------------------------------------------

    def record_attempt(self, answered: bool, duration_s: float | None = None) -> None:
        """One dial finished ringing after `duration_s`: answered, or not (busy, no answer, failed)."""
        if len(self._attempts) == self._attempts.maxlen and self._attempts[0]:
            self._answered_in_window -= 1
        self._attempts.append(answered)
        if answered:
            self._answered_in_window += 1
        if duration_s is not None and duration_s >= 0:
            sample = self._answer_delays if answered else self._unanswered_durations
            sample.append(duration_s)
            self._sorted.pop(id(sample), None)
            if answered:
                self._answer_delay_s += self._s.ewma_alpha * (duration_s - self._answer_delay_s)

    def record_answered(self, *, dropped: bool) -> None:
        """A live-answered call was connected to an agent, or dropped (no agent within the grace)."""
        now = self._clock()
        for window in (self._day, self._month, self._control):
            window.add(now, dropped=dropped)

    def record_handle_time(self, handle_s: float) -> None:
        """An agent finished a connected call after `handle_s` seconds (talk and wrap-up)."""
        if handle_s > 0:
            self._aht_s += self._s.ewma_alpha * (handle_s - self._aht_s)
            self._handle_times.append(handle_s)
            self._sorted.pop(id(self._handle_times), None)

    def seed_history(self, answered_30d: int, dropped_30d: int, answered_24h: int, dropped_24h: int) -> None:
        """Carry the windows over a restart, from the counts the store keeps."""
        now = self._clock()
        self._month.seed(answered_30d, dropped_30d, now)
        self._day.seed(answered_24h, dropped_24h, now)

    # -- estimates -------------------------------------------------------------------------

    @property
    def answer_rate(self) -> float:
        """Live answer rate over the last attempts, pulled towards a prior while there are few."""
        s = self._s
        n = len(self._attempts)
        return (self._answered_in_window + s.prior_answer_rate * s.prior_weight) / (n + s.prior_weight)

    @property
    def aht_s(self) -> float:
        """Average handle time of connected calls (moving average)."""
        return self._aht_s

    def capped(self) -> bool:
        """True while the 24-hour or 30-day drop rate is at or over the cap."""
        now = self._clock()
        cap = self._s.abandon_cap
        enough = self._s.min_answers_for_control
        # With few answers yet, a drop budget of cap x min_answers: a single early drop does not
        # stop predictive dialling, and no run of early drops can exceed that budget.
        for window in (self._day, self._month):
            window.expire(now)
            if window.dropped and window.dropped >= cap * max(window.answered, enough):
                return True
        return False

    def snapshot(self) -> PacingSnapshot:
        """The figures the supervisor sees."""
        now = self._clock()
        return PacingSnapshot(
            level=self.level,
            answer_rate=self.answer_rate,
            aht_s=self._aht_s,
            abandon_rate_24h=self._day.rate(now),
            abandon_rate_30d=self._month.rate(now),
            answered_24h=self._day.answered,
            dropped_24h=self._day.dropped,
            answered_30d=self._month.answered,
            dropped_30d=self._month.dropped,
            capped=self.capped(),
        )

    # -- the decision ----------------------------------------------------------------------

    def maybe_recompute(self) -> bool:
        """Adjust the pacing level when `recompute_every_s` has passed; True when it did."""
        now = self._clock()
        if now < self._next_recompute:
            return False
        self._next_recompute = now + self._s.recompute_every_s
        s = self._s
        target = s.abandon_cap * s.target_share_of_cap
        recent = self._control.rate(now)
        if self._control.answered >= s.min_answers_for_control and recent > target:
            self.level = max(s.min_level, self.level * s.level_down_factor)
        elif not self.capped():
            self.level = min(s.max_level, self.level + s.level_up_step)
        return True

    def calls_to_place(
        self,
        method: DialMethod,
        *,
        free_agents: int,
        busy_elapsed_s: Sequence[float],
        in_flight_ages_s: Sequence[float],
    ) -> int:
        """How many new calls to dial now.

        `free_agents` are ready and waiting; `busy_elapsed_s` says how long each busy agent has
        been on their current call; `in_flight_ages_s` how long each dialled, unanswered call has
        been ringing.
        """
        if method is DialMethod.PREVIEW:
            return 0  # the agent dials each lead
        in_flight = len(in_flight_ages_s)
        progressive = max(0, free_agents - in_flight)
        if method is DialMethod.PROGRESSIVE:
            return progressive
        capped = self.capped()
        if not capped:
            self.maybe_recompute()
        staffed = free_agents + len(busy_elapsed_s)
        if staffed == 0:
            return 0
        p = max(self.answer_rate, 0.01)
        horizon_s = self._answer_delay_s * self._s.horizon_share
        # Agents free when the answers come: the free ones, and busy ones likely done by then.
        available = free_agents + sum(self._finish_within(e, horizon_s) for e in busy_elapsed_s)
        expected_answers = sum(self._answer_chance(age, p) for age in in_flight_ages_s)
        # At the cap, dial at the floor level: it almost never drops, yet keeps agents busier
        # than one call per free agent would.
        level = self._s.min_level if capped else self.level
        dial = math.floor((level * available - expected_answers) / p)
        if capped:
            dial = max(dial, progressive)
        ceiling = math.floor(self._s.max_lines_per_agent * staffed) - in_flight
        return max(0, min(dial, ceiling))

    def _sorted_sample(self, sample: deque[float]) -> list[float]:
        cached = self._sorted.get(id(sample))
        if cached is None:
            cached = self._sorted[id(sample)] = sorted(sample)
        return cached

    def _finish_within(self, elapsed_s: float, horizon_s: float) -> float:
        """Chance that a call already `elapsed_s` long ends within `horizon_s` (from recent calls)."""
        if len(self._handle_times) >= self._s.min_samples:
            times = self._sorted_sample(self._handle_times)
            first_longer = bisect.bisect_right(times, elapsed_s)
            longer = len(times) - first_longer
            if longer >= 5:
                return (bisect.bisect_right(times, elapsed_s + horizon_s) - first_longer) / longer
        return min(1.0, horizon_s / max(self._aht_s, 1.0))

    def _answer_chance(self, age_s: float, p: float) -> float:
        """Chance that a call still ringing after `age_s` is answered (from recent dials)."""
        answered, unanswered = self._answer_delays, self._unanswered_durations
        if len(answered) + len(unanswered) < self._s.min_samples:
            return p
        # Weigh the samples by the answer rate: the sample sizes are capped separately.
        a_sorted, u_sorted = self._sorted_sample(answered), self._sorted_sample(unanswered)
        a = (len(a_sorted) - bisect.bisect_right(a_sorted, age_s)) / max(len(a_sorted), 1) * p
        u = (len(u_sorted) - bisect.bisect_right(u_sorted, age_s)) / max(len(u_sorted), 1) * (1 - p)
        return a / (a + u) if a + u > 0 else 0.0
