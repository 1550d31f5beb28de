"""Is memory's win probability worth anything? Its Brier score against the base rate's.

Each consulted decision journals memory's weighted win rate of similar setups
(``decisions.memory_json``): a predicted probability that the entry wins. The outcome is known
once the setup closed, a taken trade or a refused entry's shadow (``memory.shadow``), both
linked to the decision by ``memory.decision_id``. The Brier score is the mean of
(prediction - outcome)²; the base rate's is that of always predicting the overall win rate of
the same outcomes (which even knows the final average). Lower is better; memory is informative
only when its score is below the base rate's. Read-only queries.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Calibration:
    """Memory's Brier score over the decisions it predicted whose outcome is known."""

    decisions: int
    shadows: int  # of those, refused entries judged by their shadow outcome
    wins: int
    brier: float
    base_brier: float

    @property
    def base_rate(self) -> float:
        """The share of those outcomes that won."""
        return self.wins / self.decisions

    @property
    def skill(self) -> float | None:
        """1 - Brier / base rate's Brier: above 0 memory beats the base rate (None: no spread)."""
        return None if self.base_brier == 0 else 1.0 - self.brier / self.base_brier

    def meaning(self) -> str:
        """One line saying what the numbers mean."""
        if self.skill is None:
            return "Every outcome was the same: no base rate to beat yet."
        if self.brier < self.base_brier:
            return ("Memory's win odds beat always guessing the overall win rate "
                    f"(skill {self.skill:+.1%}).")
        return ("Memory's win odds are no better than always guessing the overall win rate "
                f"(skill {self.skill:+.1%}): its win rate carries no information yet.")


@dataclass(frozen=True, slots=True)
class MemorySize:
    """Closed setups stored (all feature schemas), and how many are refused entries' shadows."""

    closed: int
    shadows: int


def _has_shadow_column(conn: sqlite3.Connection) -> bool:
    columns = conn.execute("PRAGMA table_info(memory)").fetchall()
    return any(c[1] == "shadow" for c in columns)


def _has_memory(conn: sqlite3.Connection) -> bool:
    row = conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE type = 'table' AND name = "
                       "'memory'").fetchone()
    return bool(row[0])


def memory_size(conn: sqlite3.Connection) -> MemorySize | None:
    """Closed setups and shadow ones (None: this database has no memory table yet)."""
    if not _has_memory(conn):
        return None
    shadow = "shadow" if _has_shadow_column(conn) else "0"
    row = conn.execute(
        f"SELECT COALESCE(SUM(closed_ts IS NOT NULL), 0), "
        f"COALESCE(SUM(closed_ts IS NOT NULL AND {shadow} = 1), 0) FROM memory"
    ).fetchone()
    return MemorySize(int(row[0]), int(row[1]))


def memory_calibration(conn: sqlite3.Connection) -> Calibration | None:
    """The Brier scores (None: no consulted decision with a known outcome yet)."""
    if not _has_memory(conn):
        return None
    shadow = "m.shadow" if _has_shadow_column(conn) else "0"
    rows = conn.execute(
        f"SELECT d.memory_json, m.pnl_net_cents, {shadow} FROM memory m "
        "JOIN decisions d ON d.id = m.decision_id "
        "WHERE m.closed_ts IS NOT NULL AND d.memory_json != '{}'"
    ).fetchall()
    pairs = []
    for memory_json, pnl_net_cents, is_shadow in rows:
        predicted = json.loads(memory_json).get("weighted_win_rate")
        if predicted is not None:
            pairs.append((float(predicted), 1.0 if pnl_net_cents > 0 else 0.0, bool(is_shadow)))
    if not pairs:
        return None
    count = len(pairs)
    wins = sum(int(won) for _, won, _ in pairs)
    rate = wins / count
    brier = sum((p - won) ** 2 for p, won, _ in pairs) / count
    base = sum((rate - won) ** 2 for _, won, _ in pairs) / count
    return Calibration(count, sum(s for *_, s in pairs), wins, brier, base)
