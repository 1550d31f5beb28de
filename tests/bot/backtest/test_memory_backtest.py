"""Backtests with memory: built as the run goes, seeded from a journal (only setups closed
before the first bar), the idle-bar fast path unchanged, refusals followed as shadows."""

from __future__ import annotations

import sqlite3

import pytest

from bot.adapters.journal import SqliteJournal
from bot.adapters.paper_broker import PaperBroker
from bot.backtest.engine_run import run_engine, session_clock
from bot.backtest.memory_seed import seed_memory
from bot.backtest.runner import build_settings, execute
from bot.core.engine import MEMORY_RULE, TradingEngine
from bot.core.memory import FEATURE_SCHEMA_VERSION
from shared.config.backtest_request import BacktestRequest
from shared.config.settings import settings_from_mapping
from shared.domain.errors import ConfigError
from shared.domain.instruments import get_instrument
from shared.persistence import memory_store
from shared.persistence.db import connect, open_database
from tests.bot.backtest.conftest import bar_data, minute_bars

RISK = {"max_hold_minutes": 15, "max_trades_per_day": 40, "cooldown_after_loss_minutes": 1}
MEMORY = {"enabled": True, "min_weighted_win_rate": 0.3, "cold_start_setups": 10,
          "radius": 1.5, "bandwidth": 0.75}


@pytest.fixture(scope="module")
def bars():
    return minute_bars(6000, seed=3)


@pytest.fixture(scope="module")
def journal_db(tmp_path_factory, bars):
    """A bot journal of the first 4,000 bars (memory off: setups are recorded anyway)."""
    db = tmp_path_factory.mktemp("seed") / "trader.db"
    conn = open_database(db)
    settings = settings_from_mapping({"risk": RISK, "feed": {"bar_seconds": 60}}, env={})
    engine = TradingEngine(settings, PaperBroker(get_instrument("MES"), 62, 1),
                           SqliteJournal(conn), session_clock())
    for bar in bars[:4000]:
        engine.on_bar(bar)
    conn.close()
    return db


def test_skipping_idle_bars_with_memory_on_changes_nothing(bars):
    data = bar_data(bars[:4000])
    settings = settings_from_mapping({"risk": RISK, "memory": MEMORY,
                                      "feed": {"bar_seconds": 60}}, env={})
    skipped = run_engine(settings, data, keep_decisions=True)
    every = run_engine(settings, data, skip_idle_bars=False, keep_decisions=True)
    assert skipped.bars_evaluated < every.bars_evaluated
    assert skipped.trades == every.trades and len(every.trades) >= 10
    by_ts = {d.ts: d for d in every.decisions}
    for decision in skipped.decisions:
        assert decision == by_ts[decision.ts]
    refused = [d for d in every.decisions if d.risk_rule == MEMORY_RULE]
    assert refused and {d.ts for d in refused} <= {d.ts for d in skipped.decisions}
    assert skipped.memory == every.memory
    assert every.memory.refused == len(refused) and every.memory.refused_closed >= 1


def test_a_journal_seeds_only_setups_closed_before_the_first_bar(journal_db, bars):
    first = bars[3000].ts
    conn = connect(journal_db, readonly=True)
    closed = memory_store.closed_memory_rows(conn, FEATURE_SCHEMA_VERSION)
    conn.close()
    before = [r for r in closed if r.outcome.close_ts < first]
    assert 0 < len(before) < len(closed)
    seeded = seed_memory(str(journal_db), first)
    assert repr(seeded.rows) == repr(tuple(before))  # as text: unknown levels are NaN


def test_a_seeded_backtest_starts_from_the_journal_and_grows(journal_db, bars):
    data = bar_data(bars, first=3000)
    request = BacktestRequest(memory=str(journal_db))
    settings = build_settings(request)
    settings = settings.model_copy(update={
        "feed": settings.feed.model_copy(update={"bar_seconds": 60}),
        "risk": settings.risk.model_copy(update=RISK)})
    assert settings.memory.enabled
    outcome = execute(request, settings, data)
    summary = outcome.memory
    assert summary.enabled and summary.seeded_setups == len(seed_memory(str(journal_db),
                                                                        bars[3000].ts))
    # every trade and every refused entry followed to its exit joined memory
    assert summary.stored_setups == (summary.seeded_setups + len(outcome.trades)
                                     + summary.refused_closed)


def test_memory_modes_of_a_request():
    assert BacktestRequest().memory is None and BacktestRequest().memory_enabled is None
    assert BacktestRequest(memory=" ").memory is None
    off, on = BacktestRequest(memory="off"), BacktestRequest(memory="on")
    assert (off.memory_enabled, off.memory_seed) == (False, None)
    assert (on.memory_enabled, on.memory_seed) == (True, None)
    seeded = BacktestRequest(memory="data/trader.db")
    assert (seeded.memory_enabled, seeded.memory_seed) == (True, "data/trader.db")
    assert not build_settings(off).memory.enabled and build_settings(on).memory.enabled
    assert BacktestRequest.from_json(seeded.to_json()) == seeded


def test_bad_seed_files_are_refused_with_one_clear_line(tmp_path, bars):
    with pytest.raises(ConfigError, match="no such file"):
        seed_memory(str(tmp_path / "missing.db"), bars[0].ts)
    text = tmp_path / "notes.txt"
    text.write_text("not a database at all, just some words\n" * 20)
    with pytest.raises(ConfigError, match="not a readable SQLite journal"):
        seed_memory(str(text), bars[0].ts)
    empty = tmp_path / "other.db"
    sqlite3.connect(empty).execute("CREATE TABLE x (a)").connection.close()
    with pytest.raises(ConfigError, match="not a trading journal"):
        seed_memory(str(empty), bars[0].ts)
