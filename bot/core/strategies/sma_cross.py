"""Reference strategy ``sma_cross``: always in the market, reversing on each SMA cross.

SMA(fast) and SMA(slow) of the close; a cross is a sign change of (fast - slow), a zero carrying
the previous sign (the first sign is not a cross). The sign is computed exactly in whole ticks,
so equal averages are a tie, never a float-rounding cross. Backtest-only (see bot/backtest).
"""

from __future__ import annotations

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

NAME = "sma_cross"


class SmaCrossParams(BaseModel):
    """Periods of the two simple moving averages, in bars."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    fast: int = Field(10, ge=1, le=10_000)
    slow: int = Field(30, ge=2, le=10_000)

    @model_validator(mode="after")
    def _fast_below_slow(self) -> SmaCrossParams:
        if self.fast >= self.slow:
            raise ValueError("fast must be below slow")
        return self


def carried_sign(close: np.ndarray, params: SmaCrossParams, tick_size: float) -> np.ndarray:
    """Per bar: +1 fast above slow, -1 below, a tie keeps the last sign; 0 before any sign."""
    ticks = np.rint(close / tick_size).astype(np.int64)
    sums = np.concatenate(([0], np.cumsum(ticks)))
    count = len(close)
    raw = np.zeros(count, dtype=np.int64)
    if count >= params.slow:
        ends = np.arange(params.slow, count + 1)
        fast_sum = sums[ends] - sums[ends - params.fast]
        slow_sum = sums[ends] - sums[ends - params.slow]
        # fast - slow = fast_sum / fast - slow_sum / slow: compare without dividing.
        raw[params.slow - 1 :] = np.sign(params.slow * fast_sum - params.fast * slow_sum)
    last_nonzero = np.maximum.accumulate(np.where(raw != 0, np.arange(count), -1))
    return np.where(last_nonzero >= 0, raw[np.maximum(last_nonzero, 0)], 0)


def crosses(
    close: np.ndarray, params: SmaCrossParams, tick_size: float
) -> tuple[np.ndarray, np.ndarray]:
    """Indices of the bars on which a cross happens, and the new direction (+1 / -1)."""
    sign = carried_sign(close, params, tick_size)
    changed = np.flatnonzero((sign[1:] != sign[:-1]) & (sign[:-1] != 0)) + 1
    return changed, sign[changed]
