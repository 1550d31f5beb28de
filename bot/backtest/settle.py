"""Account for every position a backtest leaves: close it at the end, or stop the run at ruin.

End of data: a position still open after the last bar is closed at that bar's close, as a
market exit (slippage against us, commission per contract per side: DESIGN §4a), exit reason
``end_of_data``, stamped with the bar's time like every fill in that bar. A walk-forward
window is a backtest of its own, so its last bar closes its position the same way.

Ruin: when equity marked at a bar's close (starting equity + realized net P&L + the open
position's P&L, its entry commission paid) is at or below ``backtest.ruin_equity_usd`` (or the
live bot's floor ``risk.min_equity_usd``, when higher: the runner passes the larger), the
position is flattened at the next bar's open (a market exit, as the flatten command does; at
the close when there is no next bar), exit reason ``ruin_stop``, and nothing later is traded.
This is applied to the finished run: a decision sees only earlier bars, so the trades up to
the ruin bar are the same whether the run went on or not, and cutting it there equals
stopping it there.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta

import numpy as np

from bot.backtest.data import BarData
from bot.backtest.run_outcome import RunOutcome
from shared.domain.epoch import epoch_ns
from shared.domain.instruments import Instrument
from shared.domain.models import ExitReason, Position, Side, TradeRecord

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MICROSECOND = timedelta(microseconds=1)
_SIGN = {side: side.sign for side in Side}  # Side.sign is a property: a call per trade


@dataclass(frozen=True)
class Costs:
    """What an exit costs: the instrument, commission per contract per side, slippage."""

    instrument: Instrument
    commission_cents: int
    slippage_ticks: int


@dataclass(frozen=True)
class Settled:
    """A run's trades with every position closed, and where (and why) it stopped early."""

    trades: tuple[TradeRecord, ...]
    last_index: int  # the last bar the run accounts for: its last, or where the ruin stop ended
    stopped_reason: str | None = None
    stopped_at: datetime | None = None


def settle(
    outcome: RunOutcome, data: BarData, costs: Costs, starting_cents: int, ruin_cents: int
) -> Settled:
    """Stop the run at ruin if it gets there, else close what is open at the last bar."""
    trades = list(outcome.trades)
    if len(data) == 0:
        return Settled(tuple(trades), -1)
    equity = equity_at_closes(trades, outcome.open_position, data, costs, starting_cents)
    ruined = np.flatnonzero(equity[data.first :] <= ruin_cents)
    if len(ruined) == 0:
        if outcome.open_position is not None:
            trades.append(_exit(outcome.open_position, outcome.open_labels, data,
                                len(data) - 1, float(data.close[-1]), ExitReason.END_OF_DATA,
                                costs))
        return Settled(tuple(trades), len(data) - 1)
    index = data.first + int(ruined[0])
    return _stop_at(trades, outcome, data, index, int(equity[index]), ruin_cents, costs)


def _stop_at(
    trades: list[TradeRecord], outcome: RunOutcome, data: BarData, index: int,
    equity_cents: int, ruin_cents: int, costs: Costs,
) -> Settled:
    """Keep what closed by bar ``index``; flatten what was open at its close; drop the rest."""
    exit_index = min(index + 1, len(data) - 1)
    price = float(data.open[exit_index] if exit_index > index else data.close[index])
    kept, open_at_ruin = [], None
    entries = _bar_indices(data, [t.entry_ts for t in trades])
    exits = _bar_indices(data, [t.exit_ts for t in trades])
    for trade, entry, exit_ in zip(trades, entries.tolist(), exits.tolist(), strict=True):
        if exit_ <= index:
            kept.append(trade)
        elif entry <= index:
            open_at_ruin = _exit(_position_of(trade, costs), trade.labels, data, exit_index,
                                 price, ExitReason.RUIN_STOP, costs)
    position = outcome.open_position
    if open_at_ruin is None and position is not None and bar_index(
        data, position.entry_ts
    ) <= index:
        open_at_ruin = _exit(position, outcome.open_labels, data, exit_index, price,
                             ExitReason.RUIN_STOP, costs)
    if open_at_ruin is not None:
        kept.append(open_at_ruin)
    else:
        exit_index = index
    at = data.ts(index)
    action = "position flattened, " if open_at_ruin is not None else ""
    reason = (f"ruined at {at:%Y-%m-%d %H:%M} UTC: equity ${equity_cents / 100:,.2f} at or "
              f"below ${ruin_cents / 100:,.2f} (backtest.ruin_equity_usd); {action}no "
              "entries after it")
    return Settled(tuple(kept), exit_index, reason, at)


