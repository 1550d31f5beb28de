"""A memory rebuilt from the journal is the one the engine built as it went (crash-only)."""

from __future__ import annotations

import logging
from dataclasses import replace

import pytest

from bot.adapters.journal import SqliteJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core.engine import TradingEngine
from bot.core.memory import FEATURE_SCHEMA_VERSION
from bot.core.session_levels import warmup_bars
from bot.core.sessions import CmeSessionClock
from bot.runtime.memory_restore import open_setups, restore_memory, resume_shadows
from shared.config.settings import settings_from_mapping
from shared.domain.instruments import get_instrument
from shared.persistence import journal_store, memory_store
from shared.persistence.codec import from_text
from shared.persistence.db import open_database, write_transaction
from tests.bot.backtest.conftest import minute_bars

SETTINGS = {"risk": {"max_hold_minutes": 15, "max_trades_per_day": 40,
                     "cooldown_after_loss_minutes": 1},
            "feed": {"bar_seconds": 60},
            "memory": {"enabled": True, "min_weighted_win_rate": 0.3, "cold_start_setups": 10,
                       "radius": 1.5, "bandwidth": 0.75}}


@pytest.fixture(scope="module")
def journaled(tmp_path_factory):
    db = tmp_path_factory.mktemp("memory") / "j.db"
    conn = open_database(db)
    settings = settings_from_mapping(SETTINGS, env={})
    engine = TradingEngine(settings, PaperBroker(get_instrument("MES"), 62, 1),
                           SqliteJournal(conn), CmeSessionClock())
    for bar in minute_bars(3000, seed=3):
        engine.on_bar(bar)
    yield engine, conn, settings
    conn.close()


def test_the_rebuilt_index_equals_the_one_built_as_trades_closed(journaled):
    engine, conn, settings = journaled
    rebuilt = restore_memory(conn)
    built = engine.memory.index
    # compared as text: an unknown session level is NaN in both, and NaN != NaN
    assert len(built) >= 10 and repr(rebuilt.rows) == repr(built.rows)
    assert 0 < rebuilt.shadow_count == built.shadow_count < len(built)  # the flag came back
    assert rebuilt.scaler == built.scaler
    assert memory_store.latest_memory_scaler(conn, FEATURE_SCHEMA_VERSION) == built.scaler
    for row in built.rows[::3]:
        probe = replace(row.setup, decision_ts=engine.last_bar.ts)
        assert rebuilt.query(probe, engine.last_bar.ts, settings.memory) == built.query(
            probe, engine.last_bar.ts, settings.memory)


def test_every_trade_has_its_closed_setup_linked_to_the_entry_decision(journaled):
    engine, conn, _ = journaled
    trades = journal_store.all_trades(conn)
    stored = memory_store.closed_memory_rows(conn, FEATURE_SCHEMA_VERSION)
    closed = [r for r in stored if not r.shadow]
    assert {r.bracket_id for r in closed} == {t.bracket_id for t in trades}
    for row, trade in zip(closed, trades, strict=True):
        assert (row.bracket_id, row.outcome.pnl_net_cents, row.outcome.close_ts) == (
            trade.bracket_id, trade.pnl_net_cents, trade.exit_ts)
    links = conn.execute("SELECT COUNT(*) FROM memory m JOIN decisions d ON d.id = "
                         "m.decision_id AND d.bracket_id = m.bracket_id AND d.verdict = 'enter'"
                         ).fetchone()[0]
    assert links == len(closed) + len(engine.memory.open)


def test_every_shadow_setup_is_linked_to_the_decision_memory_refused(journaled):
    engine, conn, _ = journaled
    shadows = [r for r in memory_store.closed_memory_rows(conn, FEATURE_SCHEMA_VERSION)
               if r.shadow]
    exits = [e for e in conn.execute("SELECT ts FROM events WHERE kind = 'memory_shadow_exit'")]
    assert shadows and len(shadows) == len(exits) == engine.memory.index.shadow_count
    refused = conn.execute("SELECT COUNT(*) FROM memory m JOIN decisions d ON d.id = "
                           "m.decision_id AND d.ts = m.entry_ts AND d.risk_rule = 'memory' "
                           "WHERE m.shadow = 1").fetchone()[0]
    assert refused == len(shadows)
    assert all(r.bracket_id.startswith("shadow:") and r.outcome.close_ts > r.setup.decision_ts
               for r in shadows)


