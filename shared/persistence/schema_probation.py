"""Schema of rule probation: candidates that lacked out-of-sample power, gathering evidence.

``rule_probation`` keeps, per candidate the review mined but could not pass on its first gate,
the rule itself (kind, parameters, fingerprint, the proposal's evidence), the last day of its
mining window (``mined_until``: later evidence may only come from days after it), the
accumulated out-of-sample evidence (``evidence_json``: the days gated and the per-trade effects)
and how it ended (``status``: on_probation, passed, failed, expired, decided).
"""

from __future__ import annotations

import sqlite3


def probation_table(conn: sqlite3.Connection) -> None:
    """Create ``rule_probation``."""
    conn.execute(
        """CREATE TABLE rule_probation (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL,
            review_day TEXT NOT NULL,
            mined_until TEXT NOT NULL,
            kind TEXT NOT NULL,
            params_json TEXT NOT NULL,
            fingerprint TEXT NOT NULL,
            summary TEXT NOT NULL,
            proposal_json TEXT NOT NULL,
            evidence_json TEXT NOT NULL,
            reviews INTEGER NOT NULL DEFAULT 0,
            status TEXT NOT NULL DEFAULT 'on_probation',
            note TEXT NOT NULL DEFAULT '',
            rule_id INTEGER
        )""")
    conn.execute("CREATE INDEX rule_probation_status ON rule_probation (status, fingerprint)")
