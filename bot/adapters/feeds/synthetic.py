"""Seeded synthetic ES-like bars on the CME Globex clock (holidays ignored).

Same (seed, start, start_price, bar_seconds), same bars; the wall clock is never read. Prices
sit on the 0.25 tick grid, high/low bracket open/close, a bar opens at the previous close inside
a session, and no bar falls in the 16:00-17:00 CT break or the weekend. ``resume_point``
continues a market after a restart.
"""

from __future__ import annotations

import math
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

import numpy as np

from shared.domain.models import Bar

CHICAGO = ZoneInfo("America/Chicago")
TICK_SIZE_POINTS = 0.25
SESSION_OPEN_CT = time(17, 0)
SESSION_CLOSE_CT = time(16, 0)

_REFERENCE_PRICE = 5000.0
_REFERENCE_BAR_SECONDS = 5
_BASE_SIGMA_POINTS = 0.55  # per 5 s bar at 5000 when the time-of-day multiplier is 1
_BASE_VOLUME_CONTRACTS = 220.0  # per 5 s bar at RTH midday
_LOG_VOL_STEP_SECONDS = 60
_LOG_VOL_HALF_LIFE_MINUTES = 6.0
_LOG_VOL_STD = 0.5
_DAY_FACTOR_STD = 0.25
_JUMP_PROBABILITY_PER_BAR = 3e-5  # scaled by the time-of-day volatility multiplier
_JUMP_MIN_POINTS = 1.5
_JUMP_MEAN_EXCESS_POINTS = 1.5
_JUMP_LOG_VOL_KICK = 0.3
_GAP_STD_POINTS_PER_SQRT_HOUR = 0.6


class ResumePoint(NamedTuple):
    """Where a restarted market continues: first bar time, opening price and derived seed."""

    start: datetime
    start_price: float
    seed: int


def globex_session(ts: datetime) -> tuple[datetime, datetime]:
    """Return the UTC (open, close) of the Globex session holding ``ts``, or of the next one."""
    if ts.tzinfo is None:
        raise ValueError("ts must be timezone-aware")
    local = ts.astimezone(CHICAGO)
    trading_day = local.date()
    if local.time() >= SESSION_OPEN_CT:
        trading_day += timedelta(days=1)
    while True:
        if trading_day.weekday() >= 5:  # Saturday/Sunday belong to Monday's session
            trading_day += timedelta(days=7 - trading_day.weekday())
        previous_day = trading_day - timedelta(days=1)
        open_utc = datetime.combine(previous_day, SESSION_OPEN_CT, CHICAGO).astimezone(UTC)
        close_utc = datetime.combine(trading_day, SESSION_CLOSE_CT, CHICAGO).astimezone(UTC)
        if ts < close_utc:
            return open_utc, close_utc
        trading_day += timedelta(days=1)


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
    log_vol: float
    last_bar_end: datetime | None


