"""Write journal rows the way the bot does (through the store functions), for alerter tests."""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta

from shared.domain.models import (
    Action,
    DecisionRecord,
    ExitReason,
    Fill,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Side,
    TradeRecord,
    Verdict,
)
from shared.persistence import journal_store, llm_store, ops_store
from shared.persistence.db import write_transaction


def entry(conn: sqlite3.Connection, bracket: str, ts: datetime, price: float,
          stop: float, target: float, at: datetime) -> None:
    """A long bracket submitted and its entry filled."""
    common = {"bracket_id": bracket, "symbol": "MES", "contracts": 1, "created_ts": ts}
    orders = [
        Order(f"{bracket}-entry", side=Side.LONG, role=OrderRole.ENTRY,
              order_type=OrderType.MARKET, price=None, status=OrderStatus.FILLED, **common),
        Order(f"{bracket}-stop", side=Side.SHORT, role=OrderRole.STOP, order_type=OrderType.STOP,
              price=stop, status=OrderStatus.WORKING, **common),
        Order(f"{bracket}-target", side=Side.SHORT, role=OrderRole.TARGET,
              order_type=OrderType.LIMIT, price=target, status=OrderStatus.WORKING, **common),
    ]
    with write_transaction(conn):
        for order in orders:
            journal_store.upsert_order(conn, order, ts, "submitted", at)
        journal_store.insert_fill(conn, Fill(f"{bracket}-f1", f"{bracket}-entry", bracket, "MES",
                                             Side.LONG, OrderRole.ENTRY, 1, price, ts, 62), at)


def move_stop(conn: sqlite3.Connection, bracket: str, ts: datetime, price: float,
              at: datetime) -> None:
    order = Order(f"{bracket}-stop", bracket, "MES", Side.SHORT, OrderRole.STOP, OrderType.STOP,
                  1, price, OrderStatus.WORKING, ts, ExitReason.TRAILING_STOP)
    with write_transaction(conn):
        journal_store.upsert_order(conn, order, ts, f"stop moved to {price:g}", at)


def trade(conn: sqlite3.Connection, bracket: str, entry_ts: datetime, entry_price: float,
          exit_price: float, at: datetime) -> TradeRecord:
    gross = round((exit_price - entry_price) * 500)
    record = TradeRecord(bracket, "MES", Side.LONG, 1, entry_ts, entry_price,
                         entry_ts + timedelta(minutes=5), exit_price, ExitReason.TARGET, gross,
                         124, gross - 124, {})
    with write_transaction(conn):
        journal_store.insert_trade(conn, record, at)
    return record


def event(conn: sqlite3.Connection, kind: str, severity: str, message: str, ts: datetime,
          at: datetime) -> None:
    with write_transaction(conn):
        ops_store.insert_event(conn, ts, kind, severity, message, {}, at)


def refusal(conn: sqlite3.Connection, rule: str, ts: datetime, at: datetime) -> None:
    record = DecisionRecord(ts, "MES", 5000.0, "{}", "{}", "[]", Action.BUY, 0.8, 0.0, 0.0, 0.8,
                            Verdict.REJECT, rule, (f"{rule} reached",), "none", None, {})
    with write_transaction(conn):
        journal_store.insert_decisions(conn, [record], at)


def llm_refusal(conn: sqlite3.Connection, at: datetime) -> None:
    """A call the governor refuses (quota 0), as the LLM worker would log it."""
    request = llm_store.CallRequest(at, at.date().isoformat(), "manual", "{}", None, "bedrock",
                                    "m", "v1", "hash", "system", "prompt")
    with write_transaction(conn):
        llm_store.reserve_call(conn, request, 0.01, llm_store.Limits(0, 1.0, 0.8))
