"""LLM value attribution: follow the brackets the LLM turned into skips to their exits.

A shadow bracket is the order the risk manager would have placed without the LLM. It follows
the paper fill model (DESIGN §4a): entry at the next bar's open plus slippage, stop and target
live from that bar, the stop wins a bar touching both, a gap fills at the open, and a time exit
after ``max_hold_minutes``. P&L is gross (no commission), in cents. No trailing stop.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta

from shared.domain.instruments import Instrument
from shared.domain.models import Bar, OrderPlan, Side


@dataclass(frozen=True, slots=True)
class ShadowBracket:
    """A skipped entry being followed; ``entry_price`` is None until its entry bar."""

    decision_ts: datetime
    side: Side
    contracts: int
    stop_price: float
    target_price: float
    entry_price: float | None = None
    entry_ts: datetime | None = None


@dataclass(frozen=True, slots=True)
class ShadowExit:
    """Where a shadow bracket would have ended, and its hypothetical gross P&L."""

    decision_ts: datetime
    side: Side
    contracts: int
    entry_price: float
    exit_price: float
    exit_ts: datetime
    exit_reason: str
    pnl_cents: int

    def detail(self) -> dict[str, object]:
        """The event payload."""
        return {"decision_ts": self.decision_ts.isoformat(), "side": self.side.value,
                "contracts": self.contracts, "entry_price": self.entry_price,
                "exit_price": self.exit_price, "exit_reason": self.exit_reason,
                "pnl_cents": self.pnl_cents}


class ShadowBook:
    """Open shadow brackets, advanced bar by bar."""

    def __init__(self, instrument: Instrument, slippage_ticks: int, max_hold_minutes: float
                 ) -> None:
        self.instrument = instrument
        self.slippage_points = slippage_ticks * instrument.tick_size
        self.max_hold = timedelta(minutes=max_hold_minutes)
        self.open: list[ShadowBracket] = []

    def add(self, plan: OrderPlan, decision_ts: datetime) -> None:
        """Follow the bracket the LLM skipped."""
        self.open.append(ShadowBracket(decision_ts, plan.side, plan.contracts, plan.stop_price,
                                       plan.target_price))

    def on_bar(self, bar: Bar, bar_length: timedelta) -> list[ShadowExit]:
        """Advance every shadow over one bar; return the ones that exited."""
        still_open, exits = [], []
        for shadow in self.open:
            if shadow.entry_price is None:
                entry = bar.open + shadow.side.sign * self.slippage_points
                shadow = replace(shadow, entry_price=entry, entry_ts=bar.ts)
            done = self._exit(shadow, bar, bar_length)
            if done is None:
                still_open.append(shadow)
            else:
                exits.append(done)
        self.open = still_open
        return exits

    def _exit(self, shadow: ShadowBracket, bar: Bar, bar_length: timedelta) -> ShadowExit | None:
        sign = shadow.side.sign
        stop_hit = (bar.low <= shadow.stop_price) if sign > 0 else (bar.high >= shadow.stop_price)
        target_hit = (bar.high >= shadow.target_price) if sign > 0 else (
            bar.low <= shadow.target_price)
        close_ts = bar.ts + bar_length
        if stop_hit:
            gapped = (bar.open - shadow.stop_price) * sign < 0
            price = (bar.open if gapped else shadow.stop_price) - sign * self.slippage_points
            return self._closed(shadow, price, close_ts, "stop")
        if target_hit:
            gapped = (bar.open - shadow.target_price) * sign > 0
            return self._closed(shadow, bar.open if gapped else shadow.target_price, close_ts,
                                "target")
        if shadow.entry_ts is not None and close_ts - shadow.entry_ts >= self.max_hold:
            return self._closed(shadow, bar.close - sign * self.slippage_points, close_ts,
                                "time_exit")
        return None

    def _closed(self, shadow: ShadowBracket, price: float, ts: datetime, reason: str
                ) -> ShadowExit:
        entry = shadow.entry_price if shadow.entry_price is not None else price
        pnl = self.instrument.pnl_cents(shadow.side, entry, price, shadow.contracts)
        return ShadowExit(shadow.decision_ts, shadow.side, shadow.contracts, entry, price, ts,
                          reason, pnl)
