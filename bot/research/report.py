"""Research results as JSON documents (stored in ``research_runs``, ``--json``) and CSV tables.

Money stays in cents; NaN and infinities become null (JSON has neither), as in backtest reports.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Sequence
from typing import Any

from bot.research.montecarlo import MonteCarloResult
from bot.research.objectives import objective_value
from bot.research.sweep import SweepPoint, ranked
from bot.research.walkforward import WalkForwardResult

HEADLINE = ("net_pnl_cents", "trades", "win_rate", "profit_factor", "sharpe",
            "max_drawdown_cents", "return_pct", "expectancy_cents", "exposure")


def finite(value: Any) -> Any:
    """NaN and infinities as None."""
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def headline(metrics: dict[str, Any]) -> dict[str, Any]:
    """The metrics a research table shows."""
    return {name: finite(metrics.get(name)) for name in HEADLINE}


def sweep_document(points: Sequence[SweepPoint], grid: dict[str, list[str]], objective: str,
                   drawdown_weight: float) -> dict[str, Any]:
    """Every point (grid order) with its objective, and the best one."""
    rows = [{"params": p.params, "key": p.key, "metrics": headline(p.metrics),
             "objective": finite(objective_value(p.metrics, objective, drawdown_weight))}
            for p in points]
    best = ranked(points, objective, drawdown_weight)[0]
    return {"kind": "sweep", "objective": objective, "drawdown_weight": drawdown_weight,
            "grid": grid, "points": rows, "best": {"params": best.params, "key": best.key}}


def walk_forward_document(result: WalkForwardResult, grid: dict[str, list[str]],
                          objective: str, drawdown_weight: float, anchored: bool
                          ) -> dict[str, Any]:
    """Per window in-sample vs out-of-sample, the stitched record, equity and stability."""
    windows = []
    for number, w in enumerate(result.windows, 1):
        windows.append({
            "number": number, "train": list(w.train), "test": list(w.test),
            "test_start": w.test_span[0].isoformat(), "test_end": w.test_span[1].isoformat(),
            "params": w.params, "in_sample": headline(w.train_metrics),
            "out_of_sample": headline(w.test_metrics),
            "in_sample_objective": finite(objective_value(w.train_metrics, objective,
                                                          drawdown_weight)),
            "out_of_sample_objective": finite(objective_value(w.test_metrics, objective,
                                                              drawdown_weight)),
        })
    return {"kind": "walk_forward", "objective": objective, "drawdown_weight": drawdown_weight,
            "grid": grid, "anchored": anchored, "windows": windows,
            "stitched": headline(result.metrics),
            "equity": [[ts.isoformat(), cents] for ts, cents in result.equity],
            "stability": {key: {k: finite(v) for k, v in entry.items()}
                          for key, entry in result.stability.items()}}


def monte_carlo_document(result: MonteCarloResult, source: dict[str, Any]) -> dict[str, Any]:
    """Percentiles, ruin probability and fan bands of a Monte Carlo run, and its source run."""
    return {"kind": "monte_carlo", "source": headline(source), "runs": result.runs,
            "method": result.method, "block_length": result.block_length,
            "percentiles": {"final_pnl_cents": {str(p): v for p, v in
                                                result.final_pnl_cents.items()},
                            "max_drawdown_cents": {str(p): v for p, v in
                                                   result.max_drawdown_cents.items()}},
            "probability_of_ruin": result.probability_of_ruin,
            "starting_equity_cents": result.starting_equity_cents,
            "ruin_equity_cents": result.ruin_equity_cents,
            "fan": {"trades": list(result.fan_trades),
                    "bands": {str(p): list(v) for p, v in result.fan_bands.items()}}}


def document_csv(document: dict[str, Any]) -> str:
    """The document's main table as CSV: points, windows (+ stitched) or percentiles."""
    kind = document["kind"]
    if kind == "sweep":
        keys = sorted(document["grid"])
        header = [*keys, "objective", *HEADLINE]
        rows = [[p["params"].get(k) for k in keys] + [p["objective"]]
                + [p["metrics"][m] for m in HEADLINE] for p in document["points"]]
    elif kind == "walk_forward":
        keys = sorted(document["grid"])
        header = ["window", "test_start", "test_end", *keys,
                  *(f"in_{m}" for m in HEADLINE), *(f"out_{m}" for m in HEADLINE)]
        rows = [[w["number"], w["test_start"], w["test_end"], *[w["params"].get(k) for k in keys],
                 *[w["in_sample"][m] for m in HEADLINE],
                 *[w["out_of_sample"][m] for m in HEADLINE]] for w in document["windows"]]
        rows.append(["stitched", "", "", *[""] * len(keys), *[""] * len(HEADLINE),
                     *[document["stitched"][m] for m in HEADLINE]])
    else:
        header = ["percentile", "final_pnl_cents", "max_drawdown_cents"]
        found = document["percentiles"]
        rows = [[p, found["final_pnl_cents"][p], found["max_drawdown_cents"][p]]
                for p in found["final_pnl_cents"]]
        rows.append(["probability_of_ruin", document["probability_of_ruin"], ""])
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()
