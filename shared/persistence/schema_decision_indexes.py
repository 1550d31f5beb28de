"""Schema step: the decisions' bracket and LLM-call indexes hold only the rows that have one.

Nearly every decision row (a HOLD) has neither a bracket nor an LLM call in force; indexing
their NULLs cost each bar's journal transaction two more index pages written to the WAL. Every
query on these columns compares them with ``=`` (a lookup or a join), which SQLite answers from a
partial index ``WHERE column IS NOT NULL`` as from the full one.
"""

from __future__ import annotations

import sqlite3


def partial_decision_indexes(conn: sqlite3.Connection) -> None:
    """Rebuild ``decisions_bracket`` and ``decisions_llm_call`` without the NULL rows."""
    for index, column in (("decisions_bracket", "bracket_id"),
                          ("decisions_llm_call", "llm_call_id")):
        conn.execute(f"DROP INDEX IF EXISTS {index}")
        conn.execute(f"CREATE INDEX {index} ON decisions ({column}) WHERE {column} IS NOT NULL")
