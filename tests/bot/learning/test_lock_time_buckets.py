"""Locks are mined on the time-of-day/volatility buckets memory keys on (any trend), beside the
trend/volatility ones: a losing side in one time bucket is proposed even when its trades are
spread over trends too thin to reach the sample one by one."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.learning.proposals import MiningLimits, lock_proposals
from shared.domain.models import Side
from shared.domain.rules import Bucket
from shared.persistence.learning_queries import ReviewTrade

LIMITS = MiningLimits(min_sample=6, min_losses=3, min_weighted_confidence=0.5,
                      max_hold_minutes=60)
WINDOW = (date(2025, 3, 3), date(2025, 3, 7))


def _trade(number: int, trend: str, time_bucket: str, pnl_cents: int) -> ReviewTrade:
    at = datetime(2025, 3, 3, 15, tzinfo=UTC) + timedelta(hours=number)
    return ReviewTrade(number, f"b{number}", "long", 1, at, at + timedelta(minutes=5), "stop",
                       pnl_cents, trend, "high", time_bucket, 0.7, number, None)


def test_a_losing_time_bucket_spread_over_trends_is_locked_with_any_trend():
    trends = ["range", "trend_up", "trend_down"]
    opening = [_trade(i, trends[i % 3], "open", -500) for i in range(6)]
    midday = [_trade(10 + i, trends[i % 3], "midday", 400) for i in range(6)]
    found = lock_proposals(opening + midday, WINDOW, LIMITS)
    assert [p.bucket for p in found] == [Bucket(Side.LONG, None, "high", "open")]
    lock = found[0]
    assert lock.params == {"bucket": {"side": "long", "trend": None, "volatility": "high",
                                      "time_bucket": "open"}}
    assert lock.evidence["trade_ids"] == [t.trade_id for t in opening]
    assert lock.evidence["net_pnl_cents"] == -3000 and "long in high/open" in lock.summary


def test_a_trend_bucket_and_a_time_bucket_are_separate_proposals():
    trades = [_trade(i, "range", "open", -300) for i in range(6)]
    buckets = {p.bucket for p in lock_proposals(trades, WINDOW, LIMITS)}
    assert buckets == {Bucket(Side.LONG, "range", "high"), Bucket(Side.LONG, None, "high", "open")}
