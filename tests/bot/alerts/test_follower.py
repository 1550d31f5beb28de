"""Following the journal by watermarks: every new row once, old rows never, summaries per day."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from bot.alerts.follower import JournalFollower
from bot.alerts.summary import closed_day, poll_summary, session_bounds
from shared.config.settings import AlertsConfig
from shared.domain.alerts import AlertKind
from shared.persistence import alerts_store, ops_store
from shared.persistence.db import write_transaction
from tests.bot.alerts import journal_rows as rows

WALL = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)
BAR = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


def start(conn) -> JournalFollower:
    follower = JournalFollower(conn, lambda: WALL)
    with write_transaction(conn):
        for name, value in follower.initial_watermarks().items():
            alerts_store.set_state(conn, name, value, WALL)
    return follower


def poll(conn, follower):
    alerts, marks = follower.poll(AlertsConfig())
    with write_transaction(conn):
        for name, value in marks.items():
            alerts_store.set_state(conn, name, value, WALL)
    return alerts


def test_a_first_start_skips_the_old_journal_but_not_the_last_minutes(conn):
    rows.event(conn, "halt", "warning", "old halt", BAR, WALL - timedelta(hours=2))
    rows.event(conn, "halt", "warning", "recent halt", BAR, WALL - timedelta(minutes=2))
    alerts = poll(conn, start(conn))
    assert [a.text.split("\n")[0] for a in alerts] == ["Entries halted: recent halt"]


def test_each_new_row_becomes_one_alert_and_a_second_poll_finds_nothing(conn):
    follower = start(conn)
    rows.entry(conn, "MES-1", BAR, 5000.25, 4990.25, 5015.25, WALL)
    rows.move_stop(conn, "MES-1", BAR + timedelta(minutes=2), 4995.0, WALL)
    rows.trade(conn, "MES-1", BAR, 5000.25, 5015.25, WALL)
    rows.event(conn, "flatten", "warning", "market exit sent for long 1",
               BAR + timedelta(minutes=6), WALL)
    rows.event(conn, "llm_trigger", "info", "LLM trigger manual", BAR, WALL)
    for minute in (10, 11):
        rows.refusal(conn, "daily_loss_cap", BAR + timedelta(minutes=minute), WALL)
    rows.refusal(conn, "cooldown_after_loss", BAR + timedelta(minutes=12), WALL)
    rows.llm_refusal(conn, WALL)
    alerts = poll(conn, follower)
    assert [a.kind for a in alerts] == [
        AlertKind.ENTRY, AlertKind.STOP_MOVED, AlertKind.EXIT, AlertKind.KILL_SWITCH,
        AlertKind.RISK_LIMIT, AlertKind.LLM_QUOTA_EXHAUSTED]
    entry = alerts[0].text
    assert entry.startswith("ENTRY LONG 1 MES @ 5000.25") and "stop 4990.25" in entry
    assert "target 5015.25" in entry
    assert alerts[2].headline == "EXIT LONG 1 MES @ 5015.25 (target) · P&L +$73.76"
    assert poll(conn, follower) == []


def test_a_pending_llm_call_is_read_once_it_is_settled(conn):
    follower = start(conn)
    rows.llm_refusal(conn, WALL)
    conn.execute("UPDATE llm_calls SET settled_at = NULL")
    assert poll(conn, follower) == []
    conn.execute("UPDATE llm_calls SET settled_at = created_at")
    assert [a.kind for a in poll(conn, follower)] == [AlertKind.LLM_QUOTA_EXHAUSTED]


def heartbeat(conn, last_bar: datetime) -> None:
    with write_transaction(conn):
        ops_store.upsert_bot_state(conn, ops_store.Heartbeat(
            heartbeat_at=WALL, last_bar_ts=last_bar, mode="paper", broker_connected=True,
            symbol="MES", equity_cents=2_500_000))


def test_the_trading_day_closes_at_16_central_and_spans_from_17_the_day_before():
    assert closed_day(datetime(2025, 3, 3, 21, 59, tzinfo=UTC)) == date(2025, 3, 2)
    assert closed_day(datetime(2025, 3, 3, 22, 0, tzinfo=UTC)) == date(2025, 3, 3)  # 16:00 CST
    start, end = session_bounds(date(2025, 3, 3))
    assert (start, end) == (datetime(2025, 3, 2, 23, 0, tzinfo=UTC),
                            datetime(2025, 3, 3, 22, 0, tzinfo=UTC))


def test_the_daily_summary_comes_once_after_the_close_with_the_day_s_figures(conn):
    heartbeat(conn, BAR)
    assert poll_summary(conn, 5, WALL) == ([], {"summary_day": "2025-03-02"})  # first start
    with write_transaction(conn):
        alerts_store.set_state(conn, "summary_day", "2025-03-02", WALL)
    rows.refusal(conn, "regime", BAR, WALL)  # the bot decided that day
    for bracket, exit_price in (("a", 5010.0), ("b", 4995.0), ("c", 4999.0)):
        rows.trade(conn, bracket, BAR, 5000.0, exit_price, WALL)
    heartbeat(conn, datetime(2025, 3, 3, 21, 55, tzinfo=UTC))
    assert poll_summary(conn, 5, WALL)[0] == []  # 15:55 CT: not closed yet
    heartbeat(conn, datetime(2025, 3, 3, 22, 0, tzinfo=UTC))
    alerts, marks = poll_summary(conn, 5, WALL)
    assert marks == {"summary_day": "2025-03-03"}
    assert alerts[0].text.split("\n") == [
        "Daily summary MES 2025-03-03",
        "Trades 3: 1 won, 2 lost · win rate 33%",
        "Net P&L +$16.28 (gross +$20.00, commission $3.72)",
        "Max drawdown -$32.48 · equity $25,000.00",
        "LLM 0 calls · $0.0000",
    ]
