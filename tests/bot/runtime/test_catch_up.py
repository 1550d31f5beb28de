"""Bars played far behind the wall clock (a frozen process) hold entries until caught up."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.adapters.journal import SqliteJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core.engine import TradingEngine
from bot.core.sessions import CmeSessionClock
from bot.runtime.catch_up import REASON, CatchUpGuard
from shared.config.settings import settings_from_mapping
from shared.domain.instruments import get_instrument
from shared.domain.models import Verdict
from shared.persistence import ops_store
from tests.bot.backtest.conftest import minute_bars
from tests.support import open_migrated_journal

BARS = minute_bars(1500, seed=3)
SETTINGS = settings_from_mapping({"feed": {"bar_seconds": 60},
                                  "risk": {"max_trades_per_day": 100}}, env={})
HOLD_S = SETTINGS.engine.catch_up_hold_after_s  # the product's default, 10 s


def play(tmp_path, late: range, operator_halt_at: int | None = None, name: str = "j"):
    """Play the bars through a real engine; bars in ``late`` are processed 90 s after close."""
    conn = open_migrated_journal(tmp_path / f"{name}.db")
    engine = TradingEngine(SETTINGS, PaperBroker(get_instrument("MES"), 62, 1),
                           SqliteJournal(conn), CmeSessionClock())
    guard = CatchUpGuard(60, enabled=True, hold_after_s=HOLD_S)
    verdicts = []
    for index, bar in enumerate(BARS):
        close = bar.ts + timedelta(seconds=60)
        if index == operator_halt_at:
            engine.halt("halted from the dashboard", close)
        guard.observe(engine, bar, close + timedelta(seconds=90 if index in late else 0.2))
        verdicts.append(engine.on_bar(bar).verdict)
    events = [e for e in reversed(ops_store.recent_events(conn, 100_000))
              if e.kind in ("catch_up", "caught_up")]
    return engine, verdicts, events, conn


@pytest.fixture(scope="module")
def on_time(tmp_path_factory):
    engine, verdicts, events, conn = play(tmp_path_factory.mktemp("on_time"), range(0))
    conn.close()
    return verdicts, events


def test_a_late_stretch_holds_the_entries_an_on_time_run_takes_then_releases(on_time, tmp_path):
    verdicts, events = on_time
    assert events == []
    entries = [i for i, v in enumerate(verdicts) if v is Verdict.ENTER]
    assert len(entries) >= 3
    late = range(entries[1] - 5, entries[1] + 25)  # a backlog around an entry the market offered
    engine, held, events, conn = play(tmp_path, late)
    try:
        assert [held[i] for i in late if held[i] is Verdict.ENTER] == []
        assert [e.kind for e in events] == ["catch_up", "caught_up"]
        assert events[0].severity == "warning" and "new entries held" in events[0].message
        assert "after 30 late bars" in events[1].message
        assert not engine.risk_state.halted
        assert any(v is Verdict.ENTER for v in held[late.stop:])
    finally:
        conn.close()


def test_the_guard_never_lifts_an_operators_halt(on_time, tmp_path):
    verdicts, _ = on_time
    entries = [i for i, v in enumerate(verdicts) if v is Verdict.ENTER]
    late = range(entries[1] - 5, entries[1] + 25)
    engine, _, events, conn = play(tmp_path, late, operator_halt_at=late.start + 3)
    try:
        assert [e.kind for e in events] == ["catch_up", "caught_up"]
        assert "entries allowed again" not in events[1].message
        assert engine.risk_state.halted
        assert engine.risk_state.halt_reason == "halted from the dashboard"
    finally:
        conn.close()


def test_a_hold_left_by_a_previous_process_is_lifted_on_the_first_bar(tmp_path):
    conn = open_migrated_journal(tmp_path / "r.db")
    engine = TradingEngine(SETTINGS, PaperBroker(get_instrument("MES"), 62, 1),
                           SqliteJournal(conn), CmeSessionClock())
    bar = BARS[0]
    engine.halt(REASON, bar.ts)
    guard = CatchUpGuard(60, enabled=True, hold_after_s=HOLD_S)
    guard.observe(engine, bar, bar.ts + timedelta(seconds=61))
    assert not engine.risk_state.halted
    conn.close()


def test_a_disabled_guard_does_nothing(tmp_path):
    conn = open_migrated_journal(tmp_path / "d.db")
    engine = TradingEngine(SETTINGS, PaperBroker(get_instrument("MES"), 62, 1),
                           SqliteJournal(conn), CmeSessionClock())
    bar = BARS[0]
    guard = CatchUpGuard(60, enabled=False, hold_after_s=HOLD_S)
    guard.observe(engine, bar, bar.ts + timedelta(hours=5))
    assert not engine.risk_state.halted
    conn.close()


def test_a_shorter_configured_hold_holds_and_releases_at_its_own_thresholds(tmp_path):
    """``engine.catch_up_hold_after_s`` = 3: a bar 4 s late holds (the default 10 s would not),
    one 2 s late stays held, one 1 s late (under half of 3 s) releases."""
    conn = open_migrated_journal(tmp_path / "s.db")
    engine = TradingEngine(SETTINGS, PaperBroker(get_instrument("MES"), 62, 1),
                           SqliteJournal(conn), CmeSessionClock())
    short = settings_from_mapping({"engine": {"catch_up_hold_after_s": 3}}, env={})
    guard = CatchUpGuard(60, enabled=True, hold_after_s=short.engine.catch_up_hold_after_s)
    default = CatchUpGuard(60, enabled=True, hold_after_s=HOLD_S)
    close = BARS[0].ts + timedelta(seconds=60)
    default.observe(engine, BARS[0], close + timedelta(seconds=4))
    assert not default.holding and not engine.risk_state.halted
    held = []
    for bar, late_s in zip(BARS[1:4], (4, 2, 1), strict=True):
        guard.observe(engine, bar, bar.ts + timedelta(seconds=60 + late_s))
        held.append(engine.risk_state.halted)
    assert held == [True, True, False]
    assert guard.held_bars == 2
    conn.close()
