"""Run the reference strategies with the paper broker's fills (DESIGN §4a), event by event.

sma_cross runs through the paper broker itself; rsi_macd_bracket, one bracket at a time, through
``bracket_fills`` (the broker's fills from the bar columns, without its order objects).

They skip the ensemble, regime and risk manager on purpose: their rules (fixed size, their own
bracket distances, sma_cross's reversals) are what the independent checks in the tests assume.
Each entry is still a bracket (sma_cross's protective orders sit too far away to fill). A
reversal is the market exit, then the new bracket's market entry, both at the next bar's open.
"""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np

from bot.adapters.paper_broker import PaperBroker
from bot.backtest.bracket_fills import BracketFills
from bot.backtest.data import BarData
from bot.backtest.run_outcome import BacktestJournal, Progress, ProgressTicker, RunOutcome
from bot.core.bracket_ids import bracket_id_for
from bot.core.strategies import rsi_macd_bracket, sma_cross
from shared.domain.instruments import Instrument
from shared.domain.models import ExitReason, OrderPlan, OrderType, Side, TradeRecord

FAR_POINTS = 1_000_000.0  # sma_cross protective orders: never reached


class _Runner:
    """A paper broker and the journal its updates go to."""

    def __init__(self, data: BarData, instrument: Instrument, commission_cents: int,
                 slippage_ticks: int, contracts: int, progress: Progress | None) -> None:
        self.data = data
        self.instrument = instrument
        self.contracts = contracts
        self.journal = BacktestJournal()  # keeps trades only: the broker records nothing else
        self.broker = PaperBroker(instrument, commission_cents, slippage_ticks,
                                  record_orders=False)
        self.ticker = ProgressTicker(progress, data.first, len(data))
        self.bar_length = timedelta(seconds=data.bar_seconds)
        self.evaluated = 0

    def decision_time(self, index: int) -> datetime:
        return self.data.ts(index) + self.bar_length

    def execute(self, index: int) -> None:
        """Let the broker execute its working orders against bar ``index``."""
        self.broker.on_bar(self.data.bar(index))
        self.journal.record_broker_updates(
            self.broker.drain_updates(), self.instrument.symbol, self.broker.position(), {}
        )
        self.evaluated += 1
        self.ticker.at(index)

    def place(self, index: int, direction: int, stop_points: float, target_points: float) -> None:
        """Submit a market bracket decided at the close of bar ``index``."""
        side = Side.LONG if direction > 0 else Side.SHORT
        reference = float(self.data.close[index])
        now = self.decision_time(index)
        plan = OrderPlan(
            symbol=self.instrument.symbol, side=side, contracts=self.contracts,
            entry_type=OrderType.MARKET, entry_price=reference,
            stop_price=reference - side.sign * stop_points,
            target_price=reference + side.sign * target_points,
            stop_points=stop_points, target_points=target_points,
            reason=f"reference {side.value} {self.contracts}",
        )
        self.broker.place_bracket(plan, bracket_id_for(self.instrument.symbol, now), now)

    def outcome(self) -> RunOutcome:
        self.ticker.finish()
        return RunOutcome(tuple(self.journal.trades), self.broker.position(),
                          len(self.data) - self.data.first, self.evaluated)


def run_sma_cross(
    data: BarData, params: sma_cross.SmaCrossParams, instrument: Instrument,
    commission_cents: int, slippage_ticks: int, contracts: int, progress: Progress | None = None,
) -> RunOutcome:
    """Always in the market from the first cross on; reverse at the open after each cross."""
    runner = _Runner(data, instrument, commission_cents, slippage_ticks, contracts, progress)
    indices, directions = sma_cross.crosses(data.close, params, instrument.tick_size)
    for index, direction in zip(indices.tolist(), directions.tolist(), strict=True):
        if index < data.first or index + 1 >= len(data):
            continue
        if runner.broker.position() is not None:
            runner.broker.close_position(ExitReason.FLATTEN, runner.decision_time(index))
            runner.execute(index + 1)
        runner.place(index, direction, FAR_POINTS, FAR_POINTS)
        runner.execute(index + 1)
    return runner.outcome()


def first_touch(data: BarData, start: int, side: Side, stop: float, target: float) -> int | None:
    """First bar at or after ``start`` whose range reaches the stop or the target."""
    block = 64
    while start < len(data):
        end = min(len(data), start + block)
        low, high = data.low[start:end], data.high[start:end]
        if side is Side.LONG:
            hits = np.flatnonzero((low <= stop) | (high >= target))
        else:
            hits = np.flatnonzero((high >= stop) | (low <= target))
        if len(hits):
            return start + int(hits[0])
        start, block = end, min(block * 4, 1 << 16)
    return None


def run_rsi_macd_bracket(
    data: BarData, params: rsi_macd_bracket.RsiMacdBracketParams, instrument: Instrument,
    commission_cents: int, slippage_ticks: int, contracts: int, progress: Progress | None = None,
) -> RunOutcome:
    """One bracket at a time: enter on a signal while flat, exit by its stop or target.

    The fills are the paper broker's (DESIGN §4a, ``bracket_fills``) computed from the bar
    columns: a run of 28,000 round trips skips the broker's order objects (1.5 s of a 1M-bar
    run); the tests compare it with the broker and a hand-written loop, trade for trade.
    """
    fills = BracketFills(data, instrument, commission_cents, slippage_ticks, contracts)
    ticker = ProgressTicker(progress, data.first, len(data))
    tick = instrument.tick_size
    direction, stop_ticks = rsi_macd_bracket.signals(
        data.high, data.low, data.close, params, tick
    )
    signal_bars = np.flatnonzero(direction)
    trades: list[TradeRecord] = []
    decide_from, evaluated, bar_length = data.first, 0, timedelta(seconds=data.bar_seconds)
    while True:
        found = int(np.searchsorted(signal_bars, decide_from))
        if found >= len(signal_bars) or signal_bars[found] + 1 >= len(data):
            break
        index = int(signal_bars[found])
        stop_points = int(stop_ticks[index]) * tick
        target_points = instrument.round_to_tick(params.target_ratio * stop_points)
        side = Side.LONG if direction[index] > 0 else Side.SHORT
        reference = float(data.close[index])
        bracket = fills.enter(
            bracket_id_for(instrument.symbol, data.ts(index) + bar_length), side, index + 1,
            reference - side.sign * stop_points, reference + side.sign * target_points)
        bar = index + 1
        evaluated += 1
        ticker.at(bar)
        trade = fills.exit_on(bracket, bar)
        while trade is None:
            touch = first_touch(data, bar + 1, side, bracket.stop_price, bracket.target_price)
            if touch is None:
                ticker.finish()
                return RunOutcome(tuple(trades), fills.position(bracket),
                                  len(data) - data.first, evaluated)
            bar = touch
            evaluated += 1
            ticker.at(bar)
            trade = fills.exit_on(bracket, bar)
        trades.append(trade)
        decide_from = bar
    ticker.finish()
    return RunOutcome(tuple(trades), None, len(data) - data.first, evaluated)
