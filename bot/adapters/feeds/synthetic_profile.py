"""Time-of-day shape of the synthetic market: volatility and volume by minute of the session.

Half-hour levels measured on real ES one-minute bars (ESZ25 as front month, 2025-09-15 to
2025-11-03; ``bot.adapters.feeds.calibration``), relative to RTH midday (11:00-13:00 CT):
mean absolute one-minute return and median one-minute volume. On top of them sit the two
spikes a half-hour average hides: the first minutes after the 08:30 CT cash open and the
closing-auction minute at 14:59 CT (the day's largest volume bar).
"""

from __future__ import annotations

import numpy as np

SESSION_OPEN_HOUR_CT = 17.0
RTH_OPEN_MINUTE = 15 * 60 + 30  # 08:30 CT, minutes after the 17:00 CT session open
RTH_CLOSE_MINUTE = 22 * 60  # 15:00 CT

# One value per half hour from 17:00 CT to 16:00 CT (46 half hours).
VOLATILITY_BY_HALF_HOUR = np.array([
    0.55, 0.40, 0.40, 0.38, 0.50, 0.41, 0.41, 0.38, 0.34, 0.30, 0.31, 0.32,  # 17:00-23:00
    0.41, 0.35, 0.38, 0.39, 0.46, 0.50, 0.68, 0.59, 0.57, 0.50, 0.47, 0.43,  # 23:00-05:00
    0.45, 0.47, 0.60, 0.54, 0.57, 0.66, 0.62,  # 05:00-08:30 (07:30 economic releases)
    1.40, 1.34, 1.17, 1.15, 1.15, 0.99, 1.05, 1.03, 0.94, 0.97, 0.98, 0.91, 1.16,  # RTH
    0.66, 0.46,  # 15:00-16:00, after the cash close
])
VOLUME_BY_HALF_HOUR = np.array([
    0.055, 0.036, 0.033, 0.035, 0.066, 0.053, 0.052, 0.050, 0.041, 0.034, 0.034, 0.033,
    0.034, 0.028, 0.038, 0.038, 0.062, 0.064, 0.118, 0.093, 0.122, 0.085, 0.080, 0.077,
    0.077, 0.078, 0.115, 0.117, 0.163, 0.235, 0.335,
    2.20, 1.90, 1.60, 1.36, 1.33, 1.12, 0.96, 0.98, 0.95, 1.02, 0.95, 0.98, 1.60,
    0.41, 0.14,
])
OPEN_VOLATILITY_SPIKE = 0.9  # extra multiple in the first minute after 08:30 CT ...
OPEN_VOLATILITY_DECAY_MINUTES = 2.0  # ... fading with this time constant
OPEN_VOLUME_SPIKE = 1.9
OPEN_VOLUME_DECAY_MINUTES = 1.5
CLOSING_AUCTION_VOLUME = 15.0  # volume multiple of the 14:59 CT minute


def minute_profile(minutes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Volatility and volume multipliers (midday = 1) for minutes after the 17:00 CT open."""
    half_hour = np.clip(minutes // 30, 0, len(VOLATILITY_BY_HALF_HOUR) - 1).astype(np.int64)
    volatility = VOLATILITY_BY_HALF_HOUR[half_hour]
    volume = VOLUME_BY_HALF_HOUR[half_hour]
    since_open = minutes - RTH_OPEN_MINUTE
    after_open = since_open >= 0
    decay = np.exp(-np.where(after_open, since_open, 0.0) / OPEN_VOLATILITY_DECAY_MINUTES)
    volatility = volatility * (1.0 + np.where(after_open, OPEN_VOLATILITY_SPIKE * decay, 0.0))
    decay = np.exp(-np.where(after_open, since_open, 0.0) / OPEN_VOLUME_DECAY_MINUTES)
    volume = volume * (1.0 + np.where(after_open, OPEN_VOLUME_SPIKE * decay, 0.0))
    volume = np.where(minutes == RTH_CLOSE_MINUTE - 1, volume * CLOSING_AUCTION_VOLUME, volume)
    return volatility, volume


def is_rth_minute(minutes: np.ndarray) -> np.ndarray:
    """Whether each minute after the 17:00 CT open lies in 08:30-15:00 CT."""
    return (minutes >= RTH_OPEN_MINUTE) & (minutes < RTH_CLOSE_MINUTE)
