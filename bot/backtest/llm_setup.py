"""Build a backtest's LLM hook from its request: ``--llm off|replay|replay-cache|record``.

``off`` (the default) gives no hook at all, so the run is exactly what it was before the LLM
could take part. Every refusal is a ConfigError with one line (the CLI exits 2 with it), made
before any call: a missing journal, ``record``
without a provider, with an unavailable one, or without ``--yes-spend`` when its estimate is
above $0.
"""

from __future__ import annotations

import logging
from pathlib import Path

from bot.backtest.data import BarData
from bot.backtest.llm_record import CacheAnswers, cache_answers, record_answers
from bot.backtest.llm_replay import journal_llm
from bot.backtest.llm_roles import RolesAnswers
from bot.backtest.llm_run import BacktestLlm
from bot.backtest.llm_triggers import detect_triggers, estimate_spend, provider_identity
from bot.llm.providers import make_provider
from shared.config.backtest_request import BacktestRequest
from shared.config.settings import Settings
from shared.domain.errors import ConfigError
from shared.persistence.db import db_path_from_env

logger = logging.getLogger(__name__)

OFF = "off"


class SpendNotConfirmed(ConfigError):
    """``--llm record`` would spend money and ``--yes-spend`` was not given."""


def journal_path(request: BacktestRequest) -> Path:
    """The database of the LLM call log and the record cache (default ``TRADER_DB``)."""
    return Path(request.llm_journal) if request.llm_journal else db_path_from_env()


def make_backtest_llm(request: BacktestRequest, settings: Settings, data: BarData
                      ) -> BacktestLlm | None:
    """The hook for ``request.llm`` over ``data`` (None for ``off``)."""
    if request.llm == OFF:
        return None
    path = journal_path(request)
    if request.llm == "replay":
        return journal_llm(path, data, settings)
    triggers = detect_triggers(data, settings)
    cfg = settings.llm
    if request.llm == "replay-cache":
        answers = cache_answers(path, cfg, triggers, provider_identity(cfg))
        answers.blind = request.llm_blind
        return BacktestLlm(data, settings, request.llm, with_roles(answers),
                           request.llm_latency_s)
    if cfg.provider == "none":
        raise ConfigError("--llm record: llm.provider is none; configure bedrock or "
                          "openai_compatible to record replies")
    estimate = estimate_spend(cfg, sum(len(t) for t in triggers.values()),
                              request.llm_max_calls)
    logger.info("%s", estimate.line())
    if estimate.total_usd > 0 and not request.llm_yes_spend:
        raise SpendNotConfirmed(f"{estimate.line()}; add --yes-spend to make these calls")
    provider = make_provider(cfg)
    available, reason = provider.availability()
    if not available:
        raise ConfigError(f"--llm record: the LLM provider is unavailable: {reason}")
    answers = record_answers(path, cfg, triggers, provider, request.llm_max_calls,
                             estimate.total_usd)
    answers.blind = request.llm_blind
    logger.info("LLM record: governed calls logged in %s", path)
    return BacktestLlm(data, settings, request.llm, with_roles(answers), request.llm_latency_s)


def with_roles(answers: CacheAnswers) -> CacheAnswers | RolesAnswers:
    """The analyst roles over ``answers`` when ``llm.roles`` is on, else ``answers``."""
    return RolesAnswers(answers) if answers.cfg.roles.enabled else answers
