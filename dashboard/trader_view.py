"""The trader's overview as values: the open position with its working stop and target (and
how far each is, in points and dollars), the risk panel and the session state, all from the
heartbeat. No streamlit here: ``dashboard/overview_panels.py`` draws these."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from shared.domain.instruments import get_instrument
from shared.domain.models import Side
from shared.persistence.ops_store import Heartbeat


@dataclass(frozen=True, slots=True)
class Level:
    """A working exit order: its price, distance from the last price, P&L if it fills."""

    price: float
    distance_points: float
    pnl_if_filled_cents: int


@dataclass(frozen=True, slots=True)
class PositionView:
    side: str
    contracts: int
    entry_price: float
    entry_ts: datetime | None
    last_price: float | None
    open_pnl_cents: int
    stop: Level | None
    target: Level | None


@dataclass(frozen=True, slots=True)
class RiskView:
    """Today's risk budget at the bot's time."""

    realized_today_cents: int
    daily_loss_limit_cents: int
    loss_used_fraction: float
    entries_today: int
    trades_left: int
    max_trades_per_day: int
    consecutive_losses: int
    max_consecutive_losses: int
    cooldown_left_s: float
    halted: bool
    halt_reason: str
    blocked_reason: str
    protections: tuple[str, ...] = ()  # one line per protection in force, with its state


def _level(side: Side, entry: float, last: float | None, price: float | None, contracts: int,
           symbol: str) -> Level | None:
    if price is None:
        return None
    instrument = get_instrument(symbol)
    reference = entry if last is None else last
    return Level(price=price, distance_points=abs(price - reference),
                 pnl_if_filled_cents=instrument.pnl_cents(side, entry, price, contracts))


def position_view(heartbeat: Heartbeat | None) -> PositionView | None:
    """The open position (None when flat or before the first heartbeat)."""
    if heartbeat is None or not heartbeat.position_side or heartbeat.position_entry_price is None:
        return None
    side = Side(heartbeat.position_side)
    entry, last = heartbeat.position_entry_price, heartbeat.last_price
    contracts = heartbeat.position_contracts
    return PositionView(
        side=side.value, contracts=contracts, entry_price=entry,
        entry_ts=heartbeat.position_entry_ts, last_price=last,
        open_pnl_cents=heartbeat.unrealized_cents,
        stop=_level(side, entry, last, heartbeat.position_stop_price, contracts,
                    heartbeat.symbol),
        target=_level(side, entry, last, heartbeat.position_target_price, contracts,
                      heartbeat.symbol),
    )


def risk_view(heartbeat: Heartbeat) -> RiskView:
    """The risk panel's figures; the cooldown is measured at the bot's market time."""
    limit = heartbeat.daily_loss_limit_cents
    loss = max(0, -heartbeat.realized_today_cents)
    cooldown_left_s = 0.0
    if heartbeat.cooldown_until is not None and heartbeat.last_bar_ts is not None:
        cooldown_left_s = max(0.0, (heartbeat.cooldown_until - heartbeat.last_bar_ts
                                    ).total_seconds())
    return RiskView(
        realized_today_cents=heartbeat.realized_today_cents, daily_loss_limit_cents=limit,
        loss_used_fraction=min(1.0, loss / limit) if limit > 0 else 0.0,
        entries_today=heartbeat.entries_today,
        trades_left=max(0, heartbeat.max_trades_per_day - heartbeat.entries_today),
        max_trades_per_day=heartbeat.max_trades_per_day,
        consecutive_losses=heartbeat.consecutive_losses,
        max_consecutive_losses=heartbeat.max_consecutive_losses,
        cooldown_left_s=cooldown_left_s, halted=heartbeat.halted,
        halt_reason=heartbeat.halt_reason, blocked_reason=heartbeat.entries_blocked_reason,
        protections=tuple(line for line in heartbeat.protections_status.splitlines() if line),
    )
