"""The alerter's delivery against real local servers: a stand-in Telegram Bot API and Slack
webhook (HTTP) and an SMTP server (aiosmtpd). Exact requests, retries, giving up, splitting,
the rate limit, a dead channel, restarts, and no secret anywhere it should not be."""

from __future__ import annotations

import logging
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.alerts.channels import load_channel
from bot.alerts.sender import ChannelSender
from bot.alerts.service import Alerter
from bot.alerts.telegram_poll import TelegramPoller
from shared.config.settings import Settings
from shared.domain.alerts import Channel
from shared.persistence import alerts_store
from shared.persistence.alerts_store import Delivery
from shared.persistence.db import connect, open_database, write_transaction
from tests.bot.alerts import journal_rows as rows
from tests.fakechat.server import FakeChatServer
from tests.fakechat.smtp import SmtpSink
from tests.integration.botproc import wait_for

TOKEN = "123456789:ABCdefGHIjklMNOpqr"
CHAT = -100200300
SLACK_PATH = "/services/T000AAA/B000BBB/XXXXSLACKSECRET"
BAR = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


@pytest.fixture
def telegram():
    with FakeChatServer() as server:
        yield server


@pytest.fixture
def slack():
    with FakeChatServer() as server:
        yield server


def settings(fake: FakeChatServer, slack: FakeChatServer | None = None, **alerts) -> Settings:
    section = {"telegram_api_url": fake.url, "retry_initial_s": 0.01, "retry_max_s": 0.05,
               "poll_seconds": 0.05, **alerts}
    if slack is not None:
        section["slack_webhook_url"] = slack.url + "/services"
    return Settings.model_validate({"alerts": section})


def env(slack: FakeChatServer | None = None, smtp: SmtpSink | None = None) -> dict[str, str]:
    found = {"ALERT_TELEGRAM_URL": f"tgram://{TOKEN}/{CHAT}"}
    if slack is not None:
        found["ALERT_SLACK_URL"] = "https://hooks.slack.com" + SLACK_PATH
    if smtp is not None:
        found["ALERT_EMAIL_URL"] = (f"mailto://127.0.0.1:{smtp.port}?from=bot@example.com"
                                    "&to=me@example.com&mode=insecure")
    return found


def now() -> datetime:
    return datetime.now(UTC)


def deliveries(db: Path) -> list[alerts_store.DeliveryRow]:
    conn = connect(db, readonly=True)
    try:
        return list(reversed(alerts_store.recent_deliveries(conn, 1000)))
    finally:
        conn.close()


def settled(db: Path, count: int):
    """Wait until ``count`` deliveries have ended (sent, failed or dropped)."""
    return lambda: (found := [d for d in deliveries(db) if d.status != "queued"]) and (
        len(found) >= count) and found


@pytest.fixture
def alerter_factory(tmp_path):
    made: list[Alerter] = []

    def make(config: Settings, environment: dict[str, str]) -> Alerter:
        alerter = Alerter(config, tmp_path / "t.db", environment)
        alerter.start()
        made.append(alerter)
        return alerter

    yield make
    for alerter in made:
        alerter.close()  # a second close (after a test's own) does nothing


def test_one_event_reaches_telegram_slack_and_email_as_those_services_expect(
        tmp_path, telegram, slack, alerter_factory):
    with SmtpSink() as smtp:
        alerter = alerter_factory(settings(telegram, slack), env(slack, smtp))
        rows.event(alerter.conn, "flatten", "warning", "market exit sent for long 1", BAR, now())
        assert alerter.poll_once() == 1
        wait_for(settled(tmp_path / "t.db", 3), 20, "three deliveries")
        wait_for(lambda: smtp.messages, 10, "the email")
    text = "KILL SWITCH: market exit sent for long 1\nflatten · 2025-03-03 15:00:00 UTC"
    [sent] = telegram.sends()
    assert sent.path == f"/bot{TOKEN}/sendMessage"
    assert sent.body["chat_id"] == CHAT and sent.text == text
    assert sent.body["disable_notification"] is False
    [hook] = slack.sends("services")
    assert hook.path == SLACK_PATH and hook.body["attachments"][0]["text"] == text
    [mail] = smtp.messages
    assert mail["Subject"] == "KILL SWITCH: market exit sent for long 1"
    body = mail.get_body(("plain",)).get_content().replace("\r\n", "\n")
    assert mail["To"] == "me@example.com" and body == text + "\n"
    assert {(d.channel, d.status) for d in deliveries(tmp_path / "t.db")} == {
        ("telegram", "sent"), ("slack", "sent"), ("email", "sent")}


