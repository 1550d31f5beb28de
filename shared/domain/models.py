"""Domain types shared by the bot and the dashboard.

Every value here is immutable: a frozen dataclass or a ``StrEnum``. Prices are floats that always
sit on the instrument's tick grid (multiples of 0.25 are exact in binary floating point); money
is integer cents so sums never drift.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from shared.domain.fast_init import fast_init


class Action(StrEnum):
    """What a strategy or the ensemble wants to do on this bar."""

    BUY = "buy"
    SELL = "sell"
    HOLD = "hold"


class Side(StrEnum):
    """Direction of a position or an order."""

    LONG = "long"
    SHORT = "short"

    @property
    def sign(self) -> int:
        """+1 for long, -1 for short: multiply a price move by it to get P&L direction."""
        return 1 if self is Side.LONG else -1

    @property
    def opposite(self) -> Side:
        return Side.SHORT if self is Side.LONG else Side.LONG

    @staticmethod
    def from_action(action: Action) -> Side:
        """Map BUY/SELL to LONG/SHORT; HOLD has no side."""
        if action is Action.BUY:
            return Side.LONG
        if action is Action.SELL:
            return Side.SHORT
        raise ValueError("HOLD has no side")


class Bias(StrEnum):
    """Directional bias from the LLM (neutral when none is in force)."""

    BULLISH = "bullish"
    BEARISH = "bearish"
    NEUTRAL = "neutral"


class OrderType(StrEnum):
    MARKET = "market"
    LIMIT = "limit"
    STOP = "stop"


class OrderRole(StrEnum):
    """Where an order sits in a bracket."""

    ENTRY = "entry"
    STOP = "stop"
    TARGET = "target"
    EXIT = "exit"


class OrderStatus(StrEnum):
    WORKING = "working"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class ExitReason(StrEnum):
    STOP = "stop"
    TARGET = "target"
    TRAILING_STOP = "trailing_stop"
    TIME_EXIT = "time_exit"
    DISASTER_STOP = "disaster_stop"
    FLATTEN = "flatten"
    KILL_SWITCH = "kill_switch"
    END_OF_DATA = "end_of_data"  # backtest only: still open at the last bar, closed there
    RUIN_STOP = "ruin_stop"  # equity fell to the ruin level or risk.min_equity_usd, flattened
    RELEASE_FLATTEN = "release_flatten"  # protections: flattened before an economic release


class Mode(StrEnum):
    """Which broker the bot trades through."""

    PAPER = "paper"
    IB_PAPER = "ib_paper"
    IB_LIVE = "ib_live"


class CommandKind(StrEnum):
    FLATTEN = "flatten"
    HALT = "halt"
    RESUME = "resume"
    TRIGGER_LLM = "trigger_llm"
    # per-trade control from the position card (bot/runtime/trade_control.py)
    MOVE_STOP = "move_stop"
    MOVE_TARGET = "move_target"
    CANCEL_ENTRY = "cancel_entry"
    EXIT_POSITION = "exit_position"


class CommandStatus(StrEnum):
    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


class SessionPhase(StrEnum):
    """Where the CME Globex session is at a moment: trading, in the daily break, or shut."""

    OPEN = "open"
    BREAK = "break"
    CLOSED = "closed"
    UNKNOWN = "unknown"


@fast_init  # built on every bar (shared.domain.fast_init)
@dataclass(frozen=True, slots=True)
class Bar:
    """One OHLCV bar labelled by its start time (tz-aware UTC)."""

    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float


@fast_init  # built on every bar (shared.domain.fast_init)
@dataclass(frozen=True, slots=True)
class Features:
    """Indicator values on the latest bar of the rolling window; NaN while warming up."""

    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float
    bars_in_window: int
    rsi: float
    rsi_prev: float
    macd: float
    macd_signal: float
    macd_hist: float
    macd_hist_prev: float
    atr_points: float
    atr_baseline_points: float
    ema_fast: float
    ema_slow: float
    sma_slow: float
    bollinger_upper: float
    bollinger_middle: float
    bollinger_lower: float
    bollinger_percent: float
    rate_of_change_pct: float
    momentum_points: float
    volume_zscore: float
    body_over_atr: float
    realized_vol_pct: float
    # Session levels (prices; bot.core.session_levels), NaN when unknown or not computed.
    session_vwap: float = float("nan")
    opening_range_high: float = float("nan")
    opening_range_low: float = float("nan")
    prior_day_high: float = float("nan")
    prior_day_low: float = float("nan")
    prior_day_close: float = float("nan")
    overnight_high: float = float("nan")
    overnight_low: float = float("nan")

    @property
    def atr_ratio(self) -> float:
        """ATR relative to its baseline: 1.0 is normal, 2.0 is twice as volatile."""
        if not self.atr_baseline_points or self.atr_baseline_points != self.atr_baseline_points:
            return float("nan")
        return self.atr_points / self.atr_baseline_points


class TrendLabel(StrEnum):
    TREND_UP = "trend_up"
    TREND_DOWN = "trend_down"
    RANGE = "range"


class VolatilityLabel(StrEnum):
    LOW = "low"
    NORMAL = "normal"
    HIGH = "high"


class TimeBucket(StrEnum):
    """Time of day on the CME Globex clock."""

    OVERNIGHT = "overnight"
    PRE_OPEN = "pre_open"
    OPEN = "open"
    MIDDAY = "midday"
    CLOSE = "close"
    CLOSED = "closed"


@fast_init  # built on every bar (shared.domain.fast_init)
@dataclass(frozen=True, slots=True)
class Regime:
    """Whether the market may be traded now, why not, and the bucket labels for memory."""

    tradable: bool
    reasons: tuple[str, ...]
    trend: TrendLabel
    volatility: VolatilityLabel
    time_bucket: TimeBucket
    minutes_to_close: float


@fast_init  # built on every bar (shared.domain.fast_init)
@dataclass(frozen=True, slots=True)
class Vote:
    """One strategy's opinion on one bar."""

    strategy: str
    action: Action
    confidence: float
    reasons: tuple[str, ...]


