"""Skip the live loop's polls of what only other processes write, while nothing was written.

Commands, config versions, learned rules and scored news reach the bot from other connections
(the dashboard, the CLI, the review and news workers). SQLite's ``data_version`` moves whenever
another connection commits, so one cheap pragma per pass tells whether those tables can have
changed; each reader asks for itself and polls its table only when the answer is yes (and on
its first pass). The bot's own writes (the journal) do not move it.
"""

from __future__ import annotations

import sqlite3

from shared.persistence.change_probe import data_version


class OutsideWrites:
    """Answers, per reader, whether another connection committed since that reader last asked."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._seen: dict[str, int] = {}

    def since_last(self, reader: str) -> bool:
        """True on a reader's first call and whenever another connection committed since."""
        version = data_version(self._conn)
        changed = self._seen.get(reader) != version
        self._seen[reader] = version
        return changed