def test_a_silent_kind_is_sent_without_notification_and_an_off_kind_not_at_all(
        tmp_path, telegram, alerter_factory):
    alerter = alerter_factory(settings(telegram, telegram={"entry": "off"}), env())
    rows.entry(alerter.conn, "MES-1", BAR, 5000.25, 4990.25, 5015.25, now())
    rows.move_stop(alerter.conn, "MES-1", BAR, 4995.0, now())  # stop_moved: silent by default
    alerter.poll_once()
    wait_for(settled(tmp_path / "t.db", 1), 20, "the stop alert")
    [sent] = telegram.sends()
    assert sent.text.startswith("Stop moved to 4995.00")
    assert sent.body["disable_notification"] is True
    assert [d.kind for d in deliveries(tmp_path / "t.db")] == ["stop_moved"]


def test_failures_are_retried_with_backoff_and_each_attempt_recorded(
        tmp_path, telegram, alerter_factory):
    telegram.fail_next(2, status=502)
    alerter = alerter_factory(settings(telegram, max_attempts=3), env())
    rows.event(alerter.conn, "halt", "warning", "by hand", BAR, now())
    alerter.poll_once()
    [delivery] = wait_for(settled(tmp_path / "t.db", 1), 20, "the delivery")
    assert delivery.status == "sent" and delivery.attempts == 3
    attempts = alerts_store.attempts_of(connect(tmp_path / "t.db"), delivery.alert_id)
    assert [a["ok"] for a in attempts] == [0, 0, 1]
    assert "502" in attempts[0]["error"] and TOKEN not in attempts[0]["error"]
    assert len(telegram.sends()) == 3


def test_a_channel_that_keeps_failing_is_given_up_after_max_attempts(
        tmp_path, telegram, alerter_factory):
    telegram.fail_next(100, status=500)
    alerter = alerter_factory(settings(telegram, max_attempts=3), env())
    rows.event(alerter.conn, "halt", "warning", "by hand", BAR, now())
    alerter.poll_once()
    [delivery] = wait_for(settled(tmp_path / "t.db", 1), 20, "the delivery")
    assert delivery.status == "failed" and delivery.attempts == 3
    assert delivery.error.startswith("part 1/1:") and "500" in delivery.error
    assert len(telegram.sends()) == 3


def test_a_long_alert_is_split_into_parts_within_telegram_s_limit(
        tmp_path, telegram, alerter_factory):
    alerter = alerter_factory(settings(telegram), env())
    long_reason = "\n".join(f"risk.field_{i}: Input should be a valid number" for i in range(200))
    rows.event(alerter.conn, "config_rejected", "warning", long_reason, BAR, now())
    alerter.poll_once()
    [delivery] = wait_for(settled(tmp_path / "t.db", 1), 20, "the delivery")
    parts = telegram.sends()
    assert delivery.status == "sent" and delivery.parts == len(parts) == 3
    assert all(len(p.body["text"]) <= 4096 for p in parts)
    assert [p.text[:6] for p in parts[1:]] == ["(2/3) ", "(3/3) "]
    assert "risk.field_199" in parts[-1].text


class FrozenClock:
    def __init__(self) -> None:
        self.now = 500.0

    def __call__(self) -> float:
        return self.now


