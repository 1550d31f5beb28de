"""Shared fixtures: where the reference data lives, and seeded synthetic bars."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from itertools import islice
from pathlib import Path

import pytest

from bot.feeds.synthetic import SyntheticMarket
from shared.models import Bar

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO_ROOT.parent / "shared" / "data"
RTH_MONDAY = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)


@pytest.fixture
def shared_data() -> Path:
    """The real ES bars beside the checkout; skips when a clone has no such folder."""
    if not SHARED_DATA.is_dir():
        pytest.skip(f"reference data folder {SHARED_DATA} is absent")
    return SHARED_DATA


def synthetic_bars(count: int, seed: int = 7, start: datetime = RTH_MONDAY) -> list[Bar]:
    """The first ``count`` bars of a seeded synthetic market."""
    return list(islice(SyntheticMarket(seed, start, 5000.0).iter_bars(), count))


@pytest.fixture
def make_bars() -> Callable[..., list[Bar]]:
    return synthetic_bars
