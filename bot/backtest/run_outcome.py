"""What a backtest run hands back, and the light parts every runner shares.

The outcome (``RunOutcome``), the in-memory journal that keeps only trades (``BacktestJournal``),
progress ticks and the commission: the reference strategies and the settlement need these
without loading the decision engine (``engine_run``), which costs a process 0.15 s to import.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from bot.adapters.journal import MemoryJournal, label_trades
from bot.ports import BrokerUpdates
from shared.config.settings import Settings
from shared.domain.instruments import Instrument, usd_to_cents
from shared.domain.memory import MemoryOutcome, MemoryRow, ScalerSnapshot
from shared.domain.models import Bar, DecisionRecord, Position, TradeRecord

if TYPE_CHECKING:
    from bot.backtest.llm_run import LlmRunSummary

Progress = Callable[[float], None]


@dataclass(slots=True)
class BacktestJournal(MemoryJournal):
    """A MemoryJournal that counts decisions and bars instead of keeping them (unless asked)."""

    decisions_seen: int = 0
    keep_decisions: bool = False
    kept: list[DecisionRecord] = field(default_factory=list)

    def record_bar(self, symbol: str, bar: Bar) -> None:
        return None

    def record_decision(self, record: DecisionRecord) -> None:
        self.decisions_seen += 1
        if self.keep_decisions:
            self.kept.append(record)

    def record_broker_updates(
        self, updates: BrokerUpdates, symbol: str, position: Position | None,
        labels: dict[str, dict[str, str]],
    ) -> None:
        """Keep trades (labelled) and the position; orders and fills only with decisions."""
        if self.keep_decisions:
            MemoryJournal.record_broker_updates(self, updates, symbol, position, labels)
            return
        if updates.trades:
            self.trades.extend(label_trades(updates.trades, labels))
        if updates.position_changed:
            self.position = position

    def record_memory_setup(self, symbol: str, row: MemoryRow) -> None:
        """Kept with the decisions only (the engine's own index is what the run uses)."""
        if self.keep_decisions:
            MemoryJournal.record_memory_setup(self, symbol, row)

    def record_memory_outcome(self, bracket_id: str, outcome: MemoryOutcome) -> None:
        if self.keep_decisions:
            MemoryJournal.record_memory_outcome(self, bracket_id, outcome)

    def record_memory_scaler(self, scaler: ScalerSnapshot, at: datetime) -> None:
        return None


@dataclass(frozen=True, slots=True)
class MemorySummary:
    """What memory did in a run: entries it refused, and what they would have made (net).

    ``refused_closed`` shadows (one at a time, like positions) reached their exit; their P&L is
    net of a round trip's commission.
    """

    enabled: bool
    seeded_setups: int
    stored_setups: int
    refused: int
    refused_closed: int
    refused_net_pnl_cents: int

    def metrics(self) -> dict[str, Any]:
        """The run's memory metrics (``memory_*`` keys)."""
        return {"memory_enabled": self.enabled, "memory_seeded_setups": self.seeded_setups,
                "memory_setups": self.stored_setups, "memory_refused": self.refused,
                "memory_refused_closed": self.refused_closed,
                "memory_refused_net_pnl_cents": self.refused_net_pnl_cents}


@dataclass(frozen=True, eq=False)
class RunOutcome:
    """Closed trades, the position still open at the end (with its entry labels), bar counts."""

    trades: tuple[TradeRecord, ...]
    open_position: Position | None
    bars: int
    bars_evaluated: int
    decisions: tuple[DecisionRecord, ...] = ()
    open_labels: dict[str, str] = field(default_factory=dict)
    llm: LlmRunSummary | None = None  # what the LLM did (None when --llm off)
    memory: MemorySummary | None = None


def commission_cents(settings: Settings, instrument: Instrument) -> int:
    """Commission per contract per side in cents (config value or the instrument default)."""
    usd = settings.instrument.commission_per_side_usd
    return usd_to_cents(instrument.default_commission_per_side_usd if usd is None else usd)


class ProgressTicker:
    """Calls ``report`` each time another ``step`` of the bars has been passed."""

    def __init__(self, report: Progress | None, first: int, total: int, step: float = 0.01):
        self._report, self._first, self._total = report, first, max(1, total - first)
        self._step, self._next = step, step

    def finish(self) -> None:
        """Report completion."""
        if self._report is not None:
            self._report(1.0)

    def at(self, index: int) -> None:
        """Report if bar ``index`` passed the next threshold."""
        if self._report is None:
            return
        done = (index - self._first) / self._total
        if done >= self._next:
            self._report(min(done, 1.0))
            self._next = (done // self._step + 1) * self._step
