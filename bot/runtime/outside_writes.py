"""Skip the live loop's polls of what only other processes write, while nothing was written.

Commands, config versions, learned rules and scored news reach the bot from other connections
(the dashboard, the CLI, the review and news workers). SQLite's ``data_version`` moves whenever
another connection commits, so one cheap pragma per pass tells whether those tables can have
changed; each reader asks for itself and polls its table only when the answer is yes (and on
its first pass). The bot's own writes (the journal) do not move it. A reader that runs right
after another one may reuse that reader's probe (``fresh=False``): one pragma a bar, not two.
"""

from __future__ import annotations

import sqlite3

from shared.persistence.change_probe import data_version


class OutsideWrites:
    """Answers, per reader, whether another connection committed since that reader last asked."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._seen: dict[str, int] = {}
        self._probed: int | None = None  # the version the last probe read

    def since_last(self, reader: str, fresh: bool = True) -> bool:
        """True on a reader's first call and whenever another connection committed since.

        ``fresh`` False answers from the last probe (any reader's) instead of probing again:
        a commit after that probe is then seen on this reader's next call.
        """
        version = self._probed
        if fresh or version is None:
            version = self._probed = data_version(self._conn)
        changed = self._seen.get(reader) != version
        self._seen[reader] = version
        return changed
