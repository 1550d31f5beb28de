"""The memory index: robust scaling, radius search, weights, recency, buckets, the guard.

Every query is checked against a brute-force reference written here from the definitions
(median/MAD scaling, Euclidean distance, radius in typical distances, w = exp(-d²/2h²) x
2^(-age/half-life), Kish count, weighted win rate).
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from bot.core.memory import (
    FEATURE_NAMES,
    FEATURE_SCHEMA_VERSION,
    PRIOR_ROWS,
    PRIOR_SCALE,
    MemoryIndex,
    fit_scaler,
    refit_due,
    setup_vector,
)
from bot.core.memory_guard import (
    NEIGHBOURS_KEPT,
    Evidence,
    adjustment_for,
    cold_start,
    judge,
)
from shared.config.settings import MemoryConfig
from shared.domain.memory import MemoryOutcome, MemoryRow, MemorySetup
from shared.domain.models import Side
from tests.conftest import synthetic_bars

T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
DIMS = len(FEATURE_NAMES)
BUCKETS = ("open", "normal", "range")


def setup_at(vector, side=Side.LONG, buckets=BUCKETS, ts=T0) -> MemorySetup:
    values = tuple(float(v) for v in np.float32(vector))
    return MemorySetup(ts, side, FEATURE_SCHEMA_VERSION, values, buckets)


def row(vector, pnl_cents=100, closed=T0, side=Side.LONG, buckets=BUCKETS, name="b") -> MemoryRow:
    setup = setup_at(vector, side, buckets, closed - timedelta(minutes=10))
    return MemoryRow(name, setup, 1000, MemoryOutcome(pnl_cents, pnl_cents / 1000, "target",
                                                      closed))


def config(**values) -> MemoryConfig:
    return MemoryConfig(**{"enabled": True, "cold_start_setups": 0, "min_similar_trades": 3,
                           "min_weighted_win_rate": 0.5, **values})  # the legacy win-rate test


@pytest.fixture(scope="module")
def cloud() -> tuple[MemoryIndex, np.ndarray, np.ndarray, np.ndarray]:
    """64 seeded setups in 4 clusters (long, 2 wins in 3), closed an hour apart before T0."""
    rng = np.random.default_rng(11)
    centers = rng.normal(0, 1, (4, DIMS))
    spread = centers[np.arange(64) % 4] + rng.normal(0, 0.35, (64, DIMS))
    vectors = spread * np.linspace(1, 20, DIMS) + np.arange(DIMS)
    wins = np.arange(64) % 3 != 0
    closes = np.array([T0 - timedelta(hours=64 - i) for i in range(64)])
    index = MemoryIndex.from_rows([
        row(v, 150 if w else -100, c, name=f"b{i}")
        for i, (v, w, c) in enumerate(zip(vectors, wins, closes, strict=True))
    ])
    return index, np.float32(vectors), wins, closes


def reference(index, vectors, wins, closes, query, at, cfg):
    """The query's evidence computed from the definitions, over all rows (no buckets)."""
    scaler = index.scaler
    center, scale = np.float64(scaler.center), np.float64(scaler.scale)
    z = (np.float64(vectors) - center) / scale
    zq = (np.float64(np.float32(query)) - center) / scale
    distance = np.sqrt(((z - zq) ** 2).sum(axis=1))
    typical = scaler.typical_distance
    near = distance <= cfg.radius * typical
    age_days = np.array([(at - c).total_seconds() / 86400 for c in closes])
    width = cfg.bandwidth * typical
    weight = np.exp(-distance**2 / (2 * width**2)) * 0.5 ** (age_days / cfg.half_life_days)
    w = weight[near]
    if not near.any():
        return {"count": 0, "distance": distance / typical}
    return {"count": int(near.sum()), "effective": w.sum() ** 2 / (w**2).sum(),
            "win_rate": (w * wins[near]).sum() / w.sum(), "distance": distance / typical}


