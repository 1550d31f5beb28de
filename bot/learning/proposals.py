"""Mine closed trades for learned-rule proposals, each with the evidence that justifies it.

Pure functions over the trades of the review's mining window (the days before its gate
window: every proposal is then judged on days it was not mined from). Three kinds, each
needing ``min_sample`` trades in its bucket and a losing bucket overall:
- lock_bucket: ``min_losses`` or more losses of one side in a trend/volatility bucket, or in a
  time-of-day/volatility bucket (the labels memory keys its buckets on; any trend), within the
  mining window (freqtrade's StoplossGuard, per bucket and side);
- raise_threshold: in a side/trend/volatility bucket, the entry-confidence cut that would have
  kept the best net P&L on the mining window, when it drops at least one trade and keeps at
  least one. The cut is fitted to those trades, so its in-sample gain is optimistic by
  construction: only the gate's out-of-sample result (other days) counts;
- shorten_time_exit: ``min_losses`` or more losing time exits in a trend/volatility bucket: exit
  after the longest hold of the bucket's winners (half the configured hold if none won).
Evidence lists the trade ids, counts and P&L a person (or a test) can check against the journal.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from shared.domain.models import ExitReason, Side
from shared.domain.rules import Bucket, RuleKind
from shared.persistence.learning_queries import ReviewTrade


@dataclass(frozen=True, slots=True)
class MiningLimits:
    """The review's thresholds (from ``learning`` and ``risk`` settings)."""

    min_sample: int
    min_losses: int
    min_weighted_confidence: float
    max_hold_minutes: float


