"""Every SQL statement about the memory of past setups: setups, outcomes, scalers.

A setup row is written with the decision that submitted its bracket (same bar transaction) and
completed with the outcome when the bracket closes. Decisions retrieve closed rows only, in the
order they closed. Feature vectors are little-endian float32 blobs. Callers own transactions.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

import numpy as np

from shared.domain.memory import (
    MemoryOutcome,
    MemoryRow,
    MemorySetup,
    ScalerSnapshot,
    ShadowPlan,
)
from shared.domain.models import Side
from shared.persistence.codec import from_text, to_text
from shared.persistence.db import require_transaction

_FLOAT32 = np.dtype("<f4")


def _blob(values: tuple[float, ...]) -> bytes:
    return np.asarray(values, dtype=_FLOAT32).tobytes()


def _values(blob: bytes) -> tuple[float, ...]:
    return tuple(float(v) for v in np.frombuffer(blob, dtype=_FLOAT32))


def insert_memory_setup(
    conn: sqlite3.Connection, symbol: str, row: MemoryRow, recorded_at: datetime
) -> None:
    """Store a setup: a submitted bracket's (its decision, same bracket id, gives decision_id)
    or a refused entry's shadow (``row.shadow``: the refusing decision, same time and symbol,
    written in the same transaction before it)."""
    require_transaction(conn, "insert_memory_setup")
    setup = row.setup
    time_bucket, volatility, trend = setup.buckets
    decision = ("(SELECT id FROM decisions WHERE ts = ? AND symbol = ? ORDER BY id LIMIT 1)"
                if row.shadow else
                "(SELECT id FROM decisions WHERE bracket_id = ? ORDER BY id LIMIT 1)")
    key: tuple[object, ...] = ((to_text(setup.decision_ts), symbol) if row.shadow
                               else (row.bracket_id,))
    conn.execute(
        "INSERT INTO memory (bracket_id, decision_id, symbol, entry_ts, side, schema_version, "
        "features, time_bucket, volatility, trend, llm_bias, llm_confidence, risk_cents, "
        "recorded_at, shadow, shadow_stop_price, shadow_target_price, shadow_contracts) "
        f"VALUES (?, {decision}, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            row.bracket_id, *key, symbol, to_text(setup.decision_ts), setup.side.value,
            setup.schema_version, _blob(setup.vector), time_bucket, volatility, trend,
            setup.llm_bias, setup.llm_confidence, row.risk_cents, to_text(recorded_at),
            int(row.shadow), *_plan_values(row.shadow_plan),
        ),
    )


def _plan_values(plan: ShadowPlan | None) -> tuple[float | None, float | None, int | None]:
    if plan is None:
        return None, None, None
    return plan.stop_price, plan.target_price, plan.contracts


def close_memory_setup(
    conn: sqlite3.Connection, bracket_id: str, outcome: MemoryOutcome, recorded_at: datetime
) -> bool:
    """Record a setup's outcome; return whether a still-open row was found."""
    require_transaction(conn, "close_memory_setup")
    cursor = conn.execute(
        "UPDATE memory SET closed_ts = ?, pnl_net_cents = ?, r_multiple = ?, exit_reason = ?, "
        "closed_recorded_at = ? WHERE bracket_id = ? AND closed_ts IS NULL",
        (to_text(outcome.close_ts), outcome.pnl_net_cents, outcome.r_multiple,
         outcome.exit_reason, to_text(recorded_at), bracket_id),
    )
    return cursor.rowcount > 0


def _row(row: sqlite3.Row) -> MemoryRow:
    setup = MemorySetup(
        decision_ts=from_text(row["entry_ts"]), side=Side(row["side"]),
        schema_version=row["schema_version"], vector=_values(row["features"]),
        buckets=(row["time_bucket"], row["volatility"], row["trend"]),
        llm_bias=row["llm_bias"], llm_confidence=row["llm_confidence"],
    )
    outcome = None
    if row["closed_ts"] is not None:
        outcome = MemoryOutcome(row["pnl_net_cents"], row["r_multiple"], row["exit_reason"],
                                from_text(row["closed_ts"]))
    plan = None
    # a journal older than the flag has no such column (sqlite3.Row's "in" looks at values)
    if "shadow" in row.keys() and row["shadow"]:  # noqa: SIM118
        plan = ShadowPlan(row["shadow_stop_price"], row["shadow_target_price"],
                          row["shadow_contracts"])
    return MemoryRow(row["bracket_id"], setup, row["risk_cents"], outcome, plan)


