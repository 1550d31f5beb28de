"""Research views: the heatmap's cells, best-first order, a parameter set as a config edit."""

from __future__ import annotations

import math

from bot.research.cli import summary_line
from dashboard.research_views import (
    best_first,
    config_with_params,
    heatmap_figure,
    percentiles_frame,
)
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


def test_the_heatmap_is_centred_at_break_even_so_no_losing_cell_is_green():
    losing = {**SWEEP, "points": [{**p, "objective": -abs(p["objective"] or 0) - 100}
                                  for p in SWEEP["points"]]}
    assert heatmap_figure(losing, "a", "b").data[0].zmid == 0
    assert heatmap_figure({**SWEEP, "objective": "profit_factor"}, "a", "b").data[0].zmid == 1


MONTE_CARLO = {"kind": "monte_carlo", "runs": 1000, "probability_of_ruin": 0.0123,
               "percentiles": {  # as stored: text keys, in the order JSON sorted them
                   "final_pnl_cents": {"25": -41742.61, "5": -219315, "50": 1000, "75": 5000.4,
                                       "95": 123456},
                   "max_drawdown_cents": {"25": -30000, "5": -90000, "50": -15000,
                                          "75": -8000, "95": -2000}}}


def test_monte_carlo_percentiles_in_order_as_money():
    table = percentiles_frame(MONTE_CARLO)
    assert table["Percentile"].tolist() == ["5 %", "25 %", "50 %", "75 %", "95 %"]
    assert table["Final P&L"].tolist() == ["-$2,193.15", "-$417.43", "$10.00", "$50.00",
                                           "$1,234.56"]
    assert table["Max drawdown"].iloc[0] == "-$900.00"


def test_the_run_messages_read_as_text_not_python():
    sweep = {"kind": "sweep", "points": [1, 2], "best": {"params": {"fast": 10, "slow": 30}}}
    assert summary_line(sweep) == "2 points; best fast=10, slow=30"
    assert summary_line(MONTE_CARLO) == "1000 runs; median final P&L $10.00; ruin 1.2 %"
    walk = {"kind": "walk_forward", "windows": [1], "stitched": {"net_pnl_cents": -212572}}
    assert summary_line(walk) == "1 windows; out-of-sample net -$2,125.72"


def test_sweep_points_give_win_rate_in_percent_points_for_one_decimal():
    from dashboard.research_views import points_frame

    metrics = {"net_pnl_cents": -35629, "trades": 94, "win_rate": 0.361702,
               "profit_factor": 0.8, "sharpe": -1.0, "max_drawdown_cents": 50000}
    sweep = {"objective": "net_pnl", "points": [{"params": {"a": "1"}, "objective": -35629,
                                                 "metrics": metrics}]}
    row = points_frame(sweep).iloc[0]
    assert abs(row["win rate"] - 36.1702) < 1e-9 and row["net P&L $"] == -356.29
