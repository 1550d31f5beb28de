"""Seeded synthetic ES-like bars on the CME Globex clock (holidays ignored), calibrated to real ES.

Same (seed, start, start_price, bar_seconds), same bars; the wall clock is never read. Prices
sit on the 0.25 tick grid, high/low bracket open/close, a bar opens at the previous close inside
a session, and no bar falls in the 16:00-17:00 CT break or the weekend (``globex_clock``).
``resume_point`` continues a market after a restart.

The model lives on a one-minute grid whatever the bar size, so five-second bars summed into
minutes look like one-minute bars: each minute's variance is (midday sigma x time-of-day
profile x a day factor x exp(fast + slow log-volatility))^2, the two log-volatilities
mean-reverting over minutes and hours (volatility clustering); rare jumps add fat tails and
kick the fast one. A third of each minute's variance comes from a mean-reverting component,
so hour-long moves stay smaller than a random walk's (as in real ES). A bar's return is normal
with the variance integrated over its span, plus its jumps; its high and low are the extremes
of a (slightly narrowed) Brownian bridge. Volume follows the
time-of-day profile, the current volatility and the bar's own move. The constants are fitted
to real ES; ``benchmarks/bench_market_calibration.py`` prints synthetic against real.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import NamedTuple

import numpy as np

from bot.adapters.feeds.globex_clock import session_clock
from bot.adapters.feeds.synthetic_profile import minute_profile
from shared.domain.models import Bar

TICK_SIZE_POINTS = 0.25

_MIDDAY_SIGMA_BP = 2.2  # one-minute return std at RTH midday with every factor at 1
_FAST_HALF_LIFE_MINUTES = 8.0
_FAST_LOG_VOL_STD = 0.35
_SLOW_HALF_LIFE_MINUTES = 120.0
_SLOW_LOG_VOL_STD = 0.30
_DAY_FACTOR_STD = 0.25
_JUMPS_PER_MIDDAY_MINUTE = 0.002  # scaled by the time-of-day volatility profile
_JUMP_MIN_BP = 6.0
_JUMP_MEAN_EXCESS_BP = 6.0
_JUMP_LOG_VOL_KICK = 0.4
_MIDDAY_VOLUME_PER_MINUTE = 1700.0
_VOLUME_VOLATILITY_ELASTICITY = 0.8
_MINUTE_VOLUME_NOISE_STD = 0.35
_GAP_STD_BP_PER_SQRT_HOUR = 1.2
_REVERTING_SHARE = 0.35  # of each minute's variance, from a mean-reverting component ...
_REVERTING_HALF_LIFE_MINUTES = 15.0  # ... so hour-long moves are smaller than a random walk's
_BRIDGE_SIGMA_FACTOR = 0.85  # intrabar excursions are smaller than a Brownian motion's


class ResumePoint(NamedTuple):
    """Where a restarted market continues: first bar time, opening price and derived seed."""

    start: datetime
    start_price: float
    seed: int


def derive_seed(seed: int, ts: datetime) -> int:
    """Return a deterministic 63-bit seed derived from ``seed`` and an instant."""
    epoch_seconds = int(ts.timestamp())
    sequence = np.random.SeedSequence([*_entropy(seed), *_entropy(epoch_seconds)])
    return int(sequence.generate_state(1, dtype=np.uint64)[0] >> np.uint64(1))


def resume_point(last_bar: Bar, seed: int, bar_seconds: int = 5) -> ResumePoint:
    """Return how to continue a market from its last stored bar after a restart.

    The new market starts one bar after ``last_bar`` (or at the next session open) at
    ``last_bar.close``, so time and price are continuous. Its seed is derived from ``seed`` and
    ``last_bar.ts``: deterministic, but not the same random stream as an uninterrupted run.
    """
    start = last_bar.ts.astimezone(UTC) + timedelta(seconds=bar_seconds)
    return ResumePoint(start, last_bar.close, derive_seed(seed, last_bar.ts))


@dataclass(slots=True)
class _MarketState:
    price: float
    fast_log_vol: float
    slow_log_vol: float
    reverting_bp: float
    last_bar_end: datetime | None


class SessionColumns(NamedTuple):
    """One session's bars as columns: start offsets (s) from ``open_utc``, then OHLCV."""

    open_utc: datetime
    offsets_s: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray


