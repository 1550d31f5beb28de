"""The operations tables' SQL: the heartbeat, events, dashboard commands, config versions.

Callers own transactions (``db.write_transaction``).
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass, fields
from datetime import datetime
from enum import StrEnum
from typing import Any

from shared.domain.models import (
    CommandKind,
    CommandStatus,
    SessionPhase,
)
from shared.persistence.codec import from_text, optional_ts, to_text
from shared.persistence.db import require_transaction


@dataclass(frozen=True, slots=True)
class Heartbeat:
    """The bot's single heartbeat row (``bot_state``): what it is doing, as of ``heartbeat_at``.

    Times are tz-aware UTC; ``entries_blocked_reason`` is empty while the risk manager would
    take a new entry, else why not (halt, daily loss cap, trades per day, loss streak,
    cooldown, session close). ``session_phase`` and ``session_next_change_at`` describe the
    CME session at the bot's market time (``last_bar_ts``).
    """

    heartbeat_at: datetime
    mode: str
    symbol: str
    status: str = ""
    last_bar_ts: datetime | None = None
    pid: int | None = None
    broker_connected: bool = False
    position_side: str | None = None
    position_contracts: int = 0
    position_entry_price: float | None = None
    position_entry_ts: datetime | None = None
    position_stop_price: float | None = None
    position_target_price: float | None = None
    last_price: float | None = None
    equity_cents: int = 0
    realized_today_cents: int = 0
    unrealized_cents: int = 0
    bias: str = "neutral"
    halted: bool = False
    halt_reason: str = ""
    entries_blocked_reason: str = ""
    entries_today: int = 0
    max_trades_per_day: int = 0
    consecutive_losses: int = 0
    max_consecutive_losses: int = 0
    daily_loss_limit_cents: int = 0
    cooldown_until: datetime | None = None
    session_phase: SessionPhase = SessionPhase.UNKNOWN
    session_next_change_at: datetime | None = None
    config_version: int | None = None
    bars_processed: int = 0
    bad_bars_skipped: int = 0
    protections_status: str = ""  # one line per protection in force (bot.core.protections)
    day_peak_pnl_cents: int = 0  # the day's peak P&L, open P&L included (read back at restart)
    profit_lock_rule: str = ""  # the profit target / give-back lock in force today, and why
    profit_lock: str = ""


_TIME_FIELDS = {"heartbeat_at", "last_bar_ts", "position_entry_ts", "cooldown_until",
                "session_next_change_at"}
_BOOL_FIELDS = {"broker_connected", "halted"}
HEARTBEAT_COLUMNS = tuple(f.name for f in fields(Heartbeat))
_PHASES = {phase.value for phase in SessionPhase}


def _column_value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _TIME_FIELDS:
        return to_text(value)
    if name in _BOOL_FIELDS:
        return int(value)
    if isinstance(value, StrEnum):
        return value.value
    return value


def upsert_bot_state(conn: sqlite3.Connection, heartbeat: Heartbeat) -> None:
    """Write the single heartbeat row."""
    require_transaction(conn, "upsert_bot_state")
    values = [_column_value(name, getattr(heartbeat, name)) for name in HEARTBEAT_COLUMNS]
    updates = ", ".join(f"{name} = excluded.{name}" for name in HEARTBEAT_COLUMNS)
    conn.execute(
        f"INSERT INTO bot_state (id, {', '.join(HEARTBEAT_COLUMNS)}) "
        f"VALUES (1, {', '.join('?' for _ in HEARTBEAT_COLUMNS)}) "
        f"ON CONFLICT (id) DO UPDATE SET {updates}",
        values,
    )


def read_bot_state(conn: sqlite3.Connection) -> Heartbeat | None:
    """Return the heartbeat, or None before the bot's first beat.

    Columns a not yet migrated database lacks (a dashboard reading it before the upgraded bot
    has started) take the dataclass defaults.
    """
    row = conn.execute("SELECT * FROM bot_state WHERE id = 1").fetchone()
    if row is None:
        return None
    present = set(row.keys())
    values: dict[str, Any] = {}
    for name in HEARTBEAT_COLUMNS:
        if name not in present:
            continue
        value = row[name]
        if name in _TIME_FIELDS:
            value = from_text(value) if value else None
        elif name in _BOOL_FIELDS:
            value = bool(value)
        elif name == "session_phase":
            value = SessionPhase(value) if value in _PHASES else SessionPhase.UNKNOWN
        values[name] = value
    return Heartbeat(**values)


def insert_event(
    conn: sqlite3.Connection,
    ts: datetime,
    kind: str,
    severity: str,
    message: str,
    detail: dict[str, Any] | None,
    recorded_at: datetime,
) -> None:
    """Record an incident, alert or notable occurrence."""
    require_transaction(conn, "insert_event")
    conn.execute(
        "INSERT INTO events (ts, kind, severity, message, detail_json, recorded_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (to_text(ts), kind, severity, message, json.dumps(detail or {}, sort_keys=True),
         to_text(recorded_at)),
    )


@dataclass(frozen=True, slots=True)
class EventRow:
    """One row of ``events``: ``ts`` is when it happened (bar or wall time, tz-aware UTC),
    ``recorded_at`` when it was written; ``detail_json`` is the details' JSON text as stored."""

    event_id: int
    ts: datetime
    kind: str
    severity: str
    message: str
    detail_json: str
    recorded_at: datetime


def recent_events(conn: sqlite3.Connection, limit: int = 100) -> list[EventRow]:
    """Return the latest events, newest first."""
    rows = conn.execute(
        "SELECT id, ts, kind, severity, message, detail_json, recorded_at FROM events "
        "ORDER BY id DESC LIMIT ?", (limit,),
    ).fetchall()
    return [EventRow(int(r["id"]), from_text(r["ts"]), r["kind"], r["severity"], r["message"],
                     r["detail_json"], from_text(r["recorded_at"])) for r in rows]