def test_robust_scaling_is_median_and_mad_shrunk_toward_a_typical_spread():
    raw = np.float32([[1, 5, *([0] * (DIMS - 2))], [2, 5, *([0] * (DIMS - 2))],
                      [3, 5, *([0] * (DIMS - 2))], [10, 5, *([0] * (DIMS - 2))]])
    scaler = fit_scaler(raw)
    assert scaler.center[:3] == (2.5, 5.0, 0.0)
    sigma = 1.4826 * np.median(np.abs(np.float64([1, 2, 3, 10]) - 2.5))
    prior, rows = PRIOR_SCALE[0], PRIOR_ROWS
    assert scaler.scale[0] == pytest.approx(
        math.sqrt((4 * sigma**2 + rows * prior**2) / (4 + rows)), rel=1e-6)
    constant = PRIOR_SCALE[1] * math.sqrt(rows / (4 + rows))  # MAD 0: the prior alone
    assert scaler.scale[1] == pytest.approx(constant, rel=1e-6)
    assert all(math.isfinite(s) and s > 0 for s in scaler.scale)
    assert scaler.feature_names == FEATURE_NAMES and scaler.fitted_rows == 4


def test_with_many_setups_the_scale_is_the_mad_and_the_typical_distance_the_mean_pair():
    rng = np.random.default_rng(5)
    raw = np.float32(rng.normal(0, 1, (4096, DIMS)) * PRIOR_SCALE * 3)
    scaler = fit_scaler(raw)
    ratio = np.float64(scaler.scale) / (PRIOR_SCALE * 3)
    assert np.all(np.abs(ratio - 1) < 0.05)
    # independent normal features scaled to unit spread: pairs lie ~sqrt(2 x 12) apart
    assert scaler.typical_distance == pytest.approx(math.sqrt(2 * DIMS), rel=0.05)
    assert fit_scaler(raw[:1]).typical_distance == pytest.approx(math.sqrt(2 * DIMS))


def test_unknown_features_are_ignored_by_the_fit_and_sit_at_the_median():
    raw = np.float32([[np.nan] + [float(i)] * (DIMS - 1) for i in range(5)])
    scaler = fit_scaler(raw)
    assert scaler.center[0] == 0.0 and scaler.scale[0] > 0
    index = MemoryIndex.from_rows([row([np.nan, *[0.0] * (DIMS - 1)], name=f"n{i}")
                                   for i in range(4)])
    verdict = index.query(setup_at([np.nan, *[0.0] * (DIMS - 1)]), T0, config())
    assert verdict.neighbours_count == 4 and verdict.neighbours[0].distance == 0.0


def test_the_scaler_refits_at_one_to_eight_then_powers_of_two():
    assert [n for n in range(1, 70) if refit_due(n)] == [1, 2, 3, 4, 5, 6, 7, 8, 16, 32, 64]
    rng = np.random.default_rng(3)
    index, fitted = MemoryIndex(), []
    rows = [row(rng.normal(0, 1, DIMS), name=f"r{i}") for i in range(40)]
    for item in rows:
        snapshot = index.add(item)
        if snapshot is not None:
            fitted.append(snapshot.fitted_rows)
    assert fitted == [1, 2, 3, 4, 5, 6, 7, 8, 16, 32]
    assert index.scaler == fit_scaler(np.float32([r.setup.vector for r in rows[:32]]))


def test_an_index_rebuilt_from_its_rows_is_the_same_index(cloud):
    index, vectors, wins, closes = cloud
    rebuilt = MemoryIndex.from_rows(list(index.rows))
    assert rebuilt.scaler == index.scaler
    query = setup_at(vectors[5] + 0.3)
    cfg = config(radius=1.0, bandwidth=0.5)
    assert rebuilt.query(query, T0, cfg) == index.query(query, T0, cfg)


@pytest.mark.parametrize("radius", [0.4, 0.7, 1.0])
def test_the_radius_search_finds_exactly_the_setups_within_the_radius(cloud, radius):
    index, vectors, wins, closes = cloud
    cfg = config(radius=radius, bandwidth=radius / 2, min_similar_trades=0,
                 min_weighted_win_rate=0)
    counts = []
    for probe in (*vectors[:12], vectors[40] * 0.9, np.zeros(DIMS)):
        verdict = index.query(setup_at(probe), T0, cfg)
        expected = reference(index, vectors, wins, closes, probe, T0, cfg)
        assert verdict.neighbours_count == expected["count"]
        counts.append(expected["count"])
        if expected["count"]:
            assert verdict.effective_count == pytest.approx(expected["effective"], rel=1e-4)
            assert verdict.weighted_win_rate == pytest.approx(expected["win_rate"], rel=1e-4)
            nearest = np.sort(expected["distance"][expected["distance"] <= radius * 1.0000001])
            listed = [n.distance for n in verdict.neighbours]
            assert listed == pytest.approx(nearest[:NEIGHBOURS_KEPT].tolist(), rel=1e-4)
            assert all(n.distance <= radius + 1e-6 for n in verdict.neighbours)
    assert max(counts) >= 3 and min(counts) < 64  # the probes see some, never all

