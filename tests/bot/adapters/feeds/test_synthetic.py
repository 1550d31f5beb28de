"""The synthetic market: determinism, the Globex clock, bar integrity and ES-like structure."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, time, timedelta
from functools import cache
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from bot.adapters.feeds.globex_clock import globex_session
from bot.adapters.feeds.synthetic import SyntheticMarket, derive_seed, resume_point
from shared.domain.models import Bar

CHICAGO = ZoneInfo("America/Chicago")
# Thursday morning before the 2024-03-10 DST change: the sample spans a maintenance break,
# a weekend (across the DST switch) and three full RTH sessions.
START = datetime(2024, 3, 7, 12, 0, tzinfo=UTC)
SAMPLE_BARS = 50_000
SEEDS = (7, 11, 2024)


def take(market: SyntheticMarket, count: int) -> list[Bar]:
    return list(itertools.islice(market.iter_bars(), count))


@cache
def sample_frame(seed: int) -> pd.DataFrame:
    bars = take(SyntheticMarket(seed, START, 5000.0), SAMPLE_BARS)
    frame = pd.DataFrame(
        {
            "open": [bar.open for bar in bars],
            "high": [bar.high for bar in bars],
            "low": [bar.low for bar in bars],
            "close": [bar.close for bar in bars],
            "volume": [bar.volume for bar in bars],
        },
        index=pd.DatetimeIndex([bar.ts for bar in bars], name="ts"),
    )
    local = frame.index.tz_convert(CHICAGO)
    frame["hour_ct"] = local.hour + local.minute / 60 + local.second / 3600
    frame["range"] = frame["high"] - frame["low"]
    frame["session"] = (frame.index.to_series().diff() > pd.Timedelta(minutes=30)).cumsum()
    return frame


def rth(frame: pd.DataFrame) -> pd.Series:
    return (frame["hour_ct"] >= 8.5) & (frame["hour_ct"] < 15.0)


def window(frame: pd.DataFrame, start_hour: float, end_hour: float) -> pd.DataFrame:
    return frame[(frame["hour_ct"] >= start_hour) & (frame["hour_ct"] < end_hour)]


def test_same_seed_and_start_give_identical_bars() -> None:
    first = take(SyntheticMarket(7, START, 5000.0), 20_000)
    second = take(SyntheticMarket(7, START, 5000.0), 20_000)
    assert first == second


def test_iter_bars_replays_the_same_market_each_call() -> None:
    market = SyntheticMarket(3, START, 5000.0)
    assert take(market, 5_000) == take(market, 5_000)


def test_different_seeds_give_different_bars() -> None:
    first = take(SyntheticMarket(7, START, 5000.0), 2_000)
    second = take(SyntheticMarket(8, START, 5000.0), 2_000)
    assert [bar.ts for bar in first] == [bar.ts for bar in second]
    assert [bar.close for bar in first] != [bar.close for bar in second]


def test_negative_seed_is_accepted_and_distinct_from_its_absolute_value() -> None:
    negative = take(SyntheticMarket(-5, START, 5000.0), 500)
    positive = take(SyntheticMarket(5, START, 5000.0), 500)
    assert [bar.close for bar in negative] != [bar.close for bar in positive]


def test_no_bars_in_maintenance_break_or_weekend() -> None:
    frame = sample_frame(SEEDS[0])
    local = frame.index.tz_convert(CHICAGO)
    weekday = np.asarray(local.day_of_week)
    hour = frame["hour_ct"].to_numpy()
    in_break = (weekday <= 3) & (hour >= 16.0) & (hour < 17.0)
    weekend = (weekday == 5) | ((weekday == 4) & (hour >= 16.0)) | ((weekday == 6) & (hour < 17))
    assert not in_break.any()
    assert not weekend.any()
    # The sample really does reach Friday, Sunday evening and Monday.
    assert {4, 6, 0} <= set(weekday.tolist())


def test_bars_are_contiguous_inside_sessions_and_gaps_run_from_1600_to_1700_ct() -> None:
    frame = sample_frame(SEEDS[0])
    stamps = frame.index
    steps = stamps[1:] - stamps[:-1]
    assert set(steps[steps < pd.Timedelta(minutes=30)]) == {pd.Timedelta(seconds=5)}
    gap_positions = np.flatnonzero(steps >= pd.Timedelta(minutes=30))
    assert len(gap_positions) == 3  # Thursday break, the weekend, Monday break
    for position in gap_positions:
        last_end = (stamps[position] + pd.Timedelta(seconds=5)).tz_convert(CHICAGO)
        next_open = stamps[position + 1].tz_convert(CHICAGO)
        assert last_end.time() == time(16, 0)
        assert next_open.time() == time(17, 0)


@pytest.mark.parametrize(
    ("start", "expected_first"),
    [
        # Saturday: the next bar is the Sunday 17:00 CT open (CDT after the DST change).
        (datetime(2024, 3, 9, 12, 0, tzinfo=UTC), datetime(2024, 3, 10, 22, 0, tzinfo=UTC)),
        # Tuesday 16:30 CT, inside the break: the 17:00 CT reopen.
        (datetime(2024, 3, 12, 21, 30, tzinfo=UTC), datetime(2024, 3, 12, 22, 0, tzinfo=UTC)),
        # Between bar starts: the next 5-second boundary.
        (datetime(2024, 3, 12, 15, 0, 2, tzinfo=UTC), datetime(2024, 3, 12, 15, 0, 5, tzinfo=UTC)),
        # Exactly on a bar start: that bar.
        (datetime(2024, 3, 12, 15, 0, 5, tzinfo=UTC), datetime(2024, 3, 12, 15, 0, 5, tzinfo=UTC)),
    ],
)
def test_first_bar_is_the_first_session_bar_at_or_after_start(
    start: datetime, expected_first: datetime
) -> None:
    first = take(SyntheticMarket(1, start, 5000.0), 1)[0]
    assert first.ts == expected_first
    assert first.open == 5000.0


def test_globex_session_of_a_friday_evening_is_the_monday_session() -> None:
    friday_evening = datetime(2024, 3, 8, 18, 0, tzinfo=CHICAGO)
    open_utc, close_utc = globex_session(friday_evening)
    assert open_utc.astimezone(CHICAGO) == datetime(2024, 3, 10, 17, 0, tzinfo=CHICAGO)
    assert close_utc.astimezone(CHICAGO) == datetime(2024, 3, 11, 16, 0, tzinfo=CHICAGO)


@pytest.mark.parametrize("seed", SEEDS)
def test_prices_sit_on_the_tick_grid_and_ohlc_is_consistent(seed: int) -> None:
    frame = sample_frame(seed)
    prices = frame[["open", "high", "low", "close"]].to_numpy()
    assert np.all(prices / 0.25 == np.round(prices / 0.25))
    assert np.all(prices > 0)
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_open_equals_previous_close_inside_a_session_and_gaps_stay_small(seed: int) -> None:
    frame = sample_frame(seed)
    previous_close = frame["close"].shift()
    same_session = frame["session"] == frame["session"].shift()
    assert (frame["open"][same_session] == previous_close[same_session]).all()
    session_gaps = (frame["open"] - previous_close)[~same_session].dropna().abs()
    assert len(session_gaps) == 3
    assert (session_gaps <= 20.0).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_volumes_are_positive_integers(seed: int) -> None:
    volume = sample_frame(seed)["volume"]
    assert (volume >= 1).all()
    assert (volume == np.floor(volume)).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_rth_volume_median_is_well_above_overnight(seed: int) -> None:
    frame = sample_frame(seed)
    rth_median = frame["volume"][rth(frame)].median()
    overnight_median = frame["volume"][~rth(frame)].median()
    assert overnight_median >= 5  # ES trades ~120 contracts a minute overnight
    assert rth_median >= 100
    assert rth_median > 3 * overnight_median


@pytest.mark.parametrize("seed", SEEDS)
def test_rth_volume_is_u_shaped_open_and_close_busier_than_midday(seed: int) -> None:
    frame = sample_frame(seed)
    opening = window(frame, 8.5, 9.0)
    midday = window(frame, 11.0, 13.0)
    closing = window(frame, 14.5, 15.0)
    assert opening["volume"].mean() > 1.5 * midday["volume"].mean()
    assert closing["volume"].mean() > 1.3 * midday["volume"].mean()


@pytest.mark.parametrize("seed", SEEDS)
def test_the_rth_open_is_more_volatile_than_midday(seed: int) -> None:
    # Real ES (2025): the 08:30-09:00 CT half hour moves ~1.5x midday on average, yet less
    # than midday on one day in seven; the close half hour only ~1.15x, and less than midday
    # on a third of days. So: twenty sessions of minutes, and the open only.
    bars = take(SyntheticMarket(seed, START, 5000.0, 60), 20 * 1380)
    frame = pd.DataFrame({"close": [bar.close for bar in bars]},
                         index=pd.DatetimeIndex([bar.ts for bar in bars]))
    local = frame.index.tz_convert(CHICAGO)
    frame["hour_ct"] = local.hour + local.minute / 60
    frame["move"] = frame["close"].diff().abs()
    assert window(frame, 8.5, 9.0)["move"].mean() > 1.1 * window(frame, 11.0, 13.0)["move"].mean()


@pytest.mark.parametrize("seed", SEEDS)
def test_magnitudes_look_like_es(seed: int) -> None:
    frame = sample_frame(seed)
    in_rth = rth(frame)
    true_range = np.maximum(frame["high"], frame["close"].shift()) - np.minimum(
        frame["low"], frame["close"].shift()
    )
    atr_points = true_range.rolling(14).mean()
    assert 0.25 <= frame["range"][in_rth].median() <= 1.5
    assert 0.4 <= atr_points[in_rth].median() <= 2.0
    assert frame["range"][~in_rth].median() < frame["range"][in_rth].median()
    full_sessions = frame.groupby("session").filter(lambda s: len(s) == 16_560)
    session_range = full_sessions.groupby("session").agg(high=("high", "max"), low=("low", "min"))
    assert len(session_range) == 2
    assert ((session_range["high"] - session_range["low"]).between(10, 150)).all()


@pytest.mark.parametrize("seed", SEEDS)
def test_volatility_clusters_in_midday_absolute_returns(seed: int) -> None:
    frame = sample_frame(seed)
    midday = window(frame, 10.0, 14.0)
    autocorrelations: list[float] = []
    shuffled: list[float] = []
    rng = np.random.default_rng(0)
    for _, session in midday.groupby("session"):
        minute_moves = session["close"].resample("1min").last().diff().abs().dropna()
        autocorrelations += [minute_moves.autocorr(lag) for lag in range(1, 11)]
        permuted = pd.Series(rng.permutation(minute_moves.to_numpy()))
        shuffled += [permuted.autocorr(lag) for lag in range(1, 11)]
    assert np.mean(autocorrelations) > 0.03
    assert np.mean(autocorrelations) > np.mean(shuffled) + 0.03


def test_tiny_start_price_keeps_every_price_positive() -> None:
    bars = take(SyntheticMarket(5, START, 1.0), 20_000)
    assert min(bar.low for bar in bars) >= 0.25


def test_naive_start_is_rejected() -> None:
    with pytest.raises(ValueError, match="timezone-aware"):
        SyntheticMarket(1, datetime(2024, 3, 7, 12, 0), 5000.0)


def test_resume_continues_time_and_price_from_the_last_bar() -> None:
    bars = take(SyntheticMarket(7, START, 5000.0), 1_000)
    last = bars[-1]
    start, start_price, seed = resume_point(last, 7)
    assert (start, start_price) == (last.ts + timedelta(seconds=5), last.close)
    assert seed == derive_seed(7, last.ts) != 7
    first = take(SyntheticMarket.resumed(last, 7), 1)[0]
    assert first.ts == last.ts + timedelta(seconds=5)
    assert first.open == last.close


def test_resume_is_deterministic_and_depends_on_the_last_bar_time() -> None:
    bars = take(SyntheticMarket(7, START, 5000.0), 10)
    assert resume_point(bars[5], 7) == resume_point(bars[5], 7)
    assert resume_point(bars[5], 7).seed != resume_point(bars[6], 7).seed
    assert take(SyntheticMarket.resumed(bars[5], 7), 300) == take(
        SyntheticMarket.resumed(bars[5], 7), 300
    )


def test_resume_after_the_last_bar_of_a_session_waits_for_the_reopen() -> None:
    last = Bar(datetime(2024, 3, 7, 21, 59, 55, tzinfo=UTC), 5000.0, 5000.5, 4999.75, 5000.25, 40)
    first = take(SyntheticMarket.resumed(last, 7), 1)[0]
    assert first.ts == datetime(2024, 3, 7, 23, 0, tzinfo=UTC)  # 17:00 CST
    assert first.open == last.close
