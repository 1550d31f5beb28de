"""The per-signal LLM gate's answers as a live bot journaled them (``llm_gate_answer`` events).

A replay backtest hands them to its engine's gate at the same engine times, so a gated live run
and its replay decide the same candidates the same way.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime

from shared.persistence.codec import from_text, to_text

GATE_ANSWER_EVENT = "llm_gate_answer"


@dataclass(frozen=True, slots=True)
class JournalGateAnswer:
    """One journaled answer: when the bot took it (engine time) and what it said."""

    at: datetime
    side: str
    asked_at: datetime
    bias: str | None
    confidence: float
    call_id: int
    error: str


def gate_answers(conn: sqlite3.Connection, since: datetime, until: datetime
                 ) -> list[JournalGateAnswer]:
    """Answers taken at a time in [``since``, ``until``), oldest first."""
    rows = conn.execute(
        "SELECT ts, detail_json FROM events WHERE kind = ? AND ts >= ? AND ts < ? "
        "ORDER BY ts, id", (GATE_ANSWER_EVENT, to_text(since), to_text(until))).fetchall()
    answers = []
    for ts, detail_json in rows:
        detail = json.loads(detail_json or "{}")
        answers.append(JournalGateAnswer(
            from_text(ts), str(detail.get("side")), from_text(str(detail.get("asked_ts"))),
            detail.get("bias"), float(detail.get("confidence") or 0.0),
            int(detail.get("call_id") or 0), str(detail.get("error") or "")))
    return answers
