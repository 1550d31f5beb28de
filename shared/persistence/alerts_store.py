"""The alerter's own SQL: deliveries and their attempts, watermarks, channel status.

One ``alerts`` row per alert per channel; ``alert_key`` + ``channel`` is unique, so inserting
the same alert twice (a restart re-reading the journal) is a no-op. Callers own transactions.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from datetime import datetime

from shared.domain.alerts import DeliveryStatus
from shared.persistence.codec import from_text, to_text
from shared.persistence.db import require_transaction


@dataclass(frozen=True, slots=True)
class Delivery:
    """One alert for one channel, as raised (before any attempt)."""

    kind: str
    alert_key: str
    channel: str
    level: str
    text: str
    event_ts: datetime | None
    created_at: datetime
    source: str = "journal"
    status: DeliveryStatus = DeliveryStatus.QUEUED

    def as_row(self, alert_id: int) -> DeliveryRow:
        """The stored row this delivery became, before any attempt."""
        return DeliveryRow(alert_id, self.created_at, self.event_ts, self.kind, self.alert_key,
                           self.channel, self.level, self.text, self.source, self.status.value,
                           0, 1, "", None)


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    """A stored delivery with its outcome so far."""

    alert_id: int
    created_at: datetime
    event_ts: datetime | None
    kind: str
    alert_key: str
    channel: str
    level: str
    text: str
    source: str
    status: str
    attempts: int
    parts: int
    error: str
    finished_at: datetime | None


@dataclass(frozen=True, slots=True)
class ChannelStatus:
    """What the page shows per channel (the URL only masked)."""

    channel: str
    configured: bool
    masked_url: str
    problem: str
    queued: int
    last_sent_at: datetime | None
    last_error: str
    last_error_at: datetime | None
    updated_at: datetime


def _opt_time(text: str | None) -> datetime | None:
    return from_text(text) if text else None


def _delivery(row: sqlite3.Row) -> DeliveryRow:
    return DeliveryRow(
        row["id"], from_text(row["created_at"]), _opt_time(row["event_ts"]), row["kind"],
        row["alert_key"], row["channel"], row["level"], row["text"], row["source"],
        row["status"], row["attempts"], row["parts"], row["error"],
        _opt_time(row["finished_at"]),
    )


def insert_delivery(conn: sqlite3.Connection, delivery: Delivery) -> int | None:
    """Store a delivery; return its id, or None when this alert was already raised there."""
    require_transaction(conn, "insert_delivery")
    cursor = conn.execute(
        "INSERT OR IGNORE INTO alerts (created_at, event_ts, kind, alert_key, channel, level, "
        "text, source, status) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (to_text(delivery.created_at),
         to_text(delivery.event_ts) if delivery.event_ts else None, delivery.kind,
         delivery.alert_key, delivery.channel, delivery.level, delivery.text, delivery.source,
         delivery.status.value),
    )
    return int(cursor.lastrowid) if cursor.rowcount == 1 else None


def deliveries_with_status(
    conn: sqlite3.Connection, status: DeliveryStatus, limit: int = 10_000
) -> list[DeliveryRow]:
    """Deliveries in one state, oldest first (the queued ones are re-queued after a restart)."""
    rows = conn.execute(
        "SELECT * FROM alerts WHERE status = ? ORDER BY id LIMIT ?", (status.value, limit)
    ).fetchall()
    return [_delivery(r) for r in rows]


def claim_requested(conn: sqlite3.Connection) -> list[DeliveryRow]:
    """Move deliveries the dashboard requested to ``queued`` and return them."""
    require_transaction(conn, "claim_requested")
    rows = deliveries_with_status(conn, DeliveryStatus.REQUESTED)
    conn.execute(
        "UPDATE alerts SET status = ? WHERE status = ?",
        (DeliveryStatus.QUEUED.value, DeliveryStatus.REQUESTED.value),
    )
    return rows


def record_attempt(
    conn: sqlite3.Connection, alert_id: int, attempt: int, part: int, at: datetime, ok: bool,
    latency_ms: float, error: str,
) -> None:
    """Journal one send attempt of one part of a delivery."""
    require_transaction(conn, "record_attempt")
    conn.execute(
        "INSERT INTO alert_attempts (alert_id, attempt, part, at, ok, latency_ms, error) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (alert_id, attempt, part, to_text(at), int(ok), latency_ms, error),
    )


def finish_delivery(
    conn: sqlite3.Connection, alert_id: int, status: DeliveryStatus, attempts: int, parts: int,
    error: str, at: datetime,
) -> None:
    """Record how a delivery ended: sent, failed after its attempts, or dropped."""
    require_transaction(conn, "finish_delivery")
    conn.execute(
        "UPDATE alerts SET status = ?, attempts = ?, parts = ?, error = ?, finished_at = ? "
        "WHERE id = ?",
        (status.value, attempts, parts, error, to_text(at), alert_id),
    )


def attempts_of(conn: sqlite3.Connection, alert_id: int) -> list[dict[str, object]]:
    """Every attempt of one delivery, in order."""
    rows = conn.execute(
        "SELECT attempt, part, at, ok, latency_ms, error FROM alert_attempts WHERE alert_id = ? "
        "ORDER BY id", (alert_id,),
    ).fetchall()
    return [dict(r) for r in rows]


def recent_deliveries(
    conn: sqlite3.Connection, limit: int = 50, status: DeliveryStatus | None = None
) -> list[DeliveryRow]:
    """The latest deliveries (optionally of one status), newest first."""
    if status is None:
        rows = conn.execute("SELECT * FROM alerts ORDER BY id DESC LIMIT ?", (limit,))
    else:
        rows = conn.execute("SELECT * FROM alerts WHERE status = ? ORDER BY id DESC LIMIT ?",
                            (status.value, limit))
    return [_delivery(r) for r in rows.fetchall()]


def get_state(conn: sqlite3.Connection, name: str) -> str | None:
    """One watermark (or other alerter state) by name."""
    row = conn.execute("SELECT value FROM alert_state WHERE name = ?", (name,)).fetchone()
    return None if row is None else str(row["value"])


def set_state(conn: sqlite3.Connection, name: str, value: str, at: datetime) -> None:
    """Store one watermark."""
    require_transaction(conn, "set_state")
    conn.execute(
        "INSERT INTO alert_state (name, value, updated_at) VALUES (?, ?, ?) "
        "ON CONFLICT (name) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at",
        (name, value, to_text(at)),
    )


def upsert_channel_status(conn: sqlite3.Connection, status: ChannelStatus) -> None:
    """Write what the page shows for one channel."""
    require_transaction(conn, "upsert_channel_status")
    conn.execute(
        "INSERT INTO alert_channels (channel, configured, masked_url, problem, queued, "
        "last_sent_at, last_error, last_error_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT (channel) DO UPDATE SET configured = excluded.configured, "
        "masked_url = excluded.masked_url, problem = excluded.problem, queued = excluded.queued, "
        "last_sent_at = excluded.last_sent_at, last_error = excluded.last_error, "
        "last_error_at = excluded.last_error_at, updated_at = excluded.updated_at",
        (status.channel, int(status.configured), status.masked_url, status.problem,
         status.queued, to_text(status.last_sent_at) if status.last_sent_at else None,
         status.last_error, to_text(status.last_error_at) if status.last_error_at else None,
         to_text(status.updated_at)),
    )


def channel_statuses(conn: sqlite3.Connection) -> list[ChannelStatus]:
    """Every channel the alerter has reported on."""
    rows = conn.execute("SELECT * FROM alert_channels ORDER BY channel").fetchall()
    return [
        ChannelStatus(r["channel"], bool(r["configured"]), r["masked_url"], r["problem"],
                      r["queued"], _opt_time(r["last_sent_at"]), r["last_error"],
                      _opt_time(r["last_error_at"]), from_text(r["updated_at"]))
        for r in rows
    ]


def request_test(conn: sqlite3.Connection, channel: str, text: str, at: datetime) -> int | None:
    """A test message the alerter sends on its next poll (written by the dashboard)."""
    key = f"test:{channel}:{to_text(at)}"
    return insert_delivery(conn, Delivery("test", key, channel, "on", text, None, at,
                                          "dashboard", DeliveryStatus.REQUESTED))
