"""The trader's position and risk panels from the heartbeat: distances in points and dollars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from dashboard import trader_view
from shared.persistence.ops_store import Heartbeat

pytestmark = pytest.mark.unit
T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def beat(**changes) -> Heartbeat:
    return Heartbeat(**{"heartbeat_at": T0, "mode": "paper", "symbol": "MES", "status": "running",
                        "last_bar_ts": T0, **changes})


def test_a_long_position_shows_stop_and_target_distance_in_points_and_dollars():
    view = trader_view.position_view(beat(
        position_side="long", position_contracts=2, position_entry_price=5000.0,
        position_stop_price=4990.0, position_target_price=5015.0, last_price=5002.5))
    assert view.stop.distance_points == 12.5 and view.stop.pnl_if_filled_cents == -10_000
    assert view.target.distance_points == 12.5 and view.target.pnl_if_filled_cents == 15_000


def test_an_es_short_uses_the_es_point_value():
    view = trader_view.position_view(beat(
        symbol="ES", position_side="short", position_contracts=1, position_entry_price=5000.0,
        position_stop_price=5004.0, position_target_price=None, last_price=5001.0))
    assert view.stop.pnl_if_filled_cents == -20_000 and view.target is None


def test_flat_is_none_and_the_risk_panel_counts_what_is_left():
    assert trader_view.position_view(beat()) is None
    risk = trader_view.risk_view(beat(
        realized_today_cents=-15_000, daily_loss_limit_cents=30_000, entries_today=7,
        max_trades_per_day=10, consecutive_losses=3, max_consecutive_losses=3,
        cooldown_until=T0 + timedelta(minutes=2), entries_blocked_reason="3 losses in a row"))
    assert risk.loss_used_fraction == 0.5 and risk.trades_left == 3
    assert risk.cooldown_left_s == 120 and risk.blocked_reason == "3 losses in a row"


def test_the_risk_panel_lists_each_protection_line():
    risk = trader_view.risk_view(beat(
        daily_loss_limit_cents=20_000, entries_blocked_reason="CPI at 08:30 ET: no entries",
        protections_status="Daily loss cap $200.00\n\nLast 3 sessions: -$50.00"))
    assert risk.protections == ("Daily loss cap $200.00", "Last 3 sessions: -$50.00")
    assert risk.blocked_reason == "CPI at 08:30 ET: no entries"
    assert trader_view.risk_view(beat()).protections == ()
