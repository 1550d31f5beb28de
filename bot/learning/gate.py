"""The out-of-sample gate: replay the journaled bars of the gate days with and without a rule.

The gate days come after the days the rule was mined from (``review``), so the gate judges it
on data it was not fitted to. Both runs use the backtester's engine (``run_engine``, the live
decision code) on the same bars with the same settings; the only difference is the rule book.
"Without" is the rules already approved, "with" adds the candidate, so the gate measures what
approving it would change. Both runs replay the LLM replies the live bot really had at those
bars (``gate_llm``), so "without" is what the bot did. With ``memory.enabled`` both runs start
from the same memory the live bot had: the journal's setups closed before the first decision
bar (``memory_rows``), never a later one. Positions still open at the end are closed at the
last bar (``settle``), as in any backtest. A refusing rule's p-value is a seeded permutation
test of the trades it refused (those in its bucket) against as many random trades of the
"without" run (``oos_stats``); the review corrects the p-values of all its rules together
(BH).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bot.backtest.data import BarData
from bot.backtest.engine_run import commission_cents, run_engine
from bot.backtest.settle import Costs, settle
from bot.core.memory import MemoryIndex
from bot.core.rules import RuleBook
from bot.learning.gate_llm import GateReplies, replay_hook
from bot.learning.oos_stats import (
    TradeEffects,
    effect_interval,
    placebo_p_value,
    trade_effects,
)
from shared.config.settings import Settings
from shared.domain.instruments import get_instrument, usd_to_cents
from shared.domain.memory import MemoryRow
from shared.domain.models import Bar, TradeRecord
from shared.domain.rules import LearnedRule, RuleKind

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


def run_summary(settings: Settings, data: BarData, book: RuleBook,
                memory_rows: Sequence[MemoryRow] = (),
                replies: GateReplies | None = None) -> dict[str, Any]:
    """One run: trades, wins, losses and net P&L (cents) with ``book``'s rules applied.

    Memory (when enabled) starts from ``memory_rows``, a fresh index per run; ``replies`` (the
    live bot's LLM replies) are replayed at the bars they reached.
    """
    return _run(settings, data, book, memory_rows, replies)[0]


def _run(settings: Settings, data: BarData, book: RuleBook, memory_rows: Sequence[MemoryRow],
         replies: GateReplies | None) -> tuple[dict[str, Any], list[TradeRecord]]:
    settings = settings.model_copy(
        update={"feed": settings.feed.model_copy(update={"bar_seconds": data.bar_seconds})})
    memory = MemoryIndex.from_rows(memory_rows) if settings.memory.enabled else None
    llm = replay_hook(data, settings, replies) if replies else None
    outcome = run_engine(settings, data, rules=book, memory=memory, llm=llm)
    instrument = get_instrument(settings.instrument.symbol)
    costs = Costs(instrument, commission_cents(settings, instrument),
                  settings.backtest.slippage_ticks)
    settled = settle(outcome, data, costs, usd_to_cents(settings.backtest.starting_equity_usd),
                     usd_to_cents(settings.backtest.ruin_equity_usd))
    trades = list(settled.trades)
    summary = {"rule_ids": [r.rule_id for r in book.rules], "trades": len(trades),
               "wins": sum(1 for t in trades if t.pnl_net_cents > 0),
               "losses": sum(1 for t in trades if t.pnl_net_cents < 0),
               "net_pnl_cents": sum(t.pnl_net_cents for t in trades),
               "memory_seeded_setups": len(memory_rows) if memory is not None else None}
    if replies is not None:
        summary["llm_replies_replayed"] = len(replies)
    return summary, trades


@dataclass(frozen=True, slots=True)
class GateResult:
    """The with/without comparison stored with a proposal, and its placebo p-value."""

    document: dict[str, Any]
    improved: bool
    p_value: float
    effects: TradeEffects = TradeEffects((), (), ())
    without_pnls_cents: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class GateInputs:
    """What every gate of one review shares: the bars, the memory and the LLM replies."""

    data: BarData
    days: list[str]
    memory_rows: Sequence[MemoryRow] = ()
    replies: GateReplies | None = None
    days_without_bars: Sequence[str] = ()
    # The "without" run of one review's gates: the same settings, bars, memory, replies and
    # approved book for every candidate, so it is computed once (the engine is deterministic).
    _baselines: dict[tuple[int, int], Any] = field(default_factory=dict, compare=False,
                                                   repr=False)

    def baseline(self, settings: Settings, approved: RuleBook
                 ) -> tuple[dict[str, Any], list[TradeRecord]]:
        """The run with ``approved`` alone: computed on first use, then reused (a copy)."""
        key = (id(settings), id(approved))
        cached = self._baselines.get(key)
        if cached is None or cached[0] is not settings or cached[1] is not approved:
            run = _run(settings, self.data, approved, self.memory_rows, self.replies)
            cached = self._baselines[key] = (settings, approved, run)
        summary, trades = cached[2]
        return copy.deepcopy(summary), list(trades)


Baseline = tuple[dict[str, Any], list[TradeRecord]]


def gate_baseline(settings: Settings, inputs: GateInputs, approved: RuleBook) -> Baseline:
    """The gate's "without" run (the approved rules only), shareable by many candidates."""
    return inputs.baseline(settings, approved)


def gate(settings: Settings, inputs: GateInputs, approved: RuleBook, candidate: LearnedRule,
         min_improvement_cents: int, seed: int, baseline: Baseline | None = None) -> GateResult:
    """Backtest the gate days with the approved rules (or take ``baseline``, that run), then
    with the candidate added."""
    data = inputs.data
    if baseline is not None:
        without, before = copy.deepcopy(baseline[0]), list(baseline[1])
    else:
        without, before = inputs.baseline(settings, approved)
    with_rule, after = _run(settings, data, RuleBook((*approved.rules, candidate)),
                            inputs.memory_rows, inputs.replies)
    improvement = with_rule["net_pnl_cents"] - without["net_pnl_cents"]
    refusing = candidate.kind in (RuleKind.LOCK_BUCKET, RuleKind.RAISE_THRESHOLD)
    effects = trade_effects(before, after, _in_bucket(candidate) if refusing else None)
    pool = tuple(t.pnl_net_cents for t in before)
    p_value, placebo_mean = placebo_p_value(effects, pool,
                                            settings.learning.gate_permutations, seed, refusing)
    improved = improvement > min_improvement_cents
    document = {"days": inputs.days, "bars": len(data) - data.first,
                "bar_seconds": data.bar_seconds, "without": without, "with": with_rule,
                "improvement_cents": improvement, "min_improvement_cents": min_improvement_cents,
                "improved": improved, "trades_removed": len(effects.removed_cents),
                "trades_refused": len(effects.refused),
                "refused_net_cents": sum(effects.refused),
                "trades_added": len(effects.added_cents),
                "trades_changed": len(effects.changed_cents),
                "placebo_mean_cents": round(placebo_mean), "p_value": p_value,
                "effect_ci_cents": list(effect_interval(
                    effects, settings.learning.gate_permutations, seed)),
                "permutations": settings.learning.gate_permutations, "seed": seed}
    logger.info("rule gate over %d bars: without %s, with %s (%+d cents, p=%.3f)",
                len(data) - data.first, without["net_pnl_cents"], with_rule["net_pnl_cents"],
                improvement, p_value)
    return GateResult(document, improved, p_value, effects, pool)


def _in_bucket(rule: LearnedRule) -> Callable[[TradeRecord], bool]:
    """Whether a trade of the "without" run was entered in the rule's bucket (so a removed one
    was refused by the rule itself, not removed by a knock-on entry)."""
    return lambda trade: rule.bucket.matches(trade.side, trade.labels)
