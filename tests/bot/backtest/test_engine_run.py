"""Skipping idle bars changes nothing: same trades and decisions as evaluating every bar."""

from __future__ import annotations

import pytest

from bot.adapters.journal import MemoryJournal
from bot.adapters.paper_broker import PaperBroker
from bot.backtest.engine_run import run_engine, session_clock
from bot.core.engine import TradingEngine
from shared.config.settings import settings_from_mapping
from shared.domain.instruments import get_instrument
from shared.domain.models import Verdict
from tests.bot.backtest.conftest import bar_data, minute_bars

ACTIVE = {"max_hold_minutes": 15, "max_trades_per_day": 40, "cooldown_after_loss_minutes": 1}
CONFIGS = {
    "defaults": {},
    "active": {"risk": ACTIVE},
    "no_trailing_tight_disaster": {"risk": {**ACTIVE, "trailing_stop_enabled": False,
                                            "disaster_stop_usd": 40, "max_contracts": 4,
                                            "risk_per_trade_usd": 400}},
    "breakout_only": {"strategies": {"weights": {"breakout": 1.0}},
                      "risk": {**ACTIVE, "min_weighted_confidence": 0.2}},
    "limit_entries": {"risk": {**ACTIVE, "entry_order_type": "limit", "limit_offset_ticks": 1}},
}
STATE_CHANGES = (Verdict.ENTER, Verdict.EXIT, Verdict.MANAGE)


@pytest.fixture(scope="module")
def data():
    return bar_data(minute_bars(4000, seed=3))


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_skipping_idle_bars_gives_the_same_trades_and_decisions(name, data):
    settings = settings_from_mapping({**CONFIGS[name], "feed": {"bar_seconds": 60}}, env={})
    skipped = run_engine(settings, data, keep_decisions=True)
    every = run_engine(settings, data, skip_idle_bars=False, keep_decisions=True)
    assert every.bars_evaluated == len(data) > skipped.bars_evaluated
    assert skipped.trades == every.trades
    # Without decisions kept, exact features are computed only where an entry may be decided.
    assert run_engine(settings, data).trades == every.trades
    assert skipped.open_position == every.open_position
    by_ts = {d.ts: d for d in every.decisions}
    for decision in skipped.decisions:
        assert decision == by_ts[decision.ts]
    evaluated = {d.ts for d in skipped.decisions}
    assert {d.ts for d in every.decisions if d.verdict in STATE_CHANGES} <= evaluated
    if name != "defaults":
        assert len(every.trades) >= 5


def test_a_short_window_falls_back_to_the_live_feature_path(data):
    settings = settings_from_mapping(
        {"features": {"window_bars": 120, "atr_baseline_bars": 100}, "risk": ACTIVE,
         "feed": {"bar_seconds": 60}}, env={})
    short = data.slice(0, 2500)
    outcome = run_engine(settings, short, keep_decisions=True)
    assert outcome.bars_evaluated == len(short)
    engine = TradingEngine(settings, PaperBroker(get_instrument("MES"), 62, 1), MemoryJournal(),
                           session_clock())
    for index in range(len(short)):
        engine.on_bar(short.bar(index))
    assert list(outcome.decisions) == engine.journal.decisions
    assert list(outcome.trades) == engine.journal.trades and len(outcome.trades) >= 3
