"""One governed LLM analysis: reuse a fresh identical reply, else reserve, call, validate, settle.

Runs on the worker thread (live bot) or in a one-off ``python -m bot analyze`` job, with its
own SQLite connection. Every outcome, refusals included, is a row in ``llm_calls``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.core.llm_reply import LlmReply, parse_reply, reply_json_schema
from bot.llm.cost import cost_usd, price_for, reserve_usd
from bot.llm.deadline import run_with_deadline
from bot.llm.types import CallStatus, Provider, ProviderResult, Trigger, Usage
from shared.config.settings import LlmConfig
from shared.persistence import llm_store

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    """A built prompt for one trigger."""

    trigger: Trigger
    system: str
    user: str
    template_version: str


@dataclass(frozen=True, slots=True)
class AnalysisOutcome:
    """What one analysis produced: the logged call, its status and the validated reply."""

    call_id: int
    trigger: Trigger
    status: CallStatus
    reply: LlmReply | None
    cost_usd: float
    error: str
    warnings: tuple[str, ...] = ()


def outcome_summary(outcome: AnalysisOutcome) -> str:
    """One line for the command result and the event log."""
    if outcome.reply is None:
        return f"LLM {outcome.status.value}: {outcome.error}"[:300]
    reply = outcome.reply
    return (f"LLM {outcome.status.value} (call {outcome.call_id}): {reply.bias.value} "
            f"{reply.confidence:.2f} {reply.action.value}: {reply.rationale}")[:300]


def prompt_hash(provider: str, model: str, system: str, user: str) -> str:
    """Identity of a prompt for the reply cache."""
    digest = hashlib.sha256()
    for part in (provider, model, system, user):
        digest.update(part.encode())
        digest.update(b"\x00")
    return digest.hexdigest()


class Analyst:
    """Makes governed calls through one provider, logging each in ``llm_calls``."""

    def __init__(
        self, conn: sqlite3.Connection, cfg: LlmConfig, provider: Provider,
        wall_clock: Callable[[], datetime],
    ) -> None:
        self.conn = conn
        self.cfg = cfg
        self.provider = provider
        self.wall_clock = wall_clock
        self.schema = reply_json_schema()

    def analyze(self, request: AnalysisRequest) -> AnalysisOutcome:
        """Run one analysis end to end; never raises for provider or reply problems."""
        now = self.wall_clock()
        trigger = request.trigger
        call = llm_store.CallRequest(
            created_at=now, day=now.date().isoformat(), trigger=trigger.kind.value,
            trigger_json=llm_store.trigger_detail(trigger.payload),
            command_id=trigger.command_id, provider=self.provider.name,
            model=self.provider.model, template_version=request.template_version,
            prompt_hash=prompt_hash(self.provider.name, self.provider.model, request.system,
                                    request.user),
            system_prompt=request.system, prompt=request.user,
        )
        cached = self._from_cache(call, trigger, now)
        if cached is not None:
            return cached
        price = price_for(self.provider.model, self.cfg, self.provider.name)
        prompt_text = request.system + request.user + json.dumps(self.schema)
        reserved = reserve_usd(prompt_text, self.cfg.max_output_tokens, price,
                               self.provider.model)
        limits = llm_store.Limits(self.cfg.daily_call_quota, self.cfg.daily_cost_limit_usd,
                                  self.cfg.warn_fraction)
        reservation = llm_store.reserve_call(self.conn, call, reserved, limits)
        if not reservation.granted:
            logger.warning("LLM call refused: %s", reservation.reason)
            return AnalysisOutcome(reservation.call_id, trigger, CallStatus.REFUSED, None, 0.0,
                                   reservation.reason)
        finished, result = run_with_deadline(
            lambda: self.provider.complete_json(request.system, request.user, self.schema),
            self.cfg.timeout_s,
        )
        spent = reserved  # a call past its deadline may still be billed: keep the reservation
        if not finished or result is None:
            result = ProviderResult(CallStatus.TIMEOUT, None, "", Usage(),
                                    self.cfg.timeout_s * 1000, "", 0,
                                    f"deadline of {self.cfg.timeout_s:g} s passed")
        else:
            spent = cost_usd(result.usage, price, self.provider.model)
        reply, problem = (None, result.error)
        status = result.status
        if status is CallStatus.OK:
            reply, problem = parse_reply(result.parsed)
            if reply is None:
                status = CallStatus.PARSE_ERROR
                logger.warning("LLM reply rejected: %s", problem)
        llm_store.settle_call(self.conn, reservation.call_id, llm_store.Settlement(
            status=status.value, response=result.raw_text[:20000], error=problem,
            stop_reason=result.stop_reason, input_tokens=result.usage.input_tokens,
            output_tokens=result.usage.output_tokens,
            cache_read_tokens=result.usage.cache_read_tokens,
            cache_write_tokens=result.usage.cache_write_tokens, cost_usd=spent,
            latency_ms=result.latency_ms, retry_attempts=result.retry_attempts,
            bias=reply.bias.value if reply else None,
            confidence=reply.confidence if reply else None,
            action=reply.action.value if reply else None, settled_at=self.wall_clock(),
        ))
        return AnalysisOutcome(reservation.call_id, trigger, status, reply, spent, problem,
                               reservation.warnings)

    def _from_cache(
        self, call: llm_store.CallRequest, trigger: Trigger, now: datetime
    ) -> AnalysisOutcome | None:
        if self.cfg.reply_cache_minutes <= 0:
            return None
        since = now - timedelta(minutes=self.cfg.reply_cache_minutes)
        source = llm_store.cached_reply(self.conn, call.prompt_hash, since)
        if source is None:
            return None
        try:
            reply, _ = parse_reply(json.loads(source["response"]))
        except json.JSONDecodeError:
            return None
        if reply is None:
            return None
        call_id = llm_store.log_cached_call(self.conn, call, source, self.wall_clock())
        return AnalysisOutcome(call_id, trigger, CallStatus.CACHED, reply, 0.0, "")
