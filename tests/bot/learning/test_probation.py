"""Probation's bookkeeping: evidence only from days after the mining window and after what it
already holds, never a day twice; the alpha split; the final test over the pooled days."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.learning.gate import GateResult
from bot.learning.oos_stats import TradeEffects
from bot.learning.probation import (
    acted_on,
    evidence_of,
    final_test,
    final_test_alpha,
    first_gate_alpha,
    merged,
    new_days,
)
from shared.config.settings import settings_from_mapping
from shared.persistence import probation_store
from shared.persistence.db import write_transaction
from shared.persistence.probation_store import NewProbation, ProbationRow
from tests.support import open_migrated_journal

pytestmark = pytest.mark.unit

AT = datetime(2026, 12, 7, 22, tzinfo=UTC)


def _row(evidence_days: list[str], mined_until: str = "2025-03-24",
         evidence: dict | None = None) -> ProbationRow:
    evidence = evidence or {"days": evidence_days, "bars": 0, "removed_cents": [],
                            "added_cents": [], "changed_cents": [], "without_pnls_cents": []}
    return ProbationRow(1, AT, AT, "2025-03-31", mined_until, "lock_bucket", "{}", "f" * 16,
                        "Lock long in high/open", {}, evidence, 1, "on_probation", "", None)


def _days(*numbers: int) -> list[date]:
    return [date(2025, 3, n) if n < 32 else date(2025, 4, n - 31) for n in numbers]


def test_new_days_are_after_the_evidence_and_the_mining_window():
    row = _row(["2025-03-25", "2025-03-26", "2025-03-27", "2025-03-28", "2025-03-31"])
    trading = _days(20, 21, 24, 25, 26, 27, 28, 31, 32, 33)
    assert new_days(trading, row) == _days(32, 33)
    # a row whose evidence is empty still never takes a mined day
    assert new_days(trading, _row([])) == _days(25, 26, 27, 28, 31, 32, 33)
    assert new_days(_days(20, 21, 24), _row([])) == []


def test_evidence_accumulates_and_refuses_a_day_twice():
    first = GateResult({"bars": 100}, False, 0.3, TradeEffects((-50, -40), (), ()),
                       (-50, -40, 30, 20))
    more = GateResult({"bars": 20}, False, 0.5, TradeEffects((-60,), (10,), (5,)), (-60, 8))
    evidence = merged(evidence_of(first, ["2025-03-25"]), evidence_of(more, ["2025-03-26"]))
    assert evidence == {"days": ["2025-03-25", "2025-03-26"], "bars": 120,
                        "removed_cents": [-50, -40, -60], "added_cents": [10],
                        "changed_cents": [5], "refused_cents": [-50, -40, -60],
                        "without_pnls_cents": [-50, -40, 30, 20, -60, 8]}
    assert acted_on(evidence) == 4  # the added trade is no evidence
    with pytest.raises(ValueError, match="already in the probation"):
        merged(evidence, evidence_of(more, ["2025-03-26"]))


def test_first_gate_and_final_test_share_alpha():
    on = settings_from_mapping({"learning": {"gate_alpha": 0.1}}).learning
    off = settings_from_mapping({"learning": {"gate_alpha": 0.1,
                                              "probation_reviews": 0}}).learning
    assert first_gate_alpha(on) + final_test_alpha(on) == pytest.approx(0.1)
    assert first_gate_alpha(off) == pytest.approx(0.1)


def test_the_final_test_pools_the_days():
    learning = settings_from_mapping({"learning": {"gate_permutations": 2000}}).learning
    pool = [(-1) ** i * (100 + 7 * i) for i in range(60)]
    worst = sorted(pool)[:10]
    evidence = {"days": ["2025-03-25", "2025-03-26"], "bars": 2760, "removed_cents": worst,
                "added_cents": [], "changed_cents": [], "without_pnls_cents": pool}
    test = final_test(_row(evidence["days"], evidence=evidence), evidence, learning, seed=3)
    doc = test.document
    assert doc["improvement_cents"] == -sum(worst) > 0 and doc["improved"]
    assert doc["without"] == {"trades": 60, "net_pnl_cents": sum(pool)}
    assert doc["with"]["net_pnl_cents"] == sum(pool) - sum(worst)
    assert test.p_value < 0.01 and doc["probation"]["reviews"] == 2
    ordinary = pool[:10:2] + pool[1:10:2]
    plain = dict(evidence, removed_cents=ordinary)
    assert final_test(_row([], evidence=plain), plain, learning, seed=3).p_value > 0.2


def test_the_store_keeps_one_open_probation_and_ends_it_once(tmp_path):
    conn = open_migrated_journal(tmp_path / "trader.db")
    evidence = {"days": ["2025-03-25"], "bars": 0, "removed_cents": [], "added_cents": [],
                "changed_cents": [], "without_pnls_cents": []}
    with write_transaction(conn):
        new_id = probation_store.insert_probation(conn, NewProbation(
            "2025-03-31", "2025-03-24", "lock_bucket", "{}", "abc", "Lock x", {}, evidence),
            AT)
    assert probation_store.on_probation_with(conn, "abc").id == new_id
    with write_transaction(conn):
        probation_store.add_evidence(conn, new_id, evidence | {"bars": 5}, AT)
        probation_store.end_probation(conn, new_id, "failed", "p=0.4", AT)
        probation_store.end_probation(conn, new_id, "passed", "again", AT, 7)  # already ended
    (row,) = probation_store.probations(conn)
    assert (row.status, row.note, row.reviews, row.evidence["bars"]) == ("failed", "p=0.4", 2, 5)
    assert probation_store.on_probation(conn) == []
    conn.close()
