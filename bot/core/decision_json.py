"""How a decision's inputs are written to the journal: features, regime and votes as JSON.

NaN and infinities become null (JSON has neither); the decision's time is the record's own.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from typing import Any

from shared.domain.models import Features, Regime, Signal


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


_FEATURE_NAMES = tuple(f.name for f in fields(Features) if f.name != "ts")


def features_json(features: Features, sentiment: float | None = None) -> str:
    """Serialise features and the sentiment for the journal (NaN and no news as null; the time
    is the decision's)."""
    data = {name: _finite_or_none(getattr(features, name)) for name in _FEATURE_NAMES}
    data["sentiment"] = sentiment
    return json.dumps(data, sort_keys=True)


def regime_json(regime: Regime) -> str:
    """Serialise the regime verdict for the journal."""
    data = {
        "tradable": regime.tradable,
        "reasons": list(regime.reasons),
        "trend": regime.trend.value,
        "volatility": regime.volatility.value,
        "time_bucket": regime.time_bucket.value,
        "minutes_to_close": _finite_or_none(regime.minutes_to_close),
    }
    return json.dumps(data, sort_keys=True)


def votes_json(signal: Signal) -> str:
    """Serialise every strategy vote for the journal."""
    votes = [
        {"strategy": v.strategy, "action": v.action.value, "confidence": v.confidence,
         "reasons": list(v.reasons)}
        for v in signal.votes
    ]
    return json.dumps(votes, sort_keys=True)
