"""The prompt's evidence sections: memory's similar setups, the news sentiment, today's risk,
the session levels.

Built from what the decision journaled (its ``memory_json`` and the ``sentiment`` in its
features) and from the engine's counters, the same way live and in backtests. Everything is
relative: counts, rates, R multiples, distances, minutes held — never a date or a price, so
the model learns nothing about which day it is from them. Absent evidence is labelled
(``NONE_YET``) rather than left out, so the model knows it was looked for.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from datetime import datetime
from typing import Any

NONE_YET = "none yet"
NEAREST_SHOWN = 3


@dataclass(frozen=True, slots=True)
class PromptExtras:
    """What the engine knows beyond the decision row: headlines and today's risk limits."""

    headlines_recent: int | None  # None: no sentiment book in use
    headline_window_minutes: float
    daily_loss_limit_usd: float
    loss_streak: int
    max_consecutive_losses: int


def extras_from_engine(engine: Any, ts: datetime) -> PromptExtras:
    """The extras of a live or backtest engine at the decision time ``ts``."""
    settings = engine.settings
    window = float(settings.news.half_life_minutes)
    book = engine.sentiment_book
    return PromptExtras(
        headlines_recent=None if book is None else book.count_within(ts, window),
        headline_window_minutes=window,
        daily_loss_limit_usd=float(settings.risk.daily_loss_limit_usd),
        loss_streak=int(engine.risk_state.consecutive_losses),
        max_consecutive_losses=int(settings.risk.max_consecutive_losses),
    )


def _hold_minutes(neighbour: dict[str, Any]) -> float | None:
    try:
        opened = datetime.fromisoformat(str(neighbour["decision_ts"]))
        closed = datetime.fromisoformat(str(neighbour["close_ts"]))
    except (KeyError, ValueError):
        return None
    return round((closed - opened).total_seconds() / 60, 1)


def memory_section(memory_json: str | None) -> dict[str, Any] | str:
    """Memory's evidence for this bar's setup, or ``NONE_YET`` (not consulted, nothing similar)."""
    try:
        verdict = json.loads(memory_json or "{}")
    except json.JSONDecodeError:
        return NONE_YET
    if not isinstance(verdict, dict) or not verdict.get("neighbours_count"):
        return NONE_YET
    nearest = [
        {"distance": n.get("distance"), "weight": n.get("weight"),
         "r_multiple": n.get("r_multiple"), "exit_reason": n.get("exit_reason"),
         "hold_minutes": _hold_minutes(n)}
        for n in list(verdict.get("neighbours") or [])[:NEAREST_SHOWN]
    ]
    return {
        "similar_setups": verdict.get("neighbours_count"),
        "effective_count": verdict.get("effective_count"),
        "weighted_win_rate": verdict.get("weighted_win_rate"),
        "expected_r": verdict.get("expected_r"),
        "expected_r_lower_bound": verdict.get("expected_r_bound"),
        "allowed": verdict.get("allowed"),
        "nearest": nearest,
    }


def news_section(features: dict[str, Any], extras: PromptExtras | None) -> dict[str, Any] | str:
    """The rolling sentiment and how many headlines feed it, or ``NONE_YET`` without news."""
    sentiment = features.get("sentiment")
    if extras is None or extras.headlines_recent is None or sentiment is None:
        return NONE_YET
    return {"sentiment": round(float(sentiment), 4),
            "headlines_recent": extras.headlines_recent,
            "window_minutes": extras.headline_window_minutes}


def risk_section(realized_today_usd: float, extras: PromptExtras | None) -> dict[str, Any]:
    """Today's realised P&L against the daily loss cap, and the loss streak."""
    section: dict[str, Any] = {"realized_today_usd": round(realized_today_usd, 2)}
    if extras is not None:
        section.update({
            "daily_loss_limit_usd": extras.daily_loss_limit_usd,
            "loss_cap_used_fraction": round(
                max(0.0, -realized_today_usd) / extras.daily_loss_limit_usd, 3),
            "loss_streak": extras.loss_streak,
            "max_consecutive_losses": extras.max_consecutive_losses,
        })
    return section


# The session levels a decision journaled (prices), as the prompt names them.
SESSION_LEVELS = (
    ("vwap", "session_vwap"), ("opening_range_high", "opening_range_high"),
    ("opening_range_low", "opening_range_low"), ("prior_day_high", "prior_day_high"),
    ("prior_day_low", "prior_day_low"), ("prior_day_close", "prior_day_close"),
    ("overnight_high", "overnight_high"), ("overnight_low", "overnight_low"),
)


def _finite(value: Any) -> float | None:
    if isinstance(value, int | float) and math.isfinite(value):
        return float(value)
    return None


def session_levels_section(features: dict[str, Any]) -> dict[str, Any] | str:
    """How far the price is from each known session level, in ATRs (positive: above it), or
    ``NONE_YET`` when no level (or no ATR) is known. Relative, so no price is told."""
    close, atr = _finite(features.get("close")), _finite(features.get("atr_points"))
    if close is None or atr is None or atr <= 0.0:
        return NONE_YET
    section = {}
    for name, key in SESSION_LEVELS:
        level = _finite(features.get(key))
        if level is not None:
            section[name] = round((close - level) / atr, 2)
    if not section:
        return NONE_YET
    return {"price_minus_level_in_atr": section}
