"""Memory's calibration from the journal: Brier score of its predicted win probability (taken
trades and refused entries' shadows) against the base rate's; the shadow flag persisted."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.memory import MemoryOutcome, MemoryRow, MemorySetup, ShadowPlan
from shared.domain.models import Action, DecisionRecord, Side, Verdict
from shared.persistence import journal_store, memory_store
from shared.persistence.db import write_transaction
from shared.persistence.memory_calibration import memory_calibration, memory_size

pytestmark = pytest.mark.unit
T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
SETUP_VECTOR = tuple(float(i) for i in range(12))


def record(conn: sqlite3.Connection, minute: int, predicted: float | None, pnl_cents: int,
           shadow: bool) -> None:
    """A consulted decision (entered, or refused and followed as a shadow) and its outcome."""
    ts = T0 + timedelta(minutes=minute)
    bracket = f"MES-{ts:%Y%m%dT%H%M%S}"
    row_id = f"shadow:{bracket}" if shadow else bracket
    memory = {"allowed": not shadow, "weighted_win_rate": predicted}
    decision = DecisionRecord(ts, "MES", 5000.0, "{}", "{}", "[]", Action.BUY, 0.8, 0.0, 0.0,
                              0.8, Verdict.REJECT if shadow else Verdict.ENTER,
                              "memory" if shadow else None, ("x",), "none",
                              None if shadow else bracket, {}, memory_json=json.dumps(memory))
    setup = MemorySetup(ts, Side.LONG, 1, SETUP_VECTOR, ("open", "high", "trend_up"))
    outcome = MemoryOutcome(pnl_cents, pnl_cents / 2500, "target", ts + timedelta(minutes=9))
    with write_transaction(conn):
        journal_store.insert_decisions(conn, [decision], ts)
        plan = ShadowPlan(4990.0, 5020.0, 1) if shadow else None
        memory_store.insert_memory_setup(conn, "MES", MemoryRow(row_id, setup, 2500,
                                                                shadow_plan=plan), ts)
        memory_store.close_memory_setup(conn, row_id, outcome, ts)


def test_no_prediction_with_a_known_outcome_means_no_calibration(conn):
    assert memory_calibration(conn) is None
    assert memory_size(conn) == memory_size(conn).__class__(0, 0)
    record(conn, 0, None, 1250, shadow=False)  # consulted but nothing similar: no prediction
    assert memory_calibration(conn) is None


def test_brier_scores_of_memory_and_of_the_base_rate(conn):
    cases = [(0.9, 1250, False), (0.8, 900, False), (0.2, -1250, True), (0.6, -1250, False)]
    for minute, (predicted, pnl, shadow) in enumerate(cases):
        record(conn, minute * 10, predicted, pnl, shadow)
    calibration = memory_calibration(conn)
    assert (calibration.decisions, calibration.shadows, calibration.wins) == (4, 1, 2)
    # (0.1² + 0.2² + 0.2² + 0.6²) / 4 and the base rate 0.5: 0.25 each
    assert calibration.brier == pytest.approx((0.01 + 0.04 + 0.04 + 0.36) / 4)
    assert calibration.base_brier == pytest.approx(0.25) and calibration.base_rate == 0.5
    assert calibration.skill == pytest.approx(1 - 0.1125 / 0.25)
    assert calibration.meaning().startswith("Memory's win odds beat")
    assert memory_size(conn) == memory_size(conn).__class__(4, 1)


def test_uninformative_odds_say_so(conn):
    for minute, pnl in enumerate([1250, -1250, 1250, -1250]):
        record(conn, minute * 10, 0.9 if pnl < 0 else 0.1, pnl, shadow=False)
    calibration = memory_calibration(conn)
    assert calibration.brier > calibration.base_brier
    assert "no better than" in calibration.meaning()


def test_the_shadow_flag_round_trips_and_links_the_refusing_decision(conn):
    record(conn, 0, 0.3, -1250, shadow=True)
    record(conn, 10, 0.7, 1250, shadow=False)
    rows = memory_store.closed_memory_rows(conn, 1)
    assert [(r.bracket_id, r.shadow_plan) for r in rows] == [
        ("shadow:MES-20250304T150000", ShadowPlan(4990.0, 5020.0, 1)),
        ("MES-20250304T151000", None)]
    assert memory_store.open_shadow_setups(conn, "MES") == []
    linked = conn.execute("SELECT COUNT(*) FROM memory m JOIN decisions d ON d.id = "
                          "m.decision_id").fetchone()[0]
    assert linked == 2


def test_a_journal_from_before_the_flag_still_reads_as_taken_trades(conn):
    record(conn, 0, 0.7, 1250, shadow=False)
    for column in ("shadow", "shadow_stop_price", "shadow_target_price", "shadow_contracts"):
        conn.execute(f"ALTER TABLE memory DROP COLUMN {column}")
    [row] = memory_store.closed_memory_rows(conn, 1)
    assert not row.shadow and row.outcome.pnl_net_cents == 1250
    assert memory_size(conn).shadows == 0 and memory_calibration(conn).shadows == 0
