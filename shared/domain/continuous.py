"""Continuous futures: splice front-month bars across rolls, unadjusted or adjusted (pure).

A year of MES spans four quarterly rolls. At each the price jumps by the spread between the
two contracts (carry: tens of points), a move nobody could trade; unadjusted, it inflates ATR,
moves stops and trips the volatility trigger and the bad-print quarantine. Two adjustments
remove the jump while keeping the newest contract's prices as they are:

- ``back-adjusted``: every bar before a roll gets the roll's gap added (new close minus old
  close at the last bar both traded). Point moves, ranges and P&L in points are preserved;
  percentage moves are not, and old prices can drift far from what was quoted.
- ``ratio``: every bar before a roll is multiplied by new close / old close. Percentage moves
  are preserved; point ranges shrink or grow a little. Prices are rounded to the tick, since the
  fill model and the loader require the grid (at most half a tick per price).

Bars at or after a roll's ``at`` are the new contract's and are left as they are, so the last
contract's prices are the real ones. Functions take numpy columns and return new ones.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

import numpy as np

PRICE_NAMES = ("open", "high", "low", "close")


class Adjustment(StrEnum):
    """How ``fetch-history --continuous`` splices the front months."""

    NONE = "none"
    BACK_ADJUSTED = "back-adjusted"
    RATIO = "ratio"


@dataclass(frozen=True, slots=True)
class RollSplice:
    """One roll: its first bar of the new contract, and both closes where the two overlapped."""

    at_ns: int  # start (epoch ns, UTC) of the first bar taken from the new contract
    from_symbol: str
    to_symbol: str
    old_close: float  # the old contract's close at the last bar both contracts traded
    new_close: float  # the new contract's close at that same bar

    @property
    def gap_points(self) -> float:
        return self.new_close - self.old_close

    @property
    def ratio(self) -> float:
        return self.new_close / self.old_close


def rolls_after(ts_ns: np.ndarray, rolls: list[RollSplice]) -> np.ndarray:
    """For each bar, the index of the first roll strictly after it (rolls sorted by time)."""
    at = np.array([r.at_ns for r in rolls], dtype=np.int64)
    return np.searchsorted(at, ts_ns, side="right")


def offsets_points(ts_ns: np.ndarray, rolls: list[RollSplice]) -> np.ndarray:
    """Points added to each bar by back-adjustment: the sum of the gaps of later rolls."""
    ordered = sorted(rolls, key=lambda r: r.at_ns)
    gaps = np.array([r.gap_points for r in ordered] + [0.0])
    suffix = np.cumsum(gaps[::-1])[::-1]  # suffix[k] = sum of gaps k..end (suffix[n] = 0)
    return suffix[rolls_after(ts_ns, ordered)]


def factors(ts_ns: np.ndarray, rolls: list[RollSplice]) -> np.ndarray:
    """The factor each bar is multiplied by in a ratio adjustment: later rolls' ratios."""
    ordered = sorted(rolls, key=lambda r: r.at_ns)
    ratios = np.array([r.ratio for r in ordered] + [1.0])
    suffix = np.cumprod(ratios[::-1])[::-1]
    return suffix[rolls_after(ts_ns, ordered)]


def adjust(
    ts_ns: np.ndarray, prices: dict[str, np.ndarray], rolls: list[RollSplice],
    method: Adjustment, tick_size: float,
) -> dict[str, np.ndarray]:
    """The four price columns adjusted by ``method`` (copies; volume is never adjusted)."""
    for roll in rolls:
        if not (roll.old_close > 0 and roll.new_close > 0):
            raise ValueError(f"roll {roll.from_symbol}->{roll.to_symbol}: closes must be "
                             f"positive, got {roll.old_close} and {roll.new_close}")
    if method is Adjustment.NONE or not rolls:
        return {name: prices[name].copy() for name in PRICE_NAMES}
    if method is Adjustment.BACK_ADJUSTED:
        added = offsets_points(ts_ns, rolls)
        return {name: prices[name] + added for name in PRICE_NAMES}
    scale = factors(ts_ns, rolls)
    return {name: np.round(prices[name] * scale / tick_size) * tick_size for name in PRICE_NAMES}
