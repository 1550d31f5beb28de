"""The bad-print quarantine: spikes, zero and broken prints refused, a held level shift flagged."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.core.bar_quarantine import (
    BAD_BAR,
    LEVEL_SHIFT,
    BarQuarantine,
    JumpLimits,
    QuarantineReason,
)
from shared.config.settings import FeedConfig
from shared.domain.models import Bar

pytestmark = pytest.mark.unit

T0 = datetime(2025, 3, 4, 15, 0, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def limits(**changes: object) -> JumpLimits:
    return JumpLimits.from_config(FeedConfig(**changes), 0.25, 60)  # type: ignore[arg-type]


def calm(count: int, start: datetime = T0, price: float = 5000.0) -> list[Bar]:
    """Minute bars zig-zagging a tick around ``price``, each one point high to low."""
    bars = []
    for i in range(count):
        close = price + (0.25 if i % 2 else 0.0)
        bars.append(Bar(start + i * MINUTE, close, close + 0.5, close - 0.5, close, 100.0))
    return bars


def warmed(**changes: object) -> tuple[BarQuarantine, Bar]:
    """A quarantine that accepted 60 calm bars, and the last of them."""
    quarantine = BarQuarantine(limits(**changes))
    history = calm(60)
    for bar in history:
        assert quarantine.check(bar).accepted
    return quarantine, history[-1]


def after(bar: Bar, minutes: int = 1, **prices: float) -> Bar:
    return replace(bar, ts=bar.ts + minutes * MINUTE, **prices)


@pytest.mark.parametrize(("prices", "reason"), [
    ({"high": 50000.0}, QuarantineReason.SPIKE),  # a spike up
    ({"low": 0.25}, QuarantineReason.SPIKE),  # a spike down to the last tick above zero
    ({"open": 0.25, "high": 0.25, "low": 0.25, "close": 0.25}, QuarantineReason.GAP),
    ({"open": 5300.0, "high": 5300.5, "low": 5299.5, "close": 5300.0}, QuarantineReason.GAP),
])
def test_a_jumping_print_is_quarantined_then_the_market_goes_on(prices, reason):
    quarantine, last = warmed()
    verdict = quarantine.check(after(last, **prices))
    assert not verdict.accepted and verdict.event == BAD_BAR and verdict.reason is reason
    assert "quarantined bar at" in verdict.message and "not filled" in verdict.message
    assert verdict.detail["reason"] == reason.value and verdict.detail["last_close"] == last.close
    following = quarantine.check(after(last, 2))
    assert following.accepted and following.event is None


@pytest.mark.parametrize(("prices", "words"), [
    ({"open": 0.0, "low": 0.0}, "not positive"),  # a zero print
    ({"high": 4990.0}, "below low"),  # OHLC broken
    ({"close": math.nan}, "close is nan"),
    ({"high": math.inf}, "high is inf"),
    ({"close": 5000.1}, "tick grid"),
])
def test_a_malformed_bar_is_quarantined_whatever_the_filter_setting(prices, words):
    for enabled in (True, False):
        quarantine, last = warmed(bad_print_filter=enabled)
        verdict = quarantine.check(after(last, **prices))
        assert not verdict.accepted and verdict.reason is QuarantineReason.MALFORMED
        assert verdict.event == BAD_BAR and words in verdict.message


def test_a_bar_not_after_the_last_accepted_one_is_refused():
    quarantine, last = warmed()
    verdict = quarantine.check(after(last, 0))
    assert not verdict.accepted and verdict.reason is QuarantineReason.OUT_OF_ORDER
    assert verdict.message == (f"bar at {last.ts.isoformat()} is not after the last bar "
                               f"{last.ts.isoformat()}")


def test_a_persistent_level_shift_is_accepted_and_flagged_after_the_confirming_bars():
    quarantine, last = warmed()  # confirm_bars 2: the jump and the next bar wait, then accepted
    shifted = [after(last, i, open=5050.0 + q, high=5050.5 + q, low=5049.5 + q, close=5050.0 + q)
               for i, q in ((1, 0.0), (2, 0.25), (3, 0.0), (4, 0.25))]
    first, second, third, fourth = (quarantine.check(bar) for bar in shifted)
    assert not first.accepted and first.reason is QuarantineReason.GAP
    assert not second.accepted and "held 1 of 2 bars" in second.message
    assert third.accepted and third.event == LEVEL_SHIFT
    assert third.detail["points"] == 49.75 and third.detail["held_bars"] == 2
    assert "level shift from 5000.25 to 5050" in third.message and "roll" in third.message
    assert fourth.accepted and fourth.event is None  # the new level is the reference now


def test_a_shift_beyond_a_fifth_of_the_price_is_never_confirmed():
    quarantine, last = warmed()
    for minute in range(1, 8):  # a feed stuck on a garbage price
        verdict = quarantine.check(after(last, minute, open=0.25, high=0.25, low=0.25,
                                         close=0.25))
        assert not verdict.accepted and verdict.event == BAD_BAR
    assert quarantine.check(after(last, 8)).accepted  # the real price is still the reference


def test_a_jump_the_next_bar_does_not_hold_stays_quarantined():
    quarantine, last = warmed()
    assert not quarantine.check(after(last, 1, open=5060.0, high=5060.5, low=5059.5,
                                      close=5060.0)).accepted
    back = quarantine.check(after(last, 2))
    assert back.accepted and back.event is None and not quarantine.awaiting_confirmation


def test_a_fast_real_move_with_its_path_in_the_bar_is_accepted():
    quarantine, last = warmed()  # a CPI minute: 40 recent ranges from open to low
    news = after(last, open=last.close, high=last.close + 1, low=last.close - 40,
                 close=last.close - 35)
    assert quarantine.check(news).accepted


def test_a_gap_after_a_session_break_is_judged_by_the_time_that_passed():
    gap = {"open": 5030.0, "high": 5030.5, "low": 5029.5, "close": 5030.0}  # 30 points
    quarantine, last = warmed()
    assert not quarantine.check(after(last, 1, **gap)).accepted  # 30 ranges in one minute
    quarantine, last = warmed()
    assert quarantine.check(after(last, 61, **gap)).accepted  # after the maintenance hour


def test_the_filter_off_lets_jumps_through():
    quarantine, last = warmed(bad_print_filter=False)
    assert quarantine.check(after(last, high=50000.0)).accepted


def test_a_quarantine_seeded_with_the_accepted_bars_judges_like_one_that_saw_them_all():
    history = calm(200)
    running = BarQuarantine(limits())
    for bar in history:
        running.check(bar)
    restarted = BarQuarantine(limits())
    restarted.seed(history[-80:])  # what a restarted bot reads back from its journal
    last = history[-1]
    probes = [after(last, 1, high=5030.0), after(last, 1, open=5012.0, high=5012.5,
                                                   low=5011.5, close=5012.0), after(last, 1)]
    for probe in probes:
        assert restarted.check(probe) == running.check(probe)