def test_a_setup_unlike_any_stored_one_has_no_neighbour_and_is_refused(cloud):
    index, vectors, *_ = cloud
    far = vectors.max(axis=0) + 50 * np.float32(index.scaler.scale)
    verdict = index.query(setup_at(far), T0, config())
    assert verdict.neighbours_count == 0 and verdict.effective_count == 0
    assert not verdict.allowed and "0.00 similar setups < 3 needed" in verdict.reason


def test_kernel_weights_fall_with_distance_as_a_gaussian():
    index = MemoryIndex.from_rows([row(np.full(DIMS, float(i)), name=f"g{i}")
                                   for i in range(8)])
    cfg = config(radius=10.0, bandwidth=0.3, min_similar_trades=0)
    verdict = index.query(setup_at(np.full(DIMS, 3.0)), T0, cfg)
    typical = index.scaler.typical_distance
    width = 0.3 * typical
    by_name = {n.bracket_id: n for n in verdict.neighbours}
    nearest = by_name["g3"]
    for name in ("g2", "g4", "g5"):
        d = by_name[name].distance * typical
        assert by_name[name].weight / nearest.weight == pytest.approx(
            math.exp(-d * d / (2 * width * width)), rel=1e-4)


def test_kish_count_and_weighted_win_rate_of_equal_weights():
    rows = [row(np.zeros(DIMS), 100 if i < 3 else -50, name=f"e{i}") for i in range(4)]
    verdict = MemoryIndex.from_rows(rows).query(setup_at(np.zeros(DIMS)), T0, config())
    assert verdict.neighbours_count == 4
    assert verdict.effective_count == pytest.approx(4.0)
    assert verdict.weighted_win_rate == pytest.approx(0.75)


def test_recency_halves_a_weight_every_half_life_measured_from_the_decision_time():
    rows = [row(np.zeros(DIMS), 100, T0 - timedelta(days=30), name="old"),
            row(np.zeros(DIMS), -100, T0 - timedelta(days=1), name="new")]
    index = MemoryIndex.from_rows(rows)
    cfg = config(min_similar_trades=1, min_weighted_win_rate=0, half_life_days=29)
    verdict = index.query(setup_at(np.zeros(DIMS)), T0, cfg)
    weights = {n.bracket_id: n.weight for n in verdict.neighbours}
    assert weights["old"] / weights["new"] == pytest.approx(0.5, rel=1e-9)
    assert verdict.weighted_win_rate == pytest.approx(1 / 3)
    later = index.query(setup_at(np.zeros(DIMS)), T0 + timedelta(days=290), cfg)
    weights_later = {n.bracket_id: n.weight for n in later.neighbours}
    assert weights_later["old"] / weights_later["new"] == pytest.approx(0.5, rel=1e-9)
    short = index.query(setup_at(np.zeros(DIMS)), T0, config(half_life_days=1,
                                                               min_similar_trades=1))
    ratio = {n.bracket_id: n.weight for n in short.neighbours}
    assert ratio["old"] / ratio["new"] == pytest.approx(0.5**29, rel=1e-6)


def test_a_setup_closed_after_the_decision_is_never_found():
    rows = [row(np.zeros(DIMS), 100, T0 - timedelta(hours=i + 1), name=f"p{i}")
            for i in range(3)]
    rows.append(row(np.zeros(DIMS), -100, T0 + timedelta(minutes=1), name="future"))
    index = MemoryIndex.from_rows(rows)
    verdict = index.query(setup_at(np.zeros(DIMS)), T0, config())
    assert verdict.neighbours_count == 3 and verdict.weighted_win_rate == 1.0
    assert all(n.close_ts <= T0 for n in verdict.neighbours)
    after = index.query(setup_at(np.zeros(DIMS)), T0 + timedelta(minutes=1), config())
    assert after.neighbours_count == 4


def test_the_bucket_is_preferred_with_a_fallback_to_all_same_side_setups():
    other = ("midday", "high", "trend_up")
    rows = ([row(np.zeros(DIMS), 100, name=f"same{i}") for i in range(3)]
            + [row(np.zeros(DIMS), -100, buckets=other, name=f"other{i}") for i in range(3)]
            + [row(np.zeros(DIMS), -100, side=Side.SHORT, name=f"short{i}") for i in range(5)])
    index = MemoryIndex.from_rows(rows)
    same = index.query(setup_at(np.zeros(DIMS)), T0, config())
    assert (same.neighbours_count, same.fallback, same.weighted_win_rate) == (3, False, 1.0)
    thin = index.query(setup_at(np.zeros(DIMS), buckets=("close", "low", "range")), T0,
                       config())
    assert (thin.neighbours_count, thin.fallback, thin.weighted_win_rate) == (6, True, 0.5)
    assert "bucket too thin" in thin.reason
    short = index.query(setup_at(np.zeros(DIMS), side=Side.SHORT), T0, config())
    assert (short.neighbours_count, short.weighted_win_rate) == (5, 0.0)


