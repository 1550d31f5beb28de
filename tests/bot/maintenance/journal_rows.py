"""Journal rows for the maintenance tests, written through the real store functions."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from typing import Any

from shared.domain.alerts import DeliveryStatus
from shared.domain.models import Action, DecisionRecord, Verdict
from shared.persistence import alerts_store, journal_store, llm_store, ops_store, rules_store
from shared.persistence.alerts_store import Delivery
from shared.persistence.db import write_transaction

NOW = datetime(2026, 12, 7, 22, 0, tzinfo=UTC)
LIMITS = llm_store.Limits(call_quota=10_000, cost_limit_usd=1000.0, warn_fraction=0.8)


def decision(ts: datetime, bracket_id: str | None = None, llm_call_id: int | None = None,
             close: float = 5000.0) -> DecisionRecord:
    """A decision with features, votes and memory JSON like the bot's."""
    return DecisionRecord(
        ts, "MES", close, '{"rsi": 51.2, "atr": 1.75, "ema_fast": 5001.25}',
        '{"trend": "up", "volatility": "normal"}', '[{"strategy": "ema_cross", "vote": "hold"}]',
        Action.HOLD, 0.42, 0.0, 0.0, 0.42, Verdict.ENTER if bracket_id else Verdict.HOLD, None,
        ("no signal",), "none" if bracket_id is None else "bracket:long:1", bracket_id,
        {"time_bucket": "open"}, llm_call_id=llm_call_id, memory_json='{"similar": 3}')


def add_decision(conn: sqlite3.Connection, written: datetime, **kwargs: Any) -> int:
    """Journal one decision written at ``written``; return its id."""
    with write_transaction(conn):
        journal_store.insert_decisions(conn, [decision(written, **kwargs)], written)
    return int(conn.execute("SELECT MAX(id) FROM decisions").fetchone()[0])


def add_event(conn: sqlite3.Connection, written: datetime, message: str = "note") -> int:
    with write_transaction(conn):
        ops_store.insert_event(conn, written, "note", "info", message, {"n": 1}, written)
    return int(conn.execute("SELECT MAX(id) FROM events").fetchone()[0])


def add_llm_call(conn: sqlite3.Connection, written: datetime) -> int:
    request = llm_store.CallRequest(written, written.date().isoformat(), "manual", "{}", None,
                                    "fake", "model-x", "v1", "hash", "system", "prompt text")
    with write_transaction(conn):
        return llm_store.reserve_call(conn, request, 0.01, LIMITS).call_id


def add_lesson(conn: sqlite3.Connection, call_id: int, written: datetime) -> None:
    with write_transaction(conn):
        rules_store.insert_lesson(conn, written.date().isoformat(), "a lesson", call_id, written)


def add_alert(conn: sqlite3.Connection, written: datetime, key: str,
              status: DeliveryStatus = DeliveryStatus.SENT, attempts: int = 1) -> int:
    """An alert with ``attempts`` attempts, finished with ``status`` (queued: left pending)."""
    with write_transaction(conn):
        alert_id = alerts_store.insert_delivery(conn, Delivery(
            "note", key, "telegram", "on", f"text {key}", written, written))
        assert alert_id is not None
        for attempt in range(1, attempts + 1):
            alerts_store.record_attempt(conn, alert_id, attempt, 1,
                                        written + timedelta(seconds=attempt), True, 12.5, "")
        if status is not DeliveryStatus.QUEUED:
            alerts_store.finish_delivery(conn, alert_id, status, attempts, 1, "", written)
    return alert_id


def rows(conn: sqlite3.Connection, table: str, where: str = "1") -> list[dict[str, Any]]:
    """Every row of ``table`` (matching ``where``) as a dict, in id order."""
    cursor = conn.execute(f"SELECT * FROM {table} WHERE {where} ORDER BY id")
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, tuple(r), strict=True)) for r in cursor.fetchall()]


def ids(conn: sqlite3.Connection, table: str) -> list[int]:
    return [int(r[0]) for r in conn.execute(f"SELECT id FROM {table} ORDER BY id")]
