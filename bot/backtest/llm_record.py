"""``--llm record`` and ``--llm replay-cache``: answers at detector triggers, bought once.

At each trigger bar the prompt is built exactly as live (``bot.llm.context.build_request``)
from the backtest's own decision, position, day P&L and recent trades, and keyed by its prompt
hash. ``replay-cache`` only looks the hash up in ``llm_backtest_cache`` (read-only; a miss is
reported and means no bias, never a call). ``record`` looks it up too and, on a miss, makes a
governed analysis (``bot.llm.analyst.Analyst``: every HTTP attempt reserved against the day's
quota and dollars and logged in ``llm_calls``) and caches the validated reply. It never makes
more than ``--llm-max-calls`` HTTP attempts (retries count) nor spends past the estimate it
printed, and refuses to start without ``--yes-spend`` when that estimate is above $0.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path
from typing import Any

from bot.backtest.llm_triggers import attempts_allowed
from bot.core.engine import TradingEngine
from bot.core.llm_reply import LlmReply, parse_reply, reply_json_schema
from bot.llm.analyst import AnalysisRequest, Analyst, prompt_hash
from bot.llm.context import build_request
from bot.llm.cost import price_for, reserve_usd
from bot.llm.prompt_sections import extras_from_engine
from bot.llm.providers import make_provider
from bot.llm.routing import choose_route, config_for_model
from bot.llm.snapshot import record_as_row, snapshot_with_trades, trade_rows
from bot.llm.types import CallStatus, Provider, ProviderResult, Trigger, Usage
from bot.ports import wall_clock_utc
from shared.config.settings import LlmConfig
from shared.domain.errors import ConfigError
from shared.domain.models import DecisionRecord
from shared.persistence import llm_backtest_store
from shared.persistence.db import connect, open_database, write_transaction

logger = logging.getLogger(__name__)

MISSES_LOGGED = 5


class CacheAnswers:
    """``replay-cache``: recorded replies by prompt hash; a miss is no bias."""

    source = "replay-cache"

    def __init__(self, conn: sqlite3.Connection | None, cfg: LlmConfig,
                 triggers: dict[int, tuple[Trigger, ...]], identity: tuple[str, str]) -> None:
        self.conn = conn
        self.cfg = cfg
        self.triggers = triggers
        self.identity = identity
        self.blind = False  # date-blind prompts (``--blind``; bot.llm.blind)
        self.asked = 0
        self.hits = 0
        self.misses = 0

    def request(self, engine: TradingEngine, record: DecisionRecord, trigger: Trigger
                ) -> tuple[AnalysisRequest, str]:
        """The prompt this decision gives, as live builds it, and its hash."""
        self.asked += 1
        trades = list(getattr(engine.journal, "trades", []))
        snapshot = snapshot_with_trades(
            record_as_row(record), engine.broker.position(),
            engine.risk_state.realized_today_cents,
            trade_rows(trades, self.cfg.recent_trades_in_prompt),
            extras_from_engine(engine, record.ts))
        request = build_request(trigger, snapshot, blind=self.blind)
        choice = choose_route(self.cfg, request.volatility, trigger.kind.value)
        request = replace(request, route=choice.name)
        model = choice.model if self.cfg.routes else self.identity[1]
        return request, prompt_hash(self.identity[0], model, request.system, request.user)

    def cached(self, key: str) -> tuple[LlmReply | None, int]:
        """The recorded reply to the prompt ``key`` and its call id (None, 0 when absent)."""
        entry = llm_backtest_store.cached_reply(self.conn, key) if self.conn else None
        if entry is None:
            return None, 0
        reply, problem = parse_reply(json.loads(entry.reply_json))
        if reply is None:
            logger.warning("cached LLM reply %s unusable: %s", key[:12], problem)
            return None, 0
        return reply, int(entry.call_id or 0)

    def answer(self, engine: TradingEngine, record: DecisionRecord, trigger: Trigger
               ) -> tuple[LlmReply | None, int]:
        """The cached reply, or None (a reported miss)."""
        request, key = self.request(engine, record, trigger)
        return self.answer_request(request, key, trigger)

    def answer_request(self, request: AnalysisRequest, key: str, trigger: Trigger
                       ) -> tuple[LlmReply | None, int]:
        """The answer to a built prompt (the analyst roles' fallback asks this way)."""
        reply, call_id = self.cached(key)
        if reply is not None:
            self.hits += 1
            return reply, call_id
        self._miss(trigger, key, "not in the record cache: no bias (no call made)")
        return None, 0

    def _miss(self, trigger: Trigger, key: str, why: str) -> None:
        self.misses += 1
        if self.misses <= MISSES_LOGGED:
            logger.warning("LLM %s trigger at %s (prompt %s): %s", trigger.kind.value,
                           trigger.ts.isoformat(), key[:12], why)

    def counts(self) -> dict[str, Any]:
        """Triggers and where their answers came from; this source never spends."""
        return {"llm_blind": self.blind,
                "llm_triggers": sum(len(t) for t in self.triggers.values()),
                "llm_triggers_asked": self.asked, "llm_cache_hits": self.hits,
                "llm_cache_misses": self.misses,
                "llm_calls": 0, "llm_cost_usd": 0.0}

    def close(self) -> None:
        """Close the cache database."""
        if self.conn is not None:
            self.conn.close()


class AttemptCount:
    """The HTTP attempts a record run made, over every routed model, and its cap."""

    def __init__(self, cap: int) -> None:
        self.cap = cap
        self.attempts = 0


class CountingProvider:
    """Passes calls to a provider and counts them: the HTTP attempts a record run made."""

    def __init__(self, provider: Provider, cap: int | AttemptCount) -> None:
        self.provider = provider
        self.name, self.model = provider.name, provider.model
        self.count = cap if isinstance(cap, AttemptCount) else AttemptCount(cap)

    @property
    def cap(self) -> int:
        """The most HTTP attempts the run may make."""
        return self.count.cap

    @property
    def attempts(self) -> int:
        """HTTP attempts made so far by this run (every model)."""
        return self.count.attempts

    def availability(self) -> tuple[bool, str]:
        """The wrapped provider's."""
        return self.provider.availability()

    def complete_json(self, system: str, user: str, schema: dict[str, Any]) -> ProviderResult:
        """One counted attempt; past the cap none is made (a safety belt: never reached)."""
        if self.count.attempts >= self.count.cap:
            return ProviderResult(CallStatus.ERROR, None, "", Usage(), 0.0, "", 0,
                                  f"--llm-max-calls {self.count.cap} reached")
        self.count.attempts += 1
        return self.provider.complete_json(system, user, schema)


class RecordAnswers(CacheAnswers):
    """``record``: the cached reply, else a governed analysis within the cap and the budget."""

    source = "record"

    def __init__(self, conn: sqlite3.Connection, cfg: LlmConfig,
                 triggers: dict[int, tuple[Trigger, ...]], provider: CountingProvider,
                 budget_usd: float,
                 factory: Callable[[LlmConfig], Provider] = make_provider) -> None:
        super().__init__(conn, cfg, triggers, (provider.name, provider.model))
        self.writer = conn
        self.provider = provider
        self.factory = factory  # builds the provider of a routed model (llm.routes)
        self.budget_usd = budget_usd
        self.spent_usd = 0.0
        self.governed = 0
        self.capped = 0
        self.failed = 0
        self._routed: dict[str, CountingProvider] = {provider.model: provider}

    def provider_for(self, request: AnalysisRequest) -> CountingProvider:
        """The counted provider of the request's route (the default one without routes)."""
        if not self.cfg.routes:
            return self.provider
        return self.provider_for_model(
            choose_route(self.cfg, request.volatility, request.trigger.kind.value).model)

    def provider_for_model(self, model: str) -> CountingProvider:
        """The counted provider answering with ``model`` (built once, sharing the cap)."""
        if model not in self._routed:
            built = self.factory(config_for_model(self.cfg, model))
            self._routed[model] = CountingProvider(built, self.provider.count)
        return self._routed[model]

    def answer(self, engine: TradingEngine, record: DecisionRecord, trigger: Trigger
               ) -> tuple[LlmReply | None, int]:
        """The cached reply, else a governed call whose reply is cached."""
        request, key = self.request(engine, record, trigger)
        return self.answer_request(request, key, trigger)

    def answer_request(self, request: AnalysisRequest, key: str, trigger: Trigger
                       ) -> tuple[LlmReply | None, int]:
        """The cached reply to a built prompt, else a governed call whose reply is cached."""
        reply, call_id = self.cached(key)
        if reply is not None:
            self.hits += 1
            return reply, call_id
        provider = self.provider_for(request)
        price = price_for(provider.model, self.cfg, provider.name)
        each = reserve_usd(request.system + request.user + json.dumps(reply_json_schema()),
                           self.cfg.max_output_tokens, price, provider.model)
        allowed = attempts_allowed(self.cfg, provider.cap - provider.attempts,
                                   self.budget_usd - self.spent_usd, each)
        if allowed <= 0:
            self.capped += 1
            self._miss(trigger, key, "call cap or estimate reached: no call, no bias")
            return None, 0
        return self._call(request, key, trigger, allowed, provider)

    def _call(self, request: AnalysisRequest, key: str, trigger: Trigger, allowed: int,
              provider: CountingProvider) -> tuple[LlmReply | None, int]:
        after_id = llm_backtest_store.last_call_id(self.writer)
        cfg = self.cfg.model_copy(update={"max_attempts": allowed})
        outcome = Analyst(self.writer, cfg, provider, wall_clock_utc).analyze(request)
        attempts, spent = llm_backtest_store.prompt_spend(self.writer, key, after_id)
        self.governed += attempts
        self.spent_usd += spent
        if outcome.reply is None or outcome.status not in (CallStatus.OK, CallStatus.CACHED):
            self.failed += 1
            self._miss(trigger, key, f"call {outcome.call_id} {outcome.status.value}: no bias")
            return None, outcome.call_id
        with write_transaction(self.writer):
            llm_backtest_store.store_cached_reply(self.writer, llm_backtest_store.NewCachedReply(
                key, wall_clock_utc(), provider.name, provider.model,
                request.template_version, trigger.kind.value, trigger.ts, outcome.call_id,
                outcome.reply.model_dump(mode="json"), spent))
        return outcome.reply, outcome.call_id

    def counts(self) -> dict[str, Any]:
        """Calls made (the provider's count; the governor logged each), dollars, cap skips."""
        counts = super().counts()
        counts.update(llm_calls=self.provider.attempts, llm_governed_attempts=self.governed,
                      llm_cost_usd=round(self.spent_usd, 6), llm_capped=self.capped,
                      llm_failed=self.failed, llm_budget_usd=round(self.budget_usd, 6))
        return counts


def cache_answers(path: Path, cfg: LlmConfig, triggers: dict[int, tuple[Trigger, ...]],
                  identity: tuple[str, str]) -> CacheAnswers:
    """``replay-cache`` answers from the cache in ``path`` (read-only)."""
    if not path.is_file():
        raise ConfigError(f"--llm-journal {path}: no such database file (record a cache first "
                          "with --llm record)")
    conn = connect(path, readonly=True)
    held = llm_backtest_store.cached_reply_count(conn)
    logger.info("LLM replay-cache from %s: %d cached replies; %d trigger(s) over these bars; "
                "this run costs $0", path, held, sum(len(t) for t in triggers.values()))
    return CacheAnswers(conn, cfg, triggers, identity)


def record_answers(path: Path, cfg: LlmConfig, triggers: dict[int, tuple[Trigger, ...]],
                   provider: Provider, cap: int, budget_usd: float,
                   factory: Callable[[LlmConfig], Provider] = make_provider) -> RecordAnswers:
    """``record`` answers: governed calls logged in (and cached to) the database ``path``;
    ``factory`` builds the providers of other routed models than ``provider``'s."""
    return RecordAnswers(open_database(path), cfg, triggers, CountingProvider(provider, cap),
                         budget_usd, factory)
