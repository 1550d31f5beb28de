"""TPE search: reproducible by seed whatever the workers, points from the grid, best is best."""

from __future__ import annotations

import itertools
import json

import pytest

from bot.backtest.runner import build_settings, load_data
from bot.research.scaleout import LocalBackend
from bot.research.sweep import best_point
from bot.research.tpe import tpe_search
from shared.config.backtest_request import BacktestRequest

BASE = BacktestRequest(bars=3000, strategy="rsi_macd_bracket", commission_usd=0)
GRID = {"stop_atr": ["1", "1.5", "2", "2.5", "3", "3.5"], "target_ratio": ["1", "1.5", "2", "3"],
        "atr_period": ["7", "14", "21"]}


def _text(points) -> str:
    """Points as JSON text (NaN metrics compare equal there)."""
    return json.dumps([(p.params, p.metrics) for p in points], sort_keys=True)


@pytest.mark.integration  # starts local worker processes
def test_the_same_seed_gives_the_same_trials_on_one_or_two_workers():
    data = load_data(BASE, build_settings(BASE))
    seen = []
    one = tpe_search(BASE, GRID, data, 20, 5, "net_pnl", LocalBackend(1),
                     progress=lambda done, total: seen.append((done, total)))
    two = tpe_search(BASE, GRID, data, 20, 5, "net_pnl", LocalBackend(2))
    assert _text(one) == _text(two)
    assert seen == [(8, 20), (16, 20), (20, 20)]
    everything = [dict(zip(sorted(GRID), combo, strict=True))
                  for combo in itertools.product(*(GRID[k] for k in sorted(GRID)))]
    assert all(p.params in everything for p in one)
    assert len({p.key for p in one}) == len(one) <= 20  # a point sampled twice ran once
    other = tpe_search(BASE, GRID, data, 20, 6, "net_pnl", LocalBackend(1))
    assert [p.params for p in other] != [p.params for p in one]
    best = best_point(one)
    assert best.metrics["net_pnl_cents"] == max(p.metrics["net_pnl_cents"] for p in one)
