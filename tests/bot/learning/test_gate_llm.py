"""The gate replays the LLM replies the live bot really had: its "without the rule" run on the
gate day gives the trades the bot made that day, and would not without the replies."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from bot.backtest.engine_run import run_engine, session_clock
from bot.backtest.llm_run import BacktestLlm
from bot.core.llm_reply import parse_reply
from bot.learning.gate import bar_data
from bot.learning.gate_llm import applied_replies
from bot.learning.review import review_day
from bot.llm.analyst import Analyst
from bot.llm.context import Snapshot, build_request
from bot.llm.types import Trigger, TriggerKind
from shared.config.settings import Settings
from shared.domain.models import Bar
from shared.persistence import journal_store, ops_store, rules_store
from shared.persistence.codec import to_text
from shared.persistence.db import open_database, write_transaction
from tests.bot.learning.journal import ScriptedProvider, multi_day_bars, multi_day_settings

BEARISH = {"bias": "BEARISH", "confidence": 0.95, "action": "SELL", "rationale": "r",
           "key_factors": [], "risk_notes": ""}
GATE_DAY = date(2025, 3, 4)
WALL = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)


def _live_journal(db: Path, settings: Settings, bars: list[Bar]) -> tuple[list, list[int]]:
    """A live bot's journal over two days with a BEARISH reply put in force every 40 minutes.

    The calls are governed analyst calls (logged in ``llm_calls``); each is applied at its
    engine time as the live LLM service does (an ``llm_result`` event), and the engine run
    that makes the journal's trades had exactly those biases in force.
    """
    conn = open_database(db)
    analyst = Analyst(conn, settings.llm, ScriptedProvider(BEARISH), lambda: WALL)
    data = bar_data(bars, 0)
    hook = BacktestLlm(data, settings, "live")
    reply, _ = parse_reply(BEARISH)
    applied_at, call_ids = [], []
    for index in range(30, len(bars), 40):
        at = bars[index].ts + timedelta(seconds=60)
        snapshot = Snapshot("MES", bars[index].ts.isoformat(), bars[index].close, {}, {}, {},
                            None, 0.0)
        outcome = analyst.analyze(build_request(Trigger(TriggerKind.MANUAL, at, {"n": index}),
                                                snapshot))
        hook.add_reply(reply, at, outcome.call_id, at)
        applied_at.append(at)
        call_ids.append(outcome.call_id)
    outcome = run_engine(settings, data, keep_decisions=True, llm=hook)
    with write_transaction(conn):
        journal_store.insert_bars(conn, settings.instrument.symbol, bars)
        journal_store.insert_decisions(conn, list(outcome.decisions), WALL)
        for trade in outcome.trades:
            journal_store.insert_trade(conn, trade, WALL)
        for at, call_id in zip(applied_at, call_ids, strict=True):
            ops_store.insert_event(conn, at, "llm_result", "info", "BEARISH",
                                   {"call_id": call_id, "status": "ok"}, WALL)
    conn.close()
    return list(outcome.trades), call_ids


def test_the_gate_without_the_rule_is_what_the_bot_did(tmp_path):
    settings = multi_day_settings({"learning": {"lookback_days": 1, "backtest_days": 1,
                                                "min_sample": 3, "min_losses": 2}})
    bars = multi_day_bars(days=2)
    db = tmp_path / "trader.db"
    live_trades, call_ids = _live_journal(db, settings, bars)
    gate_open, gate_end = session_clock().session_bounds(GATE_DAY)
    lived = sorted((t.entry_ts, t.side.value, t.pnl_net_cents) for t in live_trades
                   if gate_open <= t.entry_ts and t.exit_ts < gate_end)
    assert lived

    conn = open_database(db)
    report = review_day(conn, settings, GATE_DAY, session_clock(), lambda: WALL)
    rules = rules_store.rules(conn)
    assert report.proposed and rules
    warm = settings.features.window_bars
    first = next(i for i, b in enumerate(bars) if b.ts >= gate_open)
    data = bar_data(bars[first - warm:], warm)
    replies = applied_replies(conn, data, settings)
    assert 0 < len(replies) < len(call_ids)  # the gate day's, and those still in force
    assert {r.call_id for r in replies} <= set(call_ids)
    for rule in rules:
        without = rule.backtest["without"]
        assert without["llm_replies_replayed"] == len(replies)
        # the gate's run without the rule made the live bot's trades of the gate day
        journaled = conn.execute(
            "SELECT COUNT(*), COALESCE(SUM(pnl_net_cents), 0) FROM trades "
            "WHERE entry_ts >= ? AND exit_ts < ?",
            (to_text(gate_open), to_text(gate_end))).fetchone()
        assert (without["trades"], without["net_pnl_cents"]) == (journaled[0], journaled[1])
        assert journaled[0] == len(lived)
    conn.close()

    # and the replies matter: without them the same bars give other trades
    blind = run_engine(settings, data)
    assert sorted((t.entry_ts, t.side.value, t.pnl_net_cents) for t in blind.trades) != lived
