"""The decisions' bracket and LLM-call indexes are partial (no NULL rows) and still serve every
lookup: a HOLD's row adds nothing to them, a bracket's row is found through them."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

from shared.domain.models import Action, DecisionRecord, Verdict
from shared.persistence import journal_store
from shared.persistence.db import MIGRATIONS, connect, open_database, write_transaction
from shared.persistence.schema_decision_indexes import partial_decision_indexes

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)


def decision(minute: int, bracket_id: str | None = None, call_id: int | None = None
             ) -> DecisionRecord:
    verdict = Verdict.ENTER if bracket_id else Verdict.HOLD
    return DecisionRecord(T0 + timedelta(minutes=minute), "MES", 5000.25, "{}", "{}", "[]",
                          Action.BUY if bracket_id else Action.HOLD, 0.6, 0.0, 0.0, 0.6, verdict,
                          None, ("why",), "bracket:buy:1" if bracket_id else "none", bracket_id,
                          {"trend": f"t{minute}"}, llm_call_id=call_id)


def journal(conn: sqlite3.Connection) -> None:
    """50 HOLDs, one entry with a bracket and one HOLD under an LLM call."""
    records = [decision(m) for m in range(50)]
    records += [decision(50, "MES-1"), decision(51, call_id=7)]
    with write_transaction(conn):
        journal_store.insert_decisions(conn, records, T0)


def index_entries(conn: sqlite3.Connection, index: str) -> int:
    """How many rows are found through ``index`` alone (``INDEXED BY``: it must serve them)."""
    column = {"decisions_bracket": "bracket_id", "decisions_llm_call": "llm_call_id"}[index]
    return conn.execute(f"SELECT count(*) FROM decisions INDEXED BY {index} "
                        f"WHERE {column} IS NOT NULL").fetchone()[0]


def index_sql(conn: sqlite3.Connection, index: str) -> str:
    return conn.execute("SELECT sql FROM sqlite_master WHERE name = ?", (index,)).fetchone()[0]


def plan(conn: sqlite3.Connection, sql: str) -> str:
    return " ".join(row[3] for row in conn.execute(f"EXPLAIN QUERY PLAN {sql}", ("MES-1",)))


def test_the_indexes_hold_only_rows_that_have_a_bracket_or_a_call(conn: sqlite3.Connection
                                                                   ) -> None:
    journal(conn)
    assert conn.execute("SELECT count(*) FROM decisions").fetchone()[0] == 52
    assert index_sql(conn, "decisions_bracket").endswith("WHERE bracket_id IS NOT NULL")
    assert index_entries(conn, "decisions_bracket") == 1
    assert index_entries(conn, "decisions_llm_call") == 1
    assert journal_store.entry_labels(conn, "MES-1") == {"trend": "t50"}


def test_a_bracket_lookup_and_a_call_join_still_use_the_indexes(conn: sqlite3.Connection
                                                                 ) -> None:
    lookup = "SELECT labels_json FROM decisions WHERE bracket_id = ? ORDER BY id LIMIT 1"
    assert "USING INDEX decisions_bracket" in plan(conn, lookup)
    join = ("SELECT c.id FROM llm_calls c WHERE ? IS NOT NULL AND EXISTS "
            "(SELECT 1 FROM decisions d WHERE d.llm_call_id = c.id)")
    assert "decisions_llm_call" in plan(conn, join)


def test_a_journal_with_the_full_indexes_migrates_and_keeps_its_rows(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    old = connect(path)
    step = MIGRATIONS.index(partial_decision_indexes)
    for number, migration in enumerate(MIGRATIONS[:step]):
        with write_transaction(old):
            migration(old)
            old.execute(f"PRAGMA user_version = {number + 1}")
    journal(old)
    assert "WHERE" not in index_sql(old, "decisions_bracket")  # the full index, NULLs included
    old.close()
    conn = open_database(path)
    try:
        assert index_entries(conn, "decisions_bracket") == 1
        assert index_entries(conn, "decisions_llm_call") == 1
        assert journal_store.entry_labels(conn, "MES-1") == {"trend": "t50"}
    finally:
        conn.close()