def _position_of(trade: TradeRecord, costs: Costs) -> Position:
    """The position a closed trade was, before it closed."""
    return Position(
        symbol=trade.symbol, side=trade.side, contracts=trade.contracts,
        entry_price=trade.entry_price, entry_ts=trade.entry_ts, bracket_id=trade.bracket_id,
        stop_price=None, target_price=None,
        entry_commission_cents=costs.commission_cents * trade.contracts,
    )


def _exit(
    position: Position, labels: dict[str, str], data: BarData, index: int, price: float,
    reason: ExitReason, costs: Costs,
) -> TradeRecord:
    """A market exit of ``position`` at ``price`` on bar ``index`` (slippage, commission)."""
    slip = costs.slippage_ticks * costs.instrument.tick_size
    fill = price - position.side.sign * slip
    gross = costs.instrument.pnl_cents(position.side, position.entry_price, fill,
                                       position.contracts)
    commission = position.entry_commission_cents + costs.commission_cents * position.contracts
    trade = TradeRecord(
        bracket_id=position.bracket_id, symbol=position.symbol, side=position.side,
        contracts=position.contracts, entry_ts=position.entry_ts,
        entry_price=position.entry_price, exit_ts=data.ts(index), exit_price=fill,
        exit_reason=reason, pnl_gross_cents=gross, commission_cents=commission,
        pnl_net_cents=gross - commission,
    )
    return replace(trade, labels=dict(labels))


def bar_index(data: BarData, ts: datetime) -> int:
    """Index of the bar that contains ``ts`` (fills are stamped with their bar's start)."""
    return int(np.searchsorted(data.ts_ns, _ns(ts), side="right")) - 1


def equity_at_closes(
    trades: list[TradeRecord], position: Position | None, data: BarData, costs: Costs,
    starting_cents: int,
) -> np.ndarray:
    """Equity in cents at each bar's close: realized net P&L plus the open position marked.

    A trade is open at the close of the bars from its entry bar up to, not including, its
    exit bar (at most one position is open at a time); its entry commission is already paid.
    """
    count = len(data)
    held = [(_SIGN[t.side], t.contracts, t.entry_price, costs.commission_cents * t.contracts,
             t.entry_ts) for t in trades]
    if position is not None:
        held.append((position.side.sign, position.contracts, position.entry_price,
                     position.entry_commission_cents, position.entry_ts))
    exits = _bar_indices(data, [t.exit_ts for t in trades])
    realized = np.zeros(count, dtype=np.int64)
    np.add.at(realized, exits, np.array([t.pnl_net_cents for t in trades], dtype=np.int64))
    equity = starting_cents + np.cumsum(realized)
    if not held:
        return equity
    sign, size, price, paid = (np.array(c) for c in list(zip(*held, strict=True))[:4])
    start = _bar_indices(data, [h[4] for h in held])
    stop = np.append(exits, count) if position is not None else exits
    lengths = np.maximum(stop - start, 0)
    owner = np.repeat(np.arange(len(held)), lengths)
    bars = np.arange(int(lengths.sum())) - np.repeat(np.cumsum(lengths) - lengths, lengths)
    bars += start[owner]
    ticks = np.rint((data.close[bars] - price[owner]) * sign[owner]
                    / costs.instrument.tick_size).astype(np.int64)
    size = size.astype(np.int64)[owner]
    equity[bars] += ticks * costs.instrument.tick_value_cents * size - paid[owner]
    return equity


def _bar_indices(data: BarData, stamps: list[datetime]) -> np.ndarray:
    """``bar_index`` of many times at once."""
    ns = epoch_ns(stamps)
    return np.searchsorted(data.ts_ns, ns, side="right").astype(np.int64) - 1


def _ns(ts: datetime) -> int:
    return (ts - EPOCH) // _MICROSECOND * 1000
