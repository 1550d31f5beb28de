"""Pure checks for a trader moving an open position's stop or target (issue 23).

The rule, in one place so the dashboard, the docs and the tests agree:

- a price must be a finite number above zero, on the instrument's tick (0.25 for MES/ES;
  float noise within a millionth of a tick is snapped, anything else is refused);
- a stop must stay on the losing side of the market (below it for a long, above it for a
  short), a target on the winning side; a level at the market is refused (it would fill at once);
- **tightening** (a stop moved toward the market, a target moved toward the market) is always
  allowed;
- **widening a stop** is allowed only while the loss if it fills, from the entry price on the
  position's contracts and before commission, stays within ``risk.risk_per_trade_usd``, within
  ``risk.disaster_stop_usd`` and within what is left of today's ``risk.daily_loss_limit_usd``
  (the smallest of the three);
- **widening a target** adds no loss, so it is allowed within the fat-finger band;
- every level must lie within ``FAT_FINGER_BAND_FRACTION`` (5 %) of the market.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum

from shared.config.settings import RiskConfig
from shared.domain.instruments import Instrument
from shared.domain.models import Side

FAT_FINGER_BAND_FRACTION = 0.05  # a level further than this from the market is a typo
TICK_SNAP_FRACTION = 1e-6  # float noise (5020.250000001) is snapped; a real off-tick is refused


class LevelKind(StrEnum):
    """Which exit of the bracket the trader moves."""

    STOP = "stop"
    TARGET = "target"


@dataclass(frozen=True, slots=True)
class LevelMove:
    """A requested move: the position it applies to, the market, the level now and the new one."""

    kind: LevelKind
    side: Side
    contracts: int
    entry_price: float
    market_price: float
    current_price: float | None
    requested_price: float
    daily_loss_left_cents: int | None = None  # the daily loss budget left (None: not checked)


@dataclass(frozen=True, slots=True)
class LevelVerdict:
    """Accepted (with the price on the tick) or refused, with one line saying why."""

    accepted: bool
    price: float | None
    message: str
    widens: bool = False


def fmt_price(price: float) -> str:
    """A price as a trader reads it: 5,020.25."""
    return f"{price:,.2f}"


def on_tick(price: float, tick_size: float) -> float | None:
    """``price`` snapped to the tick grid, or None when it is finite but not on a tick."""
    ticks = price / tick_size
    whole = round(ticks)
    if abs(ticks - whole) > TICK_SNAP_FRACTION:
        return None
    return whole * tick_size


def _refuse(message: str) -> LevelVerdict:
    return LevelVerdict(False, None, message)


def _price_problem(move: LevelMove, instrument: Instrument) -> LevelVerdict | float:
    name, price = move.kind.value, move.requested_price
    if isinstance(price, bool) or not isinstance(price, int | float) or not math.isfinite(price):
        return _refuse(f"{name} price {price!r} is not a finite number")
    if price <= 0:
        return _refuse(f"{name} price {fmt_price(price)} must be above zero")
    snapped = on_tick(price, instrument.tick_size)
    if snapped is None:
        tick = instrument.tick_size
        below = math.floor(price / tick) * tick
        return _refuse(f"{name} {price:,.4f} is not on the {tick:g} tick of {instrument.symbol} "
                       f"(nearest {fmt_price(below)} or {fmt_price(below + tick)})")
    return snapped


def _side_problem(move: LevelMove, price: float) -> str | None:
    """A stop must be on the losing side of the market, a target on the winning side."""
    beyond = (price - move.market_price) * move.side.sign  # > 0: on the winning side
    want_winning = move.kind is LevelKind.TARGET
    if (beyond > 0) == want_winning and beyond != 0:
        return None
    market, side = fmt_price(move.market_price), move.side.value
    if beyond == 0:
        where = "below" if (move.side is Side.LONG) != want_winning else "above"
        return (f"{move.kind.value} {fmt_price(price)} is at the market {market}: for a {side} "
                f"it must be {where} it")
    relation = "above" if price > move.market_price else "below"
    return f"{move.kind.value} {fmt_price(price)} is {relation} the market {market} for a {side}"


def _band_problem(move: LevelMove, price: float) -> str | None:
    distance = abs(price - move.market_price) / move.market_price
    if distance <= FAT_FINGER_BAND_FRACTION:
        return None
    return (f"{move.kind.value} {fmt_price(price)} is {distance:.1%} from the market "
            f"{fmt_price(move.market_price)}: a level must be within "
            f"{FAT_FINGER_BAND_FRACTION:.0%} of it (fat-finger guard)")


def stop_loss_limit_cents(cfg: RiskConfig, daily_loss_left_cents: int | None = None) -> int:
    """The most a widened stop may lose if it fills: risk per trade, capped by the disaster stop
    and by the daily loss budget left (when given; never below zero)."""
    limit = round(min(cfg.risk_per_trade_usd, cfg.disaster_stop_usd) * 100)
    if daily_loss_left_cents is not None:
        limit = min(limit, max(daily_loss_left_cents, 0))
    return limit


def _widened_stop_problem(move: LevelMove, price: float, cfg: RiskConfig,
                          instrument: Instrument) -> str | None:
    loss_cents = -instrument.pnl_cents(move.side, move.entry_price, price, move.contracts)
    limit_cents = stop_loss_limit_cents(cfg, move.daily_loss_left_cents)
    if loss_cents <= limit_cents:
        return None
    left = move.daily_loss_left_cents
    budget = "" if left is None else f", daily loss left ${max(left, 0) / 100:,.2f}"
    return (f"stop {fmt_price(price)} would lose ${loss_cents / 100:,.2f} on {move.contracts} "
            f"contract(s) from the entry {fmt_price(move.entry_price)} if filled: more than the "
            f"${limit_cents / 100:,.2f} a widened stop may risk (risk.risk_per_trade_usd "
            f"${cfg.risk_per_trade_usd:,.2f}, disaster stop ${cfg.disaster_stop_usd:,.2f}"
            f"{budget})")


def check_level_move(move: LevelMove, cfg: RiskConfig, instrument: Instrument) -> LevelVerdict:
    """Accept or refuse moving the stop or target of an open position to a new price."""
    checked = _price_problem(move, instrument)
    if isinstance(checked, LevelVerdict):
        return checked
    price = checked
    name = move.kind.value
    if move.current_price is not None and price == move.current_price:
        return _refuse(f"{name} is already at {fmt_price(price)}: nothing to change")
    problem = _side_problem(move, price) or _band_problem(move, price)
    if problem is not None:
        return _refuse(problem)
    widens = _widens(move, price)
    if widens and move.kind is LevelKind.STOP:
        problem = _widened_stop_problem(move, price, cfg, instrument)
        if problem is not None:
            return _refuse(problem)
    before = "none" if move.current_price is None else fmt_price(move.current_price)
    verb = "widened" if widens else "tightened"
    return LevelVerdict(True, price, f"{name} {verb} {before} → {fmt_price(price)}", widens)


def _widens(move: LevelMove, price: float) -> bool:
    """Whether ``price`` moves the level away from the market: a long's stop lower or its
    target higher (mirrored for a short). Placing a level where none works counts as widening."""
    if move.current_price is None:
        return True
    away = (price - move.current_price) * move.side.sign
    return away < 0 if move.kind is LevelKind.STOP else away > 0
