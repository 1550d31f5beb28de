"""Cross-section checks of the learning settings (kept out of ``settings.py`` to keep it small).

The review's out-of-sample gate replays the journaled bars of its last ``backtest_days``
trading days; the live bot deletes bars older than ``engine.bars_retention_days`` calendar
days. A pair where the gate's days reach past what is kept can never be gated and is refused.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any


def calendar_days_for(trading_days: int) -> int:
    """Calendar days that ``trading_days`` consecutive CME trading days may span.

    Each started week of five trading days adds a weekend (2 days), and the first session
    opens the evening before its trading day (1 day, which also covers the indicator warm-up).
    A holiday week may need one more day.
    """
    return trading_days + 2 * math.ceil(trading_days / 5) + 1


def gate_retention_problem(backtest_days: int, bars_retention_days: int) -> str | None:
    """Why the gate's days cannot be within the journaled bars (None when they can)."""
    needed = calendar_days_for(backtest_days)
    if needed <= bars_retention_days:
        return None
    return (f"learning.backtest_days {backtest_days} trading days span up to {needed} calendar "
            f"days, beyond engine.bars_retention_days {bars_retention_days}: the review's gate "
            f"would replay bars the bot already deleted; lower learning.backtest_days or raise "
            f"engine.bars_retention_days to at least {needed}")


OLD_DEFAULT_BACKTEST_DAYS = 5  # the default before the out-of-sample gate (issue 20)
DEFAULT_RETENTION_DAYS = 7


def upgrade_old_gate_days(data: dict[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """A config saved with the earlier default pair (5 gate days, 7 days of bars) loads with 4.

    The dashboard saves every field, so versions stored before the check name the old default;
    refusing them would stop the bot after an upgrade. Any other impossible pair is refused.
    """
    learning, engine = data.get("learning"), data.get("engine")
    if not isinstance(learning, Mapping) or learning.get("backtest_days") != \
            OLD_DEFAULT_BACKTEST_DAYS:
        return data, []
    retention = engine.get("bars_retention_days", DEFAULT_RETENTION_DAYS) \
        if isinstance(engine, Mapping) else DEFAULT_RETENTION_DAYS
    if retention != DEFAULT_RETENTION_DAYS:
        return data, []
    fixed = 4
    upgraded = {**data, "learning": {**learning, "backtest_days": fixed}}
    return upgraded, [f"learning.backtest_days {OLD_DEFAULT_BACKTEST_DAYS} (the earlier default)"
                      f" spans beyond engine.bars_retention_days {retention}: using {fixed}"]
