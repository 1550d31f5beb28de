"""Bracket ids: deterministic from the symbol and the decision time (no engine needed)."""

from __future__ import annotations

from datetime import datetime


def bracket_id_for(symbol: str, decision_ts: datetime) -> str:
    """Deterministic bracket id from the symbol and the decision time."""
    return f"{symbol}-{decision_ts:%Y%m%dT%H%M%S}"