def test_the_guard_on_both_sides_of_the_count_threshold():
    cfg = config(min_similar_trades=3, min_weighted_win_rate=0.5)
    below = judge(Evidence(5, 2.99, 0.9), 100, False, cfg)
    at = judge(Evidence(3, 3.0, 0.9), 100, False, cfg)
    assert not below.allowed and below.adjustment == 0.0
    assert below.reason == "memory: 2.99 similar setups < 3 needed"
    assert at.allowed and at.adjustment > 0


def test_the_guard_on_both_sides_of_the_win_rate_threshold():
    cfg = config(min_similar_trades=3, min_weighted_win_rate=0.55)
    below = judge(Evidence(10, 8.0, 0.5499), 100, False, cfg)
    at = judge(Evidence(10, 8.0, 0.55), 100, False, cfg)
    assert not below.allowed and "weighted win rate 55% < 55%" in below.reason
    assert at.allowed
    assert at.adjustment == pytest.approx(0.10 * 0.1 * 8 / 11)


def test_the_adjustment_is_bounded_and_follows_the_win_rate():
    cfg = config(max_adjustment=0.07, min_similar_trades=2)
    for rate in np.linspace(0, 1, 21):
        for count in (0.5, 2, 10, 1e6):
            value = adjustment_for(float(rate), count, cfg)
            assert -0.07 <= value <= 0.07
            assert math.copysign(1, value) == math.copysign(1, rate - 0.5) or value == 0
    assert adjustment_for(1.0, 1e9, cfg) == pytest.approx(0.07)
    assert adjustment_for(0.0, 1e9, cfg) == pytest.approx(-0.07)
    allowed_loser = judge(Evidence(9, 9.0, 0.3), 50, False, config(min_weighted_win_rate=0.2))
    assert allowed_loser.allowed and allowed_loser.adjustment < 0


@pytest.mark.parametrize("policy", ["allow", "refuse"])
def test_cold_start_applies_while_fewer_setups_than_cold_start_setups_are_stored(policy):
    cfg = config(min_similar_trades=0, cold_start_setups=4, cold_start=policy)
    index = MemoryIndex.from_rows([row(np.zeros(DIMS), -100, name=f"c{i}") for i in range(3)])
    verdict = index.query(setup_at(np.zeros(DIMS)), T0, cfg)
    assert verdict.cold_start and verdict.stored_setups == 3 and verdict.adjustment == 0.0
    assert verdict.allowed is (policy == "allow")
    expected = ("memory cold start: 3 setups, entry allowed" if policy == "allow"
                else "memory cold start: 3 setups (< 4), entry refused")
    assert verdict.reason == expected == cold_start(3, cfg).reason
    index.add(row(np.zeros(DIMS), -100, name="c3"))
    warm = index.query(setup_at(np.zeros(DIMS)), T0, cfg)
    assert not warm.cold_start and not warm.allowed  # four losers: the win-rate guard now


def test_min_similar_trades_holds_entries_even_while_memory_is_young():
    """Seed 001's guard: MIN_SIMILAR_TRADES=1000 means hold unless 1000 similar trades, even
    while the cold start (here 100 setups) would let entries through."""
    cfg = config(min_similar_trades=1000, cold_start_setups=100, cold_start="allow")
    index = MemoryIndex.from_rows([row(np.zeros(DIMS), 500, name=f"w{i}") for i in range(5)])
    verdict = index.query(setup_at(np.zeros(DIMS)), T0, cfg)
    assert verdict.cold_start and not verdict.allowed
    assert verdict.reason == "memory: 5.00 similar setups < 1000 needed"
    enough = index.query(setup_at(np.zeros(DIMS)), T0, config(min_similar_trades=5,
                                                             cold_start_setups=100))
    assert enough.cold_start and enough.allowed  # the floor met: the cold start lets it through


