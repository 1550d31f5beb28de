"""The LLM provider's outage verdict (from real call-log rows), P&L swings, and alert titles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from bot.alerts.llm_outage import llm_verdict
from bot.alerts.messages import event_alert, titled
from bot.alerts.pnl_swing import SwingWindow
from bot.alerts.watch_messages import llm_alert, swing_alert
from bot.alerts.watchdog import Health, WatchState, step
from shared.domain.alerts import AlertKind
from shared.persistence import llm_store
from shared.persistence.alert_feed_store import EventRow, llm_failure_streak
from shared.persistence.db import write_transaction

T0 = datetime(2026, 12, 7, 15, 0, tzinfo=UTC)


def call(conn, minute: float, status: str, error: str = "") -> None:
    at = T0 + timedelta(minutes=minute)
    request = llm_store.CallRequest(at, at.date().isoformat(), "manual", "{}", None, "bedrock",
                                    "m", "v1", "hash", "system", "prompt")
    with write_transaction(conn):
        llm_store.log_discarded_call(conn, request, status, error)


def verdict_at(conn, minute: float):
    return llm_verdict(llm_failure_streak(conn), T0 + timedelta(minutes=minute), 15)


def test_the_provider_is_unavailable_once_failures_alone_span_the_outage_minutes(conn):
    assert verdict_at(conn, 0).health is Health.UNKNOWN  # no call yet
    call(conn, 0, "ok")
    assert verdict_at(conn, 1).health is Health.UP
    call(conn, 2, "timeout", "read timed out")
    call(conn, 3, "refused", "daily quota")  # our governor, not the provider: not counted
    call(conn, 8, "error", "503 Service Unavailable")
    assert verdict_at(conn, 16).health is Health.UNKNOWN  # 14 minutes of failures so far
    down = verdict_at(conn, 17)
    assert down.health is Health.DOWN and down.since == T0 + timedelta(minutes=2)
    assert "2 call(s) failed over 15 min" in down.reason and "503" in down.reason
    call(conn, 20, "parse_error")  # a reply, however bad: the provider is back
    assert verdict_at(conn, 21).health is Health.UP


def test_an_llm_outage_is_told_once_and_its_recovery_once(conn):
    call(conn, 0, "throttled", "ThrottlingException")
    state, told = WatchState(), []
    for minute, status in ((5, None), (15, None), (16, None), (30, None), (31, "ok"), (32, None)):
        if status:
            call(conn, minute, status)
        state, change = step(state, verdict_at(conn, minute), T0 + timedelta(minutes=minute))
        if change:
            told.append(llm_alert(change))
    assert [a.kind for a in told] == [AlertKind.LLM_UNAVAILABLE, AlertKind.LLM_RECOVERED]
    assert told[0].headline.startswith("LLM provider unavailable: 1 call(s) failed over 15 min")
    assert told[1].headline == "LLM provider answering again after 31 min"


def test_a_swing_beyond_the_threshold_within_the_window_is_told_once_then_restarts():
    window, swings = SwingWindow(), []
    equity = [(0, 2_500_000), (60, 2_480_000), (120, 2_460_000), (180, 2_449_000),
              (240, 2_449_000), (300, 2_440_000), (400, 2_390_000)]
    for second, cents in equity:
        swing = window.add(T0 + timedelta(seconds=second), cents, 50_000, 5)
        if swing:
            swings.append(swing)
    assert [(s.from_cents, s.to_cents) for s in swings] == [(2_500_000, 2_449_000),
                                                             (2_449_000, 2_390_000)]
    alert = swing_alert(swings[0], 500, 5)
    assert alert.headline == "P&L swing -$510.00 in 3 min"
    assert "equity $25,000.00 -> $24,490.00" in alert.text


def test_a_slow_drift_outside_the_window_and_a_zero_threshold_say_nothing():
    window = SwingWindow()
    for minute in range(0, 60, 5):  # -$100 every 5 minutes: $1,100 in an hour
        assert window.add(T0 + timedelta(minutes=minute), 2_500_000 - minute * 2_000, 50_000,
                          10) is None
    off = SwingWindow()
    assert off.add(T0, 0, 0, 10) is None
    assert off.add(T0 + timedelta(minutes=1), -10_000_000, 0, 10) is None


def test_an_event_whose_message_starts_with_its_title_does_not_repeat_it():
    halt = EventRow(1, T0, "halt", "warning", "entries halted: manual from the dashboard", {})
    resume = EventRow(2, T0, "resume", "info", "entries resumed", {})
    flatten = EventRow(3, T0, "flatten", "warning", "flat: nothing open", {})
    assert event_alert(halt).headline == "Entries halted: manual from the dashboard"
    assert event_alert(resume).headline == "Entries resumed"
    assert event_alert(flatten).headline == "KILL SWITCH: flat: nothing open"
    assert titled("Rules proposed", "2 rules await approval") == (
        "Rules proposed: 2 rules await approval")
