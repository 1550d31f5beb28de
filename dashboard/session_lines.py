"""The session levels to draw on the price chart, read from the newest journaled decision.

The live engine journals each bar's session levels (prices) in the decision's features
(``bot.core.session_levels``); the chart draws the newest ones as labelled horizontal lines.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any

# Feature key -> the label on the chart and its line colour, in drawing order.
LEVELS: tuple[tuple[str, str, str], ...] = (
    ("session_vwap", "VWAP", "#9467bd"),
    ("opening_range_high", "OR high", "#17becf"),
    ("opening_range_low", "OR low", "#17becf"),
    ("prior_day_high", "Prior high", "#8c564b"),
    ("prior_day_low", "Prior low", "#8c564b"),
    ("prior_day_close", "Prior close", "#7f7f7f"),
    ("overnight_high", "ON high", "#bcbd22"),
    ("overnight_low", "ON low", "#bcbd22"),
)


def latest_levels(decisions: Sequence[Mapping[str, Any]]) -> dict[str, float]:
    """Chart label -> price of each known level in the newest decision (``decisions`` newest
    first, as ``journal_store.recent_decisions`` gives them); empty when none is known."""
    if not decisions:
        return {}
    try:
        features = json.loads(decisions[0].get("features_json") or "{}")
    except (TypeError, ValueError):
        return {}
    if not isinstance(features, dict):
        return {}
    found = {}
    for key, label, _ in LEVELS:
        value = features.get(key)
        if isinstance(value, int | float) and math.isfinite(value):
            found[label] = float(value)
    return found


def colour_of(label: str) -> str:
    """The line colour of a level's chart label."""
    return next((colour for _, name, colour in LEVELS if name == label), "#7f7f7f")
