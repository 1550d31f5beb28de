"""How a decision's inputs are written to the journal: features, regime and votes as JSON.

NaN and infinities become null (JSON has neither); the decision's time is the record's own.
The live loop writes one row per bar, so the features' JSON is formatted directly (the same
text ``json.dumps(..., sort_keys=True)`` gives, a test checks it), and so are the regime's and
the votes' (texts escaped by ``json``'s own ASCII string encoder; a value of any other type goes
through the one shared encoder).
"""

from __future__ import annotations

import json
import math
from dataclasses import fields
from operator import attrgetter
from typing import Any

from shared.domain.models import (
    Action,
    Features,
    Regime,
    Signal,
    TimeBucket,
    TrendLabel,
    VolatilityLabel,
)


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


_STRING = json.encoder.encode_basestring_ascii  # what json.dumps uses for texts (ensure_ascii)
_FINITE_LOW, _FINITE_HIGH = -math.inf, math.inf
_LABEL_TEXT = {label: _STRING(label.value)  # each enum member's JSON text, encoded once
               for kind in (Action, TimeBucket, TrendLabel, VolatilityLabel) for label in kind}

_TEXT_OF = {float: float.__repr__, int: int.__repr__, type(None): lambda _: "null"}
_NON_FINITE = frozenset(("nan", "inf", "-inf"))
_PLAIN_TYPES = frozenset((float, int))  # exactly these types: repr gives json's text
# the row's text pieces, key prefixes at even places and a value's text at each odd place:
# a row fills the odd places in one slice assignment and joins them (no template parsing)
_PIECES = ["{", *(piece for index, prefix in enumerate(_KEY_PREFIXES)
                 for piece in ((", " if index else "") + prefix, "")), "}"]
_VALUE_PLACES = slice(2, -1, 2)


def _json_text(value: Any) -> str:
    """One value as ``json.dumps`` writes it, non-finite floats as null (any type)."""
    return _ENCODE(_finite_or_none(value))


def features_json(features: Features, sentiment: float | None = None) -> str:
    """Serialise features and the sentiment for the journal (NaN and no news as null; the time
    is the decision's)."""
    values = _FEATURE_VALUES(features)
    if _PLAIN_TYPES.issuperset(map(type, values)):  # the usual case: repr is json's text
        texts = list(map(repr, values))
    else:
        texts = [_TEXT_OF.get(type(value), _json_text)(value) for value in values]
    texts.insert(_SENTIMENT_AT, _TEXT_OF.get(type(sentiment), _json_text)(sentiment))
    if not _NON_FINITE.isdisjoint(texts):
        texts = ["null" if text in _NON_FINITE else text for text in texts]
    pieces = _PIECES.copy()
    pieces[_VALUE_PLACES] = texts
    return "".join(pieces)


def _text(value: Any) -> str:
    """One value as ``json.dumps`` writes it (``NaN``/``Infinity`` included), without building
    an encoder's iterator for it: the common types formatted directly, any other by the encoder."""
    kind = type(value)
    if kind is str:
        return _STRING(value)
    if kind is float and _FINITE_LOW < value < _FINITE_HIGH:
        return float.__repr__(value)
    if value is None:
        return "null"
    if kind is bool:
        return "true" if value else "false"
    if kind is int:
        return int.__repr__(value)
    return _ENCODE(value)


def _strings(values: tuple[str, ...]) -> str:
    """A JSON array of texts, as ``json.dumps`` writes it (texts escaped in one C pass)."""
    try:
        return "[" + ", ".join(map(_STRING, values)) + "]"
    except TypeError:  # not all texts: each value as json writes it
        return "[" + ", ".join([_text(value) for value in values]) + "]"


def regime_json(regime: Regime) -> str:
    """Serialise the regime verdict for the journal (keys sorted, as ``json.dumps`` with
    ``sort_keys`` writes them; a test compares the two)."""
    return (
        f'{{"minutes_to_close": {_text(_finite_or_none(regime.minutes_to_close))}, '
        f'"reasons": {_strings(regime.reasons)}, '
        f'"time_bucket": {_LABEL_TEXT[regime.time_bucket]}, '
        f'"tradable": {_text(regime.tradable)}, '
        f'"trend": {_LABEL_TEXT[regime.trend]}, '
        f'"volatility": {_LABEL_TEXT[regime.volatility]}}}'
    )


def votes_json(signal: Signal) -> str:
    """Serialise every strategy vote for the journal (keys sorted, as ``json.dumps`` with
    ``sort_keys`` writes them; a test compares the two)."""
    return "[" + ", ".join([
        f'{{"action": {_LABEL_TEXT[v.action]}, "confidence": {_text(v.confidence)}, '
        f'"reasons": {_strings(v.reasons)}, "strategy": {_text(v.strategy)}}}'
        for v in signal.votes
    ]) + "]"