class SyntheticMarket:
    """An endless, seeded ES-like market of ``bar_seconds`` bars on the Globex clock."""

    def __init__(
        self, seed: int, start: datetime, start_price: float, bar_seconds: int = 5,
        always_open: bool = False,
    ) -> None:
        if start.tzinfo is None or start.utcoffset() is None:
            raise ValueError("start must be timezone-aware")
        if not math.isfinite(start_price) or start_price <= 0:
            raise ValueError(f"start_price must be a positive number, not {start_price!r}")
        if not 1 <= bar_seconds <= 3600:
            raise ValueError(f"bar_seconds must be between 1 and 3600, not {bar_seconds}")
        self.seed = seed
        self.start = start.astimezone(UTC)
        self.start_price = max(_tick_round(start_price), TICK_SIZE_POINTS)
        self.bar_seconds = bar_seconds
        self.session_of = session_clock(always_open)  # practice hours: bot/runtime/bar_source

    @classmethod
    def resumed(cls, last_bar: Bar, seed: int, bar_seconds: int = 5) -> SyntheticMarket:
        """Build the market that continues from ``last_bar`` (see ``resume_point``)."""
        start, start_price, derived = resume_point(last_bar, seed, bar_seconds)
        return cls(derived, start, start_price, bar_seconds)

    def iter_bars(self) -> Iterator[Bar]:
        """Yield bars forever from the first session bar at or after ``start``."""
        for session in self.iter_sessions():
            open_utc = session.open_utc
            for offset_s, open_, high, low, close, volume in zip(
                session.offsets_s.tolist(), session.open.tolist(), session.high.tolist(),
                session.low.tolist(), session.close.tolist(), session.volume.tolist(),
                strict=True,
            ):
                yield Bar(open_utc + timedelta(seconds=offset_s), open_, high, low, close, volume)

    def iter_sessions(self) -> Iterator[SessionColumns]:
        """Yield the same bars as ``iter_bars``, one session's columns at a time."""
        rng = np.random.default_rng(np.random.SeedSequence(_entropy(self.seed)))
        state = _MarketState(
            price=self.start_price,
            fast_log_vol=rng.normal(0.0, _FAST_LOG_VOL_STD),
            slow_log_vol=rng.normal(0.0, _SLOW_LOG_VOL_STD),
            reverting_bp=0.0,
            last_bar_end=None,
        )
        cursor = self.start
        while True:
            open_utc, close_utc = self.session_of(cursor)
            elapsed_s = max(0.0, (cursor - open_utc).total_seconds())
            first_offset_s = math.ceil(elapsed_s / self.bar_seconds) * self.bar_seconds
            session_s = int((close_utc - open_utc).total_seconds())
            count = (session_s - first_offset_s) // self.bar_seconds
            cursor = close_utc
            if count <= 0:
                continue
            offsets_s = first_offset_s + self.bar_seconds * np.arange(count)
            yield SessionColumns(open_utc, offsets_s,
                                 *self._simulate(rng, state, open_utc, offsets_s))

    def _simulate(
        self, rng: np.random.Generator, state: _MarketState, open_utc: datetime,
        offsets_s: np.ndarray,
    ) -> tuple[np.ndarray, ...]:
        count = len(offsets_s)
        starts_min = offsets_s / 60.0
        ends_min = (offsets_s + self.bar_seconds) / 60.0
        first_minute = int(starts_min[0])
        minutes = np.arange(first_minute, math.ceil(ends_min[-1]), dtype=np.float64)
        first_bar = open_utc + timedelta(seconds=int(offsets_s[0]))
        session_open_price = state.price
        if state.last_bar_end is not None:
            gap_minutes = (first_bar - state.last_bar_end).total_seconds() / 60.0
            _evolve_over_gap(rng, state, gap_minutes)
            if gap_minutes > 0:
                gap_std = _GAP_STD_BP_PER_SQRT_HOUR * math.sqrt(gap_minutes / 60.0)
                gap = _tick_round(rng.normal(0.0, gap_std) * 1e-4 * state.price)
                session_open_price = max(state.price + gap, TICK_SIZE_POINTS)
        points_per_bp = session_open_price * 1e-4

        def integrate(per_minute: np.ndarray) -> np.ndarray:
            return _integrate(per_minute, first_minute, starts_min, ends_min)

        volatility_profile, volume_profile = minute_profile(minutes)
        jump_mask = rng.random(count) < integrate(_JUMPS_PER_MIDDAY_MINUTE * volatility_profile)
        jump_bp = _JUMP_MIN_BP + rng.exponential(_JUMP_MEAN_EXCESS_BP, count)
        jump_sign = np.where(rng.random(count) < 0.5, -1.0, 1.0)
        kicks = np.zeros(len(minutes))
        np.add.at(kicks, starts_min[jump_mask].astype(np.int64) - first_minute,
                  _JUMP_LOG_VOL_KICK)
        fast = _ar1_path(rng, state.fast_log_vol, kicks, _FAST_HALF_LIFE_MINUTES,
                         _FAST_LOG_VOL_STD)
        slow = _ar1_path(rng, state.slow_log_vol, np.zeros(len(minutes)),
                         _SLOW_HALF_LIFE_MINUTES, _SLOW_LOG_VOL_STD)
        state.fast_log_vol, state.slow_log_vol = float(fast[-1]), float(slow[-1])
        day_factor = math.exp(rng.normal(-0.5 * _DAY_FACTOR_STD**2, _DAY_FACTOR_STD))
        vol_scale = np.exp(fast + slow) * day_factor
        sigma_bp = _MIDDAY_SIGMA_BP * volatility_profile * vol_scale
        variance_bp = sigma_bp * sigma_bp
        sigma = np.sqrt(integrate((1.0 - _REVERTING_SHARE) * variance_bp)) * points_per_bp
        reverting = _reverting_path(rng, state, np.sqrt(_REVERTING_SHARE * variance_bp))
        edges = first_minute + np.arange(len(reverting), dtype=np.float64)
        reverting_move = (np.interp(ends_min, edges, reverting) - reverting[0]) * points_per_bp

        noise_std = _MINUTE_VOLUME_NOISE_STD
        volume_rate = (_MIDDAY_VOLUME_PER_MINUTE * volume_profile
                       * vol_scale**_VOLUME_VOLATILITY_ELASTICITY
                       * np.exp(rng.normal(-0.5 * noise_std**2, noise_std, len(minutes))))
        shocks = rng.standard_normal(count)
        jumps = np.where(jump_mask, jump_sign * jump_bp * points_per_bp, 0.0)
        latent_close = session_open_price + np.cumsum(sigma * shocks + jumps) + reverting_move
        latent_open = np.concatenate(([session_open_price], latent_close[:-1]))

        close = np.maximum(_to_tick(latent_close), TICK_SIZE_POINTS)
        open_ = np.concatenate(([session_open_price], close[:-1]))
        high_latent, low_latent = _bridge_extremes(
            rng, latent_open, latent_close, sigma * _BRIDGE_SIGMA_FACTOR)
        high = np.maximum(_to_tick(high_latent), np.maximum(open_, close))
        low = np.minimum(_to_tick(low_latent), np.minimum(open_, close))
        low = np.maximum(low, TICK_SIZE_POINTS)

        activity = 0.75 + 0.3 * np.abs(shocks) + 3.0 * jump_mask
        volume = 1.0 + rng.poisson(integrate(volume_rate) * activity).astype(np.float64)

        state.price = float(close[-1])
        state.last_bar_end = open_utc + timedelta(seconds=int(offsets_s[-1]) + self.bar_seconds)
        return open_, high, low, close, volume


