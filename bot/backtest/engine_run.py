"""Run the live decision path (TradingEngine + PaperBroker) over historical bars.

Features are computed once per run (``vector_features``) and handed to ``TradingEngine.on_bar``;
bars on which nothing can happen are skipped (``events``). Records stay in memory and only the
trades are kept: DESIGN §3, "in-memory, written once at the end, in backtests".
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache
from typing import TYPE_CHECKING, Any

import numpy as np

from bot.adapters.journal import MemoryJournal, label_trades
from bot.adapters.paper_broker import PaperBroker
from bot.backtest.data import BarData
from bot.backtest.events import (
    entries_blocked_until,
    entry_candidates,
    next_position_event,
    next_shadow_event,
)
from bot.backtest.vector_features import (
    MAX_SEED_WEIGHT,
    ExactWindows,
    feature_matrix,
    features_at,
    window_seed_weight,
)
from bot.core.engine import TradingEngine
from bot.core.gates import EntryGate
from bot.core.memory import MemoryIndex
from bot.core.rules import RuleBook
from bot.core.sentiment import HeadlineScore
from bot.core.sessions import CmeSessionClock
from bot.ports import Broker, BrokerUpdates
from shared.config.settings import Settings
from shared.domain.instruments import Instrument, get_instrument, usd_to_cents
from shared.domain.memory import MemoryOutcome, MemoryRow, ScalerSnapshot
from shared.domain.models import Bar, DecisionRecord, OrderRole, Position, TradeRecord

if TYPE_CHECKING:
    from bot.backtest.llm_run import BacktestLlm, LlmRunSummary

logger = logging.getLogger(__name__)

Progress = Callable[[float], None]


@lru_cache(maxsize=1)
def session_clock() -> CmeSessionClock:
    """The CME session clock, built once per process (it precomputes every session)."""
    return CmeSessionClock()


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


def _may_end_flat(broker: Broker, bar: Bar) -> bool:
    """Whether the broker may be flat after executing ``bar`` (so an entry can be decided).

    A position whose only working orders are its stop and target stays open unless the bar
    reaches one of them; then features cannot change any state, only the decision record.
    """
    position = broker.position()
    if position is None or not _only_bracket_working(broker):
        return True
    stop, target = position.stop_price, position.target_price
    if stop is None or target is None:
        return True
    if position.side.sign > 0:
        return bar.low <= stop or bar.high >= target
    return bar.high >= stop or bar.low <= target


def _only_bracket_working(broker: Broker) -> bool:
    return all(o.role in (OrderRole.STOP, OrderRole.TARGET) for o in broker.working_orders())


def run_engine(
    settings: Settings,
    data: BarData,
    progress: Progress | None = None,
    rules: RuleBook | None = None,
    skip_idle_bars: bool = True,
    keep_decisions: bool = False,
    headlines: Iterable[HeadlineScore] | None = None,
    llm: BacktestLlm | None = None,
    memory: MemoryIndex | None = None,
    gate: EntryGate | None = None,
) -> RunOutcome:
    """Replay ``data`` from ``data.first`` through the engine; return its trades.

    With ``headlines`` (even none) the engine passes the rolling sentiment to the strategies.
    ``llm`` (``bot.backtest.llm_run``) gives the engine its LLM bias bar by bar; without it the
    run is exactly as it always was. ``memory`` seeds the memory of past setups (else it starts
    empty); it grows as the run's brackets close and is consulted when ``settings.memory.enabled``.
    ``gate`` (the evaluation harness's placebo) may refuse entries the other layers allowed.
    """
    instrument = get_instrument(settings.instrument.symbol)
    broker = PaperBroker(instrument, commission_cents(settings, instrument),
                         settings.backtest.slippage_ticks)
    journal = BacktestJournal(keep_decisions=keep_decisions)
    seeded = len(memory) if memory is not None else 0
    # the engine's shadow brackets (refused entries) slip like this run's broker
    settings = settings.model_copy(update={"broker": settings.broker.model_copy(
        update={"paper_slippage_ticks": settings.backtest.slippage_ticks})})
    engine = TradingEngine(settings, broker, journal, session_clock(),
                           journal_inputs=keep_decisions, memory=memory)
    engine.entry_gate = gate
    if headlines is not None:
        engine.use_sentiment(headlines)
    matrix = feature_matrix(data.open, data.high, data.low, data.close, data.volume,
                            settings.features)
    engine.set_rules(rules or RuleBook())  # learned rules, as the live bot would apply them
    firing = entry_candidates(matrix, settings)
    may_enter = np.zeros(len(data), dtype=bool)
    may_enter[firing] = True
    vectorised = window_seed_weight(settings.features) <= MAX_SEED_WEIGHT
    # Candidate entry bars and the bars after them (where a pending entry fills).
    candidates = np.union1d(firing, firing + 1)
    candidates = candidates[(candidates >= data.first) & (candidates < len(data))]
    exact = ExactWindows(data.open, data.high, data.low, data.close, candidates,
                         settings.features) if vectorised and skip_idle_bars else None
    if not vectorised:
        logger.warning("features.window_bars %d is too short for whole-history indicators: "
                       "using the live feature path on every bar", settings.features.window_bars)
        engine.warm_up(data.bar(i) for i in range(max(0, data.first - engine.window.capacity),
                                                      data.first))
    skip_idle_bars = skip_idle_bars and vectorised
    ticker = ProgressTicker(progress, data.first, len(data))
    index, evaluated = data.first, 0
    while index < len(data):
        if skip_idle_bars:
            target = _next_active(data, index, engine, firing, instrument)
            if llm is not None:
                target = llm.next_bar(index, target, engine)
            # shadows (entries the LLM or memory skipped) over the bars skipped before target
            _follow_shadows(engine, data, index, len(data) if target is None else target)
            if target is None:
                break
            index = target
        bar = data.bar(index)
        if llm is not None:
            llm.before_bar(engine, index)
        if vectorised:
            # Exact features only where an entry may be decided: elsewhere may_fire/may_allow
            # (necessary conditions on these very columns) hold the vote or the regime shut.
            needed = keep_decisions or (may_enter[index] and _may_end_flat(broker, bar)) or (
                llm is not None and llm.needs_features(index))
            record = engine.on_bar(bar, features_at(matrix, index, bar.ts, data.high, data.low,
                                                    data.close, settings.features, needed,
                                                    exact))
        else:
            record = engine.on_bar(bar)
        if llm is not None:
            llm.after_bar(engine, index, record)
        evaluated += 1
        ticker.at(index)
        index += 1
    ticker.finish()
    logger.info("engine evaluated %d of %d bars (%d trades)", evaluated, len(data) - data.first,
                len(journal.trades))
    position = broker.position()
    labels = engine.entry_labels.get(position.bracket_id, {}) if position is not None else {}
    return RunOutcome(tuple(journal.trades), position, len(data) - data.first, evaluated,
                      tuple(journal.kept), dict(labels),
                      llm.finish(journal) if llm is not None else None,
                      memory_summary(engine, journal, settings, seeded))


def memory_summary(engine: TradingEngine, journal: MemoryJournal, settings: Settings,
                   seeded: int) -> MemorySummary:
    """Refusals and their shadow exits (net of a round trip's commission) from a finished run."""
    per_side = commission_cents(settings, engine.instrument)
    exits = [detail for _, kind, _, _, detail in journal.events if kind == "memory_shadow_exit"]
    net = sum(int(d["pnl_cents"]) - 2 * per_side * int(d["contracts"]) for d in exits)
    return MemorySummary(settings.memory.enabled, seeded, len(engine.memory.index),
                         engine.memory.refused, len(exits), net)


def _follow_shadows(engine: TradingEngine, data: BarData, start: int, stop: int) -> None:
    """Advance shadow brackets (refused entries) over the skipped bars ``start``..``stop``-1,
    feeding them only the bars on which one may enter or exit."""
    index = start
    while engine.shadows_open and index < stop:
        books = [b for b in (engine.shadows, engine.memory.shadows) if b.open]
        index = min(next_shadow_event(data, index, stop, b.open, b.max_hold) for b in books)
        if index >= stop:
            return
        engine.follow_shadows(data.bar(index))
        index += 1


def _next_active(
    data: BarData, index: int, engine: TradingEngine, firing: np.ndarray,
    instrument: Instrument,
) -> int | None:
    broker, settings = engine.broker, engine.settings
    position = broker.position()
    if position is None:
        if broker.working_orders():
            return index
        allowed = entries_blocked_until(data, index, engine.risk_state, settings.risk,
                                        engine.clock.trading_day)
        if allowed is None:
            return None
        found = int(np.searchsorted(firing, allowed))
        return int(firing[found]) if found < len(firing) else None
    if not _only_bracket_working(broker):
        return index
    return next_position_event(data, index, position, engine.position_risk(position),
                               instrument)
