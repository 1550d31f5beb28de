"""The backtest gate: replay the journaled bars of the last days with and without a rule.

Both runs use the backtester's engine (``run_engine``, the live decision code) on the same bars
with the same settings; the only difference is the rule book. "Without" is the rules already
approved, "with" adds the candidate, so the gate measures what approving it would change.
Positions still open at the end are closed at the last bar (``settle``), as in any backtest.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import numpy as np

from bot.backtest.data import BarData
from bot.backtest.engine_run import commission_cents, run_engine
from bot.backtest.settle import Costs, settle
from bot.core.rules import RuleBook
from shared.config.settings import Settings
from shared.domain.instruments import get_instrument, usd_to_cents
from shared.domain.models import Bar
from shared.domain.rules import LearnedRule

logger = logging.getLogger(__name__)


def bar_data(bars: list[Bar], first: int) -> BarData:
    """Journaled bars as backtest columns; decisions start at index ``first``."""
    columns = np.array([[b.ts.timestamp(), b.open, b.high, b.low, b.close, b.volume]
                        for b in bars], dtype=np.float64).reshape(-1, 6)
    ts_ns = np.round(columns[:, 0] * 1e9).astype(np.int64)
    steps = np.diff(ts_ns) // 1_000_000_000
    positive = steps[steps > 0]
    bar_seconds = int(np.median(positive)) if len(positive) else 60
    return BarData(ts_ns, columns[:, 1].copy(), columns[:, 2].copy(), columns[:, 3].copy(),
                   columns[:, 4].copy(), columns[:, 5].copy(), bar_seconds=bar_seconds,
                   first=first)


def run_summary(settings: Settings, data: BarData, book: RuleBook) -> dict[str, Any]:
    """One run: trades, wins, losses and net P&L (cents) with ``book``'s rules applied."""
    settings = settings.model_copy(
        update={"feed": settings.feed.model_copy(update={"bar_seconds": data.bar_seconds})})
    outcome = run_engine(settings, data, rules=book)
    instrument = get_instrument(settings.instrument.symbol)
    costs = Costs(instrument, commission_cents(settings, instrument),
                  settings.backtest.slippage_ticks)
    settled = settle(outcome, data, costs, usd_to_cents(settings.backtest.starting_equity_usd),
                     usd_to_cents(settings.backtest.ruin_equity_usd))
    trades = settled.trades
    return {"rule_ids": [r.rule_id for r in book.rules], "trades": len(trades),
            "wins": sum(1 for t in trades if t.pnl_net_cents > 0),
            "losses": sum(1 for t in trades if t.pnl_net_cents < 0),
            "net_pnl_cents": sum(t.pnl_net_cents for t in trades)}


@dataclass(frozen=True, slots=True)
class GateResult:
    """The with/without comparison stored with a proposal."""

    document: dict[str, Any]
    improved: bool


def gate(settings: Settings, data: BarData, approved: RuleBook, candidate: LearnedRule,
         min_improvement_cents: int, days: list[str]) -> GateResult:
    """Backtest ``data`` with the approved rules, then with the candidate added."""
    without = run_summary(settings, data, approved)
    with_rule = run_summary(settings, data, RuleBook((*approved.rules, candidate)))
    improvement = with_rule["net_pnl_cents"] - without["net_pnl_cents"]
    improved = improvement > min_improvement_cents
    document = {"days": days, "bars": len(data) - data.first, "bar_seconds": data.bar_seconds,
                "without": without, "with": with_rule, "improvement_cents": improvement,
                "min_improvement_cents": min_improvement_cents, "improved": improved}
    logger.info("rule gate over %d bars: without %s, with %s (%+d cents)",
                len(data) - data.first, without["net_pnl_cents"], with_rule["net_pnl_cents"],
                improvement)
    return GateResult(document, improved)