def test_a_verdict_serialises_its_counts_and_neighbours(cloud):
    index, vectors, *_ = cloud
    verdict = index.query(setup_at(vectors[7]), T0, config(radius=1.0))
    import json

    data = json.loads(verdict.to_json())
    assert data["neighbours_count"] == verdict.neighbours_count
    assert data["stored_setups"] == 64 and data["reason"] == verdict.reason
    assert len(data["neighbours"]) == min(NEIGHBOURS_KEPT, verdict.neighbours_count)
    assert data["neighbours"][0]["bracket_id"] == "b7" and data["neighbours"][0]["distance"] == 0


def test_setup_vectors_are_float32_in_schema_order_from_real_features():
    from bot.core.features import BarWindow, compute_features
    from bot.core.session_levels import (
        RELATIVE_NAMES,
        LevelRules,
        SessionLevelTracker,
        levels_over_atr,
    )
    from bot.core.sessions import CmeSessionClock
    from shared.config.settings import FeatureConfig

    cfg = FeatureConfig()
    window = BarWindow(cfg.window_bars)
    tracker = SessionLevelTracker(CmeSessionClock(), LevelRules(30, 5))
    for bar in synthetic_bars(600):  # 50 minutes of RTH from the open: no prior day yet
        window.append(bar)
        tracker.update(bar.ts.timestamp(), bar.high, bar.low, bar.close, bar.volume)
    features = compute_features(window, cfg, tracker.levels())
    vector = setup_vector(features)
    levels = len(RELATIVE_NAMES)
    assert len(vector) == DIMS and all(math.isfinite(v) for v in vector[:-levels])
    expected = np.float32(levels_over_atr(features))
    np.testing.assert_array_equal(np.float32(vector[-levels:]), expected)
    assert np.isfinite(expected[:3]).all()  # VWAP and the opening range are known
    np.testing.assert_array_equal(vector, [float(v) for v in np.float32(vector)])  # float32
    assert vector[0] == pytest.approx(features.rsi, rel=1e-6)
    assert vector[FEATURE_NAMES.index("atr_ratio")] == pytest.approx(features.atr_ratio,
                                                                     rel=1e-6)


def test_only_closed_setups_of_the_current_schema_are_added():
    index = MemoryIndex()
    with pytest.raises(ValueError, match="no outcome"):
        index.add(MemoryRow("open", setup_at(np.zeros(DIMS)), 1000))
    old = row(np.zeros(DIMS), name="old")
    with pytest.raises(ValueError, match="feature schema"):
        index.add(MemoryRow(old.bracket_id, MemorySetup(T0, Side.LONG, 0, old.setup.vector,
                                                        BUCKETS), 1000, old.outcome))
    assert len(index) == 0


def test_the_columns_grow_past_their_first_capacity_without_losing_a_row():
    rng = np.random.default_rng(8)
    vectors = np.float32(rng.normal(0, 1, (1200, DIMS)) * PRIOR_SCALE)
    closes = [T0 - timedelta(minutes=1200 - i) for i in range(1200)]
    wins = rng.random(1200) < 0.5
    index = MemoryIndex.from_rows([row(v, 100 if w else -100, c, name=f"g{i}")
                                   for i, (v, w, c) in enumerate(zip(vectors, wins, closes,
                                                                     strict=True))])
    assert len(index) == 1200 and index.scaler.fitted_rows == 1024
    cfg = config(radius=1.0, bandwidth=0.5, min_similar_trades=0, min_weighted_win_rate=0)
    for probe in vectors[[0, 300, 777, 1199]]:
        verdict = index.query(setup_at(probe), T0, cfg)
        expected = reference(index, vectors, wins, closes, probe, T0, cfg)
        assert verdict.neighbours_count == expected["count"] >= 1
        assert verdict.effective_count == pytest.approx(expected["effective"], rel=1e-4)
        assert verdict.weighted_win_rate == pytest.approx(expected["win_rate"], rel=1e-4)


def test_rows_added_out_of_close_order_still_never_look_ahead():
    rows = [row(np.zeros(DIMS), -100, T0 + timedelta(hours=2), name="future"),
            *[row(np.zeros(DIMS), 100, T0 - timedelta(hours=i + 1), name=f"p{i}")
              for i in range(3)]]
    index = MemoryIndex.from_rows(rows)
    verdict = index.query(setup_at(np.zeros(DIMS)), T0, config())
    assert verdict.neighbours_count == 3 and verdict.weighted_win_rate == 1.0
    assert {n.bracket_id for n in verdict.neighbours} == {"p0", "p1", "p2"}
