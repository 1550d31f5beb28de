"""No entries on a backlog: bars processed far behind the wall clock hold new entries.

When the bot follows the wall clock (real-time synthetic bars) each bar is processed as it
closes. A process that was frozen (SIGSTOP, a suspended VM, a starved machine) wakes to a
backlog and plays it in a burst: those bars are history by then, and an entry decided on one
would be placed at a price the market has left. ``CatchUpGuard`` measures each bar's lag (wall
clock minus the bar's close); beyond ``hold_after_s`` (``engine.catch_up_hold_after_s``,
10 s by default) it halts entries with a ``catch_up`` warning event, and once a bar is processed
within half of that (``RELEASE_FRACTION``) it lifts its own halt with a ``caught_up`` event.
Exits keep working throughout: stops, targets and time exits are still evaluated on every bar.
An operator's halt is never lifted by the guard, and a resume command during the burst is
respected (the guard holds again only on a new backlog).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.core.engine import TradingEngine
from shared.domain.models import Bar

RELEASE_FRACTION = 0.5  # back within this share of the hold threshold: caught up
REASON = "catching up: bars are processed behind the wall clock"


@dataclass(slots=True)
class CatchUpGuard:
    """Holds entries while the live loop is behind the wall clock (``enabled`` modes only)."""

    bar_seconds: int
    enabled: bool
    hold_after_s: float  # a bar processed this long after its close is a backlog
    holding: bool = False
    held_bars: int = 0
    max_lag_s: float = 0.0
    _checked_restore: bool = field(default=False, repr=False)

    def lag_s(self, bar: Bar, wall_now: datetime) -> float:
        """Seconds between the bar's close and now."""
        return (wall_now - bar.ts - timedelta(seconds=self.bar_seconds)).total_seconds()

    def observe(self, engine: TradingEngine, bar: Bar, wall_now: datetime) -> None:
        """Before ``bar`` is decided on: hold or release entries by how late it is."""
        if not self.enabled:
            return
        now = bar.ts + timedelta(seconds=self.bar_seconds)
        if not self._checked_restore:
            self._checked_restore = True
            self._release_previous_hold(engine, now)
        lag_s = self.lag_s(bar, wall_now)
        if not self.holding and lag_s > self.hold_after_s:
            self._hold(engine, bar, now, lag_s)
        elif self.holding and lag_s < self.hold_after_s * RELEASE_FRACTION:
            self._release(engine, now, lag_s)
        elif self.holding:
            self.max_lag_s = max(self.max_lag_s, lag_s)
            self.held_bars += 1

    def _hold(self, engine: TradingEngine, bar: Bar, now: datetime, lag_s: float) -> None:
        self.holding, self.held_bars, self.max_lag_s = True, 1, lag_s
        message = (f"bar of {bar.ts:%H:%M:%S} UTC processed {lag_s:.0f} s after its close (the "
                   "process was paused or starved): new entries held until the bot catches up")
        engine.journal.record_event(now, "catch_up", "warning", message,
                                    {"lag_s": round(lag_s, 3), "bar_ts": bar.ts.isoformat()})
        if not engine.risk_state.halted:
            engine.halt(REASON, now)
        engine.journal.flush()

    def _release(self, engine: TradingEngine, now: datetime, lag_s: float) -> None:
        self.holding = False
        message = (f"caught up with the wall clock after {self.held_bars} late bars (up to "
                   f"{self.max_lag_s:.0f} s late)")
        ours = engine.risk_state.halted and engine.risk_state.halt_reason == REASON
        message += ": entries allowed again" if ours else ""
        engine.journal.record_event(now, "caught_up", "info", message, {
            "bars": self.held_bars, "max_lag_s": round(self.max_lag_s, 3),
            "lag_s": round(lag_s, 3)})
        if ours:
            engine.resume(now)
        engine.journal.flush()

    def _release_previous_hold(self, engine: TradingEngine, now: datetime) -> None:
        """A hold journaled by a previous process (stopped mid-burst) is not an operator's."""
        if engine.risk_state.halted and engine.risk_state.halt_reason == REASON:
            engine.resume(now)
