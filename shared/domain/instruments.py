"""Contract specifications for MES and ES and the money arithmetic built on them.

One table, one ``round_to_tick``. P&L is computed in whole ticks times the tick value in cents,
so it is exact; prices are floats on the 0.25 grid, which binary floating point holds exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from shared.domain.models import Side


@dataclass(frozen=True, slots=True)
class Instrument:
    """A futures contract: tick size in points, dollars per point, default commission."""

    symbol: str
    description: str
    tick_size: float
    point_value_usd: int
    default_commission_per_side_usd: float

    @property
    def tick_value_cents(self) -> int:
        """Dollar value of one tick, in cents (MES 125, ES 1250)."""
        return round(self.tick_size * self.point_value_usd * 100)

    def round_to_tick(self, price: float) -> float:
        """Round a price to the nearest tick."""
        return round_to_tick(price, self.tick_size)

    def points_to_ticks(self, points: float) -> int:
        """Convert a price distance to a whole number of ticks (nearest)."""
        return round(points / self.tick_size)

    def pnl_cents(self, side: Side, entry_price: float, exit_price: float, contracts: int) -> int:
        """Gross P&L of a round trip in cents, before commission (``points_to_ticks`` times
        ``tick_value_cents``, written out: the live loop marks an open position on every bar)."""
        tick_size = self.tick_size
        ticks = round((exit_price - entry_price) * side.sign / tick_size)
        return ticks * round(tick_size * self.point_value_usd * 100) * contracts


INSTRUMENTS: dict[str, Instrument] = {
    "MES": Instrument("MES", "Micro E-mini S&P 500", 0.25, 5, 0.62),
    "ES": Instrument("ES", "E-mini S&P 500", 0.25, 50, 2.25),
}


def get_instrument(symbol: str) -> Instrument:
    """Look up a supported instrument by symbol, with a clear error for anything else."""
    try:
        return INSTRUMENTS[symbol.upper()]
    except KeyError:
        supported = ", ".join(sorted(INSTRUMENTS))
        raise ValueError(f"unknown instrument {symbol!r}; supported: {supported}") from None


def round_to_tick(price: float, tick_size: float = 0.25, direction: str = "nearest") -> float:
    """Round ``price`` to the tick grid: ``nearest`` (half away from zero), ``up`` or ``down``."""
    if tick_size <= 0:
        raise ValueError("tick_size must be positive")
    ticks = price / tick_size
    if direction == "nearest":
        whole = math.floor(abs(ticks) + 0.5) * (1 if ticks >= 0 else -1)
    elif direction == "up":
        whole = math.ceil(ticks - 1e-9)
    elif direction == "down":
        whole = math.floor(ticks + 1e-9)
    else:
        raise ValueError(f"direction must be nearest, up or down, not {direction!r}")
    return whole * tick_size


def usd_to_cents(amount_usd: float) -> int:
    """Convert a dollar amount to whole cents (nearest)."""
    return round(amount_usd * 100)
