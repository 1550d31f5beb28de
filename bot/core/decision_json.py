"""How a decision's inputs are written to the journal: features, regime and votes as JSON.

NaN and infinities become null (JSON has neither); the decision's time is the record's own.
The live loop writes one row per bar, so the features' JSON is formatted directly (the same
text ``json.dumps(..., sort_keys=True)`` gives, a test checks it) and the others share one
encoder instead of building one per call.
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from operator import attrgetter
from typing import Any

from shared.domain.models import Features, Regime, Signal


def _finite_or_none(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


_FEATURE_NAMES = tuple(f.name for f in fields(Features) if f.name != "ts")
_ENCODE = json.JSONEncoder(sort_keys=True).encode  # what json.dumps(..., sort_keys=True) uses
_SORTED_KEYS = tuple(sorted((*_FEATURE_NAMES, "sentiment")))
_SENTIMENT_AT = _SORTED_KEYS.index("sentiment")
_FEATURE_VALUES = attrgetter(*(name for name in _SORTED_KEYS if name != "sentiment"))
_KEY_PREFIXES = tuple(f"{json.dumps(name)}: " for name in _SORTED_KEYS)


_TEXT_OF = {float: float.__repr__, int: int.__repr__, type(None): lambda _: "null"}
_NON_FINITE = frozenset(("nan", "inf", "-inf"))
_TEMPLATE = "{{" + ", ".join(prefix + "{}" for prefix in _KEY_PREFIXES) + "}}"


def _json_text(value: Any) -> str:
    """One value as ``json.dumps`` writes it, non-finite floats as null (any type)."""
    return _ENCODE(_finite_or_none(value))


def features_json(features: Features, sentiment: float | None = None) -> str:
    """Serialise features and the sentiment for the journal (NaN and no news as null; the time
    is the decision's)."""
    values = list(_FEATURE_VALUES(features))
    values.insert(_SENTIMENT_AT, sentiment)
    texts = [_TEXT_OF.get(type(value), _json_text)(value) for value in values]
    return _TEMPLATE.format(*["null" if text in _NON_FINITE else text for text in texts])


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
    return _ENCODE(data)


def votes_json(signal: Signal) -> str:
    """Serialise every strategy vote for the journal."""
    votes = [
        {"strategy": v.strategy, "action": v.action.value, "confidence": v.confidence,
         "reasons": list(v.reasons)}
        for v in signal.votes
    ]
    return _ENCODE(votes)
