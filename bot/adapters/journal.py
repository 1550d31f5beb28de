"""Where the engine's records go: SQLite (live and paper) or memory (backtests and tests).

The engine hands a bar's records to a journal and then calls ``flush``; ``SqliteJournal`` writes
them in one ``BEGIN IMMEDIATE`` transaction, so a crash loses at most the bar in flight and never
half of one. ``MemoryJournal`` keeps the same records in lists.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from bot.ports import BrokerUpdates, OrderEvent, wall_clock_utc
from shared.domain.memory import MemoryOutcome, MemoryRow, ScalerSnapshot
from shared.domain.models import Bar, DecisionRecord, Fill, Position, TradeRecord
from shared.persistence import journal_store, memory_store, ops_store
from shared.persistence.db import write_transaction


def label_trades(
    trades: list[TradeRecord], labels: dict[str, dict[str, str]]
) -> list[TradeRecord]:
    """Attach the entry's regime labels (and bias) to each closed trade.

    A trade without labels to attach is kept as it is (it is frozen: no copy needed).
    """
    return [t if t.bracket_id not in labels else replace(t, labels=labels[t.bracket_id])
            for t in trades]


@dataclass(slots=True)
class MemoryJournal:
    """Keeps every record in lists, in order; ``flush`` does nothing."""

    bars: list[Bar] = field(default_factory=list)
    decisions: list[DecisionRecord] = field(default_factory=list)
    orders: list[OrderEvent] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    trades: list[TradeRecord] = field(default_factory=list)
    events: list[tuple[datetime, str, str, str, dict[str, Any]]] = field(default_factory=list)
    position: Position | None = None
    memory: dict[str, MemoryRow] = field(default_factory=dict)  # by bracket id, entry order
    scalers: list[ScalerSnapshot] = field(default_factory=list)

    def record_bar(self, symbol: str, bar: Bar) -> None:
        self.bars.append(bar)

    def record_decision(self, record: DecisionRecord) -> None:
        self.decisions.append(record)

    def record_broker_updates(
        self, updates: BrokerUpdates, symbol: str, position: Position | None,
        labels: dict[str, dict[str, str]],
    ) -> None:
        self.orders.extend(updates.orders)
        self.fills.extend(updates.fills)
        self.trades.extend(label_trades(updates.trades, labels))
        if updates.position_changed:
            self.position = position

    def record_event(
        self, ts: datetime, kind: str, severity: str, message: str, detail: dict[str, Any]
    ) -> None:
        self.events.append((ts, kind, severity, message, detail))

    def record_memory_setup(self, symbol: str, row: MemoryRow) -> None:
        self.memory[row.bracket_id] = row

    def record_memory_outcome(self, bracket_id: str, outcome: MemoryOutcome) -> None:
        row = self.memory.get(bracket_id)
        if row is not None:
            self.memory[bracket_id] = replace(row, outcome=outcome)

    def record_memory_scaler(self, scaler: ScalerSnapshot, at: datetime) -> None:
        self.scalers.append(scaler)

    def flush(self) -> None:
        return None


class SqliteJournal:
    """Buffers a bar's records and writes them in one transaction on ``flush``."""

    def __init__(
        self, conn: sqlite3.Connection, now: Callable[[], datetime] = wall_clock_utc
    ) -> None:
        self._conn = conn
        self._now = now
        self._pending: list[Callable[[datetime], None]] = []
        self.writes = 0

    def record_bar(self, symbol: str, bar: Bar) -> None:
        self._pending.append(lambda _at: journal_store.insert_bar(self._conn, symbol, bar))

    def record_decision(self, record: DecisionRecord) -> None:
        self._pending.append(lambda at: journal_store.insert_decision(self._conn, record, at))

    def record_broker_updates(
        self, updates: BrokerUpdates, symbol: str, position: Position | None,
        labels: dict[str, dict[str, str]],
    ) -> None:
        conn = self._conn
        for event in updates.orders:
            self._pending.append(
                lambda at, e=event: journal_store.upsert_order(conn, e.order, e.ts, e.detail, at)
            )
        for fill in updates.fills:
            self._pending.append(lambda at, f=fill: journal_store.insert_fill(conn, f, at))
        for trade in label_trades(updates.trades, labels):
            self._pending.append(lambda at, t=trade: journal_store.insert_trade(conn, t, at))
        if updates.position_changed:
            self._pending.append(lambda at: journal_store.save_position(conn, symbol, position, at))

    def record_event(
        self, ts: datetime, kind: str, severity: str, message: str, detail: dict[str, Any]
    ) -> None:
        self._pending.append(
            lambda at: ops_store.insert_event(self._conn, ts, kind, severity, message, detail, at)
        )

    def record_memory_setup(self, symbol: str, row: MemoryRow) -> None:
        self._pending.append(
            lambda at: memory_store.insert_memory_setup(self._conn, symbol, row, at)
        )

    def record_memory_outcome(self, bracket_id: str, outcome: MemoryOutcome) -> None:
        self._pending.append(
            lambda at: memory_store.close_memory_setup(self._conn, bracket_id, outcome, at)
        )

    def record_memory_scaler(self, scaler: ScalerSnapshot, at: datetime) -> None:
        self._pending.append(
            lambda recorded: memory_store.insert_memory_scaler(self._conn, scaler, at, recorded)
        )

    def flush(self) -> None:
        """Write everything buffered in one transaction (nothing if the buffer is empty)."""
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        recorded_at = self._now()
        with write_transaction(self._conn):
            for write in pending:
                write(recorded_at)
        self.writes += len(pending)

