"""The out-of-sample gate's statistics: what a rule changed, a seeded placebo test, and BH.

Pure functions over the settled trades of the gate's two runs (without / with the rule).

- ``trade_effects`` pairs the runs' trades by entry time and side: trades the rule removed,
  trades it added (an entry that a freed position allowed), and trades it changed (a shorter
  time exit). Their sum is the runs' net difference. Of the removed trades, those the rule
  refused itself (in its bucket) are told apart from knock-on removals (a trade that no longer
  happened because an added one held the position).
- ``placebo_p_value``: a refusing rule (lock, raised threshold) is a permutation test of the
  trades it refused against the "without" run's trades: is their mean net P&L lower than that
  of as many trades drawn at random (the placebo)? Knock-on trades (added, changed, removed
  outside the bucket) are left out of the test: they are the same chain of chance entries for
  a real rule and a noise one, and only blur the comparison (the net effect, "improved",
  still counts them). A rule that changes exits is compared with random signs of its per-trade
  contributions (a sign-flip test). Both are one-sided: the share of draws that did at least
  as well, counting the observed one (never 0).
- ``effect_interval``: a seeded bootstrap 95 % interval of the rule's net effect.
- ``benjamini_hochberg``: the adjusted p-values (q-values) of one review's rules, so the share
  of noise rules passing is bounded by ``learning.gate_alpha`` however many were tested.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

from shared.domain.models import TradeRecord


@dataclass(frozen=True, slots=True)
class TradeEffects:
    """What a rule did to the gate run's trades (cents, net)."""

    removed_cents: tuple[int, ...]
    added_cents: tuple[int, ...]
    changed_cents: tuple[int, ...]  # with - without, per trade the rule changed
    # of the removed trades, those the rule refused itself (None: all of them)
    refused_cents: tuple[int, ...] | None = None

    @property
    def refused(self) -> tuple[int, ...]:
        """The removed trades the rule refused itself (in its bucket)."""
        return self.removed_cents if self.refused_cents is None else self.refused_cents

    @property
    def effect_cents(self) -> int:
        """Net P&L with the rule minus without (equals the runs' difference)."""
        return (-sum(self.removed_cents) + sum(self.added_cents) + sum(self.changed_cents))

    @property
    def touched(self) -> int:
        return len(self.removed_cents) + len(self.added_cents) + len(self.changed_cents)


def _key(trade: TradeRecord) -> tuple[str, str]:
    return trade.entry_ts.isoformat(), trade.side.value


def trade_effects(without: Sequence[TradeRecord], with_rule: Sequence[TradeRecord],
                  refuses: Callable[[TradeRecord], bool] | None = None) -> TradeEffects:
    """Pair the two runs' trades by (entry time, side) and sort them into the three kinds;
    ``refuses`` (a trade in the rule's bucket) tells the refused removals from knock-on ones."""
    before = {_key(t): t for t in without}
    after = {_key(t): t.pnl_net_cents for t in with_rule}
    gone = [before[k] for k in sorted(before) if k not in after]
    removed = tuple(t.pnl_net_cents for t in gone)
    added = tuple(after[k] for k in sorted(after) if k not in before)
    changed = tuple(after[k] - before[k].pnl_net_cents for k in sorted(before)
                    if k in after and after[k] != before[k].pnl_net_cents)
    refused = None if refuses is None else tuple(t.pnl_net_cents for t in gone if refuses(t))
    return TradeEffects(removed, added, changed, refused)


def placebo_p_value(effects: TradeEffects, without_pnls_cents: Sequence[int],
                    draws: int, seed: int, refusing: bool = True) -> tuple[float, float]:
    """(one-sided p-value, mean placebo effect in cents) of the rule's effect; seeded.

    No trade touched: p = 1 (no evidence). A refusing rule (``refusing``): the effect of
    refusing the trades it refused itself (minus their net) against refusing as many random
    trades of the "without" run (which holds them); it refused none: p = 1. Otherwise (an exit
    rule): each draw flips the sign of each per-trade contribution (changes, added, minus
    removed) at random.
    """
    if effects.touched == 0 or (refusing and not effects.refused):
        return 1.0, 0.0
    rng = np.random.default_rng(seed)
    if refusing:
        pool = np.asarray(without_pnls_cents, dtype=np.int64)
        count = len(effects.refused)
        observed = -sum(effects.refused)
        keys = rng.random((draws, len(pool)))
        picks = np.argpartition(keys, count - 1, axis=1)[:, :count]
        placebo = -pool[picks].sum(axis=1)
    else:
        parts = np.asarray(effects.changed_cents + effects.added_cents
                           + tuple(-p for p in effects.removed_cents), dtype=np.int64)
        signs = rng.choice(np.array([-1, 1], dtype=np.int64), size=(draws, len(parts)))
        placebo = (signs * parts).sum(axis=1)
        observed = effects.effect_cents
    at_least = int(np.count_nonzero(placebo >= observed))
    return (1 + at_least) / (1 + draws), float(placebo.mean())


def effect_interval(effects: TradeEffects, draws: int, seed: int,
                    level: float = 0.95) -> tuple[int, int]:
    """Bootstrap interval (cents) of the rule's net effect: its per-trade contributions
    (minus each removed trade, each added one, each change) resampled with replacement."""
    parts = np.asarray(effects.changed_cents + effects.added_cents
                       + tuple(-p for p in effects.removed_cents), dtype=np.int64)
    if len(parts) == 0:
        return 0, 0
    rng = np.random.default_rng(seed)
    sums = parts[rng.integers(0, len(parts), size=(draws, len(parts)))].sum(axis=1)
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(sums, [tail, 100 - tail])
    return int(round(low)), int(round(high))


def benjamini_hochberg(p_values: Sequence[float]) -> list[float]:
    """BH-adjusted p-values (q-values), in the input's order; a rule passes when q <= alpha."""
    count = len(p_values)
    if count == 0:
        return []
    order = sorted(range(count), key=lambda i: p_values[i])
    adjusted = [0.0] * count
    running = 1.0
    for rank in range(count, 0, -1):
        index = order[rank - 1]
        running = min(running, p_values[index] * count / rank)
        # q >= p always; the max keeps float rounding (p * m / m) from putting q below p
        adjusted[index] = min(1.0, max(running, p_values[index]))
    return adjusted
