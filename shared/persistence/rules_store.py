"""Every SQL statement of learning: rules and their versions, lessons, review runs.

Callers own transactions (``db.write_transaction``). A rule's status changes only through
``decide_rule``, which bumps its version and appends a ``rule_events`` row with the author;
``rules_version`` (the last event id) is what a running bot polls to reload its rules.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from shared.domain.rules import RuleStatus, transition_problem
from shared.persistence.codec import from_text, optional_ts, to_text
from shared.persistence.db import require_transaction


@dataclass(frozen=True, slots=True)
class NewRule:
    """A proposal as the review writes it."""

    review_day: str
    kind: str
    params_json: str
    fingerprint: str
    summary: str
    evidence: dict[str, Any]
    backtest: dict[str, Any]
    improved: bool | None
    expires_at: datetime


@dataclass(frozen=True, slots=True)
class RuleRow:
    """One row of ``rules``."""

    id: int
    created_at: datetime
    review_day: str
    kind: str
    params_json: str
    fingerprint: str
    summary: str
    evidence: dict[str, Any]
    backtest: dict[str, Any]
    improved: bool | None
    status: RuleStatus
    version: int
    decided_by: str
    decided_at: datetime | None
    note: str
    expires_at: datetime
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class RuleEvent:
    """One version of a rule: its status, who set it, when and why."""

    rule_id: int
    version: int
    status: RuleStatus
    author: str
    note: str
    at: datetime


@dataclass(frozen=True, slots=True)
class Lesson:
    """A short written lesson of one review (data for people and prompts, never a rule)."""

    id: int
    created_at: datetime
    review_day: str
    llm_call_id: int | None
    text: str


@dataclass(frozen=True, slots=True)
class ReviewRun:
    """One run of the nightly review."""

    id: int
    created_at: datetime
    day: str
    status: str
    message: str
    summary: dict[str, Any]
    finished_at: datetime | None


class RuleDecisionError(ValueError):
    """A status change that is not allowed (unknown rule, stale version, bad transition)."""


def _rule(row: sqlite3.Row) -> RuleRow:
    improved = row["improved"]
    return RuleRow(
        id=row["id"], created_at=from_text(row["created_at"]), review_day=row["review_day"],
        kind=row["kind"], params_json=row["params_json"], fingerprint=row["fingerprint"],
        summary=row["summary"], evidence=json.loads(row["evidence_json"]),
        backtest=json.loads(row["backtest_json"]),
        improved=None if improved is None else bool(improved), status=RuleStatus(row["status"]),
        version=row["version"], decided_by=row["decided_by"],
        decided_at=optional_ts(row["decided_at"]), note=row["note"],
        expires_at=from_text(row["expires_at"]), updated_at=from_text(row["updated_at"]),
    )


def insert_rule(conn: sqlite3.Connection, rule: NewRule, author: str, at: datetime) -> int:
    """Store a proposal (version 1, status proposed) and its first history row."""
    require_transaction(conn, "insert_rule")
    cursor = conn.execute(
        "INSERT INTO rules (created_at, review_day, kind, params_json, fingerprint, summary, "
        "evidence_json, backtest_json, improved, status, version, expires_at, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 1, ?, ?)",
        (to_text(at), rule.review_day, rule.kind, rule.params_json, rule.fingerprint,
         rule.summary, json.dumps(rule.evidence, sort_keys=True),
         json.dumps(rule.backtest, sort_keys=True),
         None if rule.improved is None else int(rule.improved), RuleStatus.PROPOSED.value,
         to_text(rule.expires_at), to_text(at)),
    )
    rule_id = int(cursor.lastrowid or 0)
    _event(conn, rule_id, 1, RuleStatus.PROPOSED, author, "proposed by the nightly review", at)
    return rule_id


def _event(conn: sqlite3.Connection, rule_id: int, version: int, status: RuleStatus,
           author: str, note: str, at: datetime) -> None:
    conn.execute(
        "INSERT INTO rule_events (rule_id, version, status, author, note, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (rule_id, version, status.value, author, note, to_text(at)),
    )


def rule(conn: sqlite3.Connection, rule_id: int) -> RuleRow | None:
    """One rule, or None."""
    row = conn.execute("SELECT * FROM rules WHERE id = ?", (rule_id,)).fetchone()
    return _rule(row) if row else None


def rules(conn: sqlite3.Connection, statuses: tuple[RuleStatus, ...] = (),
          limit: int = 500) -> list[RuleRow]:
    """Rules (of the given statuses), newest first."""
    if statuses:
        marks = ", ".join("?" for _ in statuses)
        rows = conn.execute(f"SELECT * FROM rules WHERE status IN ({marks}) "
                            "ORDER BY id DESC LIMIT ?", (*[s.value for s in statuses], limit))
    else:
        rows = conn.execute("SELECT * FROM rules ORDER BY id DESC LIMIT ?", (limit,))
    return [_rule(r) for r in rows.fetchall()]


def open_rule_with(conn: sqlite3.Connection, fingerprint: str) -> RuleRow | None:
    """A proposed or approved rule with these kind and parameters (so none is proposed twice)."""
    row = conn.execute(
        "SELECT * FROM rules WHERE fingerprint = ? AND status IN (?, ?) ORDER BY id DESC LIMIT 1",
        (fingerprint, RuleStatus.PROPOSED.value, RuleStatus.APPROVED.value),
    ).fetchone()
    return _rule(row) if row else None


def decide_rule(
    conn: sqlite3.Connection, rule_id: int, status: RuleStatus, author: str, note: str,
    at: datetime, expected_version: int | None = None,
) -> RuleRow:
    """Move a rule to ``status`` as ``author``; a new version with its history row.

    ``expected_version`` guards against deciding on a stale view (two tabs, the review).
    Raises RuleDecisionError with the reason when the change is not allowed.
    """
    require_transaction(conn, "decide_rule")
    current = rule(conn, rule_id)
    if current is None:
        raise RuleDecisionError(f"no rule #{rule_id}")
    if expected_version is not None and current.version != expected_version:
        raise RuleDecisionError(f"rule #{rule_id} changed meanwhile (version {current.version}, "
                                f"you saw {expected_version}): reload and decide again")
    problem = transition_problem(current.status, status)
    if problem is not None:
        raise RuleDecisionError(f"rule #{rule_id}: {problem}")
    if status is RuleStatus.APPROVED and current.expires_at <= at:
        raise RuleDecisionError(f"rule #{rule_id} expired at {current.expires_at:%Y-%m-%d %H:%M}"
                                " UTC: it can no longer be approved")
    version = current.version + 1
    conn.execute(
        "UPDATE rules SET status = ?, version = ?, decided_by = ?, decided_at = ?, note = ?, "
        "updated_at = ? WHERE id = ?",
        (status.value, version, author, to_text(at), note, to_text(at), rule_id),
    )
    _event(conn, rule_id, version, status, author, note, at)
    updated = rule(conn, rule_id)
    if updated is None:  # the row was just updated inside this transaction
        raise RuleDecisionError(f"rule #{rule_id} vanished")
    return updated


def rule_history(conn: sqlite3.Connection, rule_id: int) -> list[RuleEvent]:
    """Every version of a rule, oldest first."""
    rows = conn.execute("SELECT * FROM rule_events WHERE rule_id = ? ORDER BY version",
                        (rule_id,)).fetchall()
    return [RuleEvent(r["rule_id"], r["version"], RuleStatus(r["status"]), r["author"],
                      r["note"], from_text(r["at"])) for r in rows]


def in_force_since(conn: sqlite3.Connection, rule_id: int) -> datetime | None:
    """When the rule's current approval was given (None unless it is approved)."""
    row = conn.execute(
        "SELECT e.at FROM rule_events e JOIN rules r ON r.id = e.rule_id "
        "WHERE e.rule_id = ? AND r.status = ? AND e.status = ? ORDER BY e.version DESC LIMIT 1",
        (rule_id, RuleStatus.APPROVED.value, RuleStatus.APPROVED.value),
    ).fetchone()
    return from_text(row["at"]) if row else None


