"""Every SQL statement about evaluation runs: ``python -m bot evaluate --save`` writes one row;
the dashboard reads the latest per layer. Callers own the transaction."""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.persistence.codec import from_text, to_text
from shared.persistence.db import require_transaction


@dataclass(frozen=True, slots=True)
class EvaluationRun:
    """One saved evaluation: what was judged, on what, its verdicts and its full evidence."""

    id: int
    created_at: datetime
    layer: str
    data: str
    planted_edge: str | None
    seeds: int
    verdict: str
    walk_forward_verdict: str
    result: dict[str, Any]


def insert_evaluation_run(
    conn: sqlite3.Connection, created_at: datetime, layer: str, data: str,
    planted_edge: str | None, result: dict[str, Any],
) -> int:
    """Store an evaluation's evidence; return its id."""
    require_transaction(conn, "insert_evaluation_run")
    cursor = conn.execute(
        "INSERT INTO evaluation_runs (created_at, layer, data, planted_edge, seeds, verdict, "
        "walk_forward_verdict, result_json) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (to_text(created_at), layer, data, planted_edge, int(result.get("seeds", 0)),
         str(result.get("verdict", "")), str(result.get("walk_forward_verdict", "")),
         json.dumps(result, sort_keys=True)),
    )
    return int(cursor.lastrowid or 0)


def evaluation_runs(conn: sqlite3.Connection, layer: str | None = None,
                    limit: int = 50) -> list[EvaluationRun]:
    """The latest evaluations (of ``layer``, or of every layer), newest first."""
    rows = conn.execute(
        "SELECT id, created_at, layer, data, planted_edge, seeds, verdict, "
        "walk_forward_verdict, result_json FROM evaluation_runs "
        "WHERE (? IS NULL OR layer = ?) ORDER BY id DESC LIMIT ?",
        (layer, layer, limit),
    ).fetchall()
    return [EvaluationRun(int(r["id"]), from_text(r["created_at"]), r["layer"], r["data"],
                          r["planted_edge"], int(r["seeds"]), r["verdict"],
                          r["walk_forward_verdict"], json.loads(r["result_json"]))
            for r in rows]


def has_evaluation_table(conn: sqlite3.Connection) -> bool:
    """Whether the database has the table (an older schema opened read-only may not)."""
    row = conn.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND "
                       "name = 'evaluation_runs'").fetchone()
    return row is not None
