"""An LLM-mode backtest run in this process, as ``python -m bot backtest --llm ...`` runs it."""

from __future__ import annotations

from typing import Any

from bot.backtest.engine_run import run_engine
from bot.backtest.llm_setup import make_backtest_llm
from bot.backtest.runner import build_settings, load_data
from shared.config.backtest_request import BacktestRequest


def run_llm_backtest(request: BacktestRequest, **engine: Any) -> tuple[Any, Any]:
    """Load the request's bars, run the engine with its LLM hook, close the hook; the outcome
    and the bars."""
    settings = build_settings(request)
    data = load_data(request, settings)
    settings = settings.model_copy(update={"feed": settings.feed.model_copy(
        update={"bar_seconds": data.bar_seconds})})
    hook = make_backtest_llm(request, settings, data)
    try:
        return run_engine(settings, data, llm=hook, **engine), data
    finally:
        hook.close()
