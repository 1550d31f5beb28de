"""Helpers for backtest tests: bars as BarData, seeded synthetic minute bars, a real-file slice."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from itertools import islice

import numpy as np

from bot.adapters.feeds.synthetic import SyntheticMarket
from bot.backtest.data import BarData
from shared.domain.models import Bar

MONDAY = datetime(2025, 3, 3, 0, 0, tzinfo=UTC)


def minute_bars(count: int, seed: int = 7, start: datetime = MONDAY) -> list[Bar]:
    """The first ``count`` one-minute bars of a seeded synthetic market."""
    return list(islice(SyntheticMarket(seed, start, 5000.0, 60).iter_bars(), count))


def bar_data(bars: Sequence[Bar], bar_seconds: int = 60, first: int = 0) -> BarData:
    """Bars as the backtester's columns."""
    ts_ns = np.array([int(b.ts.timestamp()) * 1_000_000_000 for b in bars], dtype=np.int64)
    columns = [np.array([getattr(b, name) for b in bars], dtype=float)
               for name in ("open", "high", "low", "close", "volume")]
    return BarData(ts_ns, *columns, bar_seconds=bar_seconds, first=first)
