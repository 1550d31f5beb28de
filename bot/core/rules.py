"""The learned-rules guard: a pure evaluator the engine asks about each entry risk approved.

A second guard beside memory. For a new entry it may refuse it (a locked bucket, or a
confidence below a rule's raised threshold) or give it a shorter time exit; it never moves a
stop, a target or a size (DESIGN §4 rule 9). Only rules in the book act, and only until they
expire (engine time, from the bars); the live bot fills the book with approved rules only.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from shared.domain.models import Side
from shared.domain.rules import LearnedRule, RuleKind


@dataclass(frozen=True, slots=True)
class RuleBook:
    """The rules the engine applies; ``version`` identifies the set the bot loaded."""

    rules: tuple[LearnedRule, ...] = ()
    version: str = ""

    def in_force(self, now: datetime) -> tuple[LearnedRule, ...]:
        """Rules not yet expired at ``now``, in the book's order (by id when loaded)."""
        return tuple(r for r in self.rules if now < r.expires_at)


@dataclass(frozen=True, slots=True)
class RulesVerdict:
    """What the rules did to one entry: refused it (by which rule), notes, a shorter exit."""

    allowed: bool = True
    refused_by: int | None = None
    reasons: tuple[str, ...] = ()
    applied: tuple[int, ...] = ()
    max_hold_minutes: float | None = None
    in_force: tuple[int, ...] = field(default=())

    def to_json(self) -> str:
        """The decision's ``rules_json`` (``{}`` when no rule was in force)."""
        if not self.in_force:
            return "{}"
        data: dict[str, Any] = {"in_force": list(self.in_force), "applied": list(self.applied),
                                "refused_by": self.refused_by, "reasons": list(self.reasons)}
        if self.max_hold_minutes is not None:
            data["max_hold_minutes"] = self.max_hold_minutes
        return json.dumps(data, sort_keys=True)


NOT_ASKED = RulesVerdict()


def evaluate_entry(
    book: RuleBook, side: Side, labels: dict[str, str], confidence: float, now: datetime,
) -> RulesVerdict:
    """Apply every rule in force to an entry on ``side`` with these regime labels.

    The first lock or unmet threshold (by rule id) refuses; passed thresholds and the shortest
    matching time exit are noted.
    """
    rules = book.in_force(now)
    if not rules:
        return NOT_ASKED
    ids = tuple(r.rule_id for r in rules)
    applied: list[int] = []
    passed: list[int] = []
    shortest: LearnedRule | None = None
    for rule in rules:
        if not rule.bucket.matches(side, labels):
            continue
        applied.append(rule.rule_id)
        kind = rule.kind
        if kind is RuleKind.LOCK_BUCKET:
            return RulesVerdict(False, rule.rule_id, (rule.describe(),), tuple(applied), None,
                                ids)
        if kind is RuleKind.RAISE_THRESHOLD and rule.min_confidence is not None:
            if confidence < rule.min_confidence:
                text = f"{rule.describe()}: confidence {confidence:.3f} is below"
                return RulesVerdict(False, rule.rule_id, (text,), tuple(applied), None, ids)
            passed.append(rule.rule_id)
        elif kind is RuleKind.SHORTEN_TIME_EXIT and rule.max_hold_minutes is not None and (
                shortest is None or rule.max_hold_minutes < (shortest.max_hold_minutes or 0)):
            shortest = rule
    reasons = []
    if passed:
        listed = ", ".join(f"#{i}" for i in passed)
        reasons.append(f"rule {listed}: confidence {confidence:.3f} passes the raised threshold")
    hold = None
    if shortest is not None:
        reasons.append(shortest.describe())
        hold = shortest.max_hold_minutes
    return RulesVerdict(True, None, tuple(reasons), tuple(applied), hold, ids)
