"""RestartWatch: which notice a drop, a refused connect or IB's 1100 becomes, and when."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.ib.restart_watch import RestartWatch
from shared.config.settings import IbConfig

pytestmark = pytest.mark.unit

INSIDE = datetime(2025, 1, 15, 4, 50, tzinfo=UTC)  # 23:50 New York
OUTSIDE = datetime(2025, 1, 15, 15, 0, tzinfo=UTC)
WHERE = "127.0.0.1:4002 (client id 17)"


class Clock:
    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def test_a_drop_in_the_window_is_info_and_its_reconnect_is_not_an_alerted_connect():
    clock = Clock(INSIDE)
    watch = RestartWatch(IbConfig(), clock)
    notice = watch.disconnected(WHERE, 2.0)
    assert (notice.kind, notice.severity) == ("ib_restart_disconnect", "info")
    assert watch.connected_kind() == "ib_restart_reconnected"
    watch.connected()
    clock.at = OUTSIDE
    notice = watch.disconnected(WHERE, 2.0)
    assert (notice.kind, notice.severity) == ("ib_disconnected", "incident")
    assert watch.connected_kind() == "ib_connected"


def test_ib_connectivity_codes_in_the_window_are_the_nightly_reset():
    watch = RestartWatch(IbConfig(), Clock(INSIDE))
    assert watch.error_kind("ib_connectivity_lost", "incident") == (
        "ib_restart_connectivity_lost", "info")
    assert watch.error_kind("ib_data_farm", "warning") == ("ib_data_farm", "warning")
    outside = RestartWatch(IbConfig(), Clock(OUTSIDE))
    assert outside.error_kind("ib_connectivity_lost", "incident") == (
        "ib_connectivity_lost", "incident")


def test_login_needed_once_per_streak_after_the_configured_minutes():
    clock = Clock(OUTSIDE)
    watch = RestartWatch(IbConfig(login_alert_after_minutes=5), clock)
    kinds: list[str] = []
    for _ in range(12):
        kinds += [n.kind for n in watch.connect_failed(WHERE, "refused", 1, 2.0)]
        clock.at += timedelta(minutes=1)
    assert kinds.count("ib_login_needed") == 1
    assert kinds.index("ib_login_needed") == 6  # the failure at minute 5, after six failures
    watch.connected()
    again = []
    for _ in range(7):
        again += [n.kind for n in watch.connect_failed(WHERE, "refused", 1, 2.0)]
        clock.at += timedelta(minutes=1)
    assert again.count("ib_login_needed") == 1  # a new streak, a new alert


def test_after_a_login_alert_the_reconnect_is_announced_even_after_a_nightly_drop():
    clock = Clock(INSIDE)
    watch = RestartWatch(IbConfig(login_alert_after_minutes=5), clock)
    watch.disconnected(WHERE, 2.0)
    clock.at = INSIDE + timedelta(minutes=30)  # the window is over; still refused
    for _ in range(7):
        watch.connect_failed(WHERE, "refused", 1, 2.0)
        clock.at += timedelta(minutes=1)
    assert watch.login_alerted
    assert watch.connected_kind() == "ib_connected"
