"""The bad_fill alarm: a fill losing beyond the disaster stop is journaled as an incident."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.journal import MemoryJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core.engine import TradingEngine
from bot.core.fill_guard import BAD_FILL, bad_fill, count_bad_fills
from bot.core.sessions import CmeSessionClock
from shared.config.settings import RiskConfig, Settings
from shared.domain.instruments import get_instrument
from shared.domain.models import Bar, OrderPlan, OrderType, Side
from tests.bot.backtest.conftest import minute_bars

pytestmark = pytest.mark.unit

MES = get_instrument("MES")
T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


def engine_in_a_long() -> tuple[TradingEngine, MemoryJournal, Bar]:
    """An engine whose paper broker holds one MES long (5000.25 after a tick of slippage;
    stop 4990, target 5015)."""
    history = minute_bars(120, start=T0 - timedelta(minutes=120))
    broker = PaperBroker(MES, 62, 1)
    plan = OrderPlan("MES", Side.LONG, 1, OrderType.MARKET, 5000.0, 4990.0, 5015.0, 10, 15, "t")
    broker.place_bracket(plan, "B1", T0)
    broker.on_bar(Bar(T0, 5000.0, 5000.25, 4999.75, 5000.0, 10))
    broker.drain_updates()
    journal = MemoryJournal()
    engine = TradingEngine(Settings(), broker, journal, CmeSessionClock())
    engine.warm_up(history)
    return engine, journal, Bar(T0, 5000.0, 5000.25, 4999.75, 5000.0, 10)


def _alarms(journal: MemoryJournal) -> list[tuple]:
    return [event for event in journal.events if event[1] == BAD_FILL]


def test_a_stop_filled_at_a_zero_print_raises_the_bad_fill_alarm():
    engine, journal, last = engine_in_a_long()
    engine.on_bar(Bar(last.ts + timedelta(minutes=1), 0.25, 0.25, 0.25, 0.25, 10))
    (trade,) = journal.trades
    assert trade.exit_price == 0.0  # 0.25 less a tick of slippage: the fault itself
    ((ts, kind, severity, message, detail),) = _alarms(journal)
    assert (ts, kind, severity) == (trade.exit_ts, "bad_fill", "incident")
    assert "beyond the disaster stop's $500.00" in message and "$25,001.25" in message
    assert detail["loss_cents"] == 2_500_125 and detail["bracket_id"] == "B1"


def test_an_ordinary_stop_raises_nothing():
    engine, journal, last = engine_in_a_long()
    engine.on_bar(Bar(last.ts + timedelta(minutes=1), 4995.0, 4995.5, 4985.0, 4988.0, 10))
    (trade,) = journal.trades
    assert trade.exit_price == 4989.75 and _alarms(journal) == []


def test_the_alarm_starts_just_beyond_the_disaster_stop():
    engine, journal, last = engine_in_a_long()
    engine.on_bar(Bar(last.ts + timedelta(minutes=1), 4900.0, 4900.0, 4899.0, 4899.0, 10))
    (trade,) = journal.trades  # a gap through the stop: 100.5 points from 5000.25 = $502.50
    risk = RiskConfig()
    assert bad_fill(trade, risk) is not None and len(_alarms(journal)) == 1
    assert bad_fill(trade, risk.model_copy(update={"disaster_stop_usd": 502.5})) is None
    assert bad_fill(trade, risk.model_copy(update={"disaster_stop_usd": 502.25})) is not None
    assert count_bad_fills([trade, trade], risk) == 2
