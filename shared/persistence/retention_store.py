"""SQL of journal retention: the oldest rows of a table in id order, what must be kept, deletes.

Rows are walked from the oldest id with the time they were written (wall clock) and a ``keep``
flag for rows something still needs:

- ``decisions``: a trade's entry decision (``bracket_id`` set: trade log, review, training
  export, trade story) and any decision a memory setup names (memory calibration);
- ``llm_calls``: a call a decision (``llm_call_id``) or a lesson names;
- ``alerts``: deliveries still requested or queued;
- every table: its newest row, so ``MAX(id)`` never goes back and ids are never reused (the
  alerter follows tables by id watermarks; a reused id would be skipped).

Deletes run by id inside the caller's short transactions. ``alert_attempts`` rows go with their
alert (``ON DELETE CASCADE``); ``alert_attempts_of`` reads them first for the archive.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from shared.persistence.db import require_transaction


@dataclass(frozen=True, slots=True)
class RetainedTable:
    """A table retention may prune: when its rows were written, and which must stay."""

    name: str
    written_column: str
    keep_sql: str


RETAINED: dict[str, RetainedTable] = {
    "decisions": RetainedTable(
        "decisions", "recorded_at",
        "(t.bracket_id IS NOT NULL OR t.id IN "
        "(SELECT decision_id FROM memory WHERE decision_id IS NOT NULL))"),
    "events": RetainedTable("events", "recorded_at", "0"),
    "llm_calls": RetainedTable(
        "llm_calls", "created_at",
        "(EXISTS (SELECT 1 FROM decisions d WHERE d.llm_call_id = t.id) OR t.id IN "
        "(SELECT llm_call_id FROM lessons WHERE llm_call_id IS NOT NULL))"),
    "alerts": RetainedTable("alerts", "created_at", "(t.status IN ('requested', 'queued'))"),
}
# Tables whose rows are deleted with a retained parent (child table, its parent key column).
CHILDREN: dict[str, tuple[str, str]] = {"alerts": ("alert_attempts", "alert_id")}


@dataclass(frozen=True, slots=True)
class OldRow:
    """One row in id order: its columns as stored, when it was written, whether it must stay."""

    row_id: int
    written_at: str
    keep: bool
    values: dict[str, Any]


def _spec(table: str) -> RetainedTable:
    spec = RETAINED.get(table)
    if spec is None:  # a programming error, never user input
        raise ValueError(f"retention does not know table {table!r}")
    return spec


def oldest_rows(conn: sqlite3.Connection, table: str, after_id: int, limit: int) -> list[OldRow]:
    """Up to ``limit`` rows with an id above ``after_id``, oldest first, newest row excluded."""
    spec = _spec(table)
    cursor = conn.execute(
        f"SELECT t.*, {spec.keep_sql} AS _keep FROM {table} t "
        f"WHERE t.id > ? AND t.id < (SELECT MAX(id) FROM {table}) ORDER BY t.id LIMIT ?",
        (after_id, limit))
    names = [d[0] for d in cursor.description]
    rows = []
    for raw in cursor.fetchall():
        values = dict(zip(names, tuple(raw), strict=True))
        keep = bool(values.pop("_keep"))
        rows.append(OldRow(int(values["id"]), str(values[spec.written_column]), keep, values))
    return rows


def declared_types(conn: sqlite3.Connection, table: str) -> dict[str, str]:
    """Each column's declared type (``INTEGER``, ``REAL``, ``TEXT``, ``BLOB``), in table order."""
    if table not in RETAINED and table not in {child for child, _ in CHILDREN.values()}:
        raise ValueError(f"retention does not know table {table!r}")
    return {str(r["name"]): str(r["type"]).upper()
            for r in conn.execute(f"PRAGMA table_info({table})")}


def alert_attempts_of(conn: sqlite3.Connection, alert_ids: Sequence[int]) -> list[dict[str, Any]]:
    """The attempts of ``alert_ids`` (they are deleted with their alert), in id order."""
    if not alert_ids:
        return []
    cursor = conn.execute(
        "SELECT * FROM alert_attempts WHERE alert_id IN (SELECT value FROM json_each(?)) "
        "ORDER BY id", (_json_ids(alert_ids),))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, tuple(r), strict=True)) for r in cursor.fetchall()]


def _json_ids(ids: Sequence[int]) -> str:
    return "[" + ",".join(str(int(i)) for i in ids) + "]"


def delete_rows(conn: sqlite3.Connection, table: str, ids: Sequence[int]) -> int:
    """Delete ``ids`` from ``table`` (inside the caller's transaction); return rows deleted."""
    require_transaction(conn, "delete_rows")
    _spec(table)
    cursor = conn.execute(f"DELETE FROM {table} WHERE id IN (SELECT value FROM json_each(?))",
                          (_json_ids(ids),))
    return int(cursor.rowcount)


def open_position_floor(conn: sqlite3.Connection) -> str | None:
    """The earliest entry (or write) time of an open position: no decision from then on goes."""
    row = conn.execute("SELECT MIN(MIN(entry_ts, recorded_at)) FROM positions").fetchone()
    return None if row is None or row[0] is None else str(row[0])


def row_count(conn: sqlite3.Connection, table: str) -> int:
    """Rows in a retained table."""
    _spec(table)
    return int(conn.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0])
