"""One evaluation backtest (what a research worker runs): a layer on or off, or a placebo.

A task is a small frozen record; the bars are the shared data every worker holds (as for
``bot.research.tasks``). Walk-forward tasks (``split`` set) first replay the bars before the
split with memory off, so memory holds every setup of that part, then run the part after it
(with ``warmup`` earlier bars for the indicators only), judging the layer only there.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from bot.backtest.data import BarData
from bot.backtest.engine_run import run_engine
from bot.backtest.runner import build_settings, summarize_outcome
from bot.core.engine import LEARNED_RULE
from bot.core.gates import PlaceboGate
from bot.core.memory import MemoryIndex
from bot.core.rules import RuleBook
from bot.core.sentiment import HeadlineScore
from bot.evaluation.llm_layer import replay_hook
from shared.config.backtest_request import BacktestRequest
from shared.config.settings import Settings
from shared.domain.models import TradeRecord

CHICAGO = "America/Chicago"
DAY_SHIFT = timedelta(hours=7)  # CME trading day: the session opening at 17:00 CT is tomorrow's


@dataclass(frozen=True)
class Placebo:
    """Refuse ``count`` of the first ``pool`` entries at random with ``seed``."""

    seed: int
    count: int
    pool: int


@dataclass(frozen=True)
class EvalTask:
    """One run: the request, whether the layer is on, an optional placebo and walk-forward
    split (bar index where judging starts)."""

    key: str
    request_json: str
    layer_on: bool
    layer: str = "memory"
    placebo: Placebo | None = None
    split: int | None = None
    rules: tuple[Any, ...] = ()  # the learned rules (``LearnedRule``) for ``layer`` rules
    llm_journal: str | None = None  # ``layer`` llm: the journal whose replies are replayed
    shuffle_seed: int | None = None  # llm/news: the placebo's permutation of the answers
    headlines: tuple[HeadlineScore, ...] = ()  # ``layer`` news: the scored headlines


@dataclass(frozen=True)
class EvalOutcome:
    """A run's headline metrics, its trades, what the layer or placebo refused, entries asked."""

    metrics: dict[str, Any]
    trades: tuple[TradeRecord, ...]
    refused: int
    placebo_refused: int
    placebo_asked: int


def _settings(request: BacktestRequest, data: BarData, task: EvalTask) -> Settings:
    settings = build_settings(request)
    memory_on = task.layer == "memory" and task.layer_on
    return settings.model_copy(update={
        "feed": settings.feed.model_copy(update={"bar_seconds": data.bar_seconds}),
        "memory": settings.memory.model_copy(update={"enabled": memory_on}),
    })


def seeded_memory(request: BacktestRequest, data: BarData, split: int) -> MemoryIndex:
    """Memory holding every setup of the bars before ``split`` that closed there."""
    settings = build_settings(request)
    settings = settings.model_copy(update={
        "feed": settings.feed.model_copy(update={"bar_seconds": data.bar_seconds}),
        "memory": settings.memory.model_copy(update={"enabled": False}),
    })
    index = MemoryIndex()
    run_engine(settings, data.slice(0, split, first=data.first), memory=index)
    return index


PLACEBO_ATTEMPTS = 3


def run_eval_task(task: EvalTask, data: BarData) -> EvalOutcome:
    """Run one evaluation task on the shared bars (what a worker does).

    A placebo's pool (entries it may be asked about) is the layer-on run's; when the placebo run
    is asked about fewer entries, so refuses fewer than ``count``, it is run again with the pool
    it saw (at most ``PLACEBO_ATTEMPTS`` runs), so it refuses the requested number.
    """
    outcome = _run_once(task, data)
    placebo = task.placebo
    for _ in range(PLACEBO_ATTEMPTS - 1):
        if placebo is None or outcome.placebo_refused >= placebo.count:
            break
        placebo = Placebo(placebo.seed, placebo.count, outcome.placebo_asked)
        outcome = _run_once(replace(task, placebo=placebo), data)
    return outcome