def test_the_rate_limit_holds_the_next_message_until_the_window_frees_a_slot(tmp_path, telegram):
    db = tmp_path / "t.db"
    conn = open_database(db)
    config = settings(telegram, per_minute={"telegram": 2}).alerts
    setup = load_channel(Channel.TELEGRAM, env(), config)
    clock = FrozenClock()
    sender = ChannelSender(Channel.TELEGRAM, setup.transport, db, lambda: config, now, clock)
    with write_transaction(conn):
        queued = [Delivery("halt", f"k{i}", "telegram", "on", f"message {i}", None, now())
                  for i in range(3)]
        ids = [alerts_store.insert_delivery(conn, d) for d in queued]
    sender.start()
    try:
        for delivery, alert_id in zip(queued, ids, strict=True):
            assert sender.offer(delivery.as_row(alert_id))
        wait_for(lambda: len(telegram.sends()) == 2, 10, "two sends")
        wait_for(sender.rate_limited.is_set, 10, "the sender waiting on the limit")
        assert [s.text for s in telegram.sends()] == ["message 0", "message 1"]
        clock.now += 60.0
        wait_for(lambda: len(telegram.sends()) == 3, 10, "the third send")
    finally:
        sender.stop(2)
        conn.close()


def test_a_dead_channel_holds_only_its_own_thread(tmp_path, telegram, slack, alerter_factory):
    telegram.hang = True
    alerter = alerter_factory(settings(telegram, slack, send_timeout_s=60), env(slack))
    rows.event(alerter.conn, "halt", "warning", "by hand", BAR, now())
    alerter.poll_once()
    wait_for(lambda: telegram.held, 10, "the Telegram request in flight")
    wait_for(lambda: slack.sends("services"), 10, "the Slack message")
    rows.event(alerter.conn, "resume", "info", "entries resumed", BAR, now())
    started = datetime.now(UTC)
    assert alerter.poll_once() == 1  # the journal is still followed while Telegram hangs
    assert datetime.now(UTC) - started < timedelta(seconds=5)
    wait_for(lambda: len(slack.sends("services")) == 2, 10, "the second Slack message")
    by_channel = {(d.channel, d.kind): d.status for d in deliveries(tmp_path / "t.db")}
    assert by_channel == {("telegram", "halt"): "queued", ("telegram", "resume"): "queued",
                          ("slack", "halt"): "sent", ("slack", "resume"): "sent"}


def test_a_restart_neither_loses_nor_repeats_an_alert(tmp_path, telegram, alerter_factory):
    db = tmp_path / "t.db"
    telegram.hang = True
    first = alerter_factory(settings(telegram, send_timeout_s=60), env())
    rows.event(first.conn, "halt", "warning", "before the restart", BAR, now())
    first.poll_once()
    wait_for(lambda: telegram.held, 10, "the request in flight")
    first.close()  # the hung delivery stays queued
    rows.event(connect(db), "resume", "info", "while the alerter was down", BAR, now())
    telegram.hang = False
    second = alerter_factory(settings(telegram), env())
    second.poll_once()
    second.poll_once()
    wait_for(settled(db, 2), 20, "both deliveries")
    texts = [s.text.split("\n")[0] for s in telegram.sends()]
    assert texts == ["Entries halted: before the restart",
                     "Entries resumed: while the alerter was down"]
    assert [d.status for d in deliveries(db)] == ["sent", "sent"]


def test_no_token_reaches_the_database_or_the_log(tmp_path, telegram, slack, alerter_factory,
                                                  caplog):
    caplog.set_level(logging.DEBUG)
    telegram.fail_next(100, status=401)
    alerter = alerter_factory(settings(telegram, slack, max_attempts=2), env(slack))
    rows.event(alerter.conn, "halt", "warning", "by hand", BAR, now())
    alerter.poll_once()
    wait_for(settled(tmp_path / "t.db", 2), 20, "both deliveries")
    alerter.close()
    conn = connect(tmp_path / "t.db")
    dump = "\n".join(str(tuple(r)) for table in ("alerts", "alert_attempts", "alert_channels",
                                                 "alert_state", "events", "commands")
                     for r in conn.execute(f"SELECT * FROM {table}"))
    assert "tgram://12***" in dump  # the masked URL is there for the page
    for secret in (TOKEN, "ABCdefGHIjklMNOpqr", "XXXXSLACKSECRET"):
        assert secret not in dump and secret not in caplog.text


