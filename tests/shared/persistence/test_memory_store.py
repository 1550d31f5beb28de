"""The memory table: setups at entry, outcomes at close, only closed rows retrieved, scalers."""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from shared.domain.memory import MemoryOutcome, MemoryRow, MemorySetup, ScalerSnapshot
from shared.domain.models import Action, DecisionRecord, Side, Verdict
from shared.persistence import journal_store, memory_store
from shared.persistence.db import write_transaction
from tests.support import open_migrated_journal

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
VECTOR = (52.5, -1.25, 0.1, float("nan"), 3.0e-5, 1e6, 0.5, 0.0, -0.75, 1.5, 0.9, 0.011)


@pytest.fixture
def conn(tmp_path):
    connection = open_migrated_journal(tmp_path / "m.db")
    yield connection
    connection.close()


def setup(ts=T0, version=1, side=Side.LONG) -> MemorySetup:
    vector = tuple(float(v) for v in np.float32(VECTOR))
    return MemorySetup(ts, side, version, vector, ("open", "high", "trend_up"), "bullish", 0.8)


def decision(bracket_id: str) -> DecisionRecord:
    return DecisionRecord(T0, "MES", 5000.0, "{}", "{}", "[]", Action.BUY, 0.8, 0.05, 0.0,
                          0.85, Verdict.ENTER, None, ("x",), "bracket:long:1", bracket_id, {},
                          memory_json='{"allowed": true}')


def store(conn, bracket_id, row_setup=None, close=None):
    row = MemoryRow(bracket_id, row_setup or setup(), 2500)
    with write_transaction(conn):
        journal_store.insert_decisions(conn, [decision(bracket_id)], T0)
        memory_store.insert_memory_setup(conn, "MES", row, T0)
        if close is not None:
            memory_store.close_memory_setup(conn, bracket_id, close, T0)
    return row


def outcome(minutes: int, pnl: int = 1250) -> MemoryOutcome:
    return MemoryOutcome(pnl, pnl / 2500, "target", T0 + timedelta(minutes=minutes))


def same_vector(a, b) -> bool:
    return all((math.isnan(x) and math.isnan(y)) or x == y for x, y in zip(a, b, strict=True))


def test_a_setup_round_trips_float32_exact_and_links_its_decision(conn):
    store(conn, "B1", close=outcome(30))
    [row] = memory_store.closed_memory_rows(conn, 1)
    assert row.bracket_id == "B1" and row.risk_cents == 2500 and row.outcome == outcome(30)
    assert same_vector(row.setup.vector, setup().vector)
    assert row.setup.buckets == ("open", "high", "trend_up")
    assert (row.setup.llm_bias, row.setup.llm_confidence) == ("bullish", 0.8)
    linked = conn.execute("SELECT m.decision_id, d.bracket_id, d.memory_json FROM memory m "
                          "JOIN decisions d ON d.id = m.decision_id").fetchone()
    assert tuple(linked) == (1, "B1", '{"allowed": true}')


def test_only_closed_rows_are_retrieved_oldest_close_first(conn):
    store(conn, "late", close=outcome(90))
    store(conn, "open")
    store(conn, "early", close=outcome(10, -500))
    closed = memory_store.closed_memory_rows(conn, 1)
    assert [r.bracket_id for r in closed] == ["early", "late"]
    assert memory_store.closed_memory_rows(conn, 1, closed_before=T0 + timedelta(minutes=90)
                                           )[0].bracket_id == "early"
    assert memory_store.open_memory_setup(conn, "open").outcome is None
    assert memory_store.open_memory_setup(conn, "late") is None
    assert memory_store.memory_counts(conn, 1) == memory_store.MemoryCounts(2, 1, 0)


def test_rows_of_another_feature_schema_are_not_retrieved(conn):
    store(conn, "v1", close=outcome(5))
    store(conn, "v0", setup(version=0), close=outcome(6))
    assert [r.bracket_id for r in memory_store.closed_memory_rows(conn, 1)] == ["v1"]
    assert memory_store.memory_counts(conn, 1).other_schema == 1


def test_an_outcome_is_recorded_once(conn):
    store(conn, "B1", close=outcome(30))
    with write_transaction(conn):
        assert not memory_store.close_memory_setup(conn, "B1", outcome(40), T0)
    assert memory_store.closed_memory_rows(conn, 1)[0].outcome == outcome(30)


def test_decisions_keep_their_memory_verdict_and_old_rows_default_to_empty(conn):
    with write_transaction(conn):
        journal_store.insert_decisions(conn, [decision("B9")], T0)
        conn.execute("INSERT INTO decisions (ts, symbol, close, features_json, regime_json, "
                     "votes_json, signal_action, signal_confidence, memory_adjustment, "
                     "llm_adjustment, final_confidence, verdict, reasons_json, action_taken, "
                     "labels_json, recorded_at) VALUES ('t', 'MES', 1, '{}', '{}', '[]', "
                     "'hold', 0, 0, 0, 0, 'hold', '[]', 'none', '{}', 't')")
    rows = journal_store.recent_decisions(conn, 5)
    assert [r["memory_json"] for r in rows] == ["{}", '{"allowed": true}']


def test_the_latest_scaler_round_trips(conn):
    assert memory_store.latest_memory_scaler(conn, 1) is None
    first = ScalerSnapshot(1, ("a", "b"), 8, (1.5, -2.0), (0.25, 3.0), 4.75)
    second = ScalerSnapshot(1, ("a", "b"), 16, (1.0, -1.0), (0.5, 2.0), 4.5)
    with write_transaction(conn):
        memory_store.insert_memory_scaler(conn, first, T0, T0)
        memory_store.insert_memory_scaler(conn, second, T0, T0)
    assert memory_store.latest_memory_scaler(conn, 1) == second
    assert memory_store.has_memory_table(conn)