def rules_version(conn: sqlite3.Connection) -> int:
    """A number that changes whenever any rule changes (the last history row's id)."""
    return int(conn.execute("SELECT COALESCE(MAX(id), 0) FROM rule_events").fetchone()[0])


def expire_due_rules(conn: sqlite3.Connection, now: datetime, author: str) -> list[int]:
    """Mark proposed and approved rules whose ``expires_at`` has passed as expired."""
    rows = conn.execute(
        "SELECT id FROM rules WHERE status IN (?, ?) AND expires_at <= ? ORDER BY id",
        (RuleStatus.PROPOSED.value, RuleStatus.APPROVED.value, to_text(now)),
    ).fetchall()
    for row in rows:
        decide_rule(conn, int(row["id"]), RuleStatus.EXPIRED, author, "its expiry passed", now)
    return [int(r["id"]) for r in rows]


def insert_lesson(conn: sqlite3.Connection, review_day: str, text: str,
                  llm_call_id: int | None, at: datetime) -> int:
    """Store a review's lesson."""
    require_transaction(conn, "insert_lesson")
    cursor = conn.execute(
        "INSERT INTO lessons (created_at, review_day, llm_call_id, text) VALUES (?, ?, ?, ?)",
        (to_text(at), review_day, llm_call_id, text),
    )
    return int(cursor.lastrowid or 0)


