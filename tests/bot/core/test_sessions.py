"""The CME equity-futures clock on ordinary days, the daily halt, weekends, holidays and DST."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.sessions import CmeSessionClock
from shared.domain.models import TimeBucket

CT = ZoneInfo("America/Chicago")


@pytest.fixture(scope="module")
def clock() -> CmeSessionClock:
    return CmeSessionClock(start="2024-01-02", end="2026-12-31")


def ct(text: str) -> datetime:
    """A Chicago wall-clock time as a UTC datetime."""
    return datetime.fromisoformat(text).replace(tzinfo=CT).astimezone(UTC)


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("when", "bucket", "rth"),
    [
        ("2025-11-24 06:59", TimeBucket.OVERNIGHT, False),
        ("2025-11-24 07:00", TimeBucket.PRE_OPEN, False),
        ("2025-11-24 08:29", TimeBucket.PRE_OPEN, False),
        ("2025-11-24 08:30", TimeBucket.OPEN, True),
        ("2025-11-24 09:59", TimeBucket.OPEN, True),
        ("2025-11-24 10:00", TimeBucket.MIDDAY, True),
        ("2025-11-24 13:59", TimeBucket.MIDDAY, True),
        ("2025-11-24 14:00", TimeBucket.CLOSE, True),
        ("2025-11-24 14:59", TimeBucket.CLOSE, True),
        ("2025-11-24 15:00", TimeBucket.CLOSE, False),
        ("2025-11-24 15:59", TimeBucket.CLOSE, False),
        ("2025-11-23 17:00", TimeBucket.OVERNIGHT, False),
    ],
)
def test_monday_buckets_and_rth_by_chicago_time(
    clock: CmeSessionClock, when: str, bucket: TimeBucket, rth: bool
) -> None:
    ts = ct(when)
    assert clock.is_open(ts)
    assert clock.time_bucket(ts) is bucket
    assert clock.is_rth(ts) is rth
    assert clock.trading_day(ts) == date(2025, 11, 24)


def test_monday_10_ct_is_open_midday_rth_with_six_hours_to_the_close(
    clock: CmeSessionClock,
) -> None:
    ts = ct("2025-11-24 10:00")
    assert clock.is_open(ts) and clock.is_rth(ts)
    assert not clock.in_maintenance_break(ts)
    assert clock.minutes_to_close(ts) == pytest.approx(360.0)


def test_tuesday_1630_ct_is_the_maintenance_break(clock: CmeSessionClock) -> None:
    ts = ct("2025-11-25 16:30")
    assert clock.in_maintenance_break(ts)
    assert not clock.is_open(ts)
    assert clock.time_bucket(ts) is TimeBucket.CLOSED
    assert clock.minutes_to_close(ts) == 0.0
    assert clock.trading_day(ts) == date(2025, 11, 25)


def test_the_daily_halt_starts_at_16_and_trading_resumes_at_17_for_the_next_day(
    clock: CmeSessionClock,
) -> None:
    assert clock.is_open(ct("2025-11-25 15:59:59"))
    assert clock.in_maintenance_break(ct("2025-11-25 16:00"))
    assert clock.in_maintenance_break(ct("2025-11-25 16:59:59"))
    reopen = ct("2025-11-25 17:00")
    assert clock.is_open(reopen) and not clock.in_maintenance_break(reopen)
    assert clock.trading_day(reopen) == date(2025, 11, 26)
    assert clock.minutes_to_close(reopen) == pytest.approx(23 * 60)


def test_friday_after_16_ct_is_the_weekend_not_a_maintenance_break(
    clock: CmeSessionClock,
) -> None:
    ts = ct("2025-11-21 16:30")
    assert not clock.is_open(ts)
    assert not clock.in_maintenance_break(ts)
    assert clock.trading_day(ct("2025-11-21 17:30")) == date(2025, 11, 24)


def test_saturday_is_closed_and_counts_toward_monday(clock: CmeSessionClock) -> None:
    ts = ct("2025-11-22 12:00")
    assert not clock.is_open(ts)
    assert not clock.in_maintenance_break(ts)
    assert clock.time_bucket(ts) is TimeBucket.CLOSED
    assert clock.trading_day(ts) == date(2025, 11, 24)


def test_sunday_1730_ct_is_open_overnight_for_monday(clock: CmeSessionClock) -> None:
    assert not clock.is_open(ct("2025-11-23 16:59"))
    ts = ct("2025-11-23 17:30")
    assert clock.is_open(ts)
    assert not clock.is_rth(ts)
    assert clock.time_bucket(ts) is TimeBucket.OVERNIGHT
    assert clock.trading_day(ts) == date(2025, 11, 24)
    assert clock.minutes_to_close(ts) == pytest.approx(22.5 * 60)


def test_thanksgiving_2025_halts_at_noon_per_the_calendar_and_has_no_rth(
    clock: CmeSessionClock,
) -> None:
    morning = ct("2025-11-27 10:00")
    assert clock.is_open(morning)
    assert not clock.is_rth(morning)  # NYSE is shut
    assert clock.minutes_to_close(morning) == pytest.approx(120.0)
    afternoon = ct("2025-11-27 12:30")
    assert not clock.is_open(afternoon)
    assert not clock.in_maintenance_break(afternoon)
    assert clock.trading_day(afternoon) == date(2025, 11, 28)
    assert clock.is_open(ct("2025-11-27 17:00"))


def test_day_after_thanksgiving_closes_early_at_1215_ct(clock: CmeSessionClock) -> None:
    assert clock.is_rth(ct("2025-11-28 11:00"))
    assert clock.minutes_to_close(ct("2025-11-28 12:10")) == pytest.approx(5.0)
    for shut in ("2025-11-28 12:15", "2025-11-28 15:00", "2025-11-28 16:30"):
        assert not clock.is_open(ct(shut))
        assert not clock.in_maintenance_break(ct(shut))
    assert clock.trading_day(ct("2025-11-28 13:00")) == date(2025, 12, 1)


def test_christmas_is_closed_after_a_1215_ct_close_on_christmas_eve(
    clock: CmeSessionClock,
) -> None:
    assert clock.minutes_to_close(ct("2025-12-24 12:00")) == pytest.approx(15.0)
    assert not clock.is_open(ct("2025-12-24 12:15"))
    christmas = ct("2025-12-25 10:00")
    assert not clock.is_open(christmas)
    assert clock.time_bucket(christmas) is TimeBucket.CLOSED
    assert clock.trading_day(christmas) == date(2025, 12, 26)
    assert clock.is_open(ct("2025-12-25 17:00"))


def test_independence_day_eve_closes_at_1215_and_the_holiday_halts_at_noon(
    clock: CmeSessionClock,
) -> None:
    assert clock.is_open(ct("2025-07-03 12:14"))
    assert not clock.is_open(ct("2025-07-03 12:15"))
    assert clock.is_open(ct("2025-07-04 11:59"))
    assert not clock.is_rth(ct("2025-07-04 11:00"))
    assert not clock.is_open(ct("2025-07-04 12:00"))


@pytest.mark.parametrize(
    ("when_utc", "is_open", "rth"),
    [
        # Week before spring forward (CST = UTC-6)
        ("2025-03-07 14:29", True, False),
        ("2025-03-07 14:30", True, True),
        ("2025-03-07 21:59", True, False),
        ("2025-03-07 22:00", False, False),
        # Sunday 9 March: clocks went forward at 02:00; the 17:00 CDT open is 22:00 UTC
        ("2025-03-09 21:59", False, False),
        ("2025-03-09 22:00", True, False),
        ("2025-03-10 13:29", True, False),
        ("2025-03-10 13:30", True, True),
        ("2025-03-10 20:59", True, False),
        ("2025-03-10 21:00", False, False),
        # Sunday 2 November: back to CST; the 17:00 open is 23:00 UTC
        ("2025-11-02 22:30", False, False),
        ("2025-11-02 23:00", True, False),
        ("2025-11-03 14:30", True, True),
        ("2025-11-03 22:00", False, False),
    ],
)
def test_dst_change_weeks_follow_chicago_wall_clock(
    clock: CmeSessionClock, when_utc: str, is_open: bool, rth: bool
) -> None:
    ts = utc(when_utc)
    assert clock.is_open(ts) is is_open
    assert clock.is_rth(ts) is rth


def test_maintenance_break_is_21_to_22_utc_in_summer(clock: CmeSessionClock) -> None:
    assert clock.in_maintenance_break(utc("2025-07-08 21:30"))
    assert clock.is_open(utc("2025-07-08 22:00"))
    assert clock.is_open(utc("2025-01-07 21:30"))  # winter: still trading until 22:00 UTC


def test_naive_timestamps_are_rejected(clock: CmeSessionClock) -> None:
    with pytest.raises(ValueError, match="tz-aware"):
        clock.is_open(datetime(2025, 11, 24, 10, 0))


def test_timestamps_outside_the_calendar_are_rejected(clock: CmeSessionClock) -> None:
    with pytest.raises(ValueError, match="outside the session calendar"):
        clock.is_open(utc("2030-01-07 15:00"))
    with pytest.raises(ValueError, match="outside the session calendar"):
        clock.trading_day(utc("2020-01-07 15:00"))


SPAN_START = utc("2024-01-03 00:00")
SPAN_SECONDS = int((utc("2026-12-20 00:00") - SPAN_START).total_seconds())


@settings(max_examples=400, deadline=None)
@given(offset_s=st.integers(0, SPAN_SECONDS))
def test_clock_answers_agree_with_each_other(clock: CmeSessionClock, offset_s: int) -> None:
    ts = SPAN_START + timedelta(seconds=offset_s)
    is_open = clock.is_open(ts)
    minutes = clock.minutes_to_close(ts)
    local = ts.astimezone(CT)
    assert (clock.time_bucket(ts) is TimeBucket.CLOSED) is not is_open
    assert (minutes > 0) is is_open
    assert clock.trading_day(ts).weekday() < 5
    if clock.in_maintenance_break(ts):
        assert not is_open and time(16) <= local.time() < time(17)
    if clock.is_rth(ts):
        assert is_open and clock.time_bucket(ts) in (
            TimeBucket.OPEN, TimeBucket.MIDDAY, TimeBucket.CLOSE
        )
    if is_open:
        assert not time(16) <= local.time() < time(17)
        halt = ts + timedelta(minutes=minutes)
        assert clock.is_open(halt - timedelta(microseconds=1))
        assert not clock.is_open(halt)
        assert clock.trading_day(halt - timedelta(microseconds=1)) == clock.trading_day(ts)


@pytest.mark.parametrize(
    ("when", "phase", "next_change"),
    [
        ("2025-11-24 10:00", "open", "2025-11-24 16:00"),
        ("2025-11-24 16:30", "break", "2025-11-24 17:00"),
        ("2025-11-22 12:00", "closed", "2025-11-23 17:00"),  # Saturday
        ("2025-11-23 17:00", "open", "2025-11-24 16:00"),  # Sunday's open
    ],
)
def test_phase_and_next_change(clock, when, phase, next_change):
    got_phase, got_next = clock.phase(ct(when))
    assert got_phase.value == phase and got_next == ct(next_change)


def test_a_remembered_time_gives_the_same_answers_as_a_fresh_ask(clock: CmeSessionClock) -> None:
    """The clock keeps the last time it located: asking about the same bar time again, another
    time, an equal time in another zone, or a time that raised, answers as a fresh clock."""
    fresh = CmeSessionClock(start="2024-01-02", end="2026-12-31")
    times = [utc("2025-11-24 14:29:55"), utc("2025-11-24 14:30"), ct("2025-11-24 16:30"),
             utc("2025-11-24 22:00"), ct("2025-11-24 08:30"), utc("2025-11-24 14:30")]

    def answers(c: CmeSessionClock, ts: datetime) -> tuple:
        return (c.trading_day(ts), c.time_bucket(ts), c.minutes_to_close(ts), c.is_open(ts),
                c.is_rth(ts), c.in_maintenance_break(ts), c.phase(ts))

    for ts in (*times, *reversed(times)):
        expected = answers(fresh, ts.astimezone(CT))  # an equal time, another object
        assert answers(clock, ts) == expected == answers(clock, ts), ts
    with pytest.raises(ValueError, match="outside the session calendar"):
        clock.trading_day(utc("2030-01-07 15:00"))
    assert answers(clock, times[0]) == answers(fresh, times[0])
