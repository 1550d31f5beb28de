"""Attribution: shadow brackets follow the paper fill model; the page's figures add up."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.journal import SqliteJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core.engine import TradingEngine
from bot.core.llm_attribution import ShadowBook
from bot.core.llm_bias import LlmBiasState
from bot.core.sessions import CmeSessionClock
from dashboard import llm_reports
from shared.config.settings import settings_from_mapping
from shared.domain.instruments import get_instrument
from shared.domain.models import Action, Bar, Bias, OrderPlan, OrderType, Side
from shared.persistence import journal_store, ops_store
from shared.persistence.db import open_database
from tests.conftest import synthetic_bars

MES = get_instrument("MES")
T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
BAR = timedelta(seconds=5)


def plan(side: Side, stop: float, target: float) -> OrderPlan:
    return OrderPlan("MES", side, 2, OrderType.MARKET, 5000.0, stop, target, 10.0, 15.0, "test")


def bar(i: int, o: float, h: float, low: float, c: float) -> Bar:
    return Bar(T0 + i * BAR, o, h, low, c, 100)


def test_shadow_long_reaches_its_target():
    book = ShadowBook(MES, slippage_ticks=1, max_hold_minutes=60)
    book.add(plan(Side.LONG, 4990.0, 5015.0), T0)
    assert book.on_bar(bar(1, 5000.0, 5005.0, 4995.0, 5004.0), BAR) == []
    (done,) = book.on_bar(bar(2, 5004.0, 5016.0, 5003.0, 5010.0), BAR)
    assert (done.entry_price, done.exit_price, done.exit_reason) == (5000.25, 5015.0, "target")
    assert done.pnl_cents == MES.pnl_cents(Side.LONG, 5000.25, 5015.0, 2) and not book.open


def test_shadow_stop_wins_a_bar_touching_both_and_a_gap_fills_at_the_open():
    book = ShadowBook(MES, slippage_ticks=0, max_hold_minutes=60)
    book.add(plan(Side.SHORT, 5010.0, 4985.0), T0)
    (both,) = book.on_bar(bar(1, 5000.0, 5012.0, 4980.0, 5000.0), BAR)
    assert (both.exit_reason, both.exit_price) == ("stop", 5010.0)
    book.add(plan(Side.SHORT, 5010.0, 4985.0), T0)
    book.on_bar(bar(1, 5000.0, 5001.0, 4999.0, 5000.0), BAR)
    (gap,) = book.on_bar(bar(2, 5020.0, 5021.0, 5019.0, 5020.0), BAR)
    assert (gap.exit_reason, gap.exit_price) == ("stop", 5020.0) and gap.pnl_cents < 0


def test_shadow_times_out():
    book = ShadowBook(MES, slippage_ticks=0, max_hold_minutes=1)
    book.add(plan(Side.LONG, 4900.0, 5100.0), T0)
    exits = [e for i in range(1, 20) for e in book.on_bar(bar(i, 5000.0, 5001.0, 4999.0,
                                                               5000.5), BAR)]
    assert [(e.exit_reason, e.exit_ts) for e in exits] == [("time_exit", T0 + 13 * BAR)]


@pytest.fixture(scope="module")
def biased_run(tmp_path_factory):
    """An engine trading synthetic bars under a standing BULLISH 1.0 bias, journaled."""
    settings = settings_from_mapping({"risk": {"max_hold_minutes": 10,
                                               "max_trades_per_day": 40}}, env={})
    db = tmp_path_factory.mktemp("attr") / "t.db"
    conn = open_database(db)
    engine = TradingEngine(settings, PaperBroker(MES, 62, 1), SqliteJournal(conn),
                           CmeSessionClock())
    bars = synthetic_bars(2000)
    engine.set_llm_bias(LlmBiasState(Bias.BULLISH, 1.0, Action.BUY, bars[0].ts,
                                     bars[-1].ts + timedelta(days=1), 1))
    records = [engine.on_bar(b) for b in bars]
    return conn, records


def test_decisions_journal_the_verdict_without_the_llm(biased_run):
    _, records = biased_run
    touched = [r for r in records
               if r.llm_adjustment != 0 and r.verdict.value in ("enter", "reject")]
    assert touched and all("verdict_without_llm" in r.labels for r in touched)
    assert any(r.labels["verdict_without_llm"] != "enter" and r.verdict.value == "enter"
               for r in touched), "the bias enabled at least one entry"
    assert any(r.labels["verdict_without_llm"] == "enter" and r.verdict.value == "reject"
               for r in touched), "the bias skipped at least one entry"


def test_attribution_figures_match_the_journal(biased_run):
    conn, records = biased_run
    by_bracket = {r.bracket_id: r for r in records if r.bracket_id}
    trades = journal_store.all_trades(conn)
    enabled = [t for t in trades
               if by_bracket[t.bracket_id].labels.get("verdict_without_llm", "enter") != "enter"]
    agreed = [t for t in trades if by_bracket[t.bracket_id].llm_adjustment > 0]
    skipped = [r for r in records if r.labels.get("verdict_without_llm") == "enter"
               and r.verdict.value == "reject"]
    shadows = [json.loads(e.detail_json) for e in ops_store.recent_events(conn, 100_000)
               if e.kind == "llm_shadow_exit"]
    figures = llm_reports.attribution(conn)
    assert figures.enabled_trades == len(enabled) > 0
    assert figures.enabled_pnl_usd == pytest.approx(sum(t.pnl_net_cents for t in enabled) / 100)
    assert figures.agreed_trades == len(agreed)
    assert figures.agreed_win_rate == pytest.approx(
        sum(t.pnl_net_cents > 0 for t in agreed) / len(agreed))
    assert 0 < figures.vetoed == len(shadows) <= len(skipped)
    assert {s["decision_ts"] for s in shadows} <= {r.ts.isoformat() for r in skipped}
    net = figures.missed_gain_usd - figures.avoided_loss_usd
    assert net == pytest.approx(sum(s["pnl_cents"] for s in shadows) / 100)
