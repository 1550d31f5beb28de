"""Schema of learning: learned ``rules`` with their version history, lessons, review runs.

A rule row holds its kind, JSON parameters, the evidence and backtest that justify it, its
status (proposed / approved / rejected / expired) and who decided last; ``rule_events`` keeps
every version (who, when, why), so "in force since" and the approval trail survive edits.
"""

from __future__ import annotations

import sqlite3


def learning_tables(conn: sqlite3.Connection) -> None:
    """rules, rule_events, lessons, review_runs."""
    _run(
        conn,
        """
        CREATE TABLE rules (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            review_day TEXT NOT NULL,
            kind TEXT NOT NULL,
            params_json TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            summary TEXT NOT NULL,
            evidence_json TEXT NOT NULL,
            backtest_json TEXT NOT NULL DEFAULT '{}',
            improved INTEGER,
            status TEXT NOT NULL DEFAULT 'proposed',
            version INTEGER NOT NULL DEFAULT 1,
            decided_by TEXT NOT NULL DEFAULT '',
            decided_at TEXT,
            note TEXT NOT NULL DEFAULT '',
            expires_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        );
        CREATE INDEX rules_status ON rules (status);
        CREATE INDEX rules_fingerprint ON rules (fingerprint);

        CREATE TABLE rule_events (
            id INTEGER PRIMARY KEY,
            rule_id INTEGER NOT NULL REFERENCES rules (id),
            version INTEGER NOT NULL,
            status TEXT NOT NULL,
            author TEXT NOT NULL,
            note TEXT NOT NULL DEFAULT '',
            at TEXT NOT NULL
        );
        CREATE INDEX rule_events_rule ON rule_events (rule_id, version);

        CREATE TABLE lessons (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            review_day TEXT NOT NULL,
            llm_call_id INTEGER,
            text TEXT NOT NULL
        );

        CREATE TABLE review_runs (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            day TEXT NOT NULL,
            status TEXT NOT NULL DEFAULT 'running',
            message TEXT NOT NULL DEFAULT '',
            summary_json TEXT NOT NULL DEFAULT '{}',
            finished_at TEXT
        );
        CREATE INDEX review_runs_day ON review_runs (day)
        """,
    )


def _run(conn: sqlite3.Connection, script: str) -> None:
    """One statement at a time: ``executescript`` would commit the migration's transaction."""
    for statement in script.split(";"):
        if statement.strip():
            conn.execute(statement)
