"""Run the live decision path (TradingEngine + PaperBroker) over historical bars.

Features are computed once per run (``vector_features``) and handed to ``TradingEngine.on_bar``;
bars on which nothing can happen are skipped (``events``). Records stay in memory and only the
trades are kept: DESIGN §3, "in-memory, written once at the end, in backtests".
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from functools import lru_cache
from typing import TYPE_CHECKING

import numpy as np

from bot.adapters.journal import MemoryJournal
from bot.adapters.paper_broker import PaperBroker
from bot.adapters.release_calendar import release_calendar
from bot.adapters.session_cache import cached_session_clock
from bot.backtest.data import BarData
from bot.backtest.events import (
    entries_blocked_until,
    entry_candidates,
    next_position_event,
    next_shadow_event,
)
from bot.backtest.llm_gate_off import without_llm_gate
from bot.backtest.run_outcome import (
    BacktestJournal,
    MemorySummary,
    Progress,
    ProgressTicker,
    RunOutcome,
    commission_cents,
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
from bot.core.session_levels import level_rules, session_level_columns
from bot.core.sessions import CmeSessionClock
from bot.ports import Broker
from shared.config.settings import Settings
from shared.domain.instruments import Instrument, get_instrument, usd_to_cents
from shared.domain.models import Bar, OrderRole

if TYPE_CHECKING:
    from bot.backtest.llm_run import BacktestLlm

logger = logging.getLogger(__name__)


def data_levels(data: BarData, settings: Settings) -> dict[str, np.ndarray]:
    """Every bar's session levels, as the live engine's tracker gives them."""
    return session_level_columns(data.ts_ns / 1e9, data.high, data.low, data.close,
                                 data.volume, session_clock(), level_rules(settings))


@lru_cache(maxsize=1)
def session_clock() -> CmeSessionClock:
    """The CME session clock, built once per process (it precomputes every session)."""
    return cached_session_clock()


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


def _protections_watch(settings: Settings) -> bool:
    """Whether a protection needs every bar while a position is open (its open P&L marked, or
    an exit before a release)."""
    prot = settings.protections
    return prot.marks_open_pnl or prot.flatten_before_release_minutes > 0


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
                         settings.backtest.slippage_ticks, record_orders=keep_decisions)
    journal = BacktestJournal(keep_decisions=keep_decisions)
    seeded = len(memory) if memory is not None else 0
    # the engine's shadow brackets (refused entries) slip like this run's broker
    settings = settings.model_copy(update={"broker": settings.broker.model_copy(
        update={"paper_slippage_ticks": settings.backtest.slippage_ticks})})
    if llm is None or llm.gate is None:  # only a journal replay has the gate's answers
        settings = without_llm_gate(settings)
    engine = TradingEngine(settings, broker, journal, session_clock(),
                           journal_inputs=keep_decisions, memory=memory)
    engine.entry_gate = gate
    engine.releases = release_calendar(settings.protections)
    engine.starting_equity_cents = usd_to_cents(settings.backtest.starting_equity_usd)
    if headlines is not None:
        engine.use_sentiment(headlines)
    matrix = feature_matrix(data.open, data.high, data.low, data.close, data.volume,
                            settings.features, data_levels(data, settings))
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
    if not _only_bracket_working(broker) or _protections_watch(settings):
        return index  # the profit lock and the exit before a release look at every bar
    return next_position_event(data, index, position, engine.position_risk(position),
                               instrument)
