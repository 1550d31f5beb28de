"""One backtest from a request: settings and overrides, data, the run, metrics and the result.

Bad input (unknown strategy, bad --param, unreadable file, empty range) raises ConfigError or
BadBarError with a message naming what is wrong; the CLI prints it without a traceback.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import yaml
from pydantic import BaseModel, ValidationError

from bot.backtest import reference
from bot.backtest.data import (
    IB_HISTORY,
    BarData,
    file_data,
    parse_when,
    select_range,
    synthetic_data,
)
from bot.backtest.process_memory import trim_heap
from bot.backtest.quarantine import quarantine_data, quarantine_metrics
from bot.backtest.run_outcome import Progress, RunOutcome, commission_cents
from bot.backtest.settle import Costs, settle
from bot.core.fill_guard import count_bad_fills
from bot.core.strategies import REFERENCE_STRATEGIES, STRATEGIES
from shared.config.backtest_request import BAR_SIZES, BacktestRequest, split_params
from shared.config.settings import (
    Settings,
    describe_validation_error,
    load_settings,
    settings_from_mapping,
)
from shared.domain import metrics
from shared.domain.errors import ConfigError
from shared.domain.instruments import get_instrument, usd_to_cents
from shared.domain.models import TradeRecord

logger = logging.getLogger(__name__)

ENSEMBLE = "ensemble"
NS_PER_DAY = 86_400 * 10**9
EPOCH_DAY = date(1970, 1, 1)
CHART_CANDLES = 2000
# The settings a reference strategy reads (it bypasses the ensemble, regime and risk manager).
REFERENCE_READS = ("instrument.", "backtest.", "features.window_bars", "risk.max_contracts")


@dataclass(frozen=True, eq=False)
class BacktestResult:
    """Everything a finished run reports."""

    strategy: str
    trades: tuple[TradeRecord, ...]
    metrics: dict[str, Any]
    breakdowns: dict[str, list[dict[str, Any]]]
    equity: list[tuple[Any, int, int]]
    candles: dict[str, list[Any]]
    bars: int
    bars_evaluated: int
    seconds: float
    stopped_reason: str | None = None  # set when the ruin stop ended the run early


def _parse_value(key: str, text: str) -> Any:
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError:
        raise ConfigError(f"--param {key}={text}: not a number, word or list") from None


def apply_params(settings: Settings, params: dict[str, str], strategy: str | None) -> Settings:
    """Apply dotted ``section.field`` overrides (a bare name means the selected strategy's)."""
    data = settings.model_dump(mode="json")
    for key, text in params.items():
        path = key.split(".")
        if len(path) == 1 and strategy in STRATEGIES:
            path = ["strategies", strategy, key]
        node = data
        for part in path[:-1]:
            child = node.get(part) if isinstance(node, dict) else None
            if not isinstance(child, dict):
                raise ConfigError(f"--param {key}: no such setting ({part!r} is not a section)")
            node = child
        node[path[-1]] = _parse_value(key, text)
    return settings_from_mapping(data, env={})


def reference_params(name: str, params: dict[str, str]) -> BaseModel:
    """Validate a reference strategy's --param values; ConfigError names the bad one."""
    model = REFERENCE_STRATEGIES[name]
    values = {key: _parse_value(key, text) for key, text in params.items()}
    try:
        return model.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"{name} --param: {describe_validation_error(exc)}") from None


def build_settings(request: BacktestRequest) -> Settings:
    """Base config (file or defaults) with the request's strategy, params and costs applied."""
    base = load_settings(Path(request.config) if request.config else None)
    strategy = request.strategy
    if strategy is not None and strategy not in STRATEGIES and strategy not in REFERENCE_STRATEGIES:
        known = ", ".join(sorted([*STRATEGIES, *REFERENCE_STRATEGIES]))
        raise ConfigError(f"--strategy: unknown strategy {strategy!r}; known: {known}")
    overrides: dict[str, Any] = {}
    if strategy in STRATEGIES:
        overrides["strategies.weights"] = {strategy: 1.0}
    if request.commission_usd is not None:
        overrides["instrument.commission_per_side_usd"] = request.commission_usd
    if request.slippage_ticks is not None:
        overrides["backtest.slippage_ticks"] = request.slippage_ticks
    if request.contracts is not None:
        overrides["risk.max_contracts"] = request.contracts
    if request.memory_enabled is not None:
        overrides["memory.enabled"] = request.memory_enabled
    if request.llm_mode is not None:
        overrides["llm.mode"] = request.llm_mode
    data = base.model_dump(mode="json")
    for dotted, value in overrides.items():
        section, name = dotted.split(".")
        data[section][name] = value
    settings = settings_from_mapping(data, env={})
    if strategy not in REFERENCE_STRATEGIES:
        return apply_params(settings, request.params, strategy)
    dotted, own = split_params(request.params)
    reference_params(strategy, own)  # refuse a bad strategy parameter before reading any data
    return apply_params(settings, dotted, strategy)