class SyntheticMarket:
    """An endless, seeded ES-like market of ``bar_seconds`` bars on the Globex clock."""

    def __init__(
        self, seed: int, start: datetime, start_price: float, bar_seconds: int = 5
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

    @classmethod
    def resumed(cls, last_bar: Bar, seed: int, bar_seconds: int = 5) -> SyntheticMarket:
        """Build the market that continues from ``last_bar`` (see ``resume_point``)."""
        start, start_price, derived = resume_point(last_bar, seed, bar_seconds)
        return cls(derived, start, start_price, bar_seconds)

    def iter_bars(self) -> Iterator[Bar]:
        """Yield bars forever from the first session bar at or after ``start``."""
        rng = np.random.default_rng(np.random.SeedSequence(_entropy(self.seed)))
        state = _MarketState(
            price=self.start_price,
            log_vol=rng.normal(-(_LOG_VOL_STD**2), _LOG_VOL_STD),
            last_bar_end=None,
        )
        cursor = self.start
        while True:
            open_utc, close_utc = globex_session(cursor)
            elapsed_s = max(0.0, (cursor - open_utc).total_seconds())
            first_offset_s = math.ceil(elapsed_s / self.bar_seconds) * self.bar_seconds
            session_s = int((close_utc - open_utc).total_seconds())
            count = (session_s - first_offset_s) // self.bar_seconds
            cursor = close_utc
            if count <= 0:
                continue
            offsets_s = first_offset_s + self.bar_seconds * np.arange(count)
            columns = self._simulate(rng, state, open_utc, offsets_s)
            for offset_s, open_, high, low, close, volume in zip(
                offsets_s.tolist(), *columns, strict=True
            ):
                yield Bar(open_utc + timedelta(seconds=offset_s), open_, high, low, close, volume)

    def _simulate(
        self,
        rng: np.random.Generator,
        state: _MarketState,
        open_utc: datetime,
        offsets_s: np.ndarray,
    ) -> tuple[list[float], ...]:
        count = len(offsets_s)
        first_bar = open_utc + timedelta(seconds=int(offsets_s[0]))
        price_scale = state.price / _REFERENCE_PRICE
        time_scale = self.bar_seconds / _REFERENCE_BAR_SECONDS
        session_open_price = state.price
        if state.last_bar_end is not None:
            gap_hours = (first_bar - state.last_bar_end).total_seconds() / 3600
            state.log_vol = _evolve_log_vol(rng, state.log_vol, gap_hours * 60)
            if gap_hours > 0:
                gap_std = _GAP_STD_POINTS_PER_SQRT_HOUR * math.sqrt(gap_hours) * price_scale
                gap = _tick_round(rng.normal(0.0, gap_std))
                session_open_price = max(state.price + gap, TICK_SIZE_POINTS)

        sigma_mult, volume_mult = _intraday_profile(offsets_s)
        jump_mask = rng.random(count) < _JUMP_PROBABILITY_PER_BAR * sigma_mult * time_scale
        log_vol = self._log_vol_path(rng, state, offsets_s, jump_mask)
        day_factor = math.exp(rng.normal(-(_DAY_FACTOR_STD**2), _DAY_FACTOR_STD))
        vol_scale = np.exp(log_vol) * day_factor
        sigma = _BASE_SIGMA_POINTS * price_scale * math.sqrt(time_scale) * sigma_mult * vol_scale

        jump_size = _JUMP_MIN_POINTS + rng.exponential(_JUMP_MEAN_EXCESS_POINTS, count)
        jump_sign = np.where(rng.random(count) < 0.5, -1.0, 1.0)
        jumps = np.where(jump_mask, jump_sign * jump_size * price_scale, 0.0)
        returns = sigma * rng.standard_normal(count) + jumps
        latent_close = session_open_price + np.cumsum(returns)
        latent_open = np.concatenate(([session_open_price], latent_close[:-1]))

        close = np.maximum(_to_tick(latent_close), TICK_SIZE_POINTS)
        open_ = np.concatenate(([session_open_price], close[:-1]))
        high_latent, low_latent = _bridge_extremes(rng, latent_open, latent_close, sigma)
        high = np.maximum(_to_tick(high_latent), np.maximum(open_, close))
        low = np.minimum(_to_tick(low_latent), np.minimum(open_, close))
        low = np.maximum(low, TICK_SIZE_POINTS)

        activity = 1.0 + 0.5 * np.abs(returns) / sigma + 4.0 * jump_mask
        expected_volume = (
            _BASE_VOLUME_CONTRACTS * time_scale * volume_mult * vol_scale**0.8 * activity
        )
        volume = 1 + rng.poisson(expected_volume * rng.gamma(4.0, 0.25, count))

        state.price = float(close[-1])
        state.last_bar_end = open_utc + timedelta(seconds=int(offsets_s[-1]) + self.bar_seconds)
        return (
            open_.tolist(),
            high.tolist(),
            low.tolist(),
            close.tolist(),
            volume.astype(np.float64).tolist(),
        )

    def _log_vol_path(
        self,
        rng: np.random.Generator,
        state: _MarketState,
        offsets_s: np.ndarray,
        jump_mask: np.ndarray,
    ) -> np.ndarray:
        step_index = (offsets_s - offsets_s[0]) // _LOG_VOL_STEP_SECONDS
        step_count = int(step_index[-1]) + 1
        kicks = np.zeros(step_count)
        np.add.at(kicks, step_index[jump_mask], _JUMP_LOG_VOL_KICK)
        phi = 0.5 ** (1.0 / _LOG_VOL_HALF_LIFE_MINUTES)
        mean = -(_LOG_VOL_STD**2)
        innovation_std = _LOG_VOL_STD * math.sqrt(1.0 - phi * phi)
        shocks = (innovation_std * rng.standard_normal(step_count) + kicks).tolist()
        path = np.empty(step_count)
        level = state.log_vol
        for index, shock in enumerate(shocks):
            level = mean + phi * (level - mean) + shock
            path[index] = level
        state.log_vol = level
        return path[step_index]


def _evolve_log_vol(rng: np.random.Generator, level: float, minutes: float) -> float:
    """Advance the mean-reverting log-volatility exactly over a closed period."""
    phi = 0.5 ** (max(minutes, 0.0) / _LOG_VOL_HALF_LIFE_MINUTES)
    mean = -(_LOG_VOL_STD**2)
    return mean + phi * (level - mean) + _LOG_VOL_STD * math.sqrt(1 - phi * phi) * rng.normal()


def _intraday_profile(offsets_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Volatility and volume multipliers by time of day (offsets from the 17:00 CT open)."""
    hour_ct = (17.0 + offsets_s / 3600.0) % 24.0
    minutes_since_rth_open = (hour_ct - 8.5) * 60.0
    minutes_to_rth_close = (15.0 - hour_ct) * 60.0
    rth = (hour_ct >= 8.5) & (hour_ct < 15.0)
    u_vol = 1.0 + 2.5 * np.exp(-minutes_since_rth_open / 20.0)
    u_vol += 1.6 * np.exp(-minutes_to_rth_close / 20.0)
    u_volume = 1.0 + 3.0 * np.exp(-minutes_since_rth_open / 12.0)
    u_volume += 2.5 * np.exp(-minutes_to_rth_close / 10.0)
    conditions = [
        rth,
        (hour_ct >= 7.0) & (hour_ct < 8.5),  # pre-open: 07:30 CT economic releases
        (hour_ct >= 15.0) & (hour_ct < 16.0),  # after the cash close
        (hour_ct >= 17.0) & (hour_ct < 18.0),  # Globex reopen
        (hour_ct >= 2.0) & (hour_ct < 4.0),  # European open
    ]
    sigma_mult = np.select(
        conditions, [0.8 * np.where(rth, u_vol, 1.0), 0.45, 0.4, 0.35, 0.35], 0.22
    )
    volume_mult = np.select(conditions, [np.where(rth, u_volume, 1.0), 0.35, 0.3, 0.2, 0.2], 0.11)
    return sigma_mult, volume_mult


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
