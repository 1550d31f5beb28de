"""The memory guard: from the similar past setups to a verdict — refuse, or a bounded nudge.

Pure functions of the evidence (``bot.core.memory`` finds it) and the ``memory`` config. The
guard refuses an entry unless the Kish effective count of similar closed setups reaches
``min_similar_trades`` and their weighted win rate reaches ``min_weighted_win_rate``; when it
allows, it moves confidence by at most ``max_adjustment``. While the memory holds fewer than
``min_similar_trades`` (or ``cold_start_setups``, if more) closed setups the ``cold_start``
policy decides. Memory never touches
stop, target or size: the engine feeds the adjusted confidence to the same risk rules as ever.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from shared.config.settings import MemoryConfig

COUNT_TOLERANCE = 1e-9  # Kish counts of equal weights may land a hair under an integer
NEIGHBOURS_KEPT = 10  # nearest neighbours kept in a verdict (the decision record shows them)


@dataclass(frozen=True, slots=True)
class Neighbour:
    """One similar past setup: how far (in typical distances), its weight, how it ended."""

    bracket_id: str
    distance: float
    weight: float  # relative to the heaviest neighbour (1.0)
    pnl_net_cents: int
    r_multiple: float
    exit_reason: str
    decision_ts: datetime
    close_ts: datetime


@dataclass(frozen=True, slots=True)
class Evidence:
    """What the index found within the radius: counts, weighted win rate, the nearest ones."""

    neighbours_count: int
    effective_count: float
    weighted_win_rate: float | None
    neighbours: tuple[Neighbour, ...] = ()


NO_EVIDENCE = Evidence(0, 0.0, None)


@dataclass(frozen=True, slots=True)
class MemoryVerdict:
    """What memory says about one entry decision (``consulted`` False: it was not asked)."""

    consulted: bool
    allowed: bool
    adjustment: float
    reason: str
    stored_setups: int = 0
    neighbours_count: int = 0
    effective_count: float = 0.0
    weighted_win_rate: float | None = None
    cold_start: bool = False
    fallback: bool = False  # the bucket had too few: all same-side setups were used
    neighbours: tuple[Neighbour, ...] = ()

    def to_json(self) -> str:
        """The decision record's ``memory_json`` (rounded so reruns compare equal)."""
        if not self.consulted:
            return "{}"
        rate = self.weighted_win_rate
        data = {
            "allowed": self.allowed, "adjustment": round(self.adjustment, 6),
            "reason": self.reason, "stored_setups": self.stored_setups,
            "neighbours_count": self.neighbours_count,
            "effective_count": round(self.effective_count, 4),
            "weighted_win_rate": None if rate is None else round(rate, 4),
            "cold_start": self.cold_start, "fallback": self.fallback,
            "neighbours": [
                {"bracket_id": n.bracket_id, "distance": round(n.distance, 4),
                 "weight": round(n.weight, 4), "pnl_net_cents": n.pnl_net_cents,
                 "r_multiple": round(n.r_multiple, 4), "exit_reason": n.exit_reason,
                 "decision_ts": n.decision_ts.isoformat(), "close_ts": n.close_ts.isoformat()}
                for n in self.neighbours
            ],
        }
        return json.dumps(data, sort_keys=True)


NOT_CONSULTED = MemoryVerdict(consulted=False, allowed=True, adjustment=0.0, reason="")


def cold_start_size(cfg: MemoryConfig) -> int:
    """How many closed setups end the cold start (``min_similar_trades`` unless set higher)."""
    return max(cfg.min_similar_trades, cfg.cold_start_setups)


def cold_start(stored: int, cfg: MemoryConfig) -> MemoryVerdict:
    """The verdict while fewer than ``cold_start_size`` closed setups are stored."""
    if cfg.cold_start == "allow":
        return MemoryVerdict(True, True, 0.0,
                             f"memory cold start: {stored} setups, entry allowed",
                             stored_setups=stored, cold_start=True)
    return MemoryVerdict(True, False, 0.0,
                         f"memory cold start: {stored} setups (< {cold_start_size(cfg)}), "
                         "entry refused", stored_setups=stored, cold_start=True)


def adjustment_for(win_rate: float, effective_count: float, cfg: MemoryConfig) -> float:
    """Confidence change: max_adjustment x (2 x win rate - 1) x evidence, in +-max_adjustment.

    Evidence = n / (n + k) with n the effective count and k = max(min_similar_trades, 1): a
    handful of similar trades moves confidence less than many.
    """
    edge = min(1.0, max(-1.0, 2.0 * win_rate - 1.0))
    evidence = effective_count / (effective_count + max(cfg.min_similar_trades, 1))
    bound = cfg.max_adjustment
    return min(bound, max(-bound, bound * edge * evidence))


def judge(evidence: Evidence, stored: int, fallback: bool, cfg: MemoryConfig) -> MemoryVerdict:
    """Refuse or allow (with an adjustment) an entry given the similar setups found."""
    allowed, adjustment = False, 0.0
    where = " (all same-side setups: bucket too thin)" if fallback else ""
    count, need, rate = evidence.effective_count, cfg.min_similar_trades, evidence.weighted_win_rate
    if count + COUNT_TOLERANCE < need:
        reason = f"memory: {count:.2f} similar setups < {need} needed{where}"
    elif rate is None:  # min_similar_trades 0 and nothing similar: no evidence either way
        allowed, reason = True, "memory: no similar setup, no adjustment"
    elif rate < cfg.min_weighted_win_rate:
        reason = (f"memory: weighted win rate {rate:.0%} < {cfg.min_weighted_win_rate:.0%} "
                  f"over {count:.2f} similar setups{where}")
    else:
        allowed, adjustment = True, adjustment_for(rate, count, cfg)
        reason = (f"memory: {count:.2f} similar setups, weighted win rate {rate:.0%}: "
                  f"{adjustment:+.3f}{where}")
    return MemoryVerdict(True, allowed, adjustment, reason, stored, evidence.neighbours_count,
                         count, rate, False, fallback, evidence.neighbours)
