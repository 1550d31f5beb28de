"""A real Dask scheduler and two workers on loopback give exactly the local backend's results."""

from __future__ import annotations

import json

import pytest

from bot.backtest.runner import build_settings, load_data
from bot.research.montecarlo import monte_carlo
from bot.research.scaleout import DaskBackend, LocalBackend
from bot.research.sweep import sweep_on_data
from bot.research.walkforward import walk_forward_on_data
from shared.config.backtest_request import BacktestRequest
from shared.domain.errors import ConfigError
from tests.bot.research.dask_cluster import dask_cluster

pytestmark = pytest.mark.integration

BASE = BacktestRequest(bars=4000, strategy="rsi_macd_bracket", commission_usd=0.62,
                       slippage_ticks=1)
GRID = {"stop_atr": ["1.5", "2", "3"], "target_ratio": ["1.5", "2"]}


@pytest.fixture(scope="module")
def cluster(tmp_path_factory):
    with dask_cluster(2, tmp_path_factory.mktemp("dask")) as address:
        yield address


def _as_json(points) -> str:
    return json.dumps([[p.key, p.params, p.metrics, [t.pnl_net_cents for t in p.trades]]
                       for p in points], sort_keys=True, default=str)


def test_a_sweep_on_the_cluster_equals_one_and_two_local_workers(cluster):
    data = load_data(BASE, build_settings(BASE))
    seen = []
    on_dask = sweep_on_data(BASE, GRID, data, backend=DaskBackend(cluster),
                            progress=lambda done, total: seen.append((done, total)))
    one = sweep_on_data(BASE, GRID, data, backend=LocalBackend(1))
    two = sweep_on_data(BASE, GRID, data, backend=LocalBackend(2))
    assert _as_json(on_dask) == _as_json(one) == _as_json(two)
    assert sorted(seen) == [(n, 6) for n in range(1, 7)]
    assert len({p.metrics["net_pnl_cents"] for p in one}) > 1  # the grid changed something


def test_walk_forward_and_monte_carlo_on_the_cluster_equal_local(cluster):
    data = load_data(BASE, build_settings(BASE))
    local = walk_forward_on_data(BASE, GRID, data, 1500, 1000, backend=LocalBackend(2))
    remote = walk_forward_on_data(BASE, GRID, data, 1500, 1000, backend=DaskBackend(cluster))
    assert [w.params for w in remote.windows] == [w.params for w in local.windows]
    assert remote.trades == local.trades and remote.stability == local.stability
    pnl = [t.pnl_net_cents for t in local.trades]
    kwargs = {"runs": 5000, "seed": 3, "method": "block", "block_length": 3,
              "starting_equity_cents": 100_000, "ruin_equity_cents": 90_000}
    assert monte_carlo(pnl, backend=DaskBackend(cluster), **kwargs) == monte_carlo(pnl, **kwargs)


def test_an_unreachable_scheduler_is_a_clear_error():
    from tests.bot.research.dask_cluster import _free_port

    with pytest.raises(ConfigError, match="no Dask scheduler answers"):
        sweep_on_data(BASE, {"stop_atr": ["2"]}, load_data(BASE, build_settings(BASE)),
                      backend=DaskBackend(f"tcp://127.0.0.1:{_free_port()}", 2.0))
