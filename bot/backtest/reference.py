"""Run the reference strategies with the paper broker's fills (DESIGN §4a), event by event.

sma_cross runs through the paper broker itself; rsi_macd_bracket, one bracket at a time, through
``bracket_fills`` (the broker's fills from the bar columns, without its order objects).

They skip the ensemble, regime and risk manager on purpose: their rules (fixed size, their own
bracket distances, sma_cross's reversals) are what the independent checks in the tests assume.
Each entry is still a bracket (sma_cross's protective orders sit too far away to fill). A
reversal is the market exit, then the new bracket's market entry, both at the next bar's open.
"""

from __future__ import annotations

from bisect import bisect_left
from datetime import datetime, timedelta

import numpy as np

from bot.adapters.paper_broker import PaperBroker
from bot.backtest.bracket_fills import bracket_exits, entry_prices
from bot.backtest.data import BarData
from bot.backtest.run_outcome import BacktestJournal, Progress, ProgressTicker, RunOutcome
from bot.core.bracket_ids import bracket_id_for
from bot.core.strategies import rsi_macd_bracket, sma_cross
from shared.domain.errors import BrokerError
from shared.domain.instruments import Instrument
from shared.domain.models import ExitReason, OrderPlan, OrderType, Position, Side, TradeRecord

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


def run_rsi_macd_bracket(
    data: BarData, params: rsi_macd_bracket.RsiMacdBracketParams, instrument: Instrument,
    commission_cents: int, slippage_ticks: int, contracts: int, progress: Progress | None = None,
) -> RunOutcome:
    """One bracket at a time: enter on a signal while flat, exit by its stop or target.

    Every signal's bracket is followed over the columns at once (``bracket_fills``: the paper
    broker's fills); then the run walks from bracket to bracket, each signal taken only when
    flat: the first signal at or after the bar the previous bracket closed on.
    """
    ticker = ProgressTicker(progress, data.first, len(data))
    tick = instrument.tick_size
    direction, stop_ticks = rsi_macd_bracket.signals(
        data.high, data.low, data.close, params, tick
    )
    signal_bars = np.flatnonzero(direction)
    signal_bars = signal_bars[(signal_bars >= data.first) & (signal_bars + 1 < len(data))]
    signs = direction[signal_bars].astype(np.int64)
    stop_points = stop_ticks[signal_bars] * tick
    target_points = np.array([instrument.round_to_tick(params.target_ratio * points)
                              for points in stop_points.tolist()], dtype=np.float64)
    reference = data.close[signal_bars]
    stops = reference - signs * stop_points
    targets = reference + signs * target_points
    slippage_points = slippage_ticks * tick
    exits = bracket_exits(data, signal_bars + 1, signs, stops, targets, slippage_points)
    taken = _one_at_a_time(signal_bars.tolist(), exits.bar.tolist())
    bad = (reference[taken] - stops[taken]) * signs[taken] <= 0
    bad |= (targets[taken] - reference[taken]) * signs[taken] <= 0
    if (contracts < 1 and taken) or bad.any():
        raise BrokerError(201, "bracket levels are on the wrong side (or no contracts): "
                          f"{contracts} contract(s), target_ratio {params.target_ratio}")
    entries = entry_prices(data, signal_bars[taken] + 1, signs[taken], slippage_points)
    # Instrument.pnl_cents's ticks, all at once: round((exit - entry) * sign / tick), half to
    # even as round() does
    gross_ticks = np.rint((exits.price[taken] - entries) * signs[taken] / tick).astype(np.int64)
    brackets = _Brackets(data, instrument, commission_cents * contracts, contracts)
    trades: list[TradeRecord] = []
    position, evaluated = None, 0
    for signal, sign, entry, stop, target, exit_bar, price, stopped, ticks in zip(
        signal_bars[taken].tolist(), signs[taken].tolist(), entries.tolist(),
        stops[taken].tolist(), targets[taken].tolist(), exits.bar[taken].tolist(),
        exits.price[taken].tolist(), exits.stopped[taken].tolist(), gross_ticks.tolist(),
        strict=True,
    ):
        side = Side.LONG if sign > 0 else Side.SHORT
        evaluated += 1
        ticker.at(signal + 1)
        if exit_bar >= len(data):
            position = brackets.position(signal, side, entry, stop, target)
            break
        evaluated += exit_bar > signal + 1
        ticker.at(exit_bar)
        trades.append(brackets.trade(signal, side, entry, exit_bar, price,
                                     ExitReason.STOP if stopped else ExitReason.TARGET, ticks))
    ticker.finish()
    return RunOutcome(tuple(trades), position, len(data) - data.first, evaluated)


def _one_at_a_time(signal_bars: list[int], exit_bars: list[int]) -> list[int]:
    """Positions (in ``signal_bars``) of the signals taken while flat, in order."""
    taken, found = [], 0
    while found < len(signal_bars):
        taken.append(found)
        found = bisect_left(signal_bars, exit_bars[found], found + 1)
    return taken


class _Brackets:
    """Trades and the open position of rsi_macd_bracket's brackets, as the broker records them."""

    def __init__(self, data: BarData, instrument: Instrument, side_commission_cents: int,
                 contracts: int) -> None:
        self.data, self.instrument, self.contracts = data, instrument, contracts
        self.commission_cents = side_commission_cents  # one side's fill, every contract
        self.bar_length = timedelta(seconds=data.bar_seconds)

    def bracket_id(self, signal: int) -> str:
        return bracket_id_for(self.instrument.symbol, self.data.ts(signal) + self.bar_length)

    def trade(self, signal: int, side: Side, entry: float, exit_bar: int, price: float,
              reason: ExitReason, gross_ticks: int) -> TradeRecord:
        gross = gross_ticks * self.instrument.tick_value_cents * self.contracts
        commission = self.commission_cents + self.commission_cents
        return TradeRecord(
            bracket_id=self.bracket_id(signal), symbol=self.instrument.symbol, side=side,
            contracts=self.contracts, entry_ts=self.data.ts(signal + 1), entry_price=entry,
            exit_ts=self.data.ts(exit_bar), exit_price=price, exit_reason=reason,
            pnl_gross_cents=gross, commission_cents=commission,
            pnl_net_cents=gross - commission,
        )

    def position(self, signal: int, side: Side, entry: float, stop: float,
                 target: float) -> Position:
        return Position(
            symbol=self.instrument.symbol, side=side, contracts=self.contracts,
            entry_price=entry, entry_ts=self.data.ts(signal + 1),
            bracket_id=self.bracket_id(signal), stop_price=stop, target_price=target,
            entry_commission_cents=self.commission_cents,
        )
