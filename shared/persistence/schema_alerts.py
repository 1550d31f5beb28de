"""Schema of the alerter: deliveries, their attempts, the journal watermarks, channel status.

``alerts`` holds one row per alert per channel (unique on ``alert_key`` + ``channel``, so a
restarted alerter never sends the same thing twice) and ``alert_attempts`` every HTTP/SMTP
attempt with its outcome. ``alert_state`` keeps the id watermarks of the journal tables the
alerter follows; ``alert_channels`` the masked URL and last outcome per channel for the page.
``commands`` gains ``author`` so the journal shows who asked (dashboard, telegram:<chat id>).
"""

from __future__ import annotations

import sqlite3


def migrate_alerts(conn: sqlite3.Connection) -> None:
    """Create the alerter's tables and add ``commands.author``."""
    for statement in (
        """CREATE TABLE alerts (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            event_ts TEXT,
            kind TEXT NOT NULL,
            alert_key TEXT NOT NULL,
            channel TEXT NOT NULL,
            level TEXT NOT NULL,
            text TEXT NOT NULL,
            source TEXT NOT NULL DEFAULT 'journal',
            status TEXT NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            parts INTEGER NOT NULL DEFAULT 1,
            error TEXT NOT NULL DEFAULT '',
            finished_at TEXT
        )""",
        "CREATE UNIQUE INDEX alerts_key_channel ON alerts (alert_key, channel)",
        "CREATE INDEX alerts_status ON alerts (status)",
        """CREATE TABLE alert_attempts (
            id INTEGER PRIMARY KEY,
            alert_id INTEGER NOT NULL REFERENCES alerts (id) ON DELETE CASCADE,
            attempt INTEGER NOT NULL,
            part INTEGER NOT NULL,
            at TEXT NOT NULL,
            ok INTEGER NOT NULL,
            latency_ms REAL NOT NULL,
            error TEXT NOT NULL DEFAULT ''
        )""",
        "CREATE INDEX alert_attempts_alert ON alert_attempts (alert_id)",
        """CREATE TABLE alert_state (
            name TEXT PRIMARY KEY,
            value TEXT NOT NULL,
            updated_at TEXT NOT NULL
        ) WITHOUT ROWID""",
        """CREATE TABLE alert_channels (
            channel TEXT PRIMARY KEY,
            configured INTEGER NOT NULL,
            masked_url TEXT NOT NULL DEFAULT '',
            problem TEXT NOT NULL DEFAULT '',
            queued INTEGER NOT NULL DEFAULT 0,
            last_sent_at TEXT,
            last_error TEXT NOT NULL DEFAULT '',
            last_error_at TEXT,
            updated_at TEXT NOT NULL
        ) WITHOUT ROWID""",
        "ALTER TABLE commands ADD COLUMN author TEXT NOT NULL DEFAULT 'dashboard'",
    ):
        conn.execute(statement)
