"""What a search maximises: net P&L, Sharpe, profit factor, or net P&L penalised by drawdown."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

OBJECTIVE_HELP = {
    "net_pnl": "net P&L after costs",
    "sharpe": "annualised Sharpe ratio of daily returns",
    "profit_factor": "gross profit / gross loss",
    "pnl_minus_drawdown": "net P&L minus drawdown_weight x the max drawdown",
}


def objective_value(metrics: Mapping[str, Any], name: str, drawdown_weight: float = 1.0
                    ) -> float:
    """The objective of one result; -inf where it is undefined (no trades, no losing trade
    for a profit factor is +inf and ranks first)."""
    if name == "net_pnl":
        value = metrics.get("net_pnl_cents")
    elif name == "sharpe":
        value = metrics.get("sharpe")
    elif name == "profit_factor":
        value = metrics.get("profit_factor")
    elif name == "pnl_minus_drawdown":
        pnl, drawdown = metrics.get("net_pnl_cents"), metrics.get("max_drawdown_cents")
        value = None if pnl is None or drawdown is None else pnl + drawdown_weight * drawdown
    else:
        raise ValueError(f"unknown objective {name!r}; known: {', '.join(OBJECTIVE_HELP)}")
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return -math.inf
    return float(value)
