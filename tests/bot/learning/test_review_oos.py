"""The review's out-of-sample gate: rules mined on the first days are judged only on the later
ones; rules fitted to a market with nothing planted fail; the placebo test and the
Benjamini-Hochberg correction do what they say; an impossible gate/retention pair is refused."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.backtest.engine_run import session_clock
from bot.learning.oos_stats import (
    TradeEffects,
    benjamini_hochberg,
    effect_interval,
    placebo_p_value,
    trade_effects,
)
from bot.learning.review import review_day, review_windows
from shared.config.learning_checks import upgrade_old_gate_days
from shared.domain.errors import ConfigError
from shared.domain.models import ExitReason, Side, TradeRecord
from shared.persistence import rules_store
from shared.persistence.db import open_database
from tests.bot.learning.journal import (
    REVIEWED_DAY,
    multi_day_bars,
    multi_day_settings,
    seed_journal,
)

WALL = datetime(2026, 11, 27, 23, 0, tzinfo=UTC)
MINED = [date(2025, 3, d) for d in (3, 4, 5, 6, 7)]
GATED = [date(2025, 3, d) for d in (10, 11, 12)]


def _review(tmp_path_factory, seed: int, extra: dict | None = None):
    db = tmp_path_factory.mktemp(f"oos{seed}") / "trader.db"
    settings = multi_day_settings(extra)
    seed_journal(db, settings, multi_day_bars(seed))
    conn = open_database(db)
    report = review_day(conn, settings, date.fromisoformat(REVIEWED_DAY), session_clock(),
                        lambda: WALL)
    return conn, report


@pytest.fixture(scope="module")
def noise_reviews(tmp_path_factory):
    """Three seeds of the synthetic market (nothing planted), reviewed with a loose sample."""
    reviews = [_review(tmp_path_factory, seed, {"learning": {"min_sample": 8}})
               for seed in (11, 12, 13)]
    yield reviews
    for conn, _ in reviews:
        conn.close()


def test_the_windows_split_mining_days_from_gate_days():
    windows = review_windows(session_clock(), date(2025, 3, 12), 5, 3)
    assert windows.mining == MINED and windows.gate == GATED


def test_a_rule_mined_on_the_first_days_is_judged_only_on_the_later_days(noise_reviews):
    clock = session_clock()
    gate_open = clock.session_bounds(GATED[0])[0]
    mine_open = clock.session_bounds(MINED[0])[0]
    kinds = {r.kind for conn, _ in noise_reviews for r in rules_store.rules(conn)}
    assert kinds == {"lock_bucket", "raise_threshold", "shorten_time_exit"}
    for conn, _ in noise_reviews:
        rules = rules_store.rules(conn)
        assert rules
        for rule in rules:
            exits = [conn.execute("SELECT exit_ts FROM trades WHERE id = ?", (i,)).fetchone()[0]
                     for i in rule.evidence["trade_ids"]]
            assert all(mine_open.isoformat() <= e < gate_open.isoformat() for e in exits)
            assert rule.evidence["in_sample"]["days"] == ["2025-03-03", "2025-03-07"]
            if rule.kind == "raise_threshold":  # the cut comes from the mined trades only
                cut = rule.evidence["min_confidence"]
                mined = rule.evidence["entry_confidences"]
                assert set(map(int, mined)) == set(rule.evidence["trade_ids"])
                assert min(mined.values()) < cut <= max(mined.values())
            assert rule.backtest["days"] == [d.isoformat() for d in GATED]
            assert rule.evidence["out_of_sample"]["days"] == rule.backtest["days"]
            first_bar = conn.execute("SELECT MIN(ts) FROM bars WHERE ts >= ?",
                                     (gate_open.isoformat(),)).fetchone()[0]
            assert rule.backtest["bars"] == conn.execute(
                "SELECT COUNT(*) FROM bars WHERE ts >= ?", (first_bar,)).fetchone()[0]


def test_rules_fitted_to_noise_fail_the_out_of_sample_gate(noise_reviews):
    proposed, passed, in_sample_gain = 0, 0, 0
    for conn, report in noise_reviews:
        for rule in rules_store.rules(conn):
            proposed += 1
            passed += bool(rule.improved)
            gain = rule.evidence["in_sample"]["estimated_improvement_cents"]
            in_sample_gain += gain or 0
            assert rule.improved is rule.backtest["passed"] is \
                rule.evidence["out_of_sample"]["passed"]
            low, high = rule.backtest["effect_ci_cents"]
            assert low <= rule.backtest["improvement_cents"] <= high
        assert all(not item["passed_out_of_sample"] for item in report.proposed)
    # in sample every rule "helps" (it was fitted there); out of sample none survives
    assert proposed >= 15 and in_sample_gain > 0 and passed == 0


def test_the_review_corrects_its_p_values_together(noise_reviews):
    for conn, _ in noise_reviews:
        rules = sorted(rules_store.rules(conn), key=lambda r: r.id)
        p_values = [r.backtest["p_value"] for r in rules]
        q_values = [r.backtest["q_value"] for r in rules]
        assert q_values == pytest.approx(benjamini_hochberg(p_values))
        assert all(r.backtest["rules_tested"] == len(rules) for r in rules)
        assert all(q >= p for p, q in zip(p_values, q_values, strict=True))


def test_benjamini_hochberg_matches_a_hand_computation():
    # sorted p: .01 .02 .03 .04 .5 with m = 5 -> .05 .05 .05 .05 .5 (step-up minima)
    assert benjamini_hochberg([0.5, 0.01, 0.04, 0.03, 0.02]) == pytest.approx(
        [0.5, 0.05, 0.05, 0.05, 0.05])
    # one p of .04 among ten is no discovery at 5 %
    assert benjamini_hochberg([0.04] + [0.9] * 9)[0] == pytest.approx(0.4)
    assert benjamini_hochberg([]) == []
    # the largest p keeps its value exactly: 15/2001 * 3 / 3 rounds below 15/2001 in floats
    p_value = 15 / 2001
    assert benjamini_hochberg([0.001, 0.002, p_value])[2] >= p_value


def _trade(minute: int, pnl: int) -> TradeRecord:
    at = datetime(2025, 3, 3, 15, tzinfo=UTC) + timedelta(minutes=minute)
    return TradeRecord(f"b{minute}", "MES", Side.LONG, 1, at, 5000.0, at, 5000.0,
                       ExitReason.TARGET, pnl, 0, pnl)


def test_the_placebo_test_tells_a_real_refusal_from_a_random_one():
    rng_pnls = [(-1) ** i * (100 + 7 * i) for i in range(60)]
    without = [_trade(i, p) for i, p in enumerate(rng_pnls)]
    worst = sorted(range(60), key=lambda i: rng_pnls[i])[:8]
    kept = [t for i, t in enumerate(without) if i not in worst]
    effects = trade_effects(without, kept)
    assert sorted(effects.removed_cents) == sorted(rng_pnls[i] for i in worst)
    assert effects.effect_cents == sum(t.pnl_net_cents for t in kept) - sum(rng_pnls)
    p_value, _ = placebo_p_value(effects, rng_pnls, 2000, seed=1)
    assert p_value < 0.01
    ordinary = [t for i, t in enumerate(without) if i not in range(0, 16, 2)][:52]
    p_value, _ = placebo_p_value(trade_effects(without, ordinary), rng_pnls, 2000, seed=1)
    assert p_value > 0.2  # eight of the winners refused: nothing beats random refusals
    same = placebo_p_value(effects, rng_pnls, 2000, seed=1)
    assert same == placebo_p_value(effects, rng_pnls, 2000, seed=1)  # seeded


def test_a_refusing_rule_is_judged_on_the_trades_it_refused_itself():
    pnls = [(-1) ** i * (100 + 7 * i) for i in range(60)]
    without = [_trade(i, p) for i, p in enumerate(pnls)]
    worst = set(sorted(range(60), key=lambda i: pnls[i])[:6])
    # the rule refused its six losers, and a knock-on chain removed a winner and added a loser
    kept = [t for i, t in enumerate(without) if i not in worst and i != 2]
    knock_on = _trade(90, -400)
    in_bucket = {without[i].entry_ts for i in worst}
    effects = trade_effects(without, [*kept, knock_on], lambda t: t.entry_ts in in_bucket)
    assert sorted(effects.refused) == sorted(pnls[i] for i in worst)
    assert len(effects.removed_cents) == 7 and effects.added_cents == (-400,)
    p_value, placebo = placebo_p_value(effects, pnls, 2000, seed=1)
    assert p_value < 0.01 and placebo == pytest.approx(-6 * sum(pnls) / 60, abs=60)
    # the knock-on trades do not make a rule that refused ordinary trades look good
    ordinary = set(range(0, 12, 2))
    effects = trade_effects(without, [t for i, t in enumerate(without) if i not in ordinary],
                            lambda t: t.entry_ts in {without[i].entry_ts for i in ordinary})
    assert placebo_p_value(effects, pnls, 2000, seed=1)[0] > 0.2
    # a refusing rule that refused nothing itself has no evidence
    none = trade_effects(without, kept, lambda t: False)
    assert placebo_p_value(none, pnls, 2000, seed=1) == (1.0, 0.0)


def test_an_exit_rule_is_judged_by_random_signs_of_its_changes():
    helped = TradeEffects((), (), (40, 35, 50, 45, 30, 60, 55, 38, 42, 47))
    p_value, mean = placebo_p_value(helped, [1, 2], 2000, seed=2, refusing=False)
    assert p_value < 0.01 and abs(mean) < 200  # all ten changes helped: sign flips rarely do
    mixed = TradeEffects((), (), (40, -35, 50, -45, 30, -60, 55, -38, 42, -47))
    assert placebo_p_value(mixed, [1, 2], 2000, seed=2, refusing=False)[0] > 0.3


def test_the_effect_interval_brackets_the_effect_and_is_seeded():
    effects = TradeEffects((-120, 80, -40), (15,), (30, -10))
    low, high = effect_interval(effects, 2000, seed=4)
    assert low <= effects.effect_cents <= high and low < high
    assert effect_interval(effects, 2000, seed=4) == (low, high)
    assert effect_interval(TradeEffects((), (), ()), 100, seed=0) == (0, 0)


def test_a_rule_that_touches_nothing_has_no_evidence():
    assert placebo_p_value(TradeEffects((), (), ()), [1, 2, 3], 500, seed=0) == (1.0, 0.0)


def test_a_gate_beyond_bar_retention_is_refused_naming_both_fields():
    with pytest.raises(ConfigError) as raised:
        multi_day_settings({"learning": {"backtest_days": 5}})
    text = str(raised.value)
    assert "learning.backtest_days 5" in text and "engine.bars_retention_days 7" in text
    multi_day_settings({"learning": {"backtest_days": 5}, "engine": {"bars_retention_days": 8}})
    multi_day_settings({"learning": {"backtest_days": 4}})


def test_a_saved_config_with_the_earlier_default_pair_still_loads():
    data, notes = upgrade_old_gate_days({"learning": {"backtest_days": 5},
                                         "engine": {"bars_retention_days": 7}})
    assert data["learning"]["backtest_days"] == 4 and "earlier default" in notes[0]
    kept, none = upgrade_old_gate_days({"learning": {"backtest_days": 6}})
    assert kept == {"learning": {"backtest_days": 6}} and none == []