def _has_shadow_column(conn: sqlite3.Connection) -> bool:
    return any(c[1] == "shadow" for c in conn.execute("PRAGMA table_info(memory)").fetchall())


def closed_memory_rows(
    conn: sqlite3.Connection, schema_version: int, closed_before: datetime | None = None
) -> list[MemoryRow]:
    """Closed setups of one feature schema, oldest close first (optionally closed before).

    On a tie a shadow comes first: it closed with its bar (``bar.ts`` + the bar length) and was
    learned at that bar's close, a trade at the same instant only at the next bar's (a trade's
    exit time is its bar's start), so this is the order the engine learned them in.
    """
    sql = "SELECT * FROM memory WHERE closed_ts IS NOT NULL AND schema_version = ?"
    params: list[object] = [schema_version]
    if closed_before is not None:
        sql += " AND closed_ts < ?"
        params.append(to_text(closed_before))
    order = " ORDER BY closed_ts, shadow DESC, id" if _has_shadow_column(conn) else (
        " ORDER BY closed_ts, id")  # a journal from before refused entries were learned
    rows = conn.execute(sql + order, params).fetchall()
    return [_row(r) for r in rows]


def open_shadow_setups(conn: sqlite3.Connection, symbol: str) -> list[MemoryRow]:
    """Refused entries' shadows not closed yet (a restart resumes them), oldest first."""
    rows = conn.execute("SELECT * FROM memory WHERE shadow = 1 AND closed_ts IS NULL AND "
                        "symbol = ? ORDER BY entry_ts, id", (symbol,)).fetchall()
    return [_row(r) for r in rows]


def open_memory_setup(conn: sqlite3.Connection, bracket_id: str) -> MemoryRow | None:
    """The setup of a bracket still open (a restart keeps it until the bracket closes)."""
    row = conn.execute(
        "SELECT * FROM memory WHERE bracket_id = ? AND closed_ts IS NULL", (bracket_id,)
    ).fetchone()
    return _row(row) if row else None


@dataclass(frozen=True, slots=True)
class MemoryCounts:
    """How many setups are stored: closed (retrievable), open, and of another schema."""

    closed: int
    open: int
    other_schema: int


def memory_counts(conn: sqlite3.Connection, schema_version: int) -> MemoryCounts:
    """Counts of the memory table's rows."""
    row = conn.execute(
        "SELECT COALESCE(SUM(closed_ts IS NOT NULL AND schema_version = ?), 0), "
        "COALESCE(SUM(closed_ts IS NULL), 0), COALESCE(SUM(schema_version != ?), 0) "
        "FROM memory", (schema_version, schema_version),
    ).fetchone()
    return MemoryCounts(int(row[0]), int(row[1]), int(row[2]))


def has_memory_table(conn: sqlite3.Connection) -> bool:
    """Whether this database has a ``memory`` table (a journal of this or a later version)."""
    row = conn.execute(
        "SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = 'memory'"
    ).fetchone()
    return bool(row[0])


def insert_memory_scaler(
    conn: sqlite3.Connection, scaler: ScalerSnapshot, fitted_ts: datetime, recorded_at: datetime
) -> None:
    """Store a refitted scaler (engine time ``fitted_ts``)."""
    require_transaction(conn, "insert_memory_scaler")
    conn.execute(
        "INSERT INTO memory_scaler (schema_version, feature_names_json, fitted_rows, center, "
        "scale, typical_distance, fitted_ts, recorded_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (scaler.schema_version, json.dumps(list(scaler.feature_names)), scaler.fitted_rows,
         _blob(scaler.center), _blob(scaler.scale), scaler.typical_distance,
         to_text(fitted_ts), to_text(recorded_at)),
    )


def latest_memory_scaler(conn: sqlite3.Connection, schema_version: int) -> ScalerSnapshot | None:
    """The last scaler stored for a feature schema (None before the first closed setup)."""
    row = conn.execute(
        "SELECT * FROM memory_scaler WHERE schema_version = ? ORDER BY id DESC LIMIT 1",
        (schema_version,),
    ).fetchone()
    if row is None:
        return None
    return ScalerSnapshot(row["schema_version"], tuple(json.loads(row["feature_names_json"])),
                          row["fitted_rows"], _values(row["center"]), _values(row["scale"]),
                          row["typical_distance"])
