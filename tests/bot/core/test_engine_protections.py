"""Protections inside the engine: the exit before a release and the profit lock counting open
P&L act on the per-bar path (the same code the live loop and the backtester run)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bot.adapters.journal import MemoryJournal
from bot.core.protections import ProtectionRule, ReleaseCalendar
from bot.core.sessions import CmeSessionClock
from shared.calendars.releases import Release
from shared.config.settings import settings_from_mapping
from shared.domain.models import ExitReason, Verdict
from tests.bot.core.test_engine import ACTIVE, RUN_BARS, make_engine
from tests.conftest import synthetic_bars


@pytest.fixture(scope="module")
def clock() -> CmeSessionClock:
    return CmeSessionClock()


@pytest.fixture(scope="module")
def bars():
    return synthetic_bars(RUN_BARS)


@pytest.fixture(scope="module")
def baseline(clock, bars):
    return _run(clock, bars, {})


def _run(clock, bars, protections: dict, releases=()):
    settings = settings_from_mapping({**ACTIVE, "protections": protections}, env={})
    engine = make_engine(settings, clock, MemoryJournal())
    engine.releases = ReleaseCalendar(tuple(releases))
    for bar in bars:
        engine.on_bar(bar)
    return engine


def test_an_open_position_is_flattened_before_a_release(clock, bars, baseline):
    trade = next(t for t in baseline.journal.trades
                 if t.exit_ts - t.entry_ts >= timedelta(minutes=4))
    release = Release(trade.entry_ts + timedelta(minutes=3), "CPI")
    engine = _run(clock, bars, {"blackout_events": ["CPI"], "blackout_before_minutes": 2,
                                "blackout_after_minutes": 0,
                                "flatten_before_release_minutes": 2}, [release])
    flattened = next(t for t in engine.journal.trades if t.bracket_id == trade.bracket_id)
    assert flattened.exit_reason is ExitReason.RELEASE_FLATTEN
    assert release.at - timedelta(minutes=2) <= flattened.exit_ts <= release.at + timedelta(
        seconds=5)
    exits = [d for d in engine.journal.decisions if d.action_taken == "exit:release_flatten"]
    assert exits and exits[0].risk_rule == ProtectionRule.BLACKOUT


def test_the_profit_target_counts_open_pnl_and_stops_the_days_entries(clock, bars, baseline):
    day_net = sum(t.pnl_net_cents for t in baseline.journal.trades)
    assert baseline.risk_state.realized_today_cents == day_net  # one trading day
    engine = _run(clock, bars, {"daily_profit_target_usd": 15})
    decisions = engine.journal.decisions
    locked = [d for d in decisions if d.risk_rule == ProtectionRule.PROFIT_TARGET]
    assert locked, "the target was never reached"
    assert not [d for d in decisions if d.verdict is Verdict.ENTER and d.ts > locked[0].ts]
    assert engine.risk_state.day_peak_pnl_cents >= 1_500
    assert engine.risk_state.profit_lock.startswith("the day's P&L reached $")
    assert len(engine.journal.trades) < len(baseline.journal.trades)
