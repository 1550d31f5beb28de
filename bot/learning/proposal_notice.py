"""The ``rules_proposed`` event: the nightly review tells the alerter it stored rules.

Written in the review's own transaction (with ``finish_review_run``), so the alerter's journal
follower turns it into one ``rules_proposed`` alert per review that proposed anything.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime
from typing import Any

from shared.domain.rules import RuleStatus
from shared.persistence import ops_store

MAX_LISTED = 5  # rule summaries in the message; the Rules page has them all


def proposal_message(day: str, proposed: list[dict[str, Any]]) -> str:
    """``2 rule(s) await approval from the review of 2026-12-04: ...``."""
    waiting = [p for p in proposed if p["status"] == RuleStatus.PROPOSED.value]
    applied = [p for p in proposed if p["status"] == RuleStatus.APPROVED.value]
    parts = []
    if waiting:
        parts.append(f"{len(waiting)} rule(s) await approval")
    if applied:
        parts.append(f"{len(applied)} auto-applied (passed out of sample)")
    listed = "; ".join(f"#{p['rule_id']} {p['summary']}" for p in proposed[:MAX_LISTED])
    more = f" (+{len(proposed) - MAX_LISTED} more)" if len(proposed) > MAX_LISTED else ""
    return (f"{' and '.join(parts)} from the review of {day}: {listed}{more}. "
            "Approve or reject them on the Memory & learning page")


def record_proposals(conn: sqlite3.Connection, day: str, proposed: list[dict[str, Any]],
                     at: datetime) -> None:
    """Journal the event when the review stored any rule (inside the caller's transaction)."""
    if not proposed:
        return
    detail = {"day": day, "rule_ids": [p["rule_id"] for p in proposed]}
    ops_store.insert_event(conn, at, "rules_proposed", "info", proposal_message(day, proposed),
                           detail, at)
