"""The nightly review over eight seeded trading days (mined on the first five, gated on the last
three): evidence that matches the journal's mining window, and approval that changes the next
decisions (rejection does not)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.rule_book import approved_book
from bot.alerts.follower import JournalFollower
from bot.backtest.engine_run import run_engine, session_clock
from bot.core.engine import LEARNED_RULE
from bot.learning.review import review_day
from shared.config.settings import AlertsConfig
from shared.domain.alerts import AlertKind
from shared.domain.models import Verdict
from shared.domain.rules import RuleKind, RuleStatus
from shared.persistence import rules_store
from shared.persistence.codec import to_text
from shared.persistence.db import open_database, write_transaction
from tests.bot.learning.journal import (
    REVIEWED_DAY,
    engine_data,
    multi_day_bars,
    multi_day_settings,
    seed_journal,
)

DAY = REVIEWED_DAY
journal_settings = multi_day_settings

WALL = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def seeded(tmp_path_factory) -> tuple[Path, list]:
    db = tmp_path_factory.mktemp("review") / "trader.db"
    bars = multi_day_bars()
    assert seed_journal(db, journal_settings(), bars) > 100
    return db, bars


@pytest.fixture(scope="module")
def reviewed_once(seeded, tmp_path_factory) -> tuple[Path, object, list]:
    """The seeded day reviewed once; each test gets its own copy of the reviewed database."""
    source, bars = seeded
    db = tmp_path_factory.mktemp("reviewed") / "trader.db"
    db.write_bytes(source.read_bytes())
    conn = open_database(db)
    report = review_day(conn, journal_settings(), date.fromisoformat(DAY), session_clock(),
                        lambda: WALL)
    conn.close()
    return db, report, bars


@pytest.fixture
def reviewed(reviewed_once, tmp_path):
    source, report, bars = reviewed_once
    db = tmp_path / "trader.db"
    db.write_bytes(source.read_bytes())
    conn = open_database(db)
    yield conn, report, bars
    conn.close()


def _mining_window():
    """The sessions of the five mined days: 2025-03-03 .. 2025-03-07 (the gate: 10 .. 12)."""
    clock = session_clock()
    return (clock.session_bounds(date(2025, 3, 3))[0], clock.session_bounds(date(2025, 3, 10))[0])


LABELS = ("trend", "volatility", "time_bucket")


def _trades_in(conn, bucket):
    """The mined trades of a lock's bucket (its side and every label it names)."""
    since, until = _mining_window()
    named = [name for name in LABELS if bucket[name] is not None]
    where = "".join(f" AND {name} = ?" for name in named)
    return conn.execute(
        "SELECT id, bracket_id, pnl_net_cents FROM trades WHERE side = ? AND trend IS NOT NULL "
        f"AND volatility IS NOT NULL{where} AND exit_ts >= ? AND exit_ts < ? "
        "ORDER BY exit_ts, id",
        (bucket["side"], *(bucket[name] for name in named), to_text(since),
         to_text(until))).fetchall()


def _in_bucket(decision, bucket) -> bool:
    """An entry decision on the bucket's side with every label the bucket names."""
    return (decision.verdict is Verdict.ENTER
            and decision.action_taken.startswith(f"bracket:{bucket['side']}:")
            and all(decision.labels[name] == bucket[name] for name in LABELS
                    if bucket[name] is not None))


def test_a_lock_proposal_carries_evidence_that_matches_the_journal(reviewed):
    conn, report, _ = reviewed
    locks = [r for r in rules_store.rules(conn) if r.kind == RuleKind.LOCK_BUCKET.value]
    assert locks and len(report.proposed) == len(rules_store.rules(conn))
    kinds = {"trend" if json.loads(r.params_json)["bucket"]["trend"] else "time_bucket"
             for r in locks}
    assert kinds == {"trend", "time_bucket"}  # both keyings are mined
    for lock in locks:
        bucket = lock.evidence
        params = json.loads(lock.params_json)["bucket"]
        rows = _trades_in(conn, params)
        assert bucket["trade_ids"] == [r["id"] for r in rows]
        assert bucket["bracket_ids"] == [r["bracket_id"] for r in rows]
        assert bucket["trades"] == len(rows)
        assert bucket["losses"] == sum(1 for r in rows if r["pnl_net_cents"] < 0)
        assert bucket["losses"] >= journal_settings().learning.min_losses
        assert bucket["net_pnl_cents"] == sum(r["pnl_net_cents"] for r in rows) < 0
        assert lock.status is RuleStatus.PROPOSED and lock.decided_by == ""
        assert lock.backtest["without"]["trades"] > 0 and "improvement_cents" in lock.backtest
        assert lock.expires_at == WALL + timedelta(days=journal_settings().learning.rule_ttl_days)


def test_a_second_review_of_the_same_day_proposes_nothing_twice(reviewed):
    conn, report, _ = reviewed
    again = review_day(conn, journal_settings(), date.fromisoformat(DAY), session_clock(),
                       lambda: WALL)
    assert again.proposed == [] and len(again.skipped) == len(report.proposed)
    runs = rules_store.review_runs(conn)
    assert [r.status for r in runs] == ["done", "done"]


