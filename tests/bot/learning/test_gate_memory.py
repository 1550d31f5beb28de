"""The rule gate with memory on: both runs start from the memory the live bot had."""

from __future__ import annotations

from bot.adapters.journal import MemoryJournal
from bot.adapters.paper_broker import PaperBroker
from bot.backtest.engine_run import session_clock
from bot.core.engine import TradingEngine
from bot.core.rules import RuleBook
from bot.learning.gate import bar_data, run_summary
from shared.domain.instruments import get_instrument
from tests.bot.learning.journal import day_bars, journal_settings

SPLIT = 4_000  # the live bot's history before the gate's first decision bar


def _closed_setups(settings, bars):
    """The setups a live engine stored over ``bars`` whose brackets closed."""
    engine = TradingEngine(settings, PaperBroker(get_instrument("MES"), 62, 1), MemoryJournal(),
                           session_clock())
    for bar in bars:
        engine.on_bar(bar)
    return sorted((r for r in engine.journal.memory.values() if r.outcome is not None),
                  key=lambda r: r.outcome.close_ts)


def test_each_gate_run_starts_from_the_same_seeded_memory():
    bars = day_bars(2 * SPLIT)
    settings = journal_settings({"memory": {"enabled": True, "cold_start_setups": 5},
                                 "feed": {"bar_seconds": 5}})
    rows = _closed_setups(settings, bars[:SPLIT])
    assert len(rows) >= 5 and rows[-1].outcome.close_ts <= bars[SPLIT].ts
    data = bar_data(bars, SPLIT)
    first = run_summary(settings, data, RuleBook(), rows)
    again = run_summary(settings, data, RuleBook(), rows)
    assert first == again  # a fresh index per run: one run's new setups never reach the next
    assert first["memory_seeded_setups"] == len(rows)
    assert run_summary(settings, data, RuleBook())["memory_seeded_setups"] == 0
    off = journal_settings({"feed": {"bar_seconds": 5}})
    assert run_summary(off, data, RuleBook(), rows)["memory_seeded_setups"] is None
