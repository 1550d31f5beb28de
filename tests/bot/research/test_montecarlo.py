"""Monte Carlo against closed forms: equal trades, two-valued trades (binomial), permutations."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bot.research.montecarlo import CHUNK_RUNS, monte_carlo, resample
from bot.research.scaleout import LocalBackend
from shared.domain.errors import ConfigError


@pytest.mark.parametrize("method, block", [("shuffle", 1), ("bootstrap", 1), ("block", 4)])
def test_equal_trades_give_the_sum_at_every_percentile(method, block):
    found = monte_carlo([25] * 40, runs=300, method=method, block_length=block,
                        starting_equity_cents=100, ruin_equity_cents=50)
    assert set(found.final_pnl_cents.values()) == {1000.0}
    assert set(found.max_drawdown_cents.values()) == {0.0}
    assert found.probability_of_ruin == 0.0
    losing = monte_carlo([-25] * 40, runs=50, method=method, block_length=block,
                         starting_equity_cents=500, ruin_equity_cents=0)
    assert set(losing.final_pnl_cents.values()) == {-1000.0}
    assert set(losing.max_drawdown_cents.values()) == {-1000.0}
    assert losing.probability_of_ruin == 1.0  # equity reaches 0 after the 20th trade


def _binomial_quantile(n: int, p: float, q: float) -> int:
    """Smallest k with P(K <= k) >= q for K ~ Binomial(n, p)."""
    total = 0.0
    for k in range(n + 1):
        total += math.comb(n, k) * p**k * (1 - p) ** (n - k)
        if total >= q - 1e-12:
            return k
    return n


def test_bootstrap_of_two_valued_trades_is_binomial():
    n, win, loss = 30, 200, -100  # 10 wins, 20 losses: each draw wins with p = 1/3
    found = monte_carlo([win] * 10 + [loss] * 20, runs=40_000, seed=11, method="bootstrap")
    for percentile, value in found.final_pnl_cents.items():
        wins = _binomial_quantile(n, 1 / 3, percentile / 100)
        expected = wins * win + (n - wins) * loss
        assert abs(value - expected) <= abs(win - loss), (percentile, value, expected)


def test_shuffle_keeps_the_final_pnl_and_only_moves_the_path():
    trades = [300, -100, -100, 50, -200, 400]
    found = monte_carlo(trades, runs=2000, seed=5, method="shuffle")
    assert set(found.final_pnl_cents.values()) == {float(sum(trades))}
    # The worst order puts every loss first: -400; the best never goes below the first loss.
    assert found.max_drawdown_cents[5] >= -400 and found.max_drawdown_cents[95] <= -100


def test_a_block_as_long_as_the_record_is_a_rotation_of_it():
    trades = np.array([5, -3, 8, -1, 2, -7, 4])
    draws = resample(trades, "block", len(trades), 200, np.random.default_rng(1))
    for row in draws:
        assert any((np.roll(trades, -shift) == row).all() for shift in range(len(trades)))


@pytest.mark.integration  # starts local worker processes
def test_seeded_results_do_not_depend_on_workers_or_chunking():
    trades = list(np.random.default_rng(2).integers(-500, 600, size=120))
    kwargs = {"runs": 2 * CHUNK_RUNS + 17, "seed": 9, "method": "block", "block_length": 6,
              "starting_equity_cents": 5_000, "ruin_equity_cents": 2_000}
    one = monte_carlo(trades, backend=LocalBackend(1), **kwargs)
    assert one == monte_carlo(trades, backend=LocalBackend(2), **kwargs)
    assert one != monte_carlo(trades, backend=LocalBackend(1), **{**kwargs, "seed": 10})
    assert 0.0 < one.probability_of_ruin < 1.0
    assert len(one.fan_trades) == len(one.fan_bands[50]) and one.fan_trades[0] == 0
    assert one.fan_bands[5][0] == one.fan_bands[95][0] == 5_000  # every path starts there
    assert one.fan_bands[5][-1] <= one.fan_bands[50][-1] <= one.fan_bands[95][-1]


def test_bad_requests_are_refused():
    with pytest.raises(ConfigError, match="at least one trade"):
        monte_carlo([])
    with pytest.raises(ConfigError, match="method"):
        monte_carlo([1, 2], method="jackknife")
