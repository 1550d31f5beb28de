"""The daily restart window in a named zone: daylight saving, midnight, the entry pause."""

from __future__ import annotations

from datetime import UTC, datetime, time

import pytest
from pydantic import ValidationError

from bot.adapters.ib.restart_window import entries_paused, in_restart_window
from shared.config.ib_gateway import RestartWindowConfig
from shared.config.settings import Settings

pytestmark = pytest.mark.unit

DEFAULT = RestartWindowConfig()


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(("at", "inside"), [
    (utc(2025, 1, 15, 4, 44), False),  # winter: 23:45 New York = 04:45 UTC
    (utc(2025, 1, 15, 4, 45), True),
    (utc(2025, 1, 15, 4, 59), True),
    (utc(2025, 1, 15, 5, 0), False),   # 15 minutes later it is over
    (utc(2025, 7, 15, 3, 50), True),   # summer: 23:45 New York = 03:45 UTC
    (utc(2025, 7, 15, 4, 50), False),
])
def test_the_default_window_follows_new_york_daylight_saving(at, inside):
    assert in_restart_window(DEFAULT, at) is inside


def test_a_window_crossing_local_midnight_is_found_from_the_next_day():
    cfg = RestartWindowConfig(start=time(23, 50), duration_minutes=30, timezone="UTC")
    assert in_restart_window(cfg, utc(2025, 3, 4, 0, 10))
    assert not in_restart_window(cfg, utc(2025, 3, 4, 0, 20))


def test_entries_pause_from_before_the_window_to_after_it():
    assert not entries_paused(DEFAULT, utc(2025, 1, 15, 4, 39))
    assert entries_paused(DEFAULT, utc(2025, 1, 15, 4, 40))  # 5 minutes before
    assert entries_paused(DEFAULT, utc(2025, 1, 15, 5, 4))   # 5 minutes after
    assert not entries_paused(DEFAULT, utc(2025, 1, 15, 5, 5))


def test_a_disabled_window_expects_nothing():
    off = RestartWindowConfig(enabled=False)
    assert not in_restart_window(off, utc(2025, 1, 15, 4, 50))
    assert not entries_paused(off, utc(2025, 1, 15, 4, 50))


def test_the_config_names_a_wrong_zone_in_one_line():
    with pytest.raises(ValidationError, match="unknown time zone 'Mars/Olympus'"):
        Settings.model_validate({"ib": {"restart_window": {"timezone": "Mars/Olympus"}}})
    loaded = Settings.model_validate({"ib": {"restart_window": {"start": "23:30"}}})
    assert loaded.ib.restart_window.start == time(23, 30)