def test_the_setup_of_a_bracket_still_open_comes_back(journaled):
    engine, conn, _ = journaled
    open_rows = conn.execute("SELECT bracket_id FROM memory WHERE closed_ts IS NULL").fetchall()
    expected = {r[0] for r in open_rows}
    assert set(engine.memory.open) == expected
    restored = open_setups(conn, [*expected, "no-such-bracket"])
    assert set(restored) == expected
    assert all(restored[b] == engine.memory.open[b] for b in expected)


def test_a_stored_scaler_unlike_the_refitted_one_is_reported(tmp_path, journaled, caplog):
    _, conn, _ = journaled
    rows = memory_store.closed_memory_rows(conn, FEATURE_SCHEMA_VERSION)
    copy = open_database(tmp_path / "copy.db")
    scaler = memory_store.latest_memory_scaler(conn, FEATURE_SCHEMA_VERSION)
    with write_transaction(copy):
        for row in rows:
            memory_store.insert_memory_setup(copy, "MES", replace(row, outcome=None),
                                             row.setup.decision_ts)
            memory_store.close_memory_setup(copy, row.bracket_id, row.outcome,
                                            row.setup.decision_ts)
        memory_store.insert_memory_scaler(copy, replace(scaler, typical_distance=99.0),
                                          rows[-1].outcome.close_ts, rows[-1].outcome.close_ts)
    with caplog.at_level(logging.WARNING):
        rebuilt = restore_memory(copy)
    assert rebuilt.scaler == scaler
    assert "differs from the stored one" in caplog.text
    copy.close()


def _engine(conn, settings, memory=None) -> TradingEngine:
    return TradingEngine(settings, PaperBroker(get_instrument("MES"), 62, 1),
                         SqliteJournal(conn), CmeSessionClock(), memory=memory)


def test_a_restart_while_a_shadow_is_open_resumes_it_and_decides_as_without_the_restart(
        tmp_path):
    """A refused entry still followed at a stop is resumed over the journaled bars, so the run
    after the restart learns its outcome exactly when an uninterrupted run does."""
    settings = settings_from_mapping(SETTINGS, env={})
    bars = minute_bars(2000, seed=3)
    whole_conn = open_database(tmp_path / "whole.db")
    whole = _engine(whole_conn, settings)
    cut = None
    for index, bar in enumerate(bars):
        whole.on_bar(bar)
        if cut is None and index > 800 and whole.memory.shadows.open:
            cut = index + 1  # stop right after this bar: a shadow is being followed
    assert cut is not None
    conn = open_database(tmp_path / "cut.db")
    first = _engine(conn, settings)
    for bar in bars[:cut]:
        first.on_bar(bar)
    assert len(memory_store.open_shadow_setups(conn, "MES")) == 1
    # the restart (no position is open at the cut in this run: check it, then rebuild)
    assert first.broker.position() is None and not first.broker.has_pending_entry()
    second = _engine(conn, settings, restore_memory(conn))
    second.warm_up(journal_store.recent_bars(conn, "MES", warmup_bars(settings)))  # as live
    assert resume_shadows(conn, second) == 1 and len(second.memory.shadows.open) == 1
    for bar in bars[cut:]:
        second.on_bar(bar)
    after = _verdicts_after(conn, bars[cut].ts)
    expected = _verdicts_after(whole_conn, bars[cut].ts)
    assert after == expected and any(m != "{}" for _, m in after)
    assert repr(second.memory.index.rows) == repr(whole.memory.index.rows)  # NaN levels
    assert repr(memory_store.open_shadow_setups(conn, "MES")) == repr(
        memory_store.open_shadow_setups(whole_conn, "MES"))
    conn.close()
    whole_conn.close()


def _verdicts_after(conn, ts) -> list[tuple[str, str]]:
    rows = journal_store.recent_decisions(conn, 1_000_000)
    return sorted((r["ts"], r["memory_json"]) for r in rows if from_text(r["ts"]) > ts)
