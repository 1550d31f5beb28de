"""The Memory page with AppTest: rules to decide (approve writes a new version in force),
win rate by bucket, lessons, the memory verdict panel, and an export started from the page."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

from shared.domain.rules import RuleStatus
from shared.persistence import rules_store, trade_log_store
from shared.persistence.db import connect, open_database, write_transaction
from tests.integration.botproc import wait_for
from tests.pages import apptest
from tests.pages.conftest import shown


def open_memory_page() -> AppTest:
    return apptest.open_page("app_pages/memory.py")


def propose(db: Path, summary: str = "Lock long in range/high: test") -> int:
    conn = open_database(db)
    now = datetime.now(UTC)
    new = rules_store.NewRule(
        review_day="2025-03-03", kind="lock_bucket",
        params_json=json.dumps({"bucket": {"side": "long", "trend": "range",
                                           "volatility": "high", "time_bucket": None}}),
        fingerprint=summary, summary=summary, evidence={"trades": 3, "trade_ids": [1, 2, 3]},
        backtest={"days": ["2025-03-03"], "bars": 10, "without": {"trades": 3,
                  "net_pnl_cents": -500}, "with": {"trades": 1, "net_pnl_cents": -100},
                  "improvement_cents": 400, "improved": True},
        improved=True, expires_at=now + timedelta(days=3))
    with write_transaction(conn):
        rule_id = rules_store.insert_rule(conn, new, "review", now)
        rules_store.insert_lesson(conn, "2025-03-03", "Range longs kept failing.", None, now)
    conn.close()
    return rule_id


def test_approving_a_rule_puts_it_in_force_with_its_author(app_env):
    rule_id = propose(app_env["db"])
    app = open_memory_page()
    assert not app.exception
    assert any(f"#{rule_id} · proposed" in shown(m.value) for m in app.markdown)
    assert any(t.value == "Range longs kept failing." for t in app.text)
    app = next(b for b in app.button if b.label == f"Approve #{rule_id}").click().run()
    assert not app.exception
    assert any(f"Rule #{rule_id} approved" in shown(s.value) for s in app.success)
    assert any(f"#{rule_id} · approved" in shown(m.value) for m in app.markdown)
    assert any("In force since" in c.value for c in app.caption)
    conn = connect(app_env["db"], readonly=True)
    stored = rules_store.rule(conn, rule_id)
    history = rules_store.rule_history(conn, rule_id)
    conn.close()
    assert stored.status is RuleStatus.APPROVED and stored.decided_by == "dashboard"
    assert [(e.status, e.author) for e in history] == [
        (RuleStatus.PROPOSED, "review"), (RuleStatus.APPROVED, "dashboard")]


def test_a_proposal_shows_its_out_of_sample_evidence_beside_the_in_sample_one(app_env):
    conn = open_database(app_env["db"])
    now = datetime.now(UTC)
    gate = {"days": ["2025-03-10", "2025-03-11"], "bars": 2000,
            "without": {"trades": 40, "net_pnl_cents": -1000},
            "with": {"trades": 31, "net_pnl_cents": -1400}, "improvement_cents": -400,
            "improved": False, "p_value": 0.61, "q_value": 0.8, "passed": False}
    new = rules_store.NewRule(
        review_day="2025-03-11", kind="lock_bucket",
        params_json=json.dumps({"bucket": {"side": "short", "trend": "range",
                                           "volatility": "low", "time_bucket": None}}),
        fingerprint="oos", summary="Lock short in range/low: oos", evidence={
            "trades": 22, "in_sample": {"days": ["2025-03-03", "2025-03-07"], "trades": 22,
                                        "net_pnl_cents": -2945,
                                        "estimated_improvement_cents": 2945},
            "out_of_sample": {"days": gate["days"], "trades_without": 40,
                              "improvement_cents": -400, "effect_ci_cents": [-1500, 700],
                              "p_value": 0.61, "q_value": 0.8, "passed": False}},
        backtest=gate, improved=False, expires_at=now + timedelta(days=3))
    with write_transaction(conn):
        rules_store.insert_rule(conn, new, "review", now)
    conn.close()
    app = open_memory_page()
    assert not app.exception
    frame = next(d.value for d in app.dataframe if "sample" in d.value.columns)
    assert list(frame["sample"]) == ["in sample (mined)", "out of sample (gate)"]
    assert list(frame["effect $"]) == ["+$29.45", "-$4.00"]
    assert frame["verdict"].iloc[1] == "not passed"
    assert frame["95% interval"].iloc[1] == "[-$15.00, +$7.00]"
    assert any("q=0.800 (did not pass out of sample)" in shown(c.value) for c in app.caption)


def test_a_decision_on_a_stale_view_is_refused(app_env):
    rule_id = propose(app_env["db"])
    app = open_memory_page()
    conn = open_database(app_env["db"])
    with write_transaction(conn):
        rules_store.decide_rule(conn, rule_id, RuleStatus.REJECTED, "someone", "",
                                datetime.now(UTC))
    conn.close()
    app = next(b for b in app.button if b.label == f"Approve #{rule_id}").click().run()
    assert any("changed meanwhile" in shown(e.value) for e in app.error)


def test_buckets_and_the_memory_panel(app_env):
    app = open_memory_page()
    frames = [d.value for d in app.dataframe]
    buckets = next(f for f in frames if "win rate" in f.columns)
    conn = connect(app_env["db"], readonly=True)
    total = conn.execute("SELECT COUNT(*) FROM trades").fetchone()[0]
    conn.close()
    assert buckets["trades"].sum() == total
    assert any("No memory verdict yet" in i.value for i in app.info)
    closed = conn_count(app_env["db"], "SELECT COUNT(*) FROM memory WHERE closed_ts IS NOT NULL")
    state = next(m.value for m in app.markdown if m.value.startswith("Memory is off"))
    assert f"memory holds {closed} closed setups, 0 of them refused entries' shadows" in state
    assert "it refuses nothing" in state  # the default: memory.enabled false
    assert any(m.value.startswith("Calibration: no decision memory judged") for m in app.markdown)


def conn_count(db: Path, sql: str) -> int:
    conn = connect(db, readonly=True)
    try:
        return conn.execute(sql).fetchone()[0]
    finally:
        conn.close()


VERDICT = {"allowed": False, "adjustment": -0.05, "reason": "memory: 2 similar setups won 0%",
           "stored_setups": 9, "neighbours_count": 2, "effective_count": 1.8,
           "weighted_win_rate": 0.0, "cold_start": False, "fallback": False,
           "neighbours": [{"bracket_id": "MES-20250303T150000", "distance": 0.21, "weight": 0.7,
                           "pnl_net_cents": -1250, "r_multiple": -1.0, "exit_reason": "stop",
                           "decision_ts": "2025-03-03T15:00:00+00:00",
                           "close_ts": "2025-03-03T15:09:00+00:00"}]}


def test_the_latest_memory_verdict_shows_its_similar_setups(app_env):
    # decisions.memory_json is the memory feature's column (schema_memory), in its format.
    conn = open_database(app_env["db"])
    with write_transaction(conn):
        # an entry whose trade closed: its outcome scores memory's prediction (calibration)
        last = conn.execute("SELECT MAX(decision_id) FROM memory WHERE closed_ts IS NOT NULL"
                            ).fetchone()[0]
        conn.execute("UPDATE decisions SET memory_json = ? WHERE id = ?",
                     (json.dumps(VERDICT), last))
    conn.close()
    app = open_memory_page()
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Guard"] == "refused" and metrics["Similar setups"] == "2"
    brier = next(m.value for m in app.markdown if m.value.startswith("Brier score"))
    assert brier.endswith("over 1 decisions (0 refused, judged by their shadow)")
    neighbours = next(d.value for d in app.dataframe if "distance" in d.value.columns)
    assert neighbours.iloc[0]["distance"] == 0.21 and neighbours.iloc[0]["net $"] == -12.5
    assert neighbours.iloc[0]["date"] == "2025-03-03T15:00:00"


def test_an_export_started_on_the_page_finishes_with_its_files(app_env):
    app = open_memory_page()
    app.date_input[0].set_value(datetime(2025, 3, 1).date())
    app = next(b for b in app.button if b.label == "Export training data").click().run()
    assert any("Export started" in s.value for s in app.success)

    def finished():
        conn = connect(app_env["db"], readonly=True)
        try:
            runs = trade_log_store.export_runs(conn)
        finally:
            conn.close()
        return runs and runs[0].status != "running" and runs[0]

    run = wait_for(finished, 60, "the export job")
    assert run.status == "done", run.message
    # the paper run had no LLM: no training file, and the run says why (not an empty file)
    assert run.result["llm_calls"] == 0 and run.result["training_file"] is None
    assert "no LLM market call was logged" in run.message
    assert Path(run.result["audit_file"]).read_text().count("\n") == run.result["trades"]
