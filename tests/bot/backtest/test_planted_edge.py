"""The planted edge: off by default, seeded by the market, and it moves prices only after its
condition (then the market falls about one stop, so longs taken there lose)."""

from __future__ import annotations

import numpy as np
import pytest

from bot.backtest.data import synthetic_data
from bot.backtest.planted_edge import (
    PLANTED_EDGES,
    condition_mask,
    plant,
    planted_edge,
)
from bot.backtest.runner import run_on_data
from bot.backtest.vector_features import feature_matrix
from shared.config.backtest_request import BacktestRequest
from shared.config.settings import Settings
from shared.domain.errors import ConfigError

pytestmark = pytest.mark.unit
EDGE = PLANTED_EDGES["open_high_vol_longs"]
SETTINGS = Settings()


@pytest.fixture(scope="module")
def plain():
    data = synthetic_data(12_000, 7, 60, None)
    return data.slice(0, len(data), first=SETTINGS.features.window_bars)


@pytest.fixture(scope="module")
def planted(plain):
    return plant(plain, EDGE, SETTINGS.features, SETTINGS.regime)


def _condition_and_atr(data):
    table = feature_matrix(data.open, data.high, data.low, data.close, data.volume,
                           SETTINGS.features)
    atr = table.column("atr_points")
    mask = condition_mask(data, EDGE, atr, table.column("atr_baseline_points"),
                          SETTINGS.regime)
    return mask, atr


def _session_starts(data):
    starts = np.ones(len(data), dtype=bool)
    starts[1:] = np.diff(data.ts_ns) > data.bar_seconds * 10**9
    return starts


def test_no_edge_is_the_default_and_leaves_the_market_untouched(plain):
    assert planted_edge(None) is None and planted_edge("none") is None
    assert plant(plain, None, SETTINGS.features, SETTINGS.regime) is plain
    with pytest.raises(ConfigError, match="unknown; known: open_high_vol_longs"):
        planted_edge("free_money")


def test_the_same_seed_plants_the_same_market(plain, planted):
    again = plant(plain, EDGE, SETTINGS.features, SETTINGS.regime)
    assert np.array_equal(again.close, planted.close)
    assert np.array_equal(again.high, planted.high) and np.array_equal(again.low, planted.low)


def test_returns_change_only_within_the_horizon_after_a_condition_bar(plain, planted):
    mask, _ = _condition_and_atr(plain)
    assert mask.sum() > 50  # the condition happens (open bucket, high volatility)
    horizon = int(EDGE.horizon_minutes)
    starts = _session_starts(plain)
    session = np.cumsum(starts)
    armed = np.zeros(len(plain), dtype=bool)
    for index in np.flatnonzero(mask):
        stop = min(len(plain), index + horizon + 1)
        armed[index + 1:stop] |= session[index + 1:stop] == session[index]
    changed = np.diff(planted.close) != np.diff(plain.close)
    changed_at = np.flatnonzero(changed) + 1
    assert len(changed_at) > 0
    assert np.all(armed[changed_at] | starts[changed_at])  # nowhere else
    # each session starts where the plain market does: the break absorbs the drift
    assert np.array_equal(planted.open[starts], plain.open[starts])
    assert np.all(planted.high >= np.maximum(planted.open, planted.close))
    assert np.all(planted.low <= np.minimum(planted.open, planted.close))
    assert np.all(np.abs(planted.close / 0.25 - np.round(planted.close / 0.25)) < 1e-9)


def test_after_a_condition_bar_the_market_falls_about_one_stop(plain, planted):
    mask, atr = _condition_and_atr(plain)
    horizon = int(EDGE.horizon_minutes)
    starts = _session_starts(plain)
    session = np.cumsum(starts)
    falls = []
    for index in np.flatnonzero(mask):
        later = index + horizon
        if later < len(plain) and session[later] == session[index]:
            planted_move = planted.close[later] - planted.close[index]
            plain_move = plain.close[later] - plain.close[index]
            falls.append((plain_move - planted_move) / atr[index])
    assert len(falls) > 20
    assert min(falls) >= EDGE.move_atr - 0.5  # 4.5 ATR (the default stop) give or take ticks


def test_longs_in_the_condition_lose_and_shorts_there_win(plain, planted):
    request = BacktestRequest.model_validate({"data": "synthetic", "bars": 12_000})

    def in_condition(trades, side):
        return [t.pnl_net_cents for t in trades if t.side.value == side
                and t.labels.get("time_bucket") == "open"
                and t.labels.get("volatility") == "high"]

    trades = run_on_data(request, planted).trades
    longs, shorts = in_condition(trades, "long"), in_condition(trades, "short")
    assert longs and shorts
    assert np.mean(longs) < 0 < np.mean(shorts)
