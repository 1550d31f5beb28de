"""Backtests run with the per-signal LLM gate off unless ``--llm replay`` brings its answers.

Without the live bot's journaled answers, a backtest with ``llm.gate: candidates`` would hold every
candidate without an answer and follow the fail mode, and skipping idle bars could skip the bar
that decides it; so a backtest switches the gate off and says so, rather than report a run no live
bot would make.
"""

from __future__ import annotations

import logging

from shared.config.settings import Settings

logger = logging.getLogger(__name__)


def without_llm_gate(settings: Settings) -> Settings:
    """``settings`` with ``llm.gate: off`` (a warning when it was on)."""
    if settings.llm.gate == "off":
        return settings
    logger.warning("llm.gate %s needs --llm replay (the live answers): this run uses llm.gate off",
                   settings.llm.gate)
    return settings.model_copy(update={"llm": settings.llm.model_copy(update={"gate": "off"})})