def reference_contracts(request: BacktestRequest, settings: Settings) -> int:
    """What a reference strategy trades: --contracts or --param risk.max_contracts, else 1."""
    if request.contracts is None and "risk.max_contracts" not in request.params:
        return 1
    return settings.risk.max_contracts


def load_data(request: BacktestRequest, settings: Settings) -> BarData:
    """The request's bars with warm-up before --start (decisions start at ``data.first``)."""
    started, cpu_started = time.perf_counter(), time.process_time()
    bar_seconds = BAR_SIZES[request.bar_size] if request.bar_size else None
    start = parse_when(request.start, request.tz)
    end = parse_when(request.end, request.tz, end=True)
    if start is not None and end is not None and end <= start:
        raise ConfigError(f"empty date range: --end {request.end} is not after --start "
                          f"{request.start}")
    if request.data == "synthetic":
        data = synthetic_data(request.bars, request.seed, bar_seconds or 60, start)
    elif request.data == "ib":
        folder = IB_HISTORY / settings.instrument.symbol / (request.bar_size or "1min")
        if not folder.is_dir():
            raise ConfigError(f"no IB history cache at {folder}: fetch it with "
                              "`python -m bot fetch-history`")
        tick = get_instrument(settings.instrument.symbol).tick_size
        data = file_data(folder, request.tz, bar_seconds, tick)
    else:
        tick = get_instrument(settings.instrument.symbol).tick_size
        data = file_data(Path(request.data), request.tz, bar_seconds, tick)
    if data.rows_skipped:
        logger.warning("%d rows skipped: %s", data.rows_skipped, "; ".join(data.problems[:3]))
    if data.out_of_order:
        logger.warning("rows out of time order (sorted): %d; %s", data.out_of_order,
                       "; ".join(data.order_problems))
    if request.data == "synthetic":
        start = None
    data = quarantine_data(data, settings)  # the bad prints the live bot would never see
    trim_heap()  # the parse's many small freed blocks, before the engine's arrays
    logger.info("data: %d bars loaded in %.2f s (%.2f s CPU)", len(data),
                time.perf_counter() - started, time.process_time() - cpu_started)
    return select_range(data, start, end, settings.features.window_bars)


def execute(
    request: BacktestRequest, settings: Settings, data: BarData, progress: Progress | None = None,
) -> RunOutcome:
    """Run the selected strategy (ensemble by default) over ``data``."""
    instrument = get_instrument(settings.instrument.symbol)
    if request.strategy in REFERENCE_STRATEGIES:
        dotted, own = split_params(request.params)
        params = reference_params(request.strategy, own)
        for key in dotted:
            if not key.startswith(REFERENCE_READS):
                logger.warning("--param %s has no effect on %s: reference strategies read only "
                               "%s", key, request.strategy, ", ".join(REFERENCE_READS))
        runner = (reference.run_sma_cross if request.strategy == "sma_cross"
                  else reference.run_rsi_macd_bracket)
        return runner(data, params, instrument, commission_cents(settings, instrument),  # type: ignore[arg-type]
                      settings.backtest.slippage_ticks, reference_contracts(request, settings),
                      progress)
    # the decision engine, news, memory and LLM load only for a run that uses them (0.2 s CPU)
    from bot.backtest.engine_run import run_engine
    from bot.backtest.llm_setup import make_backtest_llm
    from bot.backtest.memory_seed import seed_memory
    from bot.backtest.news import load_headline_scores

    headlines = load_headline_scores(Path(request.news), request.tz) if request.news else None
    seed = request.memory_seed
    memory = seed_memory(seed, data.ts(data.first)) if seed and settings.memory.enabled else None
    llm = make_backtest_llm(request, settings, data)
    try:
        return run_engine(settings, data, progress, headlines=headlines, llm=llm, memory=memory)
    finally:
        if llm is not None:
            llm.close()


