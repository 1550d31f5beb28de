"""The expected-value verdict on hand-made setups, and shadows learned only once closed.

The reference values are computed here from the definitions: weights w = exp(-d²/2h²), mean R
= Σw·R/Σw, spread² = Σw·(R - mean)²/Σw shrunk toward 1 R² as if two such trades were seen,
Kish n = (Σw)²/Σw², bound = mean - z·spread/√n.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.core.llm_attribution import ShadowExit
from bot.core.memory import FEATURE_NAMES, FEATURE_SCHEMA_VERSION, MemoryIndex
from bot.core.memory_book import MemoryBook
from bot.core.memory_guard import Evidence, judge
from bot.core.memory_value import lower_bound_r
from shared.config.settings import MemoryConfig
from shared.domain.instruments import get_instrument
from shared.domain.memory import MemoryOutcome, MemoryRow, MemorySetup
from shared.domain.models import OrderPlan, OrderType, Side

pytestmark = pytest.mark.unit
T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
DIMS = len(FEATURE_NAMES)
BUCKETS = ("open", "normal", "range")


def setup_at(ts: datetime, offset: float = 0.0) -> MemorySetup:
    vector = tuple(float(v) for v in np.float32(np.full(DIMS, offset)))
    return MemorySetup(ts, Side.LONG, FEATURE_SCHEMA_VERSION, vector, BUCKETS)


def row(r_multiple: float, minute: int, name: str) -> MemoryRow:
    closed = T0 + timedelta(minutes=minute)
    outcome = MemoryOutcome(round(r_multiple * 1000), r_multiple, "target", closed)
    return MemoryRow(name, setup_at(closed - timedelta(minutes=5)), 1000, outcome)


def config(**values) -> MemoryConfig:
    return MemoryConfig(**{"enabled": True, "cold_start_setups": 0, "radius": 1.0,
                           "bandwidth": 0.5, "half_life_days": 30.0, **values})


def reference_bound(r_values: list[float], z: float) -> tuple[float, float]:
    """Equal weights (identical setups, same age within minutes): mean and bound."""
    n = len(r_values)
    mean = sum(r_values) / n
    variance = sum((r - mean) ** 2 for r in r_values) / n
    spread = math.sqrt((n * variance + 2 * 1.0) / (n + 2))
    return mean, mean - z * spread / math.sqrt(n)


def test_the_bound_is_the_mean_less_z_shrunk_spreads_over_root_n():
    assert lower_bound_r(0.5, 0.0, 0.0, 1.0) == -math.inf
    assert lower_bound_r(0.5, 1.0, 4.0, 1.0) == pytest.approx(0.5 - 1.0 / 2)
    # two identical wins do not claim certainty: the spread is shrunk toward 1 R
    assert lower_bound_r(1.0, 0.0, 2.0, 1.0) == pytest.approx(1.0 - math.sqrt(0.5) / math.sqrt(2))


@pytest.mark.parametrize(("r_values", "floor", "allowed"), [
    ([1.5, 1.5, -1.0, 1.5, 1.5, -1.0, 1.5, 1.5], -0.2, True),   # mean +0.875
    ([-1.0, -1.0, 1.5, -1.0, -1.0, -1.0], -0.2, False),         # mean -0.58
    ([0.2, -0.1, 0.1, 0.0], 0.0, False),                        # positive but too few
    ([0.2, -0.1, 0.1, 0.0] * 25, -0.2, True),                   # the same, a hundred times
])
def test_the_value_verdict_on_hand_made_setups(r_values, floor, allowed):
    index = MemoryIndex.from_rows([row(r, i, f"b{i}") for i, r in enumerate(r_values)])
    at = T0 + timedelta(minutes=len(r_values) + 1)
    verdict = index.query(setup_at(at), at, config(min_expected_r=floor))
    mean, bound = reference_bound(r_values, 1.0)
    assert verdict.effective_count == pytest.approx(len(r_values), rel=1e-4)
    assert verdict.mean_r == pytest.approx(mean, abs=1e-3)
    assert verdict.lower_bound_r == pytest.approx(bound, abs=1e-3)  # ages differ by minutes
    assert verdict.allowed is allowed and (bound >= floor) is allowed
    assert ("< " in verdict.reason) is not allowed
    assert (verdict.adjustment > 0) is (allowed and mean > 0)


def test_a_larger_z_asks_for_more_evidence():
    rows = [row(r, i, f"b{i}") for i, r in enumerate([1.0, 0.5, -0.5, 1.0, 0.2, 0.3])]
    index = MemoryIndex.from_rows(rows)
    at = T0 + timedelta(hours=1)
    loose = index.query(setup_at(at), at, config(expected_r_z=0.5, min_expected_r=0.0))
    strict = index.query(setup_at(at), at, config(expected_r_z=2.0, min_expected_r=0.0))
    assert loose.allowed and not strict.allowed
    assert strict.lower_bound_r < loose.lower_bound_r < loose.mean_r == strict.mean_r


def test_nothing_similar_is_no_evidence_and_the_legacy_win_rate_still_decides_when_set():
    nothing = judge(Evidence(0, 0.0, None), 50, False, config())
    assert not nothing.allowed and "no evidence" in nothing.reason
    legacy = judge(Evidence(9, 9.0, 0.6, (), -0.5, 0.5), 50, False,
                   config(min_weighted_win_rate=0.5))
    assert legacy.allowed and "weighted win rate 60%" in legacy.reason  # the old test, not R
    by_value = judge(Evidence(9, 9.0, 0.6, (), -0.5, 0.5), 50, False, config())
    assert not by_value.allowed and "expected -0.50 R" in by_value.reason


def test_verdict_json_carries_the_expected_r_and_its_bound():
    index = MemoryIndex.from_rows([row(1.0, i, f"b{i}") for i in range(4)])
    at = T0 + timedelta(hours=1)
    data = index.query(setup_at(at), at, config()).to_json()
    assert '"expected_r": 1.0' in data and '"expected_r_bound": 0.' in data


def plan(stop_points: float = 4.0) -> OrderPlan:
    return OrderPlan("MES", Side.LONG, 1, OrderType.MARKET, 5000.0, 5000.0 - stop_points,
                     5000.0 + 2 * stop_points, stop_points, 2 * stop_points, "test")


def test_a_refused_entry_is_learned_only_once_its_shadow_closed_net_of_commission():
    book = MemoryBook(MemoryIndex(), get_instrument("MES"), 1, 30, commission_per_side_cents=62)
    decided = T0
    book.refuse(plan(), decided, setup_at(decided), "shadow:MES-20250303T150000")
    assert len(book.index) == 0  # open: nothing to learn yet
    at = decided + timedelta(minutes=1)
    assert book.index.query(setup_at(at), at, config()).neighbours_count == 0
    closed_at = decided + timedelta(minutes=7)
    exit_ = ShadowExit(decided, Side.LONG, 1, 5000.25, 5008.25, closed_at, "target", 4000)
    learned, _ = book.learn_shadow(exit_)
    risk_cents = 16 * 125  # 4 points = 16 ticks of $1.25
    assert learned.shadow and learned.bracket_id == "shadow:MES-20250303T150000"
    assert learned.outcome == MemoryOutcome(4000 - 124, (4000 - 124) / risk_cents, "target",
                                            closed_at)
    assert book.index.shadow_count == 1 and book.learn_shadow(exit_) is None  # learned once
    before = book.index.query(setup_at(closed_at), closed_at - timedelta(seconds=1), config())
    after = book.index.query(setup_at(closed_at), closed_at, config())
    assert before.neighbours_count == 0 and after.neighbours_count == 1


def test_a_refusal_while_a_shadow_is_open_is_counted_but_not_followed():
    book = MemoryBook(MemoryIndex(), get_instrument("MES"), 1, 30)
    book.refuse(plan(), T0, setup_at(T0), "shadow:a")
    book.refuse(plan(), T0 + timedelta(minutes=1), setup_at(T0), "shadow:b")
    assert book.refused == 2 and len(book.shadows.open) == 1
    later = ShadowExit(T0 + timedelta(minutes=1), Side.LONG, 1, 1.0, 1.0, T0, "stop", 0)
    assert book.learn_shadow(later) is None
