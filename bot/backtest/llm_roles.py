"""The analyst roles (``llm.roles``) in backtests: recorded once, replayed at $0.

``RolesAnswers`` wraps the record or replay-cache answers of a run. At each trigger it runs the
same pipeline as live (``bot.llm.roles.pipeline``) with a caller that looks each role's prompt
up in the record cache by its prompt hash; ``record`` makes a governed analysis on a miss
(every HTTP attempt reserved and logged, within ``--llm-max-calls`` and the estimate, through
the run's counted providers) and caches the role's validated reply; ``replay-cache`` never
calls, so a miss fails the role. A failed role gives the single analyst's answer, looked up (or
recorded) the way a run without roles does. A roles run replayed from its cache repeats every
role's reply, hence the same final answers and the same trades, and costs nothing.
"""

from __future__ import annotations

import json
import logging
from dataclasses import replace
from typing import Any

from bot.backtest.llm_record import CacheAnswers, RecordAnswers
from bot.backtest.llm_triggers import attempts_allowed
from bot.core.engine import TradingEngine
from bot.core.llm_reply import LlmReply
from bot.llm.analyst import AnalysisOutcome, AnalysisRequest, Analyst, ReplyType, prompt_hash
from bot.llm.cost import price_for, reserve_usd
from bot.llm.roles.governed import role_config
from bot.llm.roles.pipeline import RoleAnswer, RoleCall, RolesPipeline
from bot.llm.routing import RouteChoice, choose_route
from bot.llm.types import CallStatus, Trigger
from bot.ports import wall_clock_utc
from shared.domain.models import DecisionRecord
from shared.persistence import llm_backtest_store
from shared.persistence.db import write_transaction

logger = logging.getLogger(__name__)


class CachedRoleCaller:
    """A role's reply from the record cache; with ``record``, a governed call on a miss."""

    def __init__(self, answers: CacheAnswers) -> None:
        self.answers = answers
        self.hits = 0
        self.misses = 0

    def _route(self, call: RoleCall) -> RouteChoice:
        """The role's route and model (the run's model when no route is configured)."""
        cfg = role_config(self.answers.cfg, call.route_name)
        choice = choose_route(cfg, call.request.volatility, call.request.trigger.kind.value)
        if not cfg.routes:
            return RouteChoice(choice.name, self.answers.identity[1])
        return choice

    def call(self, call: RoleCall) -> RoleAnswer:
        """The cached reply, else (record only) a governed analysis of the role's prompt."""
        choice = self._route(call)
        model = choice.model
        request = replace(call.request, route=choice.name)
        call = replace(call, request=request)
        key = prompt_hash(self.answers.identity[0], model, request.system, request.user)
        conn = self.answers.conn
        entry = llm_backtest_store.cached_reply(conn, key) if conn is not None else None
        if entry is not None:
            reply, problem = call.reply_type.parse(json.loads(entry.reply_json))
            if reply is not None:
                self.hits += 1
                return RoleAnswer(reply, int(entry.call_id or 0), CallStatus.CACHED, 0.0)
            logger.warning("cached %s reply %s unusable: %s", call.role.value, key[:12], problem)
        self.misses += 1
        if not isinstance(self.answers, RecordAnswers):
            return RoleAnswer(None, 0, CallStatus.ERROR, 0.0, "not in the record cache")
        return self._record(call, model, key)

    def _record(self, call: RoleCall, model: str, key: str) -> RoleAnswer:
        answers = self.answers
        if not isinstance(answers, RecordAnswers):
            raise TypeError("recording needs the record answers")
        provider = answers.provider_for_model(model)
        request = call.request
        each = reserve_usd(request.system + request.user + json.dumps(call.reply_type.schema),
                           call.cfg.max_output_tokens, price_for(model, call.cfg, provider.name),
                           model)
        allowed = attempts_allowed(call.cfg, provider.cap - provider.attempts,
                                   answers.budget_usd - answers.spent_usd, each)
        if allowed <= 0:
            return RoleAnswer(None, 0, CallStatus.REFUSED, 0.0, "call cap or estimate reached")
        after_id = llm_backtest_store.last_call_id(answers.writer)
        cfg = call.cfg.model_copy(update={"max_attempts": allowed})
        analyst = Analyst(answers.writer, cfg, provider, wall_clock_utc,
                          reply_type=ReplyType(call.reply_type.schema, call.reply_type.parse))
        outcome = analyst.analyze(request)
        attempts, spent = llm_backtest_store.prompt_spend(answers.writer, key, after_id)
        answers.governed += attempts
        answers.spent_usd += spent
        if outcome.reply is not None and outcome.status is CallStatus.OK:
            with write_transaction(answers.writer):
                llm_backtest_store.store_cached_reply(answers.writer,
                                                      llm_backtest_store.NewCachedReply(
                    key, wall_clock_utc(), provider.name, model, request.template_version,
                    request.trigger.kind.value, request.trigger.ts, outcome.call_id,
                    outcome.reply.model_dump(mode="json"), spent))
        return RoleAnswer(outcome.reply, outcome.call_id, outcome.status, spent, outcome.error)


    def conclude(self, request: AnalysisRequest, final: LlmReply, call_ids: list[int]) -> int:
        """A backtest journals in memory: the answer goes by the reviewer's call id."""
        return call_ids[-1] if call_ids else 0


class RolesAnswers:
    """A run's answers at triggers given by the analyst roles (the wrapped answers' fallback)."""

    def __init__(self, inner: CacheAnswers) -> None:
        self.inner = inner
        self.triggers = inner.triggers
        self.identity = inner.identity
        self.caller = CachedRoleCaller(inner)
        self.answered = 0
        self.fallbacks = 0

    def answer(self, engine: TradingEngine, record: DecisionRecord, trigger: Trigger
               ) -> tuple[LlmReply | None, int]:
        """The roles' final reply, else the single analyst's (or None) and its call id."""
        request, key = self.inner.request(engine, record, trigger)
        single: list[tuple[LlmReply | None, int]] = []

        def fallback() -> AnalysisOutcome:
            self.fallbacks += 1
            reply, call_id = self.inner.answer_request(request, key, trigger)
            single.append((reply, call_id))
            status = CallStatus.OK if reply is not None else CallStatus.ERROR
            return AnalysisOutcome(call_id, trigger, status, reply, 0.0, "")

        outcome = RolesPipeline(self.inner.cfg, self.caller).run(request, fallback)
        if single:
            return single[0]
        self.answered += 1
        reply = outcome.reply if isinstance(outcome.reply, LlmReply) else None
        return reply, outcome.call_id

    def counts(self) -> dict[str, Any]:
        """The wrapped answers' counts and the roles' own."""
        counts = self.inner.counts()
        counts.update(llm_roles_answered=self.answered, llm_roles_fallbacks=self.fallbacks,
                      llm_roles_cache_hits=self.caller.hits,
                      llm_roles_cache_misses=self.caller.misses)
        return counts

    def close(self) -> None:
        """Close the wrapped answers' database."""
        self.inner.close()