def lessons(conn: sqlite3.Connection, limit: int = 20) -> list[Lesson]:
    """The latest lessons, newest first."""
    rows = conn.execute("SELECT * FROM lessons ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [Lesson(r["id"], from_text(r["created_at"]), r["review_day"], r["llm_call_id"],
                   r["text"]) for r in rows]


def start_review_run(conn: sqlite3.Connection, day: str, at: datetime) -> int:
    """Record that a review of ``day`` started."""
    require_transaction(conn, "start_review_run")
    cursor = conn.execute("INSERT INTO review_runs (created_at, day) VALUES (?, ?)",
                          (to_text(at), day))
    return int(cursor.lastrowid or 0)


def finish_review_run(conn: sqlite3.Connection, run_id: int, status: str, message: str,
                      summary: dict[str, Any], at: datetime) -> None:
    """Record how a review ended (done / failed) with its summary."""
    require_transaction(conn, "finish_review_run")
    conn.execute(
        "UPDATE review_runs SET status = ?, message = ?, summary_json = ?, finished_at = ? "
        "WHERE id = ?",
        (status, message, json.dumps(summary, sort_keys=True), to_text(at), run_id),
    )


def review_runs(conn: sqlite3.Connection, limit: int = 20) -> list[ReviewRun]:
    """The latest review runs, newest first."""
    rows = conn.execute("SELECT * FROM review_runs ORDER BY id DESC LIMIT ?",
                        (limit,)).fetchall()
    return [ReviewRun(r["id"], from_text(r["created_at"]), r["day"], r["status"], r["message"],
                      json.loads(r["summary_json"]), optional_ts(r["finished_at"]))
            for r in rows]


def entry_rule_hold(conn: sqlite3.Connection, bracket_id: str) -> float | None:
    """The time exit a rule gave ``bracket_id`` at entry (decisions.rules_json), if any."""
    row = conn.execute(
        "SELECT rules_json FROM decisions WHERE bracket_id = ? ORDER BY id LIMIT 1",
        (bracket_id,),
    ).fetchone()
    if row is None:
        return None
    try:
        value = json.loads(row["rules_json"] or "{}").get("max_hold_minutes")
    except (json.JSONDecodeError, AttributeError):
        return None
    return float(value) if isinstance(value, int | float) else None