def _run_once(task: EvalTask, data: BarData) -> EvalOutcome:
    started = time.perf_counter()
    request = BacktestRequest.from_json(task.request_json)
    memory = None
    bars = data
    if task.split is not None:
        if task.layer == "memory" and task.layer_on:
            memory = seeded_memory(request, data, task.split)
        warmup = build_settings(request).features.window_bars
        begin = max(0, task.split - warmup)
        bars = data.slice(begin, len(data), first=task.split - begin)
    settings = _settings(request, bars, task)
    gate = (PlaceboGate(task.placebo.seed, task.placebo.count, task.placebo.pool)
            if task.placebo is not None else None)
    rules_on = task.layer == "rules" and task.layer_on
    rules = RuleBook(tuple(task.rules), "evaluation") if rules_on else None
    llm = (replay_hook(Path(task.llm_journal), bars, settings, task.shuffle_seed)
           if task.layer == "llm" and task.layer_on and task.llm_journal else None)
    news = (shuffled_scores(task.headlines, task.shuffle_seed)
            if task.layer == "news" and task.layer_on else None)
    try:
        outcome = run_engine(settings, bars, memory=memory, gate=gate, rules=rules,
                             keep_decisions=rules_on, llm=llm, headlines=news)
    finally:
        if llm is not None:
            llm.close()
    result = summarize_outcome(request, settings, bars, outcome, time.perf_counter() - started)
    if task.layer == "memory":
        refused = outcome.memory.refused if outcome.memory is not None else 0
    elif task.layer == "llm":
        refused = int(result.metrics.get("llm_vetoed_decisions") or 0)
    else:
        refused = sum(1 for d in outcome.decisions if d.risk_rule == LEARNED_RULE)
    keep = ("trades", "net_pnl_cents", "average_trade_cents", "max_drawdown_cents",
            "profit_factor", "win_rate", "trading_days", "llm_replies_applied",
            "llm_nudged_decisions", "llm_vetoed_decisions")
    return EvalOutcome({k: result.metrics.get(k) for k in keep}, tuple(result.trades),
                       refused if task.layer_on else 0,
                       gate.refused if gate is not None else 0,
                       gate.asked if gate is not None else 0)


def shuffled_scores(headlines: Sequence[HeadlineScore], seed: int | None
                    ) -> list[HeadlineScore]:
    """The headlines; with ``seed`` the news placebo: their scores permuted among them (the
    same headlines at the same times, each carrying another's sentiment)."""
    if seed is None or not headlines:
        return list(headlines)
    order = np.random.default_rng(np.random.SeedSequence([seed, len(headlines)]))
    scores = [headlines[i].score for i in order.permutation(len(headlines)).tolist()]
    return [replace(h, score=score) for h, score in zip(headlines, scores, strict=True)]


def trading_day_of(trade: TradeRecord) -> str:
    """The CME trading day of a trade's entry (ISO date)."""
    local = pd.Timestamp(trade.entry_ts).tz_convert(CHICAGO) + DAY_SHIFT
    return local.date().isoformat()


def daily(trades: Sequence[TradeRecord], days: Sequence[str]) -> tuple[list[float], list[int]]:
    """Net dollars and trade counts per day of ``days`` (0 on a day without trades)."""
    net = dict.fromkeys(days, 0.0)
    count = dict.fromkeys(days, 0)
    for trade in trades:
        day = trading_day_of(trade)
        net[day] = net.get(day, 0.0) + trade.pnl_net_cents / 100
        count[day] = count.get(day, 0) + 1
    return [net[d] for d in days], [count[d] for d in days]


def union_days(*runs: Sequence[TradeRecord]) -> list[str]:
    """Every trading day on which any of the runs traded, in order."""
    return sorted({trading_day_of(t) for trades in runs for t in trades})
