"""``feed.realtime_hours``: a market that starts now may trade around the clock (practice);
a market with a set start keeps the Globex hours whatever the setting."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from itertools import islice

import pytest

from bot.adapters.feeds.globex_clock import globex_session, history_start
from bot.adapters.feeds.synthetic import SyntheticMarket
from bot.runtime.bar_source import always_open
from shared.config.settings import FeedConfig, load_settings

pytestmark = pytest.mark.unit

IN_THE_HALT = datetime(2025, 3, 5, 22, 30, tzinfo=UTC)  # Wednesday 16:30 CT
SATURDAY = datetime(2025, 3, 8, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("start", [IN_THE_HALT, SATURDAY])
def test_the_practice_market_has_bars_in_the_halt_and_on_weekends(start):
    first = next(SyntheticMarket(7, start, 5000.0, 60, always_open=True).iter_bars())
    assert first.ts == start
    globex = next(SyntheticMarket(7, start, 5000.0, 60).iter_bars())
    assert globex.ts == globex_session(start)[0] > start  # waits for the next 17:00 CT open


def test_bars_of_the_practice_market_follow_each_other_without_gaps():
    bars = list(islice(SyntheticMarket(3, IN_THE_HALT, 5000.0, 60, always_open=True)
                       .iter_bars(), 2000))
    steps = {b.ts - a.ts for a, b in zip(bars, bars[1:], strict=False)}
    assert steps == {timedelta(seconds=60)}  # across midnight UTC and the CME halt


def test_history_before_now_walks_back_without_breaks_when_always_open():
    assert history_start(IN_THE_HALT, 90, 60, always_open=True) == IN_THE_HALT - timedelta(
        minutes=90)
    # the Globex clock skips the halt: 90 bars before 16:30 CT start at 14:30 CT
    assert history_start(IN_THE_HALT, 90, 60) == IN_THE_HALT - timedelta(minutes=120)


def test_only_a_market_starting_now_follows_the_setting():
    assert always_open(FeedConfig(realtime_hours="always"))
    assert always_open(FeedConfig(realtime_hours="always", speed=50))
    assert not always_open(FeedConfig())
    assert not always_open(FeedConfig(realtime_hours="always", start=IN_THE_HALT))
    assert not always_open(FeedConfig(realtime_hours="always", source="replay"))


def test_the_environment_can_set_it_for_every_process():
    settings = load_settings(None, env={"TRADER_REALTIME_HOURS": "always"})
    assert settings.feed.realtime_hours == "always"
    assert load_settings(None, env={}).feed.realtime_hours == "cme"