@fast_init  # built on every bar (shared.domain.fast_init)
@dataclass(frozen=True, slots=True)
class Signal:
    """The ensemble's combined opinion: one action, one confidence and every vote behind it."""

    action: Action
    confidence: float
    votes: tuple[Vote, ...]
    reasons: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class OrderPlan:
    """A bracket the risk manager approved: entry, stop and target prices, size in contracts."""

    symbol: str
    side: Side
    contracts: int
    entry_type: OrderType
    entry_price: float
    stop_price: float
    target_price: float
    stop_points: float
    target_points: float
    reason: str


@dataclass(frozen=True, slots=True)
class Rejection:
    """A risk verdict that blocks an entry, with the rule that blocked it."""

    rule: str
    reason: str


@dataclass(frozen=True, slots=True)
class Order:
    """An order as the broker holds it. ``order_id`` is ours (IB's orderRef)."""

    order_id: str
    bracket_id: str
    symbol: str
    side: Side
    role: OrderRole
    order_type: OrderType
    contracts: int
    price: float | None
    status: OrderStatus
    created_ts: datetime
    exit_reason: ExitReason | None = None

    def with_status(self, status: OrderStatus) -> Order:
        """This order in another status (a direct copy: ``dataclasses.replace`` costs twice as
        much, and a backtest changes an order's status a hundred thousand times)."""
        return Order(self.order_id, self.bracket_id, self.symbol, self.side, self.role,
                     self.order_type, self.contracts, self.price, status, self.created_ts,
                     self.exit_reason)


@dataclass(frozen=True, slots=True)
class Fill:
    """One execution, with commission in cents."""

    fill_id: str
    order_id: str
    bracket_id: str
    symbol: str
    side: Side
    role: OrderRole
    contracts: int
    price: float
    ts: datetime
    commission_cents: int
    exit_reason: ExitReason | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """An open position: signed by ``side``; ``stop_price`` is the working protective stop."""

    symbol: str
    side: Side
    contracts: int
    entry_price: float
    entry_ts: datetime
    bracket_id: str
    stop_price: float | None
    target_price: float | None
    entry_commission_cents: int = 0


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """A closed round trip with P&L in cents (gross, commission, net)."""

    bracket_id: str
    symbol: str
    side: Side
    contracts: int
    entry_ts: datetime
    entry_price: float
    exit_ts: datetime
    exit_price: float
    exit_reason: ExitReason
    pnl_gross_cents: int
    commission_cents: int
    pnl_net_cents: int
    labels: dict[str, str] = field(default_factory=dict)


class Verdict(StrEnum):
    """What the engine concluded on one bar."""

    HOLD = "hold"
    ENTER = "enter"
    REJECT = "reject"
    MANAGE = "manage"
    EXIT = "exit"


@fast_init  # built on every bar (shared.domain.fast_init)
@dataclass(frozen=True, slots=True)
class DecisionRecord:
    """One journaled evaluation: inputs (as JSON), every adjustment, the verdict and why."""

    ts: datetime
    symbol: str
    close: float
    features_json: str
    regime_json: str
    votes_json: str
    signal_action: Action
    signal_confidence: float
    memory_adjustment: float
    llm_adjustment: float
    final_confidence: float
    verdict: Verdict
    risk_rule: str | None
    reasons: tuple[str, ...]
    action_taken: str
    bracket_id: str | None
    labels: dict[str, str]
    llm_call_id: int | None = None  # the llm_calls row whose bias was in force (trade log)
    rules_json: str = "{}"  # learned rules in force and what they did ({} = none in force)
    memory_json: str = "{}"  # the memory verdict: counts, win rate, nearest setups ({} = not asked)
