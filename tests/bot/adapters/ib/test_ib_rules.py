"""Pure IB rules: front-month roll, status and error tables, orderRefs, pacing, bar aggregation."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from bot.adapters.ib.contracts import ListedContract, choose_front_month
from bot.adapters.ib.feed import BarAggregator, history_seconds
from bot.adapters.ib.mapping import (
    ERROR_RULES,
    IbAction,
    is_paper_account,
    order_status,
    parse_order_ref,
)
from bot.adapters.ib.pacing import HistoryPacer
from shared.domain.errors import TemporaryError
from shared.domain.models import Bar, OrderRole, OrderStatus

LISTED = [
    ListedContract(1, "MESM5", date(2025, 6, 20)),
    ListedContract(2, "MESH5", date(2025, 3, 21)),
    ListedContract(3, "MESU5", date(2025, 9, 19)),
]


@pytest.mark.parametrize(("today", "roll_days", "expected"), [
    (date(2025, 3, 3), 8, "MESH5"),
    (date(2025, 3, 12), 8, "MESH5"),  # the day before the roll date
    (date(2025, 3, 13), 8, "MESM5"),  # roll date: expiry minus 8 days
    (date(2025, 3, 3), 20, "MESM5"),
    (date(2025, 6, 20), 0, "MESU5"),  # on expiry day with no roll margin: the next one
])
def test_front_month_rolls_the_configured_days_before_expiry(today, roll_days, expected):
    assert choose_front_month(LISTED, today, roll_days).local_symbol == expected


def test_no_contract_far_enough_out_is_a_temporary_error():
    with pytest.raises(TemporaryError, match="no listed contract"):
        choose_front_month(LISTED, date(2025, 9, 15), 8)


def test_order_refs_round_trip_and_foreign_refs_are_not_ours():
    assert parse_order_ref("MES-20250303T143320-stop2", "MES").role is OrderRole.STOP
    parsed = parse_order_ref("MES-20250303T143320-entry", "MES")
    assert (parsed.bracket_id, parsed.role) == ("MES-20250303T143320", OrderRole.ENTRY)
    assert parse_order_ref("ES-20250303T143320-entry", "MES") is None
    assert parse_order_ref("manual hedge", "MES") is None
    assert parse_order_ref("", "MES") is None


@pytest.mark.parametrize(("status", "codes", "expected"), [
    ("PreSubmitted", [], OrderStatus.WORKING),
    ("Submitted", [], OrderStatus.WORKING),
    ("Cancelled", [202], OrderStatus.CANCELLED),
    ("Cancelled", [201], OrderStatus.REJECTED),
    ("Cancelled", [110], OrderStatus.REJECTED),
    ("Inactive", [], OrderStatus.REJECTED),
    ("Filled", [], OrderStatus.FILLED),
    ("SomethingNew", [], OrderStatus.WORKING),
])
def test_ib_status_and_error_codes_map_to_our_status(status, codes, expected):
    assert order_status(status, codes) is expected


def test_connectivity_codes_pause_and_restore():
    assert ERROR_RULES[1100].action is IbAction.PAUSE
    assert ERROR_RULES[1101].action is IbAction.RESTORED_DATA_LOST
    assert ERROR_RULES[1102].action is IbAction.RESTORED
    assert ERROR_RULES[2103].action is IbAction.FARM_BROKEN
    assert ERROR_RULES[10197].action is IbAction.NO_DATA


def test_paper_accounts_start_with_d():
    assert is_paper_account("DU1234567") and is_paper_account("DF99")
    assert not is_paper_account("U1234567")


def test_pacer_spaces_identical_requests_15_s_apart():
    pacer = HistoryPacer()
    pacer.record("a", "MES", 100.0)
    assert pacer.wait_s("a", "MES", 101.0) == pytest.approx(14.0)
    assert pacer.wait_s("b", "MES", 101.0) == 0.0


def test_pacer_allows_six_per_two_seconds_per_contract():
    pacer = HistoryPacer()
    for n in range(6):
        pacer.record(n, "MES", 100.0 + n * 0.1)
    assert pacer.wait_s(99, "MES", 100.6) == pytest.approx(1.4)
    assert pacer.wait_s(99, "ES", 100.6) == 0.0


def test_pacer_allows_sixty_per_ten_minutes():
    pacer = HistoryPacer()
    for n in range(60):
        pacer.record(n, f"c{n}", 10.0 * n)
    assert pacer.wait_s(999, "new", 600.0) == pytest.approx(0.0)  # the first one aged out
    pacer.record(60, "c60", 600.0)
    assert pacer.wait_s(999, "new", 601.0) == pytest.approx(9.0)


def _five_second_bars(start: datetime, count: int) -> list[Bar]:
    return [Bar(start + timedelta(seconds=5 * i), 100.0 + i, 101.0 + i, 99.0 + i, 100.5 + i, 10.0)
            for i in range(count)]


def test_aggregator_builds_one_minute_bars_from_twelve_five_second_bars():
    start = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
    aggregator = BarAggregator(60)
    out = [bar for part in _five_second_bars(start, 24) for bar in aggregator.add(part)]
    assert [b.ts for b in out] == [start, start + timedelta(minutes=1)]
    first = out[0]
    assert (first.open, first.high, first.low, first.close, first.volume) == (
        100.0, 112.0, 99.0, 111.5, 120.0)


def test_aggregator_releases_a_period_missing_a_bar_when_the_next_one_starts():
    start = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
    parts = _five_second_bars(start, 13)
    del parts[11]  # the period's last 5-second bar never came
    out: list[Bar] = []
    aggregator = BarAggregator(60)
    for part in parts:
        out.extend(aggregator.add(part))
    assert [b.ts for b in out] == [start] and out[0].close == parts[10].close


def test_history_asks_for_the_window_or_just_the_gap():
    now = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
    assert history_seconds(120, 5, None, now) == 600
    assert history_seconds(120, 5, now - timedelta(seconds=30), now) == 35
    assert history_seconds(120, 5, now - timedelta(days=2), now) == 600
