"""The risk manager: pure arithmetic that approves, sizes or rejects entries and manages exits.

Every verdict is a value carrying its reason (``OrderPlan``, ``Rejection``,
``PositionInstruction``); nothing here does I/O or reads a clock. The LLM's influence ends
before this module: it can only have moved the confidence that arrives here, and every rule
below is applied regardless.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from enum import StrEnum

from shared.config.settings import RiskConfig
from shared.domain.instruments import Instrument, round_to_tick
from shared.domain.models import (
    Action,
    ExitReason,
    OrderPlan,
    OrderType,
    Position,
    Rejection,
    Side,
    TradeRecord,
)

MINUTE_SECONDS = 60


class RiskRule(StrEnum):
    """Names of the rules, as recorded with every rejection."""

    HALTED = "halted"
    REGIME = "regime"
    CONFIDENCE = "min_weighted_confidence"
    POSITION_OPEN = "position_open"
    PYRAMIDING = "no_pyramiding"
    ENTRY_PENDING = "entry_pending"
    DAILY_LOSS = "daily_loss_cap"
    MAX_TRADES = "max_trades_per_day"
    CONSECUTIVE_LOSSES = "max_consecutive_losses"
    COOLDOWN = "cooldown_after_loss"
    NEAR_CLOSE = "no_entry_near_close"
    SIZE = "position_size"


@dataclass(frozen=True, slots=True)
class RiskState:
    """Counters the rules need; rebuilt from the journal on restart."""

    trading_day: date | None = None
    realized_today_cents: int = 0
    entries_today: int = 0
    consecutive_losses: int = 0
    last_loss_ts: datetime | None = None
    halted: bool = False
    halt_reason: str = ""
    # protections (bot.core.protections): equity, the day's P&L path, earlier days' P&L
    realized_total_cents: int = 0  # every closed trade's net P&L, for equity
    day_start_equity_cents: int = 0  # starting equity + realized before today (0: unknown)
    open_pnl_cents: int = 0  # the open position marked at the last bar's close
    day_peak_pnl_cents: int = 0  # highest realized today + open P&L seen today
    profit_lock_rule: str = ""  # the profit target or give-back lock that ended today's entries
    profit_lock: str = ""  # ... and why
    past_days: tuple[tuple[date, int], ...] = ()  # earlier trading days' net P&L, oldest first
    recent_sessions: tuple[date, ...] = ()  # the latest trading days through today, oldest first


@dataclass(frozen=True, slots=True)
class EntryRequest:
    """Everything the entry rules look at for one bar."""

    action: Action
    confidence: float
    close: float
    atr_points: float
    now: datetime
    minutes_to_close: float
    regime_tradable: bool
    regime_reasons: tuple[str, ...]
    position: Position | None
    entry_pending: bool
    sizing_confidence: float | None = None  # size from this (pre-LLM) confidence when given
    bar_seconds: int = 60  # the length of the bars ``atr_points`` was measured on


class InstructionKind(StrEnum):
    EXIT = "exit"
    MOVE_STOP = "move_stop"


@dataclass(frozen=True, slots=True)
class PositionInstruction:
    """What to do with an open position on this bar: exit at market or move the stop."""

    kind: InstructionKind
    reason: str
    exit_reason: ExitReason | None = None
    new_stop_price: float | None = None


def start_day(state: RiskState, trading_day: date) -> RiskState:
    """Reset the daily counters when a new CME trading day begins (a halt stays in force)."""
    if state.trading_day == trading_day:
        return state
    return replace(
        state,
        trading_day=trading_day,
        realized_today_cents=0,
        entries_today=0,
        consecutive_losses=0,
    )


def record_entry(state: RiskState) -> RiskState:
    """Count a submitted entry against the trades-per-day limit."""
    return replace(state, entries_today=state.entries_today + 1)


# Exits the trader ordered (dashboard flatten, kill switch): their P&L counts against the
# daily cap, but they are not the strategy's losses, so they neither extend the loss streak nor
# start the cooldown (otherwise entries stay blocked after the trader's own exit).
# A protection's exit before an economic release is not a strategy loss either.
TRADER_EXITS = frozenset({ExitReason.FLATTEN, ExitReason.KILL_SWITCH,
                          ExitReason.RELEASE_FLATTEN})


def record_trade(state: RiskState, trade: TradeRecord) -> RiskState:
    """Fold a closed trade into the daily P&L, the loss streak and the cooldown clock."""
    realized = state.realized_today_cents + trade.pnl_net_cents
    state = replace(state, realized_total_cents=state.realized_total_cents + trade.pnl_net_cents)
    if trade.exit_reason in TRADER_EXITS:
        return replace(state, realized_today_cents=realized)
    if trade.pnl_net_cents < 0:
        return replace(
            state,
            realized_today_cents=realized,
            consecutive_losses=state.consecutive_losses + 1,
            last_loss_ts=trade.exit_ts,
        )
    return replace(state, realized_today_cents=realized, consecutive_losses=0)


def halt(state: RiskState, reason: str) -> RiskState:
    """Stop new entries until resumed (survives restarts through the heartbeat row)."""
    return replace(state, halted=True, halt_reason=reason)


def resume(state: RiskState) -> RiskState:
    """Allow new entries again."""
    return replace(state, halted=False, halt_reason="")


def minute_atr_points(atr_points: float, bar_seconds: int) -> float:
    """A bar's ATR scaled to one-minute bars: ranges grow with the square root of time.

    So the same config gives the same stops on 5-second, 1-minute or 5-minute bars.
    """
    return atr_points * math.sqrt(MINUTE_SECONDS / bar_seconds)


def stop_and_target_points(
    atr_points: float, cfg: RiskConfig, instrument: Instrument, bar_seconds: int = 60
) -> tuple[float, float]:
    """Stop = max(one-minute ATR x multiplier, minimum), rounded up to a tick; target = stop x
    reward:risk. ``atr_points`` is measured on ``bar_seconds`` bars (see ``minute_atr_points``).
    """
    raw_stop = max(minute_atr_points(atr_points, bar_seconds) * cfg.atr_stop_multiplier,
                   cfg.min_stop_points)
    stop = instrument.round_to_tick(raw_stop)
    if stop < raw_stop:
        stop += instrument.tick_size
    target = max(instrument.round_to_tick(stop * cfg.reward_risk_ratio), instrument.tick_size)
    return stop, target


def size_contracts(
    stop_points: float,
    confidence: float,
    remaining_loss_budget_cents: int,
    cfg: RiskConfig,
    instrument: Instrument,
) -> tuple[int, str]:
    """Contracts = risk-per-trade / (stop x point value), capped, halved below the threshold."""
    loss_per_contract_cents = instrument.points_to_ticks(stop_points) * instrument.tick_value_cents
    risk_cents = round(cfg.risk_per_trade_usd * 100)
    contracts = min(risk_cents // loss_per_contract_cents, cfg.max_contracts)
    notes = [f"{contracts} contract(s) from ${cfg.risk_per_trade_usd:.2f} risk"]
    if contracts >= 1 and confidence < cfg.confidence_threshold:
        contracts = max(1, contracts // 2)
        notes.append(f"halved: confidence {confidence:.2f} < {cfg.confidence_threshold:.2f}")
    budget_cap = max(remaining_loss_budget_cents, 0) // loss_per_contract_cents
    if contracts > budget_cap:
        contracts = budget_cap
        notes.append(f"capped to {budget_cap} by the daily loss budget")
    return contracts, "; ".join(notes)


def _gate(request: EntryRequest, state: RiskState, cfg: RiskConfig) -> Rejection | None:
    if state.halted:
        return Rejection(RiskRule.HALTED, f"trading halted: {state.halt_reason or 'by command'}")
    if not request.regime_tradable:
        return Rejection(RiskRule.REGIME, "; ".join(request.regime_reasons) or "not tradable")
    if request.confidence <= cfg.min_weighted_confidence:
        return Rejection(
            RiskRule.CONFIDENCE,
            f"confidence {request.confidence:.3f} <= minimum {cfg.min_weighted_confidence:.3f}",
        )
    if request.position is not None:
        wanted = Side.from_action(request.action)
        if request.position.side is wanted:
            return Rejection(RiskRule.PYRAMIDING, f"already {wanted.value}: no pyramiding")
        return Rejection(
            RiskRule.POSITION_OPEN,
            f"{request.position.side.value} position open: it exits by its bracket",
        )
    if request.entry_pending:
        return Rejection(RiskRule.ENTRY_PENDING, "an entry order is already working")
    return _account_gate(request, state, cfg)


def _account_gate(request: EntryRequest, state: RiskState, cfg: RiskConfig) -> Rejection | None:
    return account_block(state, cfg, request.now, request.minutes_to_close)


def cooldown_until(state: RiskState, cfg: RiskConfig) -> datetime | None:
    """When the cooldown after the last loss ends (None when no loss was recorded)."""
    if state.last_loss_ts is None:
        return None
    return state.last_loss_ts + timedelta(minutes=cfg.cooldown_after_loss_minutes)


def entry_block(
    state: RiskState, cfg: RiskConfig, now: datetime, minutes_to_close: float
) -> Rejection | None:
    """Why no new entry would be taken at ``now`` whatever the signal (None: entries allowed).

    The same halt and account rules ``plan_entry`` applies, for the heartbeat and dashboard.
    """
    if state.halted:
        return Rejection(RiskRule.HALTED, f"trading halted: {state.halt_reason or 'by command'}")
    return account_block(state, cfg, now, minutes_to_close)


def account_block(
    state: RiskState, cfg: RiskConfig, now: datetime, minutes_to_close: float
) -> Rejection | None:
    """The account rules: daily loss cap, trades per day, loss streak, cooldown, near close."""
    limit_cents = round(cfg.daily_loss_limit_usd * 100)
    if state.realized_today_cents <= -limit_cents:
        return Rejection(
            RiskRule.DAILY_LOSS,
            f"daily loss ${-state.realized_today_cents / 100:.2f} reached the "
            f"${cfg.daily_loss_limit_usd:.2f} cap",
        )
    if state.entries_today >= cfg.max_trades_per_day:
        return Rejection(
            RiskRule.MAX_TRADES,
            f"{state.entries_today} entries today (max {cfg.max_trades_per_day})",
        )
    if state.consecutive_losses >= cfg.max_consecutive_losses:
        return Rejection(
            RiskRule.CONSECUTIVE_LOSSES,
            f"{state.consecutive_losses} losses in a row (max {cfg.max_consecutive_losses})",
        )
    cooldown_ends = cooldown_until(state, cfg)
    if cooldown_ends is not None and now < cooldown_ends:
        left_min = (cooldown_ends - now).total_seconds() / 60
        return Rejection(RiskRule.COOLDOWN, f"cooldown after a loss: {left_min:.1f} min left")
    if minutes_to_close < cfg.no_entry_before_close_minutes:
        return Rejection(
            RiskRule.NEAR_CLOSE,
            f"{minutes_to_close:.1f} min to the close/break "
            f"(no entries within {cfg.no_entry_before_close_minutes:g})",
        )
    return None


def plan_entry(
    request: EntryRequest, state: RiskState, cfg: RiskConfig, instrument: Instrument
) -> OrderPlan | Rejection:
    """Approve and size a bracket for a BUY/SELL signal, or say which rule blocks it."""
    if request.action is Action.HOLD:
        raise ValueError("plan_entry needs a BUY or SELL signal")
    rejection = _gate(request, state, cfg)
    if rejection is not None:
        return rejection
    if not math.isfinite(request.atr_points) or not math.isfinite(request.close):
        return Rejection(RiskRule.SIZE, "ATR or price unknown: cannot place a stop")
    stop_points, target_points = stop_and_target_points(
        request.atr_points, cfg, instrument, request.bar_seconds
    )
    remaining_cents = round(cfg.daily_loss_limit_usd * 100) + state.realized_today_cents
    sizing = request.confidence if request.sizing_confidence is None else (
        request.sizing_confidence
    )
    contracts, sizing_note = size_contracts(stop_points, sizing, remaining_cents, cfg, instrument)
    if contracts < 1:
        one_contract_usd = stop_points * instrument.point_value_usd
        return Rejection(
            RiskRule.SIZE,
            f"one contract risks ${one_contract_usd:.2f} at a {stop_points:g}-point stop: "
            f"more than the ${cfg.risk_per_trade_usd:.2f} per trade or the daily loss budget",
        )
    side = Side.from_action(request.action)
    reference = instrument.round_to_tick(request.close)
    entry_type = OrderType.MARKET if cfg.entry_order_type == "market" else OrderType.LIMIT
    entry_price = reference
    if entry_type is OrderType.LIMIT:
        entry_price = reference - side.sign * cfg.limit_offset_ticks * instrument.tick_size
    return OrderPlan(
        symbol=instrument.symbol,
        side=side,
        contracts=contracts,
        entry_type=entry_type,
        entry_price=entry_price,
        stop_price=reference - side.sign * stop_points,
        target_price=reference + side.sign * target_points,
        stop_points=stop_points,
        target_points=target_points,
        reason=f"{side.value} {contracts}: stop {stop_points:g} pts, target {target_points:g} "
        f"pts; {sizing_note}",
    )


def manage_position(
    position: Position, close: float, now: datetime, cfg: RiskConfig, instrument: Instrument
) -> PositionInstruction | None:
    """Disaster stop, time exit, then trailing stop, judged at a bar's close."""
    open_pnl_cents = instrument.pnl_cents(
        position.side, position.entry_price, close, position.contracts
    )
    disaster_cents = round(cfg.disaster_stop_usd * 100)
    if -open_pnl_cents >= disaster_cents:
        return PositionInstruction(
            InstructionKind.EXIT,
            f"open loss ${-open_pnl_cents / 100:.2f} >= disaster stop ${cfg.disaster_stop_usd:.2f}",
            exit_reason=ExitReason.DISASTER_STOP,
        )
    held_minutes = (now - position.entry_ts).total_seconds() / 60
    if held_minutes >= cfg.max_hold_minutes:
        return PositionInstruction(
            InstructionKind.EXIT,
            f"held {held_minutes:.1f} min >= {cfg.max_hold_minutes:g} min",
            exit_reason=ExitReason.TIME_EXIT,
        )
    if not cfg.trailing_stop_enabled:
        return None
    favorable_points = (close - position.entry_price) * position.side.sign
    if favorable_points < cfg.trailing_activation_points:
        return None
    direction = "down" if position.side is Side.LONG else "up"
    candidate = round_to_tick(
        close - position.side.sign * cfg.trailing_distance_points, instrument.tick_size, direction
    )
    current = position.stop_price
    improves = current is None or (candidate - current) * position.side.sign > 0
    if not improves:
        return None
    return PositionInstruction(
        InstructionKind.MOVE_STOP,
        f"trailing: +{favorable_points:g} pts, stop {current} -> {candidate:g}",
        new_stop_price=candidate,
    )



def rebuild_state(
    trading_day: date,
    trades_today: list[TradeRecord],
    entries_today: int,
    halted: bool,
    halt_reason: str,
) -> RiskState:
    """Rebuild the counters of ``trading_day`` from the journal after a restart."""
    state = RiskState(
        trading_day=trading_day, entries_today=entries_today, halted=halted,
        halt_reason=halt_reason,
    )
    for trade in sorted(trades_today, key=lambda t: t.exit_ts):
        state = record_trade(state, trade)
    return state
