"""The Memory page's one-line state: off, cold start active or inactive, with the counts."""

from __future__ import annotations

import pytest

from dashboard.memory_views import cold_start_line
from shared.config.settings import MemoryConfig
from shared.persistence.memory_calibration import MemorySize

pytestmark = pytest.mark.unit


def test_memory_off_says_it_refuses_nothing():
    line = cold_start_line(MemoryConfig(enabled=False), MemorySize(closed=4, shadows=1))
    assert line.startswith("Memory is off") and "it refuses nothing" in line
    assert "memory holds 4 closed setups, 1 of them refused entries' shadows" in line


def test_cold_start_is_active_below_its_size_and_inactive_from_it():
    cfg = MemoryConfig(enabled=True, cold_start_setups=10, min_similar_trades=5)
    young = cold_start_line(cfg, MemorySize(closed=9, shadows=3))
    grown = cold_start_line(cfg, MemorySize(closed=10, shadows=3))
    assert young.startswith("Cold start: active") and "fewer than cold_start_setups 10" in young
    assert "entries are let through without the expected-value test" in young
    assert grown.startswith("Cold start: inactive") and "the expected-value test decides" in grown
    assert "entries still need 5 similar setups" in young and "still need 5" in grown


def test_cold_start_off_and_the_refuse_policy():
    assert cold_start_line(MemoryConfig(enabled=True, cold_start_setups=0), None).startswith(
        "Cold start: off")
    cfg = MemoryConfig(enabled=True, cold_start_setups=10, cold_start="refuse")
    assert "entries are refused without" in cold_start_line(cfg, MemorySize(closed=0, shadows=0))
