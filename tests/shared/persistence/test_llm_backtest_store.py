"""The LLM-in-backtests store: which journal replies count from when, and the record cache."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from shared.persistence import llm_backtest_store, llm_store, ops_store
from shared.persistence.db import write_transaction
from tests.support import open_migrated_journal

WALL = datetime(2026, 5, 4, 13, 0, tzinfo=UTC)  # wall clock of the calls
BAR = datetime(2025, 3, 3, 14, 35, tzinfo=UTC)  # engine time of the live bot
LIMITS = llm_store.Limits(100, 10.0, 0.8)


@pytest.fixture
def conn(tmp_path):
    connection = open_migrated_journal(tmp_path / "trader.db")
    yield connection
    connection.close()


def call(conn: sqlite3.Connection, status: str, at: datetime, bias: str | None = "BULLISH",
         prompt_hash: str = "h") -> int:
    request = llm_store.CallRequest(at, at.date().isoformat(), "market_open", "{}", None,
                                    "bedrock", "m", "v1", prompt_hash, "sys", "user")
    with write_transaction(conn):
        call_id = llm_store.reserve_call(conn, request, 0.01, LIMITS).call_id
        llm_store.settle_call(conn, call_id, llm_store.Settlement(
            status, "{}", "", "tool_use", 100, 20, 0, 0, 0.002, 40.0, 0, bias,
            0.8 if bias else None, "BUY" if bias else None, at + timedelta(seconds=1)))
    return call_id


def applied(conn: sqlite3.Connection, call_id: int, engine_ts: datetime) -> None:
    with write_transaction(conn):
        ops_store.insert_event(conn, engine_ts, "llm_result", "info", "LLM ok",
                               {"call_id": call_id, "status": "ok"}, WALL)


def test_a_reply_the_bot_applied_counts_from_its_engine_time(conn):
    first = call(conn, "ok", WALL)
    applied(conn, first, BAR)
    (reply,) = llm_backtest_store.journal_replies(conn, BAR - timedelta(hours=1),
                                                  BAR + timedelta(hours=1))
    assert (reply.call_id, reply.at, reply.applied, reply.bias, reply.confidence,
            reply.action) == (first, BAR, True, "BULLISH", 0.8, "BUY")


def test_a_reply_no_bot_applied_counts_from_its_settled_at(conn):
    ok = call(conn, "ok", WALL)
    replies = llm_backtest_store.journal_replies(conn, WALL - timedelta(hours=1),
                                                 WALL + timedelta(hours=1))
    assert [(r.call_id, r.at, r.applied) for r in replies] == [
        (ok, WALL + timedelta(seconds=1), False)]


def test_failed_calls_recorded_prompts_and_other_times_are_left_out(conn):
    call(conn, "parse_error", WALL, bias=None)
    call(conn, "timeout", WALL, bias=None)
    recorded = call(conn, "ok", WALL, prompt_hash="bought-by-a-backtest")
    late = call(conn, "ok", WALL + timedelta(days=2))
    with write_transaction(conn):
        llm_backtest_store.store_cached_reply(conn, llm_backtest_store.NewCachedReply(
            "bought-by-a-backtest", WALL, "bedrock", "m", "v1", "market_open", BAR, recorded,
            {"bias": "BEARISH", "confidence": 0.6, "action": "SELL"}, 0.002))
    found = llm_backtest_store.journal_replies(conn, WALL - timedelta(hours=1),
                                               WALL + timedelta(hours=1))
    assert found == []
    later = llm_backtest_store.journal_replies(conn, WALL, WALL + timedelta(days=3))
    assert [r.call_id for r in later] == [late]


def test_the_cache_round_trip_needs_a_transaction(conn):
    entry = llm_backtest_store.NewCachedReply(
        "abc", WALL, "bedrock", "m", "v1", "volatility_spike", BAR, 7,
        {"bias": "NEUTRAL", "confidence": 0.3, "action": "HOLD", "rationale": "mixed"}, 0.004)
    with pytest.raises(RuntimeError, match="write_transaction"):
        llm_backtest_store.store_cached_reply(conn, entry)
    assert llm_backtest_store.cached_reply(conn, "abc") is None
    with write_transaction(conn):
        llm_backtest_store.store_cached_reply(conn, entry)
    cached = llm_backtest_store.cached_reply(conn, "abc")
    assert cached is not None and (cached.call_id, cached.cost_usd) == (7, 0.004)
    assert '"rationale": "mixed"' in cached.reply_json
    assert llm_backtest_store.cached_reply_count(conn) == 1


def test_a_journal_without_the_cache_table_has_no_cached_reply(tmp_path):
    bare = sqlite3.connect(tmp_path / "old.db")
    bare.row_factory = sqlite3.Row
    assert llm_backtest_store.cached_reply(bare, "abc") is None
    assert llm_backtest_store.cached_reply_count(bare) == 0
    assert not llm_backtest_store.has_call_log(bare)
    bare.close()


def test_prompt_spend_counts_governed_attempts_after_a_call(conn):
    before = call(conn, "ok", WALL, prompt_hash="p")
    mark = llm_backtest_store.last_call_id(conn)
    call(conn, "throttled", WALL, bias=None, prompt_hash="p")
    call(conn, "ok", WALL, prompt_hash="p")
    call(conn, "ok", WALL, prompt_hash="other")
    attempts, dollars = llm_backtest_store.prompt_spend(conn, "p", mark)
    assert mark == before and attempts == 2 and dollars == pytest.approx(0.004)
