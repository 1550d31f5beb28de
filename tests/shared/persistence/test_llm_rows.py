"""The LLM call log and the governor's day counters read back as typed, frozen rows."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from shared.persistence import llm_store
from shared.persistence.db import write_transaction

pytestmark = pytest.mark.unit

T0 = datetime(2026, 1, 2, 14, 30, tzinfo=UTC)
LIMITS = llm_store.Limits(call_quota=5, cost_limit_usd=1.0, warn_fraction=0.8)


def _request(command_id: int | None = None, created_at: datetime = T0) -> llm_store.CallRequest:
    return llm_store.CallRequest(created_at, created_at.date().isoformat(), "manual",
                                 '{"notes": "x"}', command_id, "bedrock", "m", "v1", "hash",
                                 "system", "prompt")


def _settlement(at: datetime) -> llm_store.Settlement:
    return llm_store.Settlement("ok", '{"bias": "BULLISH"}', "", "tool_use", 100, 20, 0, 0,
                                0.002, 41.5, 1, "BULLISH", 0.7, "BUY", at)


def test_a_settled_call_reads_back_with_every_column_typed(conn):
    with write_transaction(conn):
        reservation = llm_store.reserve_call(conn, _request(command_id=7), 0.01, LIMITS)
    pending = llm_store.call_for_command(conn, 7)
    assert pending.call_id == reservation.call_id and pending.status == llm_store.STATUS_PENDING
    assert pending.settled_at is None and pending.created_at == T0
    with write_transaction(conn):
        llm_store.settle_call(conn, reservation.call_id, _settlement(T0 + timedelta(seconds=2)))
    (row,) = llm_store.recent_calls(conn)
    assert row == llm_store.LlmCallRow(
        call_id=reservation.call_id, created_at=T0, day="2026-01-02", trigger="manual",
        trigger_json='{"notes": "x"}', command_id=7, provider="bedrock", model="m",
        template_version="v1", prompt_hash="hash", system_prompt="system", prompt="prompt",
        response='{"bias": "BULLISH"}', status="ok", error="", stop_reason="tool_use",
        input_tokens=100, output_tokens=20, cache_read_tokens=0, cache_write_tokens=0,
        reserved_usd=0.01, cost_usd=0.002, latency_ms=41.5, retry_attempts=1, bias="BULLISH",
        confidence=0.7, action="BUY", settled_at=T0 + timedelta(seconds=2))
    assert llm_store.call_for_command(conn, 8) is None
    with pytest.raises(dataclasses.FrozenInstanceError):
        row.status = "error"


def test_a_cached_reply_is_the_source_row_of_the_reuse(conn):
    with write_transaction(conn):
        first = llm_store.reserve_call(conn, _request(), 0.01, LIMITS)
        llm_store.settle_call(conn, first.call_id, _settlement(T0))
    source = llm_store.cached_reply(conn, "hash", T0 - timedelta(minutes=5))
    assert isinstance(source, llm_store.LlmCallRow) and source.call_id == first.call_id
    assert llm_store.cached_reply(conn, "hash", T0 + timedelta(minutes=1)) is None
    with write_transaction(conn):
        reused = llm_store.log_cached_call(conn, _request(), source, T0 + timedelta(seconds=1))
    latest = llm_store.recent_calls(conn, 1)[0]
    assert (latest.call_id, latest.status, latest.cost_usd) == (reused, "cached", 0.0)
    assert (latest.response, latest.bias, latest.confidence, latest.action) == (
        source.response, "BULLISH", 0.7, "BUY")
    assert latest.error == f"reused the reply of call {first.call_id}"


def test_day_counters_are_rows_and_an_unseen_day_is_zero(conn):
    assert llm_store.daily_usage(conn, "2026-01-01") == llm_store.DailyUsage(
        "2026-01-01", 0, 0.0, 0)
    with write_transaction(conn):
        llm_store.reserve_call(conn, _request(created_at=T0 - timedelta(days=1)), 0.5, LIMITS)
        llm_store.reserve_call(conn, _request(), 0.75, LIMITS)
        llm_store.reserve_call(conn, _request(), 0.75, LIMITS)  # over the dollar limit
    assert llm_store.daily_usage(conn, "2026-01-02") == llm_store.DailyUsage(
        "2026-01-02", 1, 0.75, 1)
    assert llm_store.daily_history(conn, "2026-01-01") == [
        llm_store.DailyUsage("2026-01-01", 1, 0.5, 0),
        llm_store.DailyUsage("2026-01-02", 1, 0.75, 1)]
