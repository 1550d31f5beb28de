"""Placebo percentile, the day bootstrap on a known distribution, and the verdict's wording."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.evaluation.stats import Interval, bootstrap_difference, ordinal, percentile_of, verdict

pytestmark = pytest.mark.unit


def test_percentile_counts_placebo_runs_below_with_ties_as_half():
    assert percentile_of(10.0, [1.0, 2.0, 3.0, 20.0]) == 75.0
    assert percentile_of(2.0, [1.0, 2.0, 3.0, 4.0]) == 37.5
    assert percentile_of(0.0, [1.0, 2.0]) == 0.0
    assert math.isnan(percentile_of(1.0, []))


def test_the_net_interval_matches_the_normal_theory_on_a_known_distribution():
    rng = np.random.default_rng(5)
    days = 400
    off = rng.normal(0.0, 50.0, days)
    on = off + rng.normal(10.0, 30.0, days)  # +$10 a day on average, sd of the difference 30
    trades = np.full(days, 5)
    boot = bootstrap_difference(on, trades, off, trades, seed=1, resamples=4000)
    difference = on - off
    standard_error = difference.std(ddof=1) * math.sqrt(days)  # of the summed difference
    assert boot.net_usd.estimate == pytest.approx(difference.sum())
    assert boot.net_usd.low == pytest.approx(difference.sum() - 1.96 * standard_error,
                                             rel=0.05)
    assert boot.net_usd.high == pytest.approx(difference.sum() + 1.96 * standard_error,
                                              rel=0.05)
    # five trades a day: $/trade is the daily difference / 5, its interval scaled alike
    assert boot.per_trade_usd.estimate == pytest.approx(difference.mean() / 5)
    assert boot.per_trade_usd.low == pytest.approx(boot.net_usd.low / days / 5, rel=0.01)
    assert boot.per_trade_usd.low > 0 and boot.net_usd.excludes_zero()


def test_no_difference_gives_an_interval_around_zero_and_the_seed_repeats_it():
    rng = np.random.default_rng(9)
    off = rng.normal(0.0, 40.0, 200)
    on = off + rng.normal(0.0, 40.0, 200)
    trades = np.full(200, 3)
    first = bootstrap_difference(on, trades, off, trades, seed=4)
    assert first == bootstrap_difference(on, trades, off, trades, seed=4)
    assert first.per_trade_usd.low < 0 < first.per_trade_usd.high


def test_days_must_line_up():
    with pytest.raises(ValueError, match="one value per day"):
        bootstrap_difference([1.0, 2.0], [1, 1], [1.0], [1])


def test_verdict_wording():
    assert verdict(97.0, Interval(1.2, 0.3, 2.1)) == (
        "helps: 97th percentile of placebo, +$1.20/trade [0.30, 2.10]")
    assert verdict(97.0, Interval(1.2, -0.3, 2.1)).startswith(
        "no evidence of value: 97th percentile of placebo, +$1.20/trade [-0.30, 2.10]")
    assert verdict(60.0, Interval(-1.5, -2.5, -0.4)) == (
        "hurts: 60th percentile of placebo, -$1.50/trade [-2.50, -0.40]")
    assert verdict(3.0, Interval(-0.5, -1.0, 0.2)).startswith("hurts: 3rd percentile")
    assert verdict(math.nan, Interval(0.0, 0.0, 0.0)).startswith("no evidence of value")
    assert [ordinal(n) for n in (1, 2, 3, 4, 11, 12, 13, 21, 22, 100)] == [
        "1st", "2nd", "3rd", "4th", "11th", "12th", "13th", "21st", "22nd", "100th"]