def _integrate(
    per_minute: np.ndarray, first_minute: int, starts_min: np.ndarray, ends_min: np.ndarray
) -> np.ndarray:
    """Sum a per-minute rate over each bar's [start, end) span (pro rata inside a minute)."""
    cumulative = np.concatenate(([0.0], np.cumsum(per_minute)))
    edges = first_minute + np.arange(len(cumulative), dtype=np.float64)
    spans = np.interp(ends_min, edges, cumulative) - np.interp(starts_min, edges, cumulative)
    return np.maximum(spans, 0.0)


def _ar1_path(
    rng: np.random.Generator, level: float, kicks: np.ndarray, half_life_minutes: float,
    std: float,
) -> np.ndarray:
    """A zero-mean AR(1) in one-minute steps with stationary ``std``, plus ``kicks``."""
    phi = 0.5 ** (1.0 / half_life_minutes)
    shocks = (std * math.sqrt(1.0 - phi * phi) * rng.standard_normal(len(kicks)) + kicks).tolist()
    path = np.empty(len(shocks))
    for index, shock in enumerate(shocks):
        level = phi * level + shock
        path[index] = level
    return path


def _reverting_path(
    rng: np.random.Generator, state: _MarketState, shock_bp: np.ndarray
) -> np.ndarray:
    """The mean-reverting price component (bp) at each minute edge, from ``state``'s level."""
    phi = 0.5 ** (1.0 / _REVERTING_HALF_LIFE_MINUTES)
    level = state.reverting_bp
    shocks = (shock_bp * rng.standard_normal(len(shock_bp))).tolist()
    path = np.empty(len(shocks) + 1)
    path[0] = level
    for index, shock in enumerate(shocks):
        level = phi * level + shock
        path[index + 1] = level
    state.reverting_bp = level
    return path


