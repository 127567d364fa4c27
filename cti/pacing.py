"""Dial pacing: how many calls to place now, and the abandon (drop) rate it is held under.

Pure arithmetic on an injected clock (seconds, any epoch), so the live dialer, the simulated-clock
benchmark and the tests share every line. The live dialer feeds it what happened (attempts,
answers, drops, handle times) and asks `calls_to_place()` on every tick.

Predictive pacing weighs each call it could place now by its *drop risk*: the chance that,
once answered, it finds no agent free within the grace (2 s). For a call answered `t` seconds
from now, the agents it can have are the free ones plus the busy ones done by `t + grace`, less
the answers that come before it from the calls already ringing and from the calls placed
earlier in the same tick. Each busy agent counts by the chance of finishing given how long they
have been talking, and each ringing call by the chance of being answered given how long it has
rung, both read off the handle times, answer delays and ring durations seen lately (not an
assumed distribution). That sum of Bernoulli terms is taken as normal, and the risk is averaged
over the answer-delay distribution. Calls are placed while the risk stays under the *pacing
level*; every `recompute_every_s` the level is steered (multiplicatively, slowly) so the drop
rate of the last control window tracks a set point below the cap. Whenever the rate over
24 hours or over 30 days reaches the cap (with a budget of cap x 100 answers before there are
100), predictive dials as progressive does, one call per free agent, which never drops an answer,
until the rate is under the cap again; and so it does until it has seen enough calls to forecast.
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
    # The controller's set point as a share of the cap: it steers the last hour's drop rate there.
    target_share_of_cap: float = 0.85
    recompute_every_s: float = 5.0
    control_window_s: float = 3600.0
    # The level is the drop risk a call may carry: a call is placed while the chance that it is
    # answered and finds no agent within the grace, per expected answer, is under the level.
    initial_level: float = 0.012
    min_level: float = 0.002
    max_level: float = 0.6
    # Each recompute multiplies the level by exp(-gain x (recent - target) / target).
    level_gain: float = 0.002
    drop_grace_s: float = 2.0
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
    sample_size: int = 500
    min_samples: int = 30
    # Points of the answer-delay distribution at which a new call's drop risk is weighed.
    risk_points: int = 6

    def __post_init__(self) -> None:
        if not 0.0 < self.abandon_cap < 1.0:
            raise ValueError("abandon_cap must be within 0..1")
        if not 0.0 < self.target_share_of_cap <= 1.0:
            raise ValueError("target_share_of_cap must be within 0..1")
        if not 0.0 < self.min_level <= self.initial_level <= self.max_level <= 1.0:
            raise ValueError("levels must satisfy 0 < min_level <= initial_level <= max_level <= 1")
        if self.recompute_every_s <= 0 or self.control_window_s <= 0:
            raise ValueError("recompute_every_s and control_window_s must be > 0")
        if self.risk_points < 1 or self.min_samples < 1:
            raise ValueError("risk_points and min_samples must be >= 1")


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
        self._tables: _RiskTables | None = None
        self._new_samples = 0  # samples recorded since the tables were built

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
            self._new_samples += 1
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
            self._new_samples += 1

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

    def warmed_up(self) -> bool:
        """True once `min_samples` answer delays and handle times were seen (forecasts need them).

        Before that the answer rate is biased low (busy and failed dials end first) and nothing
        says when a busy agent will finish, so predictive dials as progressive does.
        """
        n = self._s.min_samples
        return len(self._answer_delays) >= n and len(self._handle_times) >= n

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
        """Steer the level when `recompute_every_s` has passed; True when it did.

        The level moves by a factor exp(-gain x (recent - target) / target): down while the last
        control window dropped more than the set point, up while it dropped less. With fewer than
        `min_answers_for_control` answers in the window it stays where it is.
        """
        now = self._clock()
        if now < self._next_recompute:
            return False
        self._next_recompute = now + self._s.recompute_every_s
        s = self._s
        target = s.abandon_cap * s.target_share_of_cap
        recent = self._control.rate(now)
        if self._control.answered >= s.min_answers_for_control:
            factor = math.exp(-s.level_gain * (recent - target) / target)
            if factor < 1.0 or not self.capped():
                self.level = min(s.max_level, max(s.min_level, self.level * factor))
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
        self.maybe_recompute()  # also while capped: the level keeps falling if drops run high
        capped = self.capped()
        staffed = free_agents + len(busy_elapsed_s)
        if staffed == 0:
            return 0
        if capped or not self.warmed_up():
            # At the cap, and until enough calls were seen to forecast from: one call per free
            # agent, which never leaves an answer unattended.
            return progressive
        ceiling = math.floor(self._s.max_lines_per_agent * staffed) - in_flight
        dial = self._calls_under_risk(self.level, free_agents, busy_elapsed_s, in_flight_ages_s, ceiling)
        return max(0, min(dial, ceiling))

    def drop_risks(
        self,
        extra_calls: int,
        *,
        free_agents: int,
        busy_elapsed_s: Sequence[float],
        in_flight_ages_s: Sequence[float],
    ) -> list[float]:
        """The drop risk of each of `extra_calls` new calls placed now, in order (for tests, tuning)."""
        forecast = self._forecast(free_agents, busy_elapsed_s, in_flight_ages_s)
        return [self._risk(forecast, k) for k in range(extra_calls)]

    def _calls_under_risk(
        self,
        level: float,
        free_agents: int,
        busy_elapsed_s: Sequence[float],
        in_flight_ages_s: Sequence[float],
        ceiling: int,
    ) -> int:
        forecast = self._forecast(free_agents, busy_elapsed_s, in_flight_ages_s)
        k = 0
        while k < ceiling and self._risk(forecast, k) < level:
            k += 1
        return k

    def _forecast(
        self, free_agents: int, busy_elapsed_s: Sequence[float], in_flight_ages_s: Sequence[float]
    ) -> _Forecast:
        """Agents available minus answers ahead of a new call, at each point of its answer delay.

        For a new call answered `t_j` from now: the agents free now plus the busy ones finished
        by `t_j + grace` (each from how long they have been talking), less the calls now ringing
        that are answered before `t_j` (each from how long it has rung). Mean and variance of that
        sum of Bernoulli terms, one entry per point.
        """
        tables = self._risk_tables()
        points = len(tables.delay_points)
        mean = [float(free_agents)] * points
        var = [0.0] * points
        last_h = len(tables.finish) - 1
        rows = [tables.finish[min(int(e + 0.5), last_h)] for e in busy_elapsed_s]
        if rows:
            for j, column in enumerate(zip(*rows, strict=True)):
                mean[j] += sum(column)
                var[j] += sum(q * (1.0 - q) for q in column)
        last_a = len(tables.answer) - 1
        rows = [tables.answer[min(int(a + 0.5), last_a)] for a in in_flight_ages_s]
        if rows:
            for j, column in enumerate(zip(*rows, strict=True)):
                mean[j] -= sum(column)
                var[j] += sum(q * (1.0 - q) for q in column)
        return _Forecast(mean, var, tables.new_answer)

    @staticmethod
    def _risk(forecast: _Forecast, earlier: int) -> float:
        """Chance that a new call, once answered, finds no agent (after `earlier` new calls)."""
        total = 0.0
        for mean, var, c in zip(forecast.mean, forecast.var, forecast.new_answer, strict=True):
            m = mean - earlier * c
            v = var + earlier * c * (1.0 - c)
            # The count is an integer: the call is dropped when it is 0 or less.
            if v <= 1e-9:
                total += 1.0 if m < 0.5 else 0.0
            else:
                total += 0.5 * math.erfc((m - 0.5) / math.sqrt(2.0 * v))
        return total / len(forecast.mean)

    def _risk_tables(self) -> _RiskTables:
        """The forecast tables, rebuilt when enough new samples came in or the answer rate moved."""
        p = max(self.answer_rate, 0.01)
        tables = self._tables
        sizes = len(self._handle_times) + len(self._answer_delays) + len(self._unanswered_durations)
        due = max(1, min(100, sizes // 4))
        if tables is None or self._new_samples >= due or abs(tables.answer_rate - p) > 0.005:
            tables = self._tables = self._build_tables(p)
            self._new_samples = 0
        return tables

    def _build_tables(self, p: float) -> _RiskTables:
        s = self._s
        n = s.risk_points
        grace = s.drop_grace_s
        # Points of the answer delay: the midpoints of n equally likely slices of it.
        shares = [(j + 0.5) / n for j in range(n)]
        delays = sorted(self._answer_delays)
        if len(delays) >= s.min_samples:
            points = [delays[min(len(delays) - 1, int(q * len(delays)))] for q in shares]
            answered_cdf = _EmpiricalCdf(delays)
        else:
            points = [q * 2.0 * self._answer_delay_s for q in shares]
            answered_cdf = _EmpiricalCdf([q * 2.0 * self._answer_delay_s for q in shares])
        # A new call is answered before the j-th point with chance p x F(t_j).
        new_answer = [p * answered_cdf(t) for t in points]
        # Busy agents: chance of being free by t_j + grace, given e seconds on the call so far.
        handle = sorted(self._handle_times)
        finish: list[list[float]] = []
        if len(handle) >= s.min_samples:
            cdf = _EmpiricalCdf(handle)
            tail = 5  # elapsed beyond the point with this few longer calls: as at that point
            last = max(0, int(handle[-tail]) if len(handle) > tail else 0)
            for e in range(last + 1):
                alive = 1.0 - cdf(e)
                if alive <= 0:
                    finish.append(finish[-1] if finish else [1.0] * n)
                    continue
                base = cdf(e)
                finish.append([min(1.0, (cdf(e + t + grace) - base) / alive) for t in points])
        else:
            # Too few calls finished to say when the others will: count on none finishing.
            finish.append([0.0] * n)
        # Calls ringing: chance of an answer before t_j, given a rings already.
        unanswered = sorted(self._unanswered_durations)
        unanswered_cdf = _EmpiricalCdf(unanswered) if len(unanswered) >= s.min_samples else None
        answer: list[list[float]] = []
        horizon = int(max(delays[-1] if delays else 0.0, 2.0 * self._answer_delay_s)) + 1
        for a in range(horizon + 1):
            still_answer = p * (1.0 - answered_cdf(a))
            still_other = (1.0 - p) * (1.0 - unanswered_cdf(a) if unanswered_cdf else 1.0)
            ringing = still_answer + still_other
            if ringing <= 0 or still_answer <= 0:
                answer.append([0.0] * n)
                continue
            base = answered_cdf(a)
            answer.append([p * (answered_cdf(a + t) - base) / ringing for t in points])
        answer.append([0.0] * n)  # rung longer than any answer seen: no answer to expect
        return _RiskTables(p, points, new_answer, finish, answer)


@dataclass(frozen=True, slots=True)
class _Forecast:
    mean: list[float]
    var: list[float]
    new_answer: list[float]


@dataclass(frozen=True, slots=True)
class _RiskTables:
    answer_rate: float
    delay_points: list[float]
    new_answer: list[float]  # a new call answered before each point
    finish: list[list[float]]  # [whole seconds on the call][point]: free by the point + grace
    answer: list[list[float]]  # [whole seconds ringing][point]: answered before the point


class _EmpiricalCdf:
    """Share of a sorted sample at or below x."""

    def __init__(self, ordered: list[float]) -> None:
        self._ordered = ordered
        self._n = len(ordered)

    def __call__(self, x: float) -> float:
        return bisect.bisect_right(self._ordered, x) / self._n if self._n else 0.0
