"""Combine the strategies' votes into one Signal by a confidence-weighted net of BUY against SELL.

HOLD votes abstain. net = (sum of weight x confidence over BUY - the same over SELL) divided by
the summed weight of the BUY and SELL voters; its sign is the action and |net| the confidence.
Pure and deterministic: votes are ordered by strategy name before anything is summed.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from operator import attrgetter

from shared.domain.models import Action, Signal, Vote

NET_EPSILON = 1e-12  # a net this close to zero is a tie, not a float-rounding BUY or SELL
_BY_NAME = attrgetter("strategy")


def combine(votes: Sequence[Vote], weights: Mapping[str, float]) -> Signal:
    """Return the weighted net Signal of ``votes``; a strategy missing from ``weights`` counts 0."""
    _check_weights(weights)
    ordered = _checked_in_name_order(votes)
    voters = [vote for vote in ordered if vote.action is not Action.HOLD]
    if not voters:
        return Signal(Action.HOLD, 0.0, ordered, ("no active votes: every strategy holds",))
    active = [(vote, float(weights.get(vote.strategy, 0.0))) for vote in voters]
    active = [(vote, weight) for vote, weight in active if weight > 0]
    total_weight = sum(weight for _, weight in active)
    if not active:
        names = ", ".join(vote.strategy for vote in voters)
        return Signal(Action.HOLD, 0.0, ordered, (f"no weight on the active votes of {names}",))
    buy = sum(weight * vote.confidence for vote, weight in active if vote.action is Action.BUY)
    sell = sum(weight * vote.confidence for vote, weight in active if vote.action is Action.SELL)
    net = (buy - sell) / total_weight
    if abs(net) < NET_EPSILON:
        net = 0.0
    action = Action.BUY if net > 0 else Action.SELL if net < 0 else Action.HOLD
    reasons = [_describe(vote) for vote, _ in active]
    buyers = [vote.strategy for vote, _ in active if vote.action is Action.BUY]
    sellers = [vote.strategy for vote, _ in active if vote.action is Action.SELL]
    if buyers and sellers:
        reasons.append(
            f"conflict: buy ({', '.join(buyers)}) {buy:.2f} vs sell ({', '.join(sellers)}) "
            f"{sell:.2f}, weighted"
        )
    reasons.append(f"net {net:+.2f} over weight {total_weight:g} -> {action.value}")
    return Signal(action, min(1.0, abs(net)), ordered, tuple(reasons))


def _check_weights(weights: Mapping[str, float]) -> None:
    for name, weight in weights.items():
        if not math.isfinite(weight) or weight < 0:
            raise ValueError(f"weight of {name!r} must be a finite number >= 0, got {weight!r}")


def _checked_in_name_order(votes: Sequence[Vote]) -> tuple[Vote, ...]:
    names = list(map(_BY_NAME, votes))
    if len(set(names)) != len(names):
        raise ValueError(f"each strategy may vote once, got {sorted(names)}")
    for vote in votes:
        if not 0.0 <= vote.confidence <= 1.0:
            raise ValueError(f"{vote.strategy} confidence {vote.confidence!r} is outside [0, 1]")
    return tuple(sorted(votes, key=_BY_NAME))


def _describe(vote: Vote) -> str:
    detail = "; ".join(vote.reasons) if vote.reasons else "no reason given"
    return f"{vote.strategy} {vote.action.value} {vote.confidence:.2f}: {detail}"