def _evolve_over_gap(rng: np.random.Generator, state: _MarketState, minutes: float) -> None:
    """Advance both log-volatilities exactly over a closed period."""
    for name, half_life, std in (("fast_log_vol", _FAST_HALF_LIFE_MINUTES, _FAST_LOG_VOL_STD),
                                 ("slow_log_vol", _SLOW_HALF_LIFE_MINUTES, _SLOW_LOG_VOL_STD)):
        phi = 0.5 ** (max(minutes, 0.0) / half_life)
        level = phi * getattr(state, name) + std * math.sqrt(1 - phi * phi) * rng.normal()
        setattr(state, name, level)


def _bridge_extremes(
    rng: np.random.Generator, start: np.ndarray, end: np.ndarray, sigma: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Sample the max and min of a Brownian bridge from ``start`` to ``end`` with std ``sigma``."""
    middle = (start + end) / 2.0
    half_squared = ((end - start) / 2.0) ** 2
    variance = sigma * sigma
    up = np.sqrt(half_squared - 0.5 * variance * np.log1p(-rng.random(len(start))))
    down = np.sqrt(half_squared - 0.5 * variance * np.log1p(-rng.random(len(start))))
    return middle + up, middle - down


def _to_tick(prices: np.ndarray) -> np.ndarray:
    return np.round(prices / TICK_SIZE_POINTS) * TICK_SIZE_POINTS


def _tick_round(price: float) -> float:
    return round(price / TICK_SIZE_POINTS) * TICK_SIZE_POINTS


def _entropy(value: int) -> tuple[int, int]:
    """Map any int (negative too) to non-negative SeedSequence entropy without collisions."""
    return (0, value) if value >= 0 else (1, -value)