@dataclass(frozen=True, slots=True)
class Proposal:
    """A rule the review would propose, before its backtest."""

    kind: RuleKind
    bucket: Bucket
    params: dict[str, Any]
    summary: str
    evidence: dict[str, Any]

    def fingerprint(self) -> str:
        """Identity of kind and parameters (the same rule is never proposed twice while open)."""
        text = json.dumps({"kind": self.kind.value, **self.params}, sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _count(number: int, one: str, many: str) -> str:
    """``1 loss``, ``3 losses``."""
    return f"{number} {one if number == 1 else many}"


def _usd(cents: int) -> str:
    return f"{'-' if cents < 0 else ''}${abs(cents) / 100:,.2f}"


def _group(trades: Iterable[ReviewTrade], key: Callable[[ReviewTrade], tuple]) -> dict:
    groups: dict[tuple, list[ReviewTrade]] = defaultdict(list)
    for trade in trades:
        if trade.trend is None or trade.volatility is None:
            continue
        groups[key(trade)].append(trade)
    return dict(sorted(groups.items()))


def _hold_minutes(trade: ReviewTrade) -> float:
    return (trade.exit_ts - trade.entry_ts).total_seconds() / 60


def base_evidence(trades: list[ReviewTrade], window: tuple[date, date]) -> dict[str, Any]:
    """Counts, P&L and ids of a bucket's trades."""
    losses = [t for t in trades if t.pnl_net_cents < 0]
    return {
        "window": [window[0].isoformat(), window[1].isoformat()],
        "trades": len(trades), "losses": len(losses),
        "wins": sum(1 for t in trades if t.pnl_net_cents > 0),
        "net_pnl_cents": sum(t.pnl_net_cents for t in trades),
        "trade_ids": [t.trade_id for t in trades],
        "bracket_ids": [t.bracket_id for t in trades],
        "loss_trade_ids": [t.trade_id for t in losses],
        "loss_pnl_cents": sum(t.pnl_net_cents for t in losses),
    }


def _lock_buckets(trades: list[ReviewTrade]) -> list[tuple[Bucket, list[ReviewTrade]]]:
    """Each side's trades by trend/volatility, then by time of day/volatility (any trend)."""
    by_trend = _group(trades, lambda t: (t.side, t.trend, t.volatility))
    timed = [t for t in trades if t.time_bucket is not None]
    by_time = _group(timed, lambda t: (t.side, t.time_bucket, t.volatility))
    return ([(Bucket(Side(side), trend, vol), group)
             for (side, trend, vol), group in by_trend.items()]
            + [(Bucket(Side(side), None, vol, time_bucket), group)
               for (side, time_bucket, vol), group in by_time.items()])


def lock_proposals(trades: list[ReviewTrade], window: tuple[date, date],
                   limits: MiningLimits) -> list[Proposal]:
    """Lock a side in a losing bucket that lost ``min_losses`` times."""
    found = []
    for bucket, group in _lock_buckets(trades):
        evidence = base_evidence(group, window)
        if (len(group) < limits.min_sample or evidence["losses"] < limits.min_losses
                or evidence["net_pnl_cents"] >= 0):
            continue
        summary = (f"Lock {bucket.describe()}: {_count(evidence['losses'], 'loss', 'losses')} in "
                   f"{_count(evidence['trades'], 'trade', 'trades')} "
                   f"({_usd(evidence['net_pnl_cents'])} net) "
                   f"from {window[0]} to {window[1]}")
        found.append(Proposal(RuleKind.LOCK_BUCKET, bucket, {"bucket": bucket.to_dict()},
                              summary, evidence))
    return found


def threshold_proposals(trades: list[ReviewTrade], window: tuple[date, date],
                        limits: MiningLimits) -> list[Proposal]:
    """Raise the entry confidence in a losing bucket to the cut that kept the best net P&L."""
    found = []
    for (side, trend, volatility), group in _group(
            trades, lambda t: (t.side, t.trend, t.volatility)).items():
        known = [t for t in group if t.entry_confidence is not None]
        total = sum(t.pnl_net_cents for t in known)
        if len(known) < limits.min_sample or total >= 0:
            continue
        best: tuple[int, float] | None = None
        for cut in sorted({float(t.entry_confidence or 0) for t in known}):
            kept = [t for t in known if (t.entry_confidence or 0) >= cut]
            if len(kept) == len(known) or cut <= limits.min_weighted_confidence:
                continue
            kept_pnl = sum(t.pnl_net_cents for t in kept)
            if kept_pnl > total and (best is None or kept_pnl > best[0]):
                best = (kept_pnl, cut)
        if best is None:
            continue
        cut = math.floor(best[1] * 1000) / 1000  # a kept trade's confidence still passes
        removed = [t for t in known if (t.entry_confidence or 0) < cut]
        kept = [t for t in known if (t.entry_confidence or 0) >= cut]
        bucket = Bucket(Side(side), trend, volatility)
        evidence = base_evidence(known, window) | {
            "min_confidence": cut,
            "removed_trade_ids": [t.trade_id for t in removed],
            "removed_pnl_cents": sum(t.pnl_net_cents for t in removed),
            "kept_trade_ids": [t.trade_id for t in kept],
            "kept_pnl_cents": sum(t.pnl_net_cents for t in kept),
            "entry_confidences": {str(t.trade_id): t.entry_confidence for t in known},
        }
        summary = (f"Raise the entry threshold for {bucket.describe()} to {cut:.3f}: the "
                   f"{len(removed)} trades below it made {_usd(evidence['removed_pnl_cents'])}, "
                   f"the {len(kept)} above {_usd(evidence['kept_pnl_cents'])}")
        found.append(Proposal(RuleKind.RAISE_THRESHOLD, bucket,
                              {"bucket": bucket.to_dict(), "min_confidence": cut},
                              summary, evidence))
    return found


def time_exit_proposals(trades: list[ReviewTrade], window: tuple[date, date],
                        limits: MiningLimits) -> list[Proposal]:
    """Shorten the time exit in a bucket whose time exits kept losing."""
    found = []
    for (trend, volatility), group in _group(
            trades, lambda t: (t.trend, t.volatility)).items():
        timed_out = [t for t in group if t.exit_reason == ExitReason.TIME_EXIT.value
                     and t.pnl_net_cents < 0]
        total = sum(t.pnl_net_cents for t in group)
        if len(group) < limits.min_sample or len(timed_out) < limits.min_losses or total >= 0:
            continue
        winners = [t for t in group if t.pnl_net_cents > 0]
        if winners:
            minutes = float(math.ceil(max(_hold_minutes(t) for t in winners)))
        else:
            minutes = float(math.ceil(limits.max_hold_minutes / 2))
        minutes = max(1.0, minutes)
        if minutes >= limits.max_hold_minutes:
            continue
        bucket = Bucket(None, trend, volatility)
        evidence = base_evidence(group, window) | {
            "max_hold_minutes": minutes,
            "configured_max_hold_minutes": limits.max_hold_minutes,
            "time_exit_loss_trade_ids": [t.trade_id for t in timed_out],
            "time_exit_loss_pnl_cents": sum(t.pnl_net_cents for t in timed_out),
            "winner_hold_minutes": {str(t.trade_id): round(_hold_minutes(t), 2)
                                    for t in winners},
        }
        summary = (f"Exit {bucket.describe()} trades after {minutes:g} min (not "
                   f"{limits.max_hold_minutes:g}): {len(timed_out)} time exits lost "
                   f"{_usd(evidence['time_exit_loss_pnl_cents'])}")
        found.append(Proposal(RuleKind.SHORTEN_TIME_EXIT, bucket,
                              {"bucket": bucket.to_dict(), "max_hold_minutes": minutes},
                              summary, evidence))
    return found


def propose(trades: list[ReviewTrade], window: tuple[date, date],
            limits: MiningLimits) -> list[Proposal]:
    """Every proposal the mining window's trades support, locks first."""
    return [*lock_proposals(trades, window, limits),
            *threshold_proposals(trades, window, limits),
            *time_exit_proposals(trades, window, limits)]
