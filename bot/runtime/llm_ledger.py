"""The live bot's calibration ledger: its answered calls scored from the journaled bars.

Incremental, so the loop pays only for calls it has not scored yet: new ``ok`` calls are read
by id, and a call whose horizon is not journaled yet waits (for ``PENDING_DAYS`` at most). The
scoring is ``shared.domain.calibration``'s, the same the backtests and the LLM page use.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from functools import partial

from shared.domain.calibration import AnsweredCall, ScoredCall, score_calls, skill_before
from shared.persistence import calibration_store

PENDING_DAYS = 2


class JournalLedger:
    """Scored calls of one journal, refreshed before a skill is read."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.scored: list[ScoredCall] = []
        self._pending: list[AnsweredCall] = []
        self._last_id = 0

    def refresh(self, now: datetime) -> None:
        """Read new answered calls and score every one whose horizon is journaled by now."""
        new = calibration_store.answered_calls(self.conn, self._last_id)
        if new:
            self._last_id = new[-1].call_id
        close_at = partial(calibration_store.close_at, self.conn)
        waiting = []
        for call in (*self._pending, *new):
            scored, _ = score_calls([call], close_at)
            if scored:
                self.scored.extend(scored)
            elif call.created_at >= now - timedelta(days=PENDING_DAYS):
                waiting.append(call)
        self._pending = waiting

    def skill_at(self, now: datetime, min_calls: int) -> float:
        """The measured skill from calls whose horizon ended by ``now`` (engine time)."""
        self.refresh(now)
        return skill_before(self.scored, now, min_calls)
