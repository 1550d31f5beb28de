"""The per-bar fault guard: an exception in the decision path never leaves a position naked.

Before this guard, an exception raised by the engine on a bar (a number that overflowed, a bug)
ended the live loop: the process died with a traceback, the heartbeat still said "running", and
supervisord restarted it into the same exception until it gave up (FATAL), with the paper
position's stop enforced by nobody. Now the loop survives it:

- the bar still reaches the broker, so the working bracket keeps filling (the paper broker
  executes its stop and target; an IB bracket lives at the exchange anyway) and the fills,
  trades and the bar are journaled;
- entries are halted (the halt is journaled, so it survives a restart) and one ``engine_fault``
  incident says what raised, on which bar, and what protects the position;
- the heartbeat says ``fault`` (never "running") while the fault's halt is in force, with the
  reason as the halt reason;
- every later bar tries the engine again (so exits it manages, time exit and trailing stop, come
  back as soon as it works) and falls back to the broker alone when it raises again.

A journal failure is not this guard's business: it propagates to the loop's journal-fault path
(``bot/runtime/faults.py``). Resuming entries (the dashboard's Resume) ends the fault state; the
next exception starts a new one.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.core.engine import TradingEngine
from bot.runtime.faults import is_journal_error
from shared.domain.models import Bar, DecisionRecord

logger = logging.getLogger(__name__)

FAULT_STATUS = "fault"
REASON_CHARS = 200  # the halt reason on the heartbeat and the dashboard: one short line


class _BarMarkingBroker:
    """The engine's broker, noting the last bar it was handed (so a bar is never played twice
    against the working orders when the engine raised after passing it on)."""

    def __init__(self, broker: Any) -> None:
        self._broker = broker
        self.last_bar_ts: datetime | None = None

    def on_bar(self, bar: Bar) -> None:
        self.last_bar_ts = bar.ts  # before: a broker that raised on a bar is not given it again
        self._broker.on_bar(bar)

    def __getattr__(self, name: str) -> Any:
        value = getattr(self._broker, name)
        if inspect.ismethod(value) and value.__self__ is self._broker:
            setattr(self, name, value)  # a bound method never changes: found here once
        return value


@dataclass(slots=True)
class EngineFault:
    """The fault in force: what raised first, when, and how many bars have raised since."""

    reason: str
    first_bar_ts: datetime
    bars_failed: int = 1
    broker_failed: bool = False


def fault_reason(exc: BaseException) -> str:
    """``engine fault: OverflowError: date value out of range`` (one line, bounded)."""
    text = " ".join(str(exc).split()) or "(no message)"
    return f"engine fault: {type(exc).__name__}: {text}"[:REASON_CHARS]


class EngineGuard:
    """Runs the engine on each bar; on an exception, protects the position and reports a fault."""

    def __init__(self, engine: TradingEngine) -> None:
        self.engine = engine
        self._broker = _BarMarkingBroker(engine.broker)
        engine.broker = self._broker  # the engine's own calls go through the marker
        self.fault: EngineFault | None = None

    @property
    def active(self) -> bool:
        """Whether the bot is in a fault: an engine exception whose halt is still in force."""
        if self.fault is not None and not self.engine.risk_state.halted:
            self.fault = None  # resumed by a person: the next exception is a new fault
        return self.fault is not None

    def status(self, wanted: str) -> str:
        """The heartbeat status: ``fault`` instead of "running" while a fault is in force."""
        return FAULT_STATUS if wanted == "running" and self.active else wanted

    def on_bar(
        self, bar: Bar, before: Callable[[], object] = lambda: None,
        after: Callable[[DecisionRecord], object] = lambda _record: None,
    ) -> DecisionRecord | None:
        """``before()``, the engine on ``bar``, then ``after(record)``; None when one raised."""
        try:
            before()
            record = self.engine.on_bar(bar)
            after(record)
            return record
        except Exception as exc:
            if is_journal_error(exc):
                raise
            self._report(bar, exc)
            self._protect(bar)
            return None

    def _report(self, bar: Bar, exc: Exception) -> None:
        """Log; on a new fault also halt entries and journal one incident."""
        if self.active and self.fault is not None:  # (active: the fault is set)
            self.fault.bars_failed += 1
            count = self.fault.bars_failed
            if count <= 3 or count % 100 == 0:
                logger.warning("engine fault again on the bar at %s (%d bars so far): %s",
                               bar.ts.isoformat(), count, fault_reason(exc))
            return
        reason = fault_reason(exc)
        self.fault = EngineFault(reason, bar.ts)
        logger.error("%s on the bar at %s: entries halted, the position keeps its bracket",
                     reason, bar.ts.isoformat(), exc_info=exc)
        now = bar.ts + self.engine.bar_length
        position = self.engine.broker.position()
        protection = ("no open position" if position is None else
                      f"the open {position.side.value} {position.contracts} keeps its stop at "
                      f"{position.stop_price} and its target at {position.target_price}")
        self.engine.journal.record_event(
            now, "engine_fault", "incident",
            f"{reason} on the bar at {bar.ts.isoformat()}: entries halted; {protection}",
            {"exception": type(exc).__name__, "message": str(exc)[:1000],
             "bar_ts": bar.ts.isoformat(), "protection": protection},
        )
        self.engine.halt(reason, now)

    def _protect(self, bar: Bar) -> None:
        """Play the bar against the working orders (unless the engine already did), journal
        what the broker did and the bar, and move the engine's clock past it."""
        engine = self.engine
        if self._broker.last_bar_ts != bar.ts:
            try:
                self._broker.on_bar(bar)
            except Exception as exc:
                if is_journal_error(exc):
                    raise
                self._broker_failed(bar, exc)
        engine.journal_broker_updates()
        window = engine.window
        if window.last_ts is None or window.last_ts < bar.ts:
            engine.live_features.append(bar)  # the window and its indicator states together
        if engine.last_bar is None or engine.last_bar.ts < bar.ts:
            engine.last_bar = bar
        engine.journal.record_bar(engine.instrument.symbol, bar)
        engine.journal.flush()

    def _broker_failed(self, bar: Bar, exc: Exception) -> None:
        """The broker raised on the bar too: its orders were not executed on it. Say so once
        per fault (an IB bracket still works at the exchange; a paper one waits)."""
        logger.error("the broker could not execute the bar at %s either: %s", bar.ts.isoformat(),
                     exc)
        if self.fault is None or self.fault.broker_failed:
            return
        self.fault.broker_failed = True
        self.engine.journal.record_event(
            bar.ts + self.engine.bar_length, "engine_fault", "incident",
            f"the broker could not execute the bar at {bar.ts.isoformat()} either "
            f"({type(exc).__name__}: {exc}): working orders were not executed on it",
            {"exception": type(exc).__name__, "message": str(exc)[:1000],
             "bar_ts": bar.ts.isoformat()},
        )
