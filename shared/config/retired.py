"""Config keys an earlier release wrote and this one no longer has.

The dashboard saves every field, so a config version stored before an upgrade names keys the new
model forbids (``extra="forbid"``). Rather than refuse to start, the bot drops exactly these
known keys with a warning naming each and what replaced it; any other unknown key is still an
error.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from shared.config.learning_checks import upgrade_old_gate_days

RETIRED_KEYS: dict[tuple[str, str], str] = {
    ("regime", "min_atr_points"): "the volatility floor is relative now: regime.min_atr_ratio",
    ("regime", "max_atr_points"): "the volatility ceiling is relative now: regime.max_atr_ratio",
    ("regime", "trend_threshold"): "the trend label uses regime.trend_spread_atr (in ATRs)",
}


def drop_retired(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``data`` without the retired keys, and one note per key dropped."""
    cleaned: dict[str, Any] = dict(data)
    notes = []
    for (section, key), replacement in RETIRED_KEYS.items():
        values = cleaned.get(section)
        if isinstance(values, Mapping) and key in values:
            cleaned[section] = {k: v for k, v in values.items() if k != key}
            notes.append(f"{section}.{key} is retired and ignored ({replacement})")
    cleaned, upgraded = upgrade_old_gate_days(cleaned)
    return cleaned, notes + upgraded