@dataclass(frozen=True, slots=True)
class CommandRow:
    """A dashboard-to-bot command as queued."""

    command_id: int
    kind: str
    payload: dict[str, Any]
    created_at: datetime


def enqueue_command(
    conn: sqlite3.Connection,
    kind: CommandKind | str,
    created_at: datetime,
    payload: dict[str, Any] | None = None,
    author: str = "dashboard",
) -> int:
    """Queue a command for the bot (kinds it does not know are failed, not dropped).

    ``author`` says who asked: ``dashboard`` or ``telegram:<chat id>``.
    """
    require_transaction(conn, "enqueue_command")
    cursor = conn.execute(
        "INSERT INTO commands (created_at, kind, payload_json, status, author) "
        "VALUES (?, ?, ?, ?, ?)",
        (to_text(created_at), str(kind), json.dumps(payload or {}),
         CommandStatus.PENDING.value, author),
    )
    return int(cursor.lastrowid or 0)


def record_answered_command(
    conn: sqlite3.Connection, kind: str, created_at: datetime, status: CommandStatus,
    result: str, author: str, payload: dict[str, Any] | None = None,
) -> int:
    """Journal a command that was answered without the bot (a read-only query, a refusal)."""
    require_transaction(conn, "record_answered_command")
    cursor = conn.execute(
        "INSERT INTO commands (created_at, kind, payload_json, status, result, processed_at, "
        "author) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (to_text(created_at), kind, json.dumps(payload or {}), status.value, result,
         to_text(created_at), author),
    )
    return int(cursor.lastrowid or 0)


def pending_commands(conn: sqlite3.Connection) -> list[CommandRow]:
    """Return queued commands, oldest first."""
    rows = conn.execute(
        "SELECT id, kind, payload_json, created_at FROM commands WHERE status = ? ORDER BY id",
        (CommandStatus.PENDING.value,),
    ).fetchall()
    result = []
    for r in rows:
        try:
            payload = json.loads(r["payload_json"] or "{}")
        except json.JSONDecodeError:
            payload = {"_unparsable": r["payload_json"]}
        result.append(CommandRow(r["id"], r["kind"], payload, from_text(r["created_at"])))
    return result


def complete_command(
    conn: sqlite3.Connection,
    command_id: int,
    status: CommandStatus,
    result: str,
    processed_at: datetime,
) -> None:
    """Record a command's outcome."""
    require_transaction(conn, "complete_command")
    conn.execute(
        "UPDATE commands SET status = ?, result = ?, processed_at = ? WHERE id = ?",
        (status.value, result, to_text(processed_at), command_id),
    )


@dataclass(frozen=True, slots=True)
class CommandOutcome:
    """One row of ``commands`` as it stands: queued, or carried out with its result.

    ``payload_json`` is the payload's JSON text as stored; ``processed_at`` is None while the
    command is pending; ``author`` is ``dashboard`` or ``telegram:<chat id>``.
    """

    command_id: int
    created_at: datetime
    kind: str
    payload_json: str
    status: CommandStatus
    result: str
    processed_at: datetime | None
    author: str


def command_outcome(conn: sqlite3.Connection, command_id: int) -> CommandOutcome | None:
    """Return one command's row (status and result), or None when there is no such command."""
    row = conn.execute(
        "SELECT id, created_at, kind, payload_json, status, result, processed_at, author "
        "FROM commands WHERE id = ?", (command_id,),
    ).fetchone()
    if row is None:
        return None
    return CommandOutcome(int(row["id"]), from_text(row["created_at"]), row["kind"],
                          row["payload_json"], CommandStatus(row["status"]), row["result"],
                          optional_ts(row["processed_at"]), row["author"])


@dataclass(frozen=True, slots=True)
class ConfigVersionRow:
    """One stored config version: its YAML text, who stored it and why, and whether it is the
    one in force (exactly one version is active once any exists)."""

    version_id: int
    created_at: datetime
    author: str
    note: str
    yaml: str
    active: bool


def active_config_version(conn: sqlite3.Connection) -> ConfigVersionRow | None:
    """Return the active config version, or None before the first one."""
    row = conn.execute(
        "SELECT id, created_at, author, note, yaml, active FROM config_versions "
        "WHERE active = 1 ORDER BY id DESC LIMIT 1"
    ).fetchone()
    if row is None:
        return None
    return ConfigVersionRow(int(row["id"]), from_text(row["created_at"]), row["author"],
                            row["note"], row["yaml"], bool(row["active"]))


def active_config_version_id(conn: sqlite3.Connection) -> int | None:
    """The active config version's id (cheap: the bot polls it every loop iteration)."""
    row = conn.execute(
        "SELECT id FROM config_versions WHERE active = 1 ORDER BY id DESC LIMIT 1"
    ).fetchone()
    return int(row[0]) if row else None


def insert_config_version(
    conn: sqlite3.Connection, yaml_text: str, author: str, note: str, created_at: datetime
) -> int:
    """Store an accepted config and mark it the active one; return its version id."""
    require_transaction(conn, "insert_config_version")
    conn.execute("UPDATE config_versions SET active = 0 WHERE active = 1")
    cursor = conn.execute(
        "INSERT INTO config_versions (created_at, author, note, yaml, active) "
        "VALUES (?, ?, ?, ?, 1)",
        (to_text(created_at), author, note, yaml_text),
    )
    return int(cursor.lastrowid or 0)