def _decisions(conn, bars):
    book, problems = approved_book(conn, WALL)
    assert problems == []
    outcome = run_engine(journal_settings(), engine_data(bars), rules=book, keep_decisions=True)
    return book, list(outcome.decisions)


def test_approving_a_lock_refuses_the_next_matching_setup(reviewed):
    conn, _, bars = reviewed
    lock = next(r for r in rules_store.rules(conn) if r.kind == RuleKind.LOCK_BUCKET.value)
    params = json.loads(lock.params_json)["bucket"]
    _, before = _decisions(conn, bars)
    first = next(d for d in before if _in_bucket(d, params))
    with write_transaction(conn):
        rules_store.decide_rule(conn, lock.id, RuleStatus.APPROVED, "dashboard", "", WALL,
                                expected_version=lock.version)
    book, after = _decisions(conn, bars)
    assert [r.rule_id for r in book.rules] == [lock.id]
    same_bar = next(d for d in after if d.ts == first.ts)
    assert same_bar.verdict is Verdict.REJECT and same_bar.risk_rule == LEARNED_RULE
    assert any(f"rule #{lock.id}" in reason for reason in same_bar.reasons)
    assert not any(_in_bucket(d, params) for d in after)
    assert [e.status for e in rules_store.rule_history(conn, lock.id)] == [
        RuleStatus.PROPOSED, RuleStatus.APPROVED]
    assert rules_store.in_force_since(conn, lock.id) == WALL


def test_rejecting_a_proposal_changes_no_decision(reviewed):
    conn, _, bars = reviewed
    _, before = _decisions(conn, bars)
    for proposal in rules_store.rules(conn, (RuleStatus.PROPOSED,)):
        with write_transaction(conn):
            rules_store.decide_rule(conn, proposal.id, RuleStatus.REJECTED, "dashboard", "",
                                    WALL)
    book, after = _decisions(conn, bars)
    assert book.rules == () and after == before


def test_a_stale_or_impossible_decision_is_refused_with_a_reason(reviewed):
    conn, _, _ = reviewed
    first = rules_store.rules(conn)[-1]
    with write_transaction(conn):
        rules_store.decide_rule(conn, first.id, RuleStatus.APPROVED, "dashboard", "", WALL)
    with pytest.raises(rules_store.RuleDecisionError, match="changed meanwhile"), \
            write_transaction(conn):
        rules_store.decide_rule(conn, first.id, RuleStatus.REJECTED, "dashboard", "", WALL,
                                expected_version=first.version)
    later = first.expires_at + timedelta(seconds=1)
    with write_transaction(conn):
        assert first.id in rules_store.expire_due_rules(conn, later, "review")
    with pytest.raises(rules_store.RuleDecisionError, match="cannot become"), \
            write_transaction(conn):
        rules_store.decide_rule(conn, first.id, RuleStatus.APPROVED, "dashboard", "", later)


def test_auto_apply_approves_only_what_passed_out_of_sample(seeded, tmp_path):
    source, _ = seeded
    db = tmp_path / "auto.db"
    db.write_bytes(source.read_bytes())
    conn = open_database(db)
    # a lax false discovery rate so that some rules pass: each one that improved on the gate
    # days with q <= 0.9 is approved, every other stays proposed (no probation: its first gate
    # spends all of alpha)
    settings = journal_settings({"learning": {"auto_apply": True, "gate_alpha": 0.9,
                                              "probation_reviews": 0}})
    report = review_day(conn, settings, date.fromisoformat(DAY), session_clock(), lambda: WALL)
    statuses = set()
    for item in report.proposed:
        stored = rules_store.rule(conn, item["rule_id"])
        assert stored is not None
        test = stored.backtest
        assert test["alpha"] == pytest.approx(0.9)
        passed = test["improvement_cents"] > 0 and test["q_value"] <= 0.9
        assert stored.improved is passed is test["passed"] is item["passed_out_of_sample"]
        assert stored.evidence["out_of_sample"]["passed"] is passed
        if passed:
            assert stored.status is RuleStatus.APPROVED and stored.decided_by == "auto"
            assert test["with"]["net_pnl_cents"] > test["without"]["net_pnl_cents"]
        else:
            assert stored.status is RuleStatus.PROPOSED
        statuses.add(stored.status)
    assert statuses == {RuleStatus.APPROVED, RuleStatus.PROPOSED}
    conn.close()


def test_a_review_that_proposed_rules_becomes_one_rules_proposed_alert(reviewed):
    conn, report, _ = reviewed
    follower = JournalFollower(conn, lambda: WALL + timedelta(minutes=1))
    alerts, _ = follower.poll(AlertsConfig())  # watermarks 0: every journaled event
    told = [a for a in alerts if a.kind == AlertKind.RULES_PROPOSED]
    assert len(told) == 1 and report.proposed
    assert told[0].headline.startswith(
        f"Rules proposed: {len(report.proposed)} rule(s) await approval from the review of "
        f"{DAY}: #{report.proposed[0]['rule_id']} {report.proposed[0]['summary']}")
    again = review_day(conn, journal_settings(), date.fromisoformat(DAY), session_clock(),
                       lambda: WALL)
    assert again.proposed == []
    alerts, _ = JournalFollower(conn, lambda: WALL).poll(AlertsConfig())
    assert len([a for a in alerts if a.kind == AlertKind.RULES_PROPOSED]) == 1  # no new one
