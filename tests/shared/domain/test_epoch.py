"""Epoch nanoseconds of many datetimes at once equal the exact one-at-a-time arithmetic."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import numpy as np
import pytest

from shared.domain import metrics
from shared.domain.epoch import epoch_ns
from shared.domain.models import ExitReason, Side, TradeRecord

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
CHICAGO = ZoneInfo("America/Chicago")


def one_ns(ts: datetime) -> int:
    return (ts - EPOCH) // timedelta(microseconds=1) * 1000


def stamps() -> list[datetime]:
    """Whole minutes, odd microseconds, other zones, both sides of the autumn fall-back hour,
    before the epoch and far ahead."""
    rng = np.random.default_rng(3)
    base = datetime(2021, 1, 4, tzinfo=UTC)
    found = [base + timedelta(minutes=int(m), microseconds=int(u))
             for m, u in zip(rng.integers(0, 3_000_000, 500), rng.integers(0, 10**6, 500),
                             strict=True)]
    found += [datetime(2024, 11, 3, 1, 30, fold=fold, tzinfo=CHICAGO) for fold in (0, 1)]
    found += [datetime(2025, 3, 9, 3, 0, 0, 1, tzinfo=CHICAGO),
              datetime(1969, 7, 20, 20, 17, 40, 999_999, tzinfo=timezone(timedelta(hours=-5))),
              datetime(2099, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)]
    return found


def test_equals_the_exact_arithmetic_of_each_datetime() -> None:
    found = stamps()
    assert epoch_ns(found).tolist() == [one_ns(ts) for ts in found]
    assert epoch_ns(found).dtype == np.int64


def test_empty_and_naive() -> None:
    assert epoch_ns([]).tolist() == []
    with pytest.raises(ValueError, match="tz-aware"):
        epoch_ns([datetime(2024, 1, 1, tzinfo=UTC), datetime(2024, 1, 1)])


def _trade(entry: datetime, index: int) -> TradeRecord:
    return TradeRecord(f"B{index}", "MES", Side.LONG, 1, entry, 5000.0,
                       entry + timedelta(minutes=7), 5001.0, ExitReason.TARGET, 125, 124, 1)


def test_breakdowns_hour_and_weekday_keep_their_key_functions_groups() -> None:
    """The one-conversion breakdowns group exactly as ``hour_key``/``weekday_key`` do, across
    daylight-saving changes and midnight in Chicago."""
    trades = [_trade(ts, i) for i, ts in enumerate(stamps())]
    tables = metrics.breakdowns(trades)
    assert tables["hour"] == metrics.breakdown(trades, metrics.hour_key())
    assert tables["weekday"] == metrics.breakdown(trades, metrics.weekday_key())
    assert len(tables["hour"]) == 24 and len(tables["weekday"]) == 7
    tokyo = metrics.breakdowns(trades, "Asia/Tokyo")
    assert tokyo["hour"] == metrics.breakdown(trades, metrics.hour_key("Asia/Tokyo"))
