"""A decision's bucket labels (trend, volatility, time bucket, bias) as plain texts.

The engine makes this dict on every bar; each enum's ``.value`` is a Python-level descriptor
call, so the texts are looked up in one table built once from the members' values instead.
"""

from __future__ import annotations

from shared.domain.models import Bias, Regime, TimeBucket, TrendLabel, VolatilityLabel

_VALUE_OF: dict[object, str] = {
    member: member.value for kind in (Bias, TimeBucket, TrendLabel, VolatilityLabel)
    for member in kind
}


def decision_labels(regime: Regime, bias: Bias) -> dict[str, str]:
    """A new dict of the labels a decision and its entry are bucketed by (the caller may add
    to it)."""
    value_of = _VALUE_OF
    return {
        "trend": value_of[regime.trend],
        "volatility": value_of[regime.volatility],
        "time_bucket": value_of[regime.time_bucket],
        "bias": value_of[bias],
    }
