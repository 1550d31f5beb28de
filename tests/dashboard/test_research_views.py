"""Research views: the heatmap's cells, best-first order, a parameter set as a config edit."""

from __future__ import annotations

import math

from dashboard.research_views import best_first, config_with_params, heatmap_figure
from shared.config.settings import Settings

SWEEP = {
    "kind": "sweep", "objective": "net_pnl", "grid": {"a": ["1", "2"], "b": ["x", "y", "z"]},
    "points": [{"params": {"a": a, "b": b}, "objective": value, "metrics": {}}
               for (a, b), value in zip([(a, b) for a in ("1", "2") for b in ("x", "y", "z")],
                                        [100, None, 300, 400, 500, 0], strict=True)],
}


def test_the_heatmap_has_one_cell_per_grid_pair_in_grid_order_in_dollars():
    figure = heatmap_figure(SWEEP, "a", "b")
    heat = figure.data[0]
    assert list(heat.x) == ["1", "2"] and list(heat.y) == ["x", "y", "z"]
    z = [[None if isinstance(v, float) and math.isnan(v) else v for v in row] for row in heat.z]
    assert z == [[1.0, 4.0], [None, 5.0], [3.0, 0.0]]


def test_points_rank_best_first_with_undefined_last():
    assert [p["objective"] for p in best_first(SWEEP["points"])] == [500, 400, 300, 100, 0, None]


def test_a_parameter_set_becomes_a_validated_config():
    settings, errors, skipped = config_with_params(
        Settings(), {"risk.max_hold_minutes": "30", "min_body_over_atr": "0.9"}, "breakout")
    assert errors == [] and skipped == []
    assert settings.risk.max_hold_minutes == 30
    assert settings.strategies.breakout.min_body_over_atr == 0.9
    _, errors, _ = config_with_params(Settings(), {"risk.max_contracts": "-3"}, None)
    assert [e.location for e in errors] == ["risk.max_contracts"]
    settings, errors, skipped = config_with_params(Settings(), {"stop_atr": "2"},
                                                   "rsi_macd_bracket")
    assert skipped == ["stop_atr"] and errors == [] and settings == Settings()
