"""The trading journal's SQL: bars, decisions, orders, fills, trades and the position.

Money is integer cents; callers own transactions (``db.write_transaction``): the bot's
journal wraps one bar's writes in one ``BEGIN IMMEDIATE``.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any

from shared.domain.models import (
    Bar,
    DecisionRecord,
    ExitReason,
    Fill,
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Position,
    Side,
    TradeRecord,
)
from shared.persistence.codec import from_text, to_text
from shared.persistence.db import require_transaction

# One row per bar: the encoders json.dumps(...) and json.dumps(..., sort_keys=True) would build
# per call, built once (same text; a tuple is written as the list it was).
_JSON = json.JSONEncoder().encode
_JSON_SORTED = json.JSONEncoder(sort_keys=True).encode
_STRING = json.encoder.encode_basestring_ascii  # json's own text escaping (ensure_ascii)
_INSERT_BAR = ("INSERT OR REPLACE INTO bars (symbol, ts, open, high, low, close, volume) "
               "VALUES (?, ?, ?, ?, ?, ?, ?)")
_INSERT_DECISION = (
    "INSERT INTO decisions (ts, symbol, close, features_json, regime_json, votes_json, "
    "signal_action, signal_confidence, memory_adjustment, llm_adjustment, final_confidence, "
    "verdict, risk_rule, reasons_json, action_taken, bracket_id, labels_json, recorded_at, "
    "llm_call_id, rules_json, memory_json) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
)


def _texts_json(values: Sequence[Any]) -> str:
    """A decision's reasons as ``json.dumps`` writes them: texts formatted directly (C escaping,
    no encoder iterator per row), anything else through the encoder."""
    if all(type(value) is str for value in values):
        return "[" + ", ".join([_STRING(value) for value in values]) + "]"
    return _JSON(values)


def _labels_json(labels: dict[str, Any]) -> str:
    """A decision's labels as ``json.dumps(..., sort_keys=True)`` writes them (text to text
    directly, anything else through the encoder)."""
    if all(type(key) is str and type(value) is str for key, value in labels.items()):
        return "{" + ", ".join([f"{_STRING(key)}: {_STRING(labels[key])}"
                                for key in sorted(labels)]) + "}"
    return _JSON_SORTED(labels)


def insert_bars(conn: sqlite3.Connection, symbol: str, bars: Iterable[Bar]) -> None:
    """Store bars for charts and warm restarts (a bar already stored is replaced)."""
    require_transaction(conn, "insert_bars")
    conn.executemany(
        _INSERT_BAR,
        [(symbol, to_text(b.ts), b.open, b.high, b.low, b.close, b.volume) for b in bars],
    )


def insert_bar(conn: sqlite3.Connection, symbol: str, bar: Bar) -> None:
    """``insert_bars`` of one bar (the live journal's one bar a transaction)."""
    require_transaction(conn, "insert_bar")
    conn.execute(_INSERT_BAR, (symbol, to_text(bar.ts), bar.open, bar.high, bar.low, bar.close,
                               bar.volume))


def recent_bars(conn: sqlite3.Connection, symbol: str, limit: int) -> list[Bar]:
    """Return the last ``limit`` bars of ``symbol``, oldest first."""
    rows = conn.execute(
        "SELECT ts, open, high, low, close, volume FROM bars WHERE symbol = ? "
        "ORDER BY ts DESC LIMIT ?",
        (symbol, limit),
    ).fetchall()
    return [
        Bar(from_text(r["ts"]), r["open"], r["high"], r["low"], r["close"], r["volume"])
        for r in reversed(rows)
    ]


def prune_bars(conn: sqlite3.Connection, symbol: str, before: datetime) -> int:
    """Delete bars older than ``before``; return how many went."""
    require_transaction(conn, "prune_bars")
    cursor = conn.execute(
        "DELETE FROM bars WHERE symbol = ? AND ts < ?", (symbol, to_text(before))
    )
    return cursor.rowcount


def insert_decisions(
    conn: sqlite3.Connection, records: Sequence[DecisionRecord], recorded_at: datetime
) -> None:
    """Journal evaluations (HOLDs included) with everything that led to the verdict."""
    require_transaction(conn, "insert_decisions")
    recorded_text = to_text(recorded_at)
    conn.executemany(_INSERT_DECISION, [_decision_row(r, recorded_text) for r in records])


def insert_decision(conn: sqlite3.Connection, record: DecisionRecord, recorded_at: datetime
                    ) -> None:
    """``insert_decisions`` of one record (the live journal's one decision a bar)."""
    require_transaction(conn, "insert_decision")
    conn.execute(_INSERT_DECISION, _decision_row(record, to_text(recorded_at)))


def _decision_row(r: DecisionRecord, recorded_text: str) -> tuple[Any, ...]:
    return (
        to_text(r.ts), r.symbol, r.close, r.features_json, r.regime_json, r.votes_json,
        r.signal_action.value, r.signal_confidence, r.memory_adjustment,
        r.llm_adjustment, r.final_confidence, r.verdict, r.risk_rule,
        _texts_json(r.reasons), r.action_taken, r.bracket_id,
        _labels_json(r.labels), recorded_text,
        r.llm_call_id, r.rules_json, r.memory_json,
    )


def recent_decisions(conn: sqlite3.Connection, limit: int = 100) -> list[dict[str, Any]]:
    """Return the latest decisions, newest first, as plain dicts."""
    rows = conn.execute("SELECT * FROM decisions ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [dict(r) for r in rows]


def entry_labels(conn: sqlite3.Connection, bracket_id: str) -> dict[str, str]:
    """Return the regime labels recorded with the decision that opened ``bracket_id``."""
    row = conn.execute(
        "SELECT labels_json FROM decisions WHERE bracket_id = ? ORDER BY id LIMIT 1",
        (bracket_id,),
    ).fetchone()
    return json.loads(row["labels_json"]) if row else {}


def upsert_order(
    conn: sqlite3.Connection, order: Order, ts: datetime, detail: str, recorded_at: datetime
) -> None:
    """Insert or update an order and append its status change to ``order_events``."""
    require_transaction(conn, "upsert_order")
    conn.execute(
        "INSERT INTO orders (order_id, bracket_id, symbol, side, role, order_type, contracts, "
        "price, status, exit_reason, created_ts, updated_ts, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (order_id) DO UPDATE SET price = excluded.price, "
        "status = excluded.status, exit_reason = excluded.exit_reason, "
        "updated_ts = excluded.updated_ts, recorded_at = excluded.recorded_at",
        (
            order.order_id, order.bracket_id, order.symbol, order.side.value, order.role.value,
            order.order_type.value, order.contracts, order.price, order.status.value,
            order.exit_reason.value if order.exit_reason else None, to_text(order.created_ts),
            to_text(ts), to_text(recorded_at),
        ),
    )
    conn.execute(
        "INSERT INTO order_events (order_id, ts, status, price, detail, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (order.order_id, to_text(ts), order.status.value, order.price, detail,
         to_text(recorded_at)),
    )


def order_event_history(conn: sqlite3.Connection, order_id: str) -> list[tuple[str, float | None,
                                                                              str]]:
    """(status, price, detail) of every journaled change of one order, oldest first."""
    rows = conn.execute(
        "SELECT status, price, detail FROM order_events WHERE order_id = ? ORDER BY id",
        (order_id,),
    ).fetchall()
    return [(r["status"], r["price"], r["detail"]) for r in rows]


def _order_from_row(row: sqlite3.Row) -> Order:
    return Order(
        order_id=row["order_id"],
        bracket_id=row["bracket_id"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        role=OrderRole(row["role"]),
        order_type=OrderType(row["order_type"]),
        contracts=row["contracts"],
        price=row["price"],
        status=OrderStatus(row["status"]),
        created_ts=from_text(row["created_ts"]),
        exit_reason=ExitReason(row["exit_reason"]) if row["exit_reason"] else None,
    )


def working_orders(conn: sqlite3.Connection, symbol: str) -> list[Order]:
    """Return the working orders of ``symbol`` in creation order."""
    rows = conn.execute(
        "SELECT * FROM orders WHERE symbol = ? AND status = ? ORDER BY created_ts, order_id",
        (symbol, OrderStatus.WORKING.value),
    ).fetchall()
    return [_order_from_row(r) for r in rows]


def all_orders(conn: sqlite3.Connection) -> list[Order]:
    """Return every order ever placed, in creation order."""
    rows = conn.execute("SELECT * FROM orders ORDER BY created_ts, order_id").fetchall()
    return [_order_from_row(r) for r in rows]


def entry_orders_since(conn: sqlite3.Connection, symbol: str, since: datetime) -> list[Order]:
    """Return entry orders created at or after ``since`` (for the trades-per-day count)."""
    rows = conn.execute(
        "SELECT * FROM orders WHERE symbol = ? AND role = ? AND created_ts >= ? "
        "ORDER BY created_ts",
        (symbol, OrderRole.ENTRY.value, to_text(since)),
    ).fetchall()
    return [_order_from_row(r) for r in rows]


def insert_fill(conn: sqlite3.Connection, fill: Fill, recorded_at: datetime) -> None:
    """Journal one execution."""
    require_transaction(conn, "insert_fill")
    conn.execute(
        "INSERT INTO fills (fill_id, order_id, bracket_id, symbol, side, role, contracts, price, "
        "ts, commission_cents, exit_reason, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            fill.fill_id, fill.order_id, fill.bracket_id, fill.symbol, fill.side.value,
            fill.role.value, fill.contracts, fill.price, to_text(fill.ts), fill.commission_cents,
            fill.exit_reason.value if fill.exit_reason else None, to_text(recorded_at),
        ),
    )


def all_fills(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Return every fill, oldest first, as plain dicts."""
    return [dict(r) for r in conn.execute("SELECT * FROM fills ORDER BY ts, fill_id")]


def insert_trade(conn: sqlite3.Connection, trade: TradeRecord, recorded_at: datetime) -> None:
    """Journal a closed round trip with its P&L and the labels in force at entry."""
    require_transaction(conn, "insert_trade")
    conn.execute(
        "INSERT INTO trades (bracket_id, symbol, side, contracts, entry_ts, entry_price, exit_ts, "
        "exit_price, exit_reason, pnl_gross_cents, commission_cents, pnl_net_cents, trend, "
        "volatility, time_bucket, bias_at_entry, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            trade.bracket_id, trade.symbol, trade.side.value, trade.contracts,
            to_text(trade.entry_ts), trade.entry_price, to_text(trade.exit_ts), trade.exit_price,
            trade.exit_reason.value, trade.pnl_gross_cents, trade.commission_cents,
            trade.pnl_net_cents, trade.labels.get("trend"), trade.labels.get("volatility"),
            trade.labels.get("time_bucket"), trade.labels.get("bias", "neutral"),
            to_text(recorded_at),
        ),
    )


def trade_from_row(row: sqlite3.Row) -> TradeRecord:
    """A ``trades`` row as a TradeRecord (labels from its bucket columns)."""
    labels = {
        key: row[key] for key in ("trend", "volatility", "time_bucket") if row[key] is not None
    }
    labels["bias"] = row["bias_at_entry"]
    return TradeRecord(
        bracket_id=row["bracket_id"],
        symbol=row["symbol"],
        side=Side(row["side"]),
        contracts=row["contracts"],
        entry_ts=from_text(row["entry_ts"]),
        entry_price=row["entry_price"],
        exit_ts=from_text(row["exit_ts"]),
        exit_price=row["exit_price"],
        exit_reason=ExitReason(row["exit_reason"]),
        pnl_gross_cents=row["pnl_gross_cents"],
        commission_cents=row["commission_cents"],
        pnl_net_cents=row["pnl_net_cents"],
        labels=labels,
    )


def trades_since(conn: sqlite3.Connection, since: datetime) -> list[TradeRecord]:
    """Return trades that closed at or after ``since``, oldest first."""
    rows = conn.execute(
        "SELECT * FROM trades WHERE exit_ts >= ? ORDER BY exit_ts, id", (to_text(since),)
    ).fetchall()
    return [trade_from_row(r) for r in rows]


def latest_trades(conn: sqlite3.Connection, limit: int) -> list[TradeRecord]:
    """Return the ``limit`` most recently closed trades, newest first."""
    rows = conn.execute(
        "SELECT * FROM trades ORDER BY exit_ts DESC, id DESC LIMIT ?", (limit,)
    ).fetchall()
    return [trade_from_row(r) for r in rows]


def all_trades(conn: sqlite3.Connection) -> list[TradeRecord]:
    """Return every closed trade, oldest first."""
    return filtered_trades(conn)


def filtered_trades(
    conn: sqlite3.Connection,
    start: datetime | None = None,
    end: datetime | None = None,
    sides: Sequence[str] = (),
    exit_reasons: Sequence[str] = (),
) -> list[TradeRecord]:
    """Closed trades with exit time in [start, end), of the given sides and exit reasons."""
    clauses, params = ["1 = 1"], []
    if start is not None:
        clauses.append("exit_ts >= ?")
        params.append(to_text(start))
    if end is not None:
        clauses.append("exit_ts < ?")
        params.append(to_text(end))
    for column, values in (("side", sides), ("exit_reason", exit_reasons)):
        if values:
            clauses.append(f"{column} IN ({', '.join('?' for _ in values)})")
            params.extend(values)
    rows = conn.execute(
        f"SELECT * FROM trades WHERE {' AND '.join(clauses)} ORDER BY exit_ts, id", params
    ).fetchall()
    return [trade_from_row(r) for r in rows]


def total_realized_cents(conn: sqlite3.Connection) -> int:
    """Sum of net P&L of every closed trade, in cents."""
    return int(conn.execute("SELECT COALESCE(SUM(pnl_net_cents), 0) FROM trades").fetchone()[0])


def save_position(
    conn: sqlite3.Connection, symbol: str, position: Position | None, recorded_at: datetime
) -> None:
    """Persist the open position of ``symbol`` (None = flat)."""
    require_transaction(conn, "save_position")
    conn.execute("DELETE FROM positions WHERE symbol = ?", (symbol,))
    if position is None:
        return
    conn.execute(
        "INSERT INTO positions (symbol, side, contracts, entry_price, entry_ts, bracket_id, "
        "stop_price, target_price, entry_commission_cents, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            symbol, position.side.value, position.contracts, position.entry_price,
            to_text(position.entry_ts), position.bracket_id, position.stop_price,
            position.target_price, position.entry_commission_cents, to_text(recorded_at),
        ),
    )


def load_position(conn: sqlite3.Connection, symbol: str) -> Position | None:
    """Return the persisted open position of ``symbol``, or None when flat."""
    row = conn.execute("SELECT * FROM positions WHERE symbol = ?", (symbol,)).fetchone()
    if row is None:
        return None
    return Position(
        symbol=row["symbol"],
        side=Side(row["side"]),
        contracts=row["contracts"],
        entry_price=row["entry_price"],
        entry_ts=from_text(row["entry_ts"]),
        bracket_id=row["bracket_id"],
        stop_price=row["stop_price"],
        target_price=row["target_price"],
        entry_commission_cents=row["entry_commission_cents"],
    )


def table_counts(conn: sqlite3.Connection, tables: Iterable[str]) -> dict[str, int]:
    """Row counts of known journal tables (for status views and tests)."""
    known = {
        "bars", "decisions", "orders", "order_events", "fills", "trades", "positions",
        "events", "commands", "config_versions",
    }
    counts = {}
    for table in tables:
        if table not in known:
            raise ValueError(f"unknown table {table!r}")
        counts[table] = int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
    return counts


def journal_integrity(conn: sqlite3.Connection) -> dict[str, int]:
    """Counts of journal rows that break an invariant; all but ``decisions`` are 0 when healthy.

    ``duplicate_decisions``: bars decided twice; ``fills_without_order``: fills whose order row
    is missing; ``trades_without_fills``: trades lacking their entry or exit fill;
    ``duplicate_entries``: brackets with more than one entry order; ``overfilled_orders``:
    orders filled for more contracts than they have; ``extra_working_exits``: working stops or
    targets beyond one of each per symbol; ``naked_positions``: positions with no working stop.
    Fault tests and benchmarks check these after a crash or a fault.
    """
    entry, stop, target = OrderRole.ENTRY.value, OrderRole.STOP.value, OrderRole.TARGET.value
    working = OrderStatus.WORKING.value
    queries: dict[str, tuple[str, tuple[Any, ...]]] = {
        "decisions": ("SELECT COUNT(*) FROM decisions", ()),
        "duplicate_decisions": (
            "SELECT COUNT(*) - (SELECT COUNT(*) FROM (SELECT DISTINCT symbol, ts FROM decisions)) "
            "FROM decisions", ()),
        "fills_without_order": (
            "SELECT COUNT(*) FROM fills f "
            "WHERE NOT EXISTS (SELECT 1 FROM orders o WHERE o.order_id = f.order_id)", ()),
        "trades_without_fills": (
            "SELECT COUNT(*) FROM trades t "
            "WHERE NOT EXISTS (SELECT 1 FROM fills f WHERE f.bracket_id = t.bracket_id "
            "AND f.role = ?) OR NOT EXISTS (SELECT 1 FROM fills f "
            "WHERE f.bracket_id = t.bracket_id AND f.role != ?)", (entry, entry)),
        "duplicate_entries": (
            "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM orders "
            "WHERE role = ? GROUP BY bracket_id)", (entry,)),
        "overfilled_orders": (
            "SELECT COUNT(*) FROM orders o WHERE o.contracts < "
            "(SELECT COALESCE(SUM(f.contracts), 0) FROM fills f WHERE f.order_id = o.order_id)",
            ()),
        "extra_working_exits": (
            "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM orders "
            "WHERE status = ? AND role IN (?, ?) GROUP BY symbol, role)", (working, stop, target)),
        "naked_positions": (
            "SELECT COUNT(*) FROM positions p WHERE NOT EXISTS (SELECT 1 FROM orders o "
            "WHERE o.bracket_id = p.bracket_id AND o.role = ? AND o.status = ?)",
            (stop, working)),
    }
    return {name: int(conn.execute(sql, params).fetchone()[0])
            for name, (sql, params) in queries.items()}


WALL_CLOCK_COLUMNS = frozenset({"recorded_at", "heartbeat_at", "processed_at", "pid"})


JOURNAL_TABLES = ("bars", "decisions", "orders", "order_events", "fills", "trades", "positions")


def journal_snapshot(conn: sqlite3.Connection) -> dict[str, list[tuple[Any, ...]]]:
    """Every journal row minus wall-clock columns, in a stable order (determinism checks)."""
    snapshot = {}
    for table in JOURNAL_TABLES:
        columns = [
            row["name"] for row in conn.execute(f"PRAGMA table_info({table})")
            if row["name"] not in WALL_CLOCK_COLUMNS
        ]
        names = ", ".join(columns)
        rows = conn.execute(f"SELECT {names} FROM {table} ORDER BY {names}").fetchall()
        snapshot[table] = [tuple(r) for r in rows]
    return snapshot
