"""Tables for the Alerts page: channel status, deliveries, the level matrix.

The page never sends anything: a test message is an ``alerts`` row in state ``requested``,
which the alerter process claims and sends like any other alert.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

import pandas as pd

from shared.config.settings import Settings
from shared.domain.alerts import AlertKind, Channel
from shared.persistence import alerts_store
from shared.persistence.alerts_store import ChannelStatus, DeliveryRow
from shared.persistence.db import write_transaction

FAILED = ("failed", "dropped")


def channels_frame(statuses: list[ChannelStatus]) -> pd.DataFrame:
    """One row per channel: configured, its URL masked, what is wrong, queue, last outcomes."""
    return pd.DataFrame([{
        "channel": s.channel, "configured": s.configured, "url (masked)": s.masked_url,
        "problem": s.problem, "queued": s.queued, "last sent": s.last_sent_at,
        "last error": s.last_error, "last error at": s.last_error_at, "reported": s.updated_at,
    } for s in statuses])


def deliveries_frame(rows: list[DeliveryRow]) -> pd.DataFrame:
    """Deliveries newest first, with the alert's first line."""
    return pd.DataFrame([{
        "id": d.alert_id, "raised": d.created_at, "kind": d.kind, "channel": d.channel,
        "level": d.level, "status": d.status, "attempts": d.attempts, "parts": d.parts,
        "headline": d.text.split("\n", 1)[0], "error": d.error, "finished": d.finished_at,
        "source": d.source,
    } for d in rows])


def failures(rows: list[DeliveryRow]) -> list[DeliveryRow]:
    return [d for d in rows if d.status in FAILED]


def levels_frame(settings: Settings) -> pd.DataFrame:
    """The level of every kind on every channel (edited on the Config page, section alerts)."""
    alerts = settings.alerts
    return pd.DataFrame([
        {"kind": kind.value, **{c.value: getattr(alerts, c.value)[kind].value for c in Channel}}
        for kind in AlertKind
    ])


def request_test_messages(conn: sqlite3.Connection, channels: list[str], at: datetime) -> int:
    """Queue a test message per channel for the alerter; return how many were queued."""
    text = f"Test message from the MyTrader dashboard ({at:%Y-%m-%d %H:%M:%S} UTC)"
    with write_transaction(conn):
        return sum(alerts_store.request_test(conn, channel, text, at) is not None
                   for channel in channels)
