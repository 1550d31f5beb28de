"""The Alerts page: channel status with masked URLs, deliveries, and a test request."""

from __future__ import annotations

from datetime import UTC, datetime

from shared.domain.alerts import DeliveryStatus
from shared.persistence import alerts_store
from shared.persistence.alerts_store import ChannelStatus, Delivery
from shared.persistence.db import open_database, write_transaction
from tests.pages import apptest

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


def test_the_page_shows_channels_masked_and_failures_and_queues_a_test_message(app_env):
    conn = open_database(app_env["db"])
    with write_transaction(conn):
        alerts_store.upsert_channel_status(conn, ChannelStatus(
            "telegram", True, "tgram://12***/-1***", "", 0, NOW, "", None, NOW))
        alerts_store.upsert_channel_status(conn, ChannelStatus(
            "slack", False, "", "ALERT_SLACK_URL is not set", 0, None, "", None, NOW))
        failed = alerts_store.insert_delivery(conn, Delivery(
            "exit", "exit:1", "telegram", "on", "EXIT LONG 1 MES @ 5000.00", None, NOW))
        alerts_store.finish_delivery(conn, failed, DeliveryStatus.FAILED, 4, 1,
                                     "part 1/1: error=500", NOW)
    app = apptest.open_page("app_pages/alerts.py")
    assert not app.exception, app.exception
    channels = app.dataframe[0].value
    assert list(channels["url (masked)"]) == ["", "tgram://12***/-1***"]
    assert "ALERT_SLACK_URL is not set" in list(channels["problem"])
    failures = app.dataframe[2].value
    assert list(failures["error"]) == ["part 1/1: error=500"]
    assert app.multiselect[0].value == ["telegram"]  # only configured channels offered
    next(b for b in app.button if b.label == "Send test message").click().run()
    assert not app.exception
    requested = alerts_store.deliveries_with_status(conn, DeliveryStatus.REQUESTED)
    assert [(d.kind, d.channel, d.source) for d in requested] == [
        ("test", "telegram", "dashboard")]
    conn.close()


def test_deliveries_show_the_times_inside_messages_in_the_chosen_zone(app_env):
    """Issue 23: UTC text inside a table labelled CT (the test message's own time)."""
    conn = open_database(app_env["db"])
    with write_transaction(conn):
        alerts_store.request_test(conn, "telegram", "Test message from the MyTrader dashboard "
                                  "(2025-03-03 15:00:00 UTC)", NOW)
    conn.close()
    app = apptest.open_page("app_pages/alerts.py")
    assert not app.exception, app.exception
    deliveries = app.dataframe[0].value
    assert deliveries["headline"].tolist() == [
        "Test message from the MyTrader dashboard (2025-03-03 09:00:00 CST)"]
    assert any("Times in America/Chicago" in c.value for c in app.caption)
