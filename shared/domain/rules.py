"""Learned rules: typed, machine-checkable limits the nightly review proposes and a person approves.

A rule covers a *bucket* of setups (side and regime labels; an empty label matches any) and does
one of three things to new entries there, never more: lock them out, ask a higher confidence,
or give them a shorter time exit. No rule can move a stop, a target or a size (DESIGN §4 rule 9).
Parameters are stored as JSON; ``parse_rule`` checks every field and names what is wrong.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.domain.models import Side, TimeBucket, TrendLabel, VolatilityLabel


class RuleKind(StrEnum):
    """What a learned rule does to new entries in its bucket."""

    LOCK_BUCKET = "lock_bucket"  # refuse them (freqtrade's StoplossGuard, per bucket and side)
    RAISE_THRESHOLD = "raise_threshold"  # refuse them below ``min_confidence``
    SHORTEN_TIME_EXIT = "shorten_time_exit"  # exit them after ``max_hold_minutes``


class RuleStatus(StrEnum):
    """Where a rule is in its life: only APPROVED rules, unexpired, act."""

    PROPOSED = "proposed"
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"


class RuleError(ValueError):
    """A stored or proposed rule whose parameters are malformed."""


_LABELS: dict[str, frozenset[str]] = {
    "trend": frozenset(t.value for t in TrendLabel),
    "volatility": frozenset(v.value for v in VolatilityLabel),
    "time_bucket": frozenset(b.value for b in TimeBucket),
}


@dataclass(frozen=True, slots=True)
class Bucket:
    """Which setups a rule covers: a side and regime labels; None matches anything."""

    side: Side | None = None
    trend: str | None = None
    volatility: str | None = None
    time_bucket: str | None = None

    def matches(self, side: Side, labels: Mapping[str, str]) -> bool:
        """Whether an entry on ``side`` with these regime ``labels`` falls in the bucket."""
        return ((self.side is None or self.side is side)
                and (self.trend is None or labels.get("trend") == self.trend)
                and (self.volatility is None or labels.get("volatility") == self.volatility)
                and (self.time_bucket is None or labels.get("time_bucket") == self.time_bucket))

    def describe(self) -> str:
        """E.g. ``long in trend_down/high`` or ``any side in any regime``."""
        labels = [v for v in (self.trend, self.volatility, self.time_bucket) if v is not None]
        side = self.side.value if self.side is not None else "any side"
        return f"{side} in {'/'.join(labels) if labels else 'any regime'}"

    def to_dict(self) -> dict[str, str | None]:
        return {"side": self.side.value if self.side else None, "trend": self.trend,
                "volatility": self.volatility, "time_bucket": self.time_bucket}


def bucket_from(data: Any) -> Bucket:
    """Parse a bucket mapping; RuleError names a bad or unknown label."""
    if not isinstance(data, Mapping):
        raise RuleError("bucket: must be a mapping")
    unknown = sorted(set(data) - {"side", "trend", "volatility", "time_bucket"})
    if unknown:
        raise RuleError(f"bucket: unknown key {', '.join(unknown)}")
    side = data.get("side")
    if side is not None and side not in (Side.LONG.value, Side.SHORT.value):
        raise RuleError(f"bucket.side: {side!r} is not long or short")
    values: dict[str, str | None] = {}
    for name, allowed in _LABELS.items():
        value = data.get(name)
        if value is not None and value not in allowed:
            raise RuleError(f"bucket.{name}: {value!r} is not one of {', '.join(sorted(allowed))}")
        values[name] = value
    return Bucket(Side(side) if side else None, values["trend"], values["volatility"],
                  values["time_bucket"])


@dataclass(frozen=True, slots=True)
class LearnedRule:
    """One approved (or candidate) rule as the engine applies it."""

    rule_id: int
    kind: RuleKind
    bucket: Bucket
    expires_at: datetime
    min_confidence: float | None = None
    max_hold_minutes: float | None = None

    def describe(self) -> str:
        """One line for decision reasons and the dashboard."""
        where = self.bucket.describe()
        if self.kind is RuleKind.LOCK_BUCKET:
            return f"rule #{self.rule_id}: entries locked for {where}"
        if self.kind is RuleKind.RAISE_THRESHOLD:
            return f"rule #{self.rule_id}: {where} entries need confidence >= " \
                   f"{self.min_confidence:.2f}"
        return f"rule #{self.rule_id}: {where} entries exit after {self.max_hold_minutes:g} min"

    def params(self) -> dict[str, Any]:
        """The JSON parameters stored in the ``rules`` table."""
        data: dict[str, Any] = {"bucket": self.bucket.to_dict()}
        if self.min_confidence is not None:
            data["min_confidence"] = self.min_confidence
        if self.max_hold_minutes is not None:
            data["max_hold_minutes"] = self.max_hold_minutes
        return data


def _number(params: Mapping[str, Any], name: str, low: float, high: float) -> float:
    value = params.get(name)
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise RuleError(f"{name}: must be a number")
    if not low <= float(value) <= high:
        raise RuleError(f"{name}: {value} is outside {low:g}..{high:g}")
    return float(value)


def parse_rule(rule_id: int, kind: str, params_json: str, expires_at: datetime) -> LearnedRule:
    """Build a rule from its stored columns; RuleError says which field is wrong."""
    try:
        rule_kind = RuleKind(kind)
    except ValueError:
        raise RuleError(f"kind: unknown rule kind {kind!r}") from None
    try:
        params = json.loads(params_json)
    except (TypeError, json.JSONDecodeError):
        raise RuleError("params: not valid JSON") from None
    if not isinstance(params, Mapping):
        raise RuleError("params: must be a JSON object")
    allowed = {"bucket", "min_confidence", "max_hold_minutes"}
    unknown = sorted(set(params) - allowed)
    if unknown:
        raise RuleError(f"params: unknown key {', '.join(unknown)}")
    bucket = bucket_from(params.get("bucket", {}))
    if rule_kind is RuleKind.RAISE_THRESHOLD:
        return LearnedRule(rule_id, rule_kind, bucket, expires_at,
                           min_confidence=_number(params, "min_confidence", 0.0, 1.0))
    if rule_kind is RuleKind.SHORTEN_TIME_EXIT:
        return LearnedRule(rule_id, rule_kind, bucket, expires_at,
                           max_hold_minutes=_number(params, "max_hold_minutes", 0.1, 24 * 60))
    return LearnedRule(rule_id, rule_kind, bucket, expires_at)


# Who may move a rule where: a person (or auto-apply) decides a proposal; an approved rule can
# be expired (withdrawn) or rejected; a decided rule is never silently re-proposed.
_TRANSITIONS: dict[RuleStatus, frozenset[RuleStatus]] = {
    RuleStatus.PROPOSED: frozenset({RuleStatus.APPROVED, RuleStatus.REJECTED,
                                    RuleStatus.EXPIRED}),
    RuleStatus.APPROVED: frozenset({RuleStatus.REJECTED, RuleStatus.EXPIRED}),
    RuleStatus.REJECTED: frozenset({RuleStatus.APPROVED}),
    RuleStatus.EXPIRED: frozenset(),
}


def transition_problem(current: RuleStatus, wanted: RuleStatus) -> str | None:
    """Why a rule may not go from ``current`` to ``wanted`` (None when it may)."""
    if wanted in _TRANSITIONS[current]:
        return None
    if current is wanted:
        return f"the rule is already {current.value}"
    return f"a {current.value} rule cannot become {wanted.value}"
