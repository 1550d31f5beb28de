"""Probation: a candidate that lacked out-of-sample power keeps gathering evidence.

A rule mined from a few trades a day cannot pass a gate of a few days, however real its edge
(``docs/evaluation.md``). So a candidate whose first gate acted on (refused or changed) fewer
trades than a probation's test needs (``learning.probation_trades``, by default
``learning.min_sample``), and did not pass, is put on probation (journaled,
``probation_store``) with that gate's per-trade effects. Each later review gates it on the NEW
days only (trading days after the last day in its evidence, so never a day of its mining
window) and adds their effects. Once the trades it acted on out of sample reach that
sample it is tested once on all of them (the placebo test over the pooled
days) and either passes (a rule is proposed with that evidence) or fails (dropped); one that
does not reach the sample within ``learning.probation_reviews`` reviews expires.

False positives stay controlled: a candidate is tested at most twice, its first gate and this
final test, each spending half of ``learning.gate_alpha`` (so its chance of passing by noise
is at most alpha), and each review corrects its final tests together (Benjamini-Hochberg),
as it corrects its first gates together.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date
from typing import Any

from bot.learning.gate import GateResult
from bot.learning.oos_stats import TradeEffects, effect_interval, placebo_p_value
from shared.config.settings import LearningConfig
from shared.persistence.probation_store import ProbationRow

logger = logging.getLogger(__name__)

FIRST_GATE_SHARE = 0.5  # of gate_alpha spent on the first gate when probation is on


def first_gate_alpha(learning: LearningConfig) -> float:
    """The level of a review's first gates (all of alpha without probation)."""
    return learning.gate_alpha * (FIRST_GATE_SHARE if learning.probation_reviews else 1.0)


def final_test_alpha(learning: LearningConfig) -> float:
    """The level of a review's probation tests: the rest of alpha."""
    return learning.gate_alpha * (1.0 - FIRST_GATE_SHARE)


def lacked_power(result: GateResult, learning: LearningConfig) -> bool:
    """A first gate where the rule acted on (refused or changed) fewer trades than a
    probation's test needs (``probation_sample``): too few to judge, so the candidate goes on
    probation (one that acted on enough and failed is dropped)."""
    effects = result.effects
    return len(effects.refused) + len(effects.changed_cents) < probation_sample(learning)


def probation_sample(learning: LearningConfig) -> int:
    """Trades refused or changed out of sample before a probation's test."""
    return learning.probation_trades or learning.min_sample


def evidence_of(result: GateResult, days: list[str]) -> dict[str, Any]:
    """One gate's out-of-sample evidence: its days, per-trade effects and "without" P&Ls."""
    effects = result.effects
    return {"days": list(days), "bars": int(result.document.get("bars", 0)),
            "removed_cents": list(effects.removed_cents),
            "added_cents": list(effects.added_cents),
            "changed_cents": list(effects.changed_cents),
            "refused_cents": list(effects.refused),
            "without_pnls_cents": list(result.without_pnls_cents)}


def merged(evidence: dict[str, Any], more: dict[str, Any]) -> dict[str, Any]:
    """The accumulated evidence with one more gate's appended (its days must be new)."""
    if set(more["days"]) & set(evidence["days"]):
        raise ValueError(f"days already in the probation's evidence: {more['days']}")
    earlier = {"refused_cents": evidence.get("removed_cents", [])} | evidence  # older rows
    return {key: earlier[key] + more[key] for key in more}  # lists appended, bars added


def effects_of(evidence: dict[str, Any]) -> TradeEffects:
    removed = tuple(evidence["removed_cents"])
    return TradeEffects(removed, tuple(evidence["added_cents"]),
                        tuple(evidence["changed_cents"]),
                        tuple(evidence.get("refused_cents", removed)))


def new_days(trading_days: list[date], row: ProbationRow) -> list[date]:
    """Of the trading days up to the reviewed one, those after everything in its evidence
    and after its mining window (no day is counted twice, no mined day ever)."""
    seen = [*row.evidence["days"], row.mined_until]
    last = max(date.fromisoformat(d) for d in seen)
    return [d for d in trading_days if d > last]


@dataclass(frozen=True, slots=True)
class FinalTest:
    """A probation's test over all its out-of-sample evidence."""

    row: ProbationRow
    evidence: dict[str, Any]
    p_value: float
    document: dict[str, Any]


def final_test(row: ProbationRow, evidence: dict[str, Any], learning: LearningConfig,
               seed: int) -> FinalTest:
    """The placebo test over the pooled days, as the first gate does: a refusing rule's
    refused trades against as many of the pooled "without" trades drawn at random, an exit
    rule by sign flips."""
    effects = effects_of(evidence)
    refusing = row.kind in ("lock_bucket", "raise_threshold")
    pool = evidence["without_pnls_cents"]
    p_value, placebo_mean = placebo_p_value(effects, pool, learning.gate_permutations, seed,
                                            refusing)
    improvement = effects.effect_cents
    without_net = sum(pool)
    trades_with = len(pool) - len(effects.removed_cents) + len(effects.added_cents)
    document = {
        "days": evidence["days"], "bars": evidence["bars"],
        "without": {"trades": len(pool), "net_pnl_cents": without_net},
        "with": {"trades": trades_with, "net_pnl_cents": without_net + improvement},
        "improvement_cents": improvement,
        "min_improvement_cents": round(learning.min_improvement_usd * 100),
        "improved": improvement > round(learning.min_improvement_usd * 100),
        "trades_removed": len(effects.removed_cents),
        "trades_refused": len(effects.refused), "refused_net_cents": sum(effects.refused),
        "trades_added": len(effects.added_cents),
        "trades_changed": len(effects.changed_cents),
        "placebo_mean_cents": round(placebo_mean), "p_value": p_value,
        "effect_ci_cents": list(effect_interval(effects, learning.gate_permutations, seed)),
        "permutations": learning.gate_permutations, "seed": seed,
        "probation": {"id": row.id, "mined_by_review_of": row.review_day,
                      "mined_until": row.mined_until, "reviews": row.reviews + 1}}
    return FinalTest(row, evidence, p_value, document)


def acted_on(evidence: dict[str, Any]) -> int:
    """The trades the candidate refused or changed out of sample so far (the trades an entry
    it freed allowed carry no evidence: the placebo test counts them on both sides)."""
    refused = evidence.get("refused_cents", evidence["removed_cents"])
    return len(refused) + len(evidence["changed_cents"])