def test_a_test_message_requested_by_the_page_is_sent_by_the_alerter(
        tmp_path, telegram, alerter_factory):
    alerter = alerter_factory(settings(telegram), env())
    with write_transaction(alerter.conn):
        alerts_store.request_test(alerter.conn, "telegram", "Test message", now())
        alerts_store.request_test(alerter.conn, "slack", "Test message", now())  # not configured
    alerter.poll_once()
    wait_for(settled(tmp_path / "t.db", 2), 20, "both requests")
    assert [s.text for s in telegram.sends()] == ["Test message"]
    outcome = {d.channel: (d.status, d.error) for d in deliveries(tmp_path / "t.db")}
    assert outcome == {"telegram": ("sent", ""),
                       "slack": ("dropped", "ALERT_SLACK_URL is not set")}


def test_the_command_bot_ignores_stale_messages_and_never_reruns_one_after_a_restart(
        tmp_path, telegram):
    db = tmp_path / "t.db"
    open_database(db).close()
    setup = load_channel(Channel.TELEGRAM, env(), settings(telegram).alerts)

    def poller():
        return TelegramPoller(telegram.url, setup.bot_token, setup.redact, frozenset({42}), db,
                              now, long_poll_s=0.2)

    def kinds():
        conn = connect(db, readonly=True)
        try:
            return [(r["kind"], r["status"]) for r in conn.execute(
                "SELECT kind, status FROM commands ORDER BY id")]
        finally:
            conn.close()

    first = poller()
    first.start()
    telegram.send_update(42, "/halt", sent_at=time.time() - 600)  # sent while we were down
    telegram.send_update(42, "/resume")
    wait_for(lambda: len(kinds()) == 2, 20, "both messages handled")
    first.stop(5)
    assert kinds() == [("stale_message", "failed"), ("resume", "pending")]
    second = poller()
    second.start()
    telegram.send_update(42, "/status")
    wait_for(lambda: len(kinds()) == 3, 20, "the next message")
    second.stop(5)
    assert kinds()[2] == ("status", "done")  # the earlier updates were not handled again
    assert [r.body["chat_id"] for r in telegram.sends()] == [42, 42]  # resume and status


def test_a_redelivered_update_runs_once_and_strangers_leave_no_rows(tmp_path, telegram):
    db = tmp_path / "t.db"
    open_database(db).close()
    setup = load_channel(Channel.TELEGRAM, env(), settings(telegram).alerts)
    poller = TelegramPoller(telegram.url, setup.bot_token, setup.redact, frozenset({42}), db,
                            now, long_poll_s=0.2)

    def kinds():
        conn = connect(db, readonly=True)
        try:
            return [(r["kind"], r["author"]) for r in conn.execute(
                "SELECT kind, author FROM commands ORDER BY id")]
        finally:
            conn.close()

    poller.start()
    try:
        for _ in range(50):
            telegram.send_update(666, "/halt")  # a stranger's flood
        telegram.send_update(42, "/halt")
        wait_for(lambda: kinds(), 20, "the allowed chat's halt")
        telegram.redeliver()  # the same updates again, /halt included
        telegram.send_update(42, "/status")
        wait_for(lambda: len(kinds()) >= 2, 20, "the next message")
    finally:
        poller.stop(5)
    assert kinds() == [("halt", "telegram:42"), ("status", "telegram:42")]
    assert [r.body["chat_id"] for r in telegram.sends()] == [42, 42]  # halt and status