def trading_days(data: BarData, stop: int | None = None) -> list[Any]:
    """CME trading days spanned by the decision bars (those before ``stop`` if given)."""
    stamps = pd.DatetimeIndex(data.ts_ns[data.first : stop], tz="UTC")
    shifted = stamps.tz_convert(metrics.CHICAGO) + pd.Timedelta(hours=7)
    days = np.unique(shifted.tz_localize(None).asi8 // NS_PER_DAY)  # no object per bar
    return [(EPOCH_DAY + timedelta(days=int(day))) for day in days]


def run_backtest(request: BacktestRequest, progress: Progress | None = None) -> BacktestResult:
    """Run one backtest end to end and compute its metrics."""
    settings = build_settings(request)
    return run_on_data(request, load_data(request, settings), progress)


def run_on_data(
    request: BacktestRequest, data: BarData, progress: Progress | None = None
) -> BacktestResult:
    """Run a request on already loaded bars (walk-forward windows, sweeps)."""
    started = time.perf_counter()
    settings = build_settings(request)
    settings = settings.model_copy(
        update={"feed": settings.feed.model_copy(update={"bar_seconds": data.bar_seconds})}
    )
    logger.info("backtest %s on %d bars of %d s (%d warm-up)", request.strategy or ENSEMBLE,
                len(data) - data.first, data.bar_seconds, data.first)
    outcome = execute(request, settings, data, progress)
    return summarize_outcome(request, settings, data, outcome, time.perf_counter() - started)


def summarize_outcome(
    request: BacktestRequest, settings: Settings, data: BarData, outcome: RunOutcome,
    seconds: float,
) -> BacktestResult:
    """Metrics, breakdowns and the equity/drawdown curve of a finished run.

    Every position is closed first (end of data, or the ruin stop: ``settle``); after a ruin
    stop the metrics cover the bars up to the stop, where the account was still trading.
    """
    instrument = get_instrument(settings.instrument.symbol)
    starting = usd_to_cents(settings.backtest.starting_equity_usd)
    costs = Costs(instrument, commission_cents(settings, instrument),
                  settings.backtest.slippage_ticks)
    settled = settle(outcome, data, costs, starting,  # the live bot's floor stops it too
                     usd_to_cents(max(settings.backtest.ruin_equity_usd,
                                      settings.risk.min_equity_usd)))
    trades = list(settled.trades)
    stop = settled.last_index + 1
    size = (reference_contracts(request, settings) if request.strategy in REFERENCE_STRATEGIES
            else request.contracts or 1)
    hold = metrics.buy_and_hold_cents(float(data.open[data.first]),
                                      float(data.close[stop - 1]), instrument, size)
    summary = metrics.summarize(trades, starting, trading_days(data, stop),
                                np.asarray(data.ts_ns[data.first : stop]), hold)
    summary.update(stopped_reason=settled.stopped_reason,
                   stopped_at=settled.stopped_at.isoformat() if settled.stopped_at else None,
                   bars=outcome.bars, bars_evaluated=outcome.bars_evaluated,
                   bar_seconds=data.bar_seconds, rows_skipped=data.rows_skipped,
                   rows_out_of_order=data.out_of_order, **quarantine_metrics(data),
                   bad_fills=count_bad_fills(trades, settings.risk),
                   seconds=round(seconds, 3), bars_per_second=round(outcome.bars / seconds)
                   if seconds > 0 else None)
    if outcome.memory is not None:
        summary.update(outcome.memory.metrics())
    if outcome.llm is not None:
        from bot.backtest.llm_run import llm_metrics

        summary.update(llm_metrics(outcome.llm, trades))
    curve = metrics.equity_curve(trades, starting)
    drawdowns = metrics.drawdown_curve(curve, starting)
    equity = [(ts, eq, dd) for (ts, eq), (_, dd) in zip(curve, drawdowns, strict=True)]
    tables = {name: [vars_of(row) for row in rows]
              for name, rows in metrics.breakdowns(trades).items()}
    return BacktestResult(request.strategy or ENSEMBLE, tuple(trades), summary, tables, equity,
                          chart_candles(data), outcome.bars, outcome.bars_evaluated, seconds,
                          settled.stopped_reason)


def chart_candles(data: BarData, max_candles: int = CHART_CANDLES) -> dict[str, list[Any]]:
    """The decision bars merged into at most ``max_candles`` OHLC candles for the page chart."""
    count = len(data) - data.first
    if count <= 0:
        return {}
    group = -(-count // max_candles)
    starts = np.arange(data.first, len(data), group)
    stops = np.minimum(starts + group, len(data))
    high = np.maximum.reduceat(data.high[data.first :], starts - data.first)
    low = np.minimum.reduceat(data.low[data.first :], starts - data.first)
    return {
        "ts": [data.ts(int(i)).isoformat() for i in starts],
        "open": data.open[starts].tolist(), "high": high.tolist(), "low": low.tolist(),
        "close": data.close[stops - 1].tolist(), "bar_seconds": [data.bar_seconds * group],
    }


def vars_of(row: Any) -> dict[str, Any]:
    """A frozen slots dataclass as a dict."""
    return {name: getattr(row, name) for name in row.__slots__}
