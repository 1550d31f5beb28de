"""The engine's learned-rules seam: a shorter time exit for new trades only, the same with and
without idle-bar skipping; and the LLM call in force recorded on each decision."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.adapters.journal import MemoryJournal
from bot.adapters.paper_broker import PaperBroker
from bot.backtest.engine_run import run_engine, session_clock
from bot.core.engine import TradingEngine
from bot.core.llm_bias import LlmBiasState
from bot.core.rules import RuleBook
from shared.domain.instruments import get_instrument
from shared.domain.models import Action, Bias, ExitReason
from shared.domain.rules import Bucket, LearnedRule, RuleKind
from tests.bot.learning.journal import day_bars, engine_data, journal_settings
from tests.conftest import synthetic_bars

FAR = datetime(2030, 1, 1, tzinfo=UTC)


def test_a_shorter_time_exit_applies_to_new_trades_and_survives_bar_skipping():
    settings = journal_settings()
    data = engine_data(day_bars(8000))
    plain = run_engine(settings, data)
    book = RuleBook((LearnedRule(7, RuleKind.SHORTEN_TIME_EXIT, Bucket(), FAR,
                                 max_hold_minutes=3.0),))
    ruled = run_engine(settings, data, rules=book)
    every_bar = run_engine(settings, data, rules=book, skip_idle_bars=False)
    assert ruled.trades == every_bar.trades
    longest = max((t.exit_ts - t.entry_ts) for t in plain.trades)
    assert longest > timedelta(minutes=4)
    bar = timedelta(seconds=settings.feed.bar_seconds)
    assert all(t.exit_ts - t.entry_ts <= timedelta(minutes=3) + 2 * bar for t in ruled.trades)
    assert any(t.exit_reason is ExitReason.TIME_EXIT for t in ruled.trades)
    for trade in plain.trades:  # stops and targets are never moved by a rule
        same = [t for t in ruled.trades if t.bracket_id == trade.bracket_id]
        assert all(t.entry_price == trade.entry_price for t in same)


def test_decisions_record_the_llm_call_in_force_until_it_expires():
    settings = journal_settings()
    engine = TradingEngine(settings, PaperBroker(get_instrument("MES"), 62, 1), MemoryJournal(),
                           session_clock())
    bars = synthetic_bars(80)
    for bar in bars[:20]:
        assert engine.on_bar(bar).llm_call_id is None
    issued = bars[20].ts
    engine.set_llm_bias(LlmBiasState(Bias.BULLISH, 0.8, Action.BUY, issued,
                                     issued + timedelta(minutes=2), call_id=42))
    ids = [engine.on_bar(bar).llm_call_id for bar in bars[20:80]]
    assert ids[0] == 42 and ids[-1] is None
    assert set(ids) == {42, None}


def test_a_restored_rule_hold_only_ever_shortens_the_configured_one():
    from shared.domain.models import Position, Side

    settings = journal_settings()
    engine = TradingEngine(settings, PaperBroker(get_instrument("MES"), 62, 1), MemoryJournal(),
                           session_clock())
    position = Position("MES", Side.LONG, 1, 5000.0, FAR, "MES-X", 4990.0, 5015.0)
    assert engine.position_risk(position) is settings.risk
    engine.restore_rule_hold("MES-X", 4.0)
    assert engine.position_risk(position).max_hold_minutes == 4.0
    assert engine.position_risk(position).min_stop_points == settings.risk.min_stop_points
    engine.restore_rule_hold("MES-X", settings.risk.max_hold_minutes + 30)
    assert engine.position_risk(position) is settings.risk
