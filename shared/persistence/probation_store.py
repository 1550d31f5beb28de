"""SQL of rule probation: candidates gathering out-of-sample evidence across reviews.

Callers own transactions (``db.write_transaction``). A probation starts ``on_probation`` and
ends once: ``passed`` (a rule was proposed, ``rule_id``), ``failed``, ``expired`` or
``decided`` (a person decided the same rule meanwhile).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.persistence.codec import from_text, to_text
from shared.persistence.db import require_transaction

ON_PROBATION = "on_probation"


@dataclass(frozen=True, slots=True)
class NewProbation:
    """A candidate put on probation by the review of ``review_day``."""

    review_day: str
    mined_until: str
    kind: str
    params_json: str
    fingerprint: str
    summary: str
    proposal: dict[str, Any]
    evidence: dict[str, Any]


@dataclass(frozen=True, slots=True)
class ProbationRow:
    """One row of ``rule_probation``."""

    id: int
    created_at: datetime
    updated_at: datetime
    review_day: str
    mined_until: str
    kind: str
    params_json: str
    fingerprint: str
    summary: str
    proposal: dict[str, Any]
    evidence: dict[str, Any]
    reviews: int
    status: str
    note: str
    rule_id: int | None


def _row(row: sqlite3.Row) -> ProbationRow:
    return ProbationRow(
        id=row["id"], created_at=from_text(row["created_at"]),
        updated_at=from_text(row["updated_at"]), review_day=row["review_day"],
        mined_until=row["mined_until"], kind=row["kind"], params_json=row["params_json"],
        fingerprint=row["fingerprint"], summary=row["summary"],
        proposal=json.loads(row["proposal_json"]), evidence=json.loads(row["evidence_json"]),
        reviews=row["reviews"], status=row["status"], note=row["note"], rule_id=row["rule_id"])


def insert_probation(conn: sqlite3.Connection, new: NewProbation, at: datetime) -> int:
    """Put a candidate on probation with its first out-of-sample evidence."""
    require_transaction(conn, "insert_probation")
    cursor = conn.execute(
        "INSERT INTO rule_probation (created_at, updated_at, review_day, mined_until, kind, "
        "params_json, fingerprint, summary, proposal_json, evidence_json, reviews, status) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?)",
        (to_text(at), to_text(at), new.review_day, new.mined_until, new.kind, new.params_json,
         new.fingerprint, new.summary, json.dumps(new.proposal, sort_keys=True),
         json.dumps(new.evidence, sort_keys=True), ON_PROBATION))
    return int(cursor.lastrowid or 0)


def on_probation(conn: sqlite3.Connection) -> list[ProbationRow]:
    """Every candidate still on probation, oldest first."""
    rows = conn.execute("SELECT * FROM rule_probation WHERE status = ? ORDER BY id",
                        (ON_PROBATION,)).fetchall()
    return [_row(r) for r in rows]


def on_probation_with(conn: sqlite3.Connection, fingerprint: str) -> ProbationRow | None:
    """The candidate with this fingerprint still on probation, or None."""
    row = conn.execute("SELECT * FROM rule_probation WHERE status = ? AND fingerprint = ? "
                       "ORDER BY id DESC LIMIT 1", (ON_PROBATION, fingerprint)).fetchone()
    return _row(row) if row else None


def add_evidence(conn: sqlite3.Connection, probation_id: int, evidence: dict[str, Any],
                 at: datetime) -> None:
    """Store the accumulated evidence after one more review."""
    require_transaction(conn, "add_evidence")
    conn.execute("UPDATE rule_probation SET evidence_json = ?, reviews = reviews + 1, "
                 "updated_at = ? WHERE id = ? AND status = ?",
                 (json.dumps(evidence, sort_keys=True), to_text(at), probation_id,
                  ON_PROBATION))


def end_probation(conn: sqlite3.Connection, probation_id: int, status: str, note: str,
                  at: datetime, rule_id: int | None = None) -> None:
    """End a probation (passed, failed, expired or decided)."""
    require_transaction(conn, "end_probation")
    conn.execute("UPDATE rule_probation SET status = ?, note = ?, rule_id = ?, updated_at = ? "
                 "WHERE id = ? AND status = ?",
                 (status, note, rule_id, to_text(at), probation_id, ON_PROBATION))


def probations(conn: sqlite3.Connection, limit: int = 500) -> list[ProbationRow]:
    """Every probation, newest first."""
    rows = conn.execute("SELECT * FROM rule_probation ORDER BY id DESC LIMIT ?",
                        (limit,)).fetchall()
    return [_row(r) for r in rows]
