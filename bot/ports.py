"""The ports: what the decision core and the live loop need from the world, as protocols.

Brokers (paper, IB), bar streams (IB real-time bars), journals (SQLite, memory) and the clock
implement these; the core and the runtime import only this module, never an adapter, so the
composition root (``bot/__main__.py``) decides which adapter plays each part. Nothing here
imports the runtime, an adapter or a broker library.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol

from shared.domain.memory import MemoryOutcome, MemoryRow, ScalerSnapshot
from shared.domain.models import (
    Bar,
    DecisionRecord,
    ExitReason,
    Fill,
    Order,
    OrderPlan,
    Position,
    TradeRecord,
)
from shared.domain.news import Headline

Clock = Callable[[], datetime]
"""A source of the current time (tz-aware UTC); injected so tests and backtests control it."""


def wall_clock_utc() -> datetime:
    """Wall-clock time, for ``recorded_at`` columns only (never for decisions)."""
    return datetime.now(UTC)


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """An order's new state, when it changed and why (submitted, filled, moved, cancelled)."""

    order: Order
    ts: datetime
    detail: str


@dataclass(slots=True)
class BrokerUpdates:
    """Everything a broker did since it was last drained, in the order it happened."""

    orders: list[OrderEvent] = field(default_factory=list)
    fills: list[Fill] = field(default_factory=list)
    trades: list[TradeRecord] = field(default_factory=list)
    position_changed: bool = False

    def extend(self, other: BrokerUpdates) -> None:
        """Append another batch of updates after this one."""
        self.orders.extend(other.orders)
        self.fills.extend(other.fills)
        self.trades.extend(other.trades)
        self.position_changed = self.position_changed or other.position_changed


class Broker(Protocol):
    """What the engine needs from a broker."""

    @property
    def connected(self) -> bool: ...

    def position(self) -> Position | None: ...

    def working_orders(self) -> list[Order]: ...

    def has_pending_entry(self) -> bool: ...

    def place_bracket(self, plan: OrderPlan, bracket_id: str, ts: datetime) -> None: ...

    def move_stop(self, new_stop_price: float, ts: datetime, reason: ExitReason) -> None: ...

    def move_target(self, new_target_price: float, ts: datetime) -> None: ...

    def cancel_entry(self, ts: datetime) -> bool: ...

    def close_position(self, reason: ExitReason, ts: datetime) -> None: ...

    def ensure_protective_stop(self, fallback_stop_price: float, ts: datetime) -> bool: ...

    def on_bar(self, bar: Bar) -> None: ...

    def drain_updates(self) -> BrokerUpdates: ...


@dataclass(frozen=True, slots=True)
class StreamNotice:
    """Something for the ``events`` table: kind, severity, message and details."""

    kind: str
    severity: str
    message: str
    detail: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class StreamItem:
    """Bars in time order; ``live`` False means history for the indicator window only."""

    bars: tuple[Bar, ...]
    live: bool


class BarStream(Protocol):
    """A feed that pushes bars (a broker's real-time bars) rather than an iterator of them."""

    fatal: str | None

    @property
    def trading_ready(self) -> bool: ...

    async def start(self) -> None: ...

    async def next_item(self, timeout_s: float) -> StreamItem | None: ...

    def drain_notices(self) -> list[StreamNotice]: ...

    def needs_reconcile(self) -> bool: ...

    async def close(self) -> None: ...


class Journal(Protocol):
    """Where the engine's records go; ``flush`` ends one bar's records (one transaction)."""

    def record_bar(self, symbol: str, bar: Bar) -> None: ...

    def record_decision(self, record: DecisionRecord) -> None: ...

    def record_broker_updates(
        self, updates: BrokerUpdates, symbol: str, position: Position | None,
        labels: dict[str, dict[str, str]],
    ) -> None: ...

    def record_event(
        self, ts: datetime, kind: str, severity: str, message: str, detail: dict[str, Any]
    ) -> None: ...

    def record_memory_setup(self, symbol: str, row: MemoryRow) -> None:
        """A submitted bracket's setup (its outcome still unknown); after its decision."""

    def record_memory_outcome(self, bracket_id: str, outcome: MemoryOutcome) -> None:
        """The outcome of a bracket whose setup was recorded: the row becomes retrievable."""

    def record_memory_scaler(self, scaler: ScalerSnapshot, at: datetime) -> None:
        """The memory's scaler, refitted at engine time ``at``."""

    def flush(self) -> None: ...


HeadlineSink = Callable[[list[Headline]], None]
"""Where a headline source hands what it received (the news program stores and scores it)."""

ProblemSink = Callable[[str, str], None]
"""Where a headline source reports a new problem: (source name, one-line message)."""


class HeadlineSource(Protocol):
    """Something that receives headlines (RSS poller, IB news) until asked to stop."""

    name: str

    async def run(self, emit: HeadlineSink, report: ProblemSink, stop: Any) -> None:
        """Receive headlines and ``emit`` them until ``stop`` (an asyncio.Event) is set."""
        ...


@dataclass(frozen=True, slots=True)
class SentimentResult:
    """Scores for a batch of texts (None where the scorer had no answer) and who gave them."""

    scores: list[float | None]
    scorer: str
    problems: tuple[str, ...] = ()


class SentimentScorer(Protocol):
    """Scores headlines in [-1, 1] (negative bearish, positive bullish); may block (network)."""

    name: str

    def score(self, texts: list[str]) -> SentimentResult:
        """Score every text; never raises for remote failures (None scores instead)."""
        ...
