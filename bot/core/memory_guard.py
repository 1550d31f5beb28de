"""The memory guard: from the similar past setups to a verdict — refuse, or a bounded nudge.

Pure functions of the evidence (``bot.core.memory`` finds it) and the ``memory`` config. The
guard refuses an entry unless the Kish effective count of similar closed setups reaches
``min_similar_trades`` (always, whatever memory's size) and a lower confidence bound of their
weighted mean R reaches ``min_expected_r`` (``bot.core.memory_value``); with the legacy
``min_weighted_win_rate`` set, their weighted win rate must reach it instead. When it allows, it
moves confidence by at most ``max_adjustment``. While memory holds fewer than
``cold_start_setups`` closed setups (real and shadow) the ``cold_start`` policy replaces the
expected-value test: ``allow`` lets the entry through, ``refuse`` refuses it. Memory never
touches stop, target or size: the engine feeds the adjusted confidence to the same risk rules.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from bot.core.memory_value import expected_r_adjustment, lower_bound_r
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
    """What the index found within the radius: counts, weighted win rate and mean R (with the
    weighted spread of R), the nearest ones."""

    neighbours_count: int
    effective_count: float
    weighted_win_rate: float | None
    neighbours: tuple[Neighbour, ...] = ()
    mean_r: float | None = None
    spread_r: float = 0.0


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
    mean_r: float | None = None  # similarity-weighted mean R of the similar setups
    lower_bound_r: float | None = None  # its lower confidence bound (None: not computed)

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
            "expected_r": _rounded(self.mean_r), "expected_r_bound": _rounded(self.lower_bound_r),
            "neighbours": [
                {"bracket_id": n.bracket_id, "distance": round(n.distance, 4),
                 "weight": round(n.weight, 4), "pnl_net_cents": n.pnl_net_cents,
                 "r_multiple": round(n.r_multiple, 4), "exit_reason": n.exit_reason,
                 "decision_ts": n.decision_ts.isoformat(), "close_ts": n.close_ts.isoformat()}
                for n in self.neighbours
            ],
        }
        return json.dumps(data, sort_keys=True)


def _rounded(value: float | None) -> float | None:
    """Rounded for the journal; None (and an infinite bound: no evidence) as null."""
    if value is None or value != value or abs(value) == float("inf"):
        return None
    return round(value, 4)


NOT_CONSULTED = MemoryVerdict(consulted=False, allowed=True, adjustment=0.0, reason="")


def cold_start_size(cfg: MemoryConfig) -> int:
    """How many closed setups end the cold start (``cold_start_setups``; 0: no cold start)."""
    return cfg.cold_start_setups


def cold_start(stored: int, cfg: MemoryConfig) -> MemoryVerdict:
    """The cold-start verdict on an entry that met ``min_similar_trades`` (no evidence kept)."""
    if cfg.cold_start == "allow":
        return MemoryVerdict(True, True, 0.0,
                             f"memory cold start: {stored} setups, entry allowed",
                             stored_setups=stored, cold_start=True)
    return MemoryVerdict(True, False, 0.0,
                         f"memory cold start: {stored} setups (< {cold_start_size(cfg)}), "
                         "entry refused", stored_setups=stored, cold_start=True)


def adjustment_for(win_rate: float, effective_count: float, cfg: MemoryConfig) -> float:
    """Legacy confidence change: max_adjustment x (2 x win rate - 1) x evidence.

    Evidence = n / (n + k) with n the effective count and k = max(min_similar_trades, 1): a
    handful of similar trades moves confidence less than many.
    """
    edge = min(1.0, max(-1.0, 2.0 * win_rate - 1.0))
    evidence = effective_count / (effective_count + max(cfg.min_similar_trades, 1))
    bound = cfg.max_adjustment
    return min(bound, max(-bound, bound * edge * evidence))


def judge(evidence: Evidence, stored: int, fallback: bool, cfg: MemoryConfig) -> MemoryVerdict:
    """Refuse or allow (with an adjustment) an entry given the similar setups found.

    The count floor applies first, whatever memory's size; then, while fewer than
    ``cold_start_setups`` setups are stored, the cold-start policy; then the value test.
    """
    where = " (all same-side setups: bucket too thin)" if fallback else ""
    count, need, rate = evidence.effective_count, cfg.min_similar_trades, evidence.weighted_win_rate
    bound = None
    if evidence.mean_r is not None:
        bound = lower_bound_r(evidence.mean_r, evidence.spread_r, count, cfg.expected_r_z)
    cold = stored < cold_start_size(cfg)
    if count + COUNT_TOLERANCE < need:
        allowed, adjustment = False, 0.0
        reason = f"memory: {count:.2f} similar setups < {need} needed{where}"
    elif cold:
        policy = cold_start(stored, cfg)
        allowed, adjustment, reason = policy.allowed, 0.0, policy.reason
    elif cfg.min_weighted_win_rate is not None:
        allowed, adjustment, reason = _by_win_rate(count, rate, need, cfg, where)
    else:
        allowed, adjustment, reason = _by_expected_r(evidence, bound, cfg, where)
    return MemoryVerdict(True, allowed, adjustment, reason, stored, evidence.neighbours_count,
                         count, rate, cold, fallback, evidence.neighbours, evidence.mean_r, bound)


def _by_win_rate(count: float, rate: float | None, need: int, cfg: MemoryConfig,
                 where: str) -> tuple[bool, float, str]:
    """The legacy test: the weighted win rate reaches ``min_weighted_win_rate``."""
    threshold = cfg.min_weighted_win_rate or 0.0
    if rate is None:  # min_similar_trades 0 and nothing similar: no evidence either way
        return True, 0.0, "memory: no similar setup, no adjustment"
    if rate < threshold:
        return False, 0.0, (f"memory: weighted win rate {rate:.0%} < {threshold:.0%} "
                            f"over {count:.2f} similar setups{where}")
    adjustment = adjustment_for(rate, count, cfg)
    return True, adjustment, (f"memory: {count:.2f} similar setups, weighted win rate "
                              f"{rate:.0%}: {adjustment:+.3f}{where}")


def _by_expected_r(evidence: Evidence, bound: float | None, cfg: MemoryConfig,
                   where: str) -> tuple[bool, float, str]:
    """The value test: the lower bound of the weighted mean R reaches ``min_expected_r``."""
    mean_r, count, floor = evidence.mean_r, evidence.effective_count, cfg.min_expected_r
    if mean_r is None or bound is None:
        return False, 0.0, "memory: no similar setup, no evidence the entry is worth taking"
    summary = (f"expected {mean_r:+.2f} R per trade, bound {bound:+.2f} R over {count:.2f} "
               f"similar setups{where}")
    if bound < floor:
        return False, 0.0, f"memory: {summary} < {floor:+.2f} R"
    adjustment = expected_r_adjustment(mean_r, evidence.spread_r, count,
                                       cfg.max_adjustment)
    return True, adjustment, f"memory: {summary}: {adjustment:+.3f}"
