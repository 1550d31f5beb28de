"""One governed LLM analysis: reuse a fresh identical reply, else governed attempts until done.

Runs on the worker thread (live bot) or in a one-off ``python -m bot analyze`` job, with its
own SQLite connection. Every HTTP attempt is reserved against the day's call quota and dollar
limit before it is made and is its own row in ``llm_calls`` (``retry_attempts`` = its place
among the analysis' attempts); refusals and discarded requests are rows too. Retries happen
here, never inside an HTTP library, and only after transient failures, with backoff, within
``max_attempts`` and the analysis' wall-clock deadline ``timeout_s``.
"""

from __future__ import annotations

import hashlib
import json
import logging
import sqlite3
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any

from bot.core.llm_reply import LlmReply, parse_reply, reply_json_schema
from bot.llm.cost import cost_usd, price_for, reserve_usd
from bot.llm.deadline import run_with_deadline
from bot.llm.retry import RetryPolicy
from bot.llm.types import CallStatus, Provider, ProviderResult, Trigger, Usage
from shared.config.settings import LlmConfig, ModelPrice
from shared.persistence import llm_store
from shared.persistence.db import write_transaction

logger = logging.getLogger(__name__)


def _sleep(seconds: float) -> bool:
    """Wait between attempts; True would mean "interrupted, stop retrying"."""
    time.sleep(seconds)
    return False


@dataclass(frozen=True, slots=True)
class ReplyType:
    """A reply other than the market bias: the JSON schema sent and its validator."""

    schema: dict[str, Any]
    parse: Callable[[Any], tuple[Any, str]]


@dataclass(frozen=True, slots=True)
class AnalysisRequest:
    """A built prompt for one trigger."""

    trigger: Trigger
    system: str
    user: str
    template_version: str
    queued_at: datetime | None = None  # wall clock when the worker accepted it
    volatility: str = ""  # the regime's volatility label at the trigger (model routing)
    route: str = ""  # the llm.routes entry that answers it ("default" or "" without routes)


@dataclass(frozen=True, slots=True)
class AnalysisOutcome:
    """What one analysis produced: the logged call, its status and the validated reply."""

    call_id: int
    trigger: Trigger
    status: CallStatus
    reply: LlmReply | Any | None  # an LlmReply unless the analyst was given another reply type
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


@dataclass(frozen=True, slots=True)
class _Priced:
    """The price of the provider's model and the dollars each attempt reserves."""

    price: ModelPrice
    reserve_usd: float


class Analyst:
    """Makes governed calls through one provider, logging each attempt in ``llm_calls``."""

    def __init__(
        self, conn: sqlite3.Connection, cfg: LlmConfig, provider: Provider,
        wall_clock: Callable[[], datetime], pause: Callable[[float], bool] = _sleep,
        reply_type: ReplyType | None = None,
    ) -> None:
        self.conn = conn
        self.cfg = cfg
        self.provider = provider
        self.wall_clock = wall_clock
        self.pause = pause
        # The market-bias reply by default; another governed task (a review's lesson) brings
        # its own schema and validator, and every attempt is governed and logged the same way.
        self.schema = reply_type.schema if reply_type else reply_json_schema()
        self.parse: Callable[[Any], tuple[Any, str]] = (
            reply_type.parse if reply_type else parse_reply)

    def _call_request(self, request: AnalysisRequest, now: datetime) -> llm_store.CallRequest:
        trigger = request.trigger
        return llm_store.CallRequest(
            created_at=now, day=now.date().isoformat(), trigger=trigger.kind.value,
            trigger_json=llm_store.trigger_detail(trigger.payload),
            command_id=trigger.command_id, provider=self.provider.name,
            model=self.provider.model, template_version=request.template_version,
            prompt_hash=prompt_hash(self.provider.name, self.provider.model, request.system,
                                    request.user),
            system_prompt=request.system, prompt=request.user, mode=self.cfg.mode,
            route=request.route,
        )

    def analyze(self, request: AnalysisRequest) -> AnalysisOutcome:
        """Run one analysis end to end; never raises for provider or reply problems."""
        call = self._call_request(request, self.wall_clock())
        cached = self._from_cache(call, request.trigger, call.created_at)
        if cached is not None:
            return cached
        price = price_for(self.provider.model, self.cfg, self.provider.name)
        prompt_text = request.system + request.user + json.dumps(self.schema)
        priced = _Priced(price, reserve_usd(prompt_text, self.cfg.max_output_tokens, price,
                                            self.provider.model))
        policy = RetryPolicy.from_config(self.cfg)
        deadline = time.monotonic() + policy.deadline_s
        warnings: tuple[str, ...] = ()
        attempt = 0
        while True:
            attempt += 1
            outcome, retryable = self._attempt(request, call, priced, attempt,
                                               deadline - time.monotonic())
            warnings += outcome.warnings
            outcome = replace(outcome, warnings=warnings)
            wait = policy.next_wait(attempt, retryable, deadline - time.monotonic())
            if wait is None:
                return outcome
            logger.info("LLM attempt %d of %d: %s; retrying in %.2f s", attempt,
                        policy.max_attempts, outcome.status.value, wait)
            if self.pause(wait) or deadline - time.monotonic() <= 0:
                return outcome

    def _attempt(
        self, request: AnalysisRequest, call: llm_store.CallRequest, priced: _Priced,
        attempt: int, time_left_s: float,
    ) -> tuple[AnalysisOutcome, bool]:
        """Reserve, make one HTTP attempt, settle; return the outcome and whether to retry."""
        trigger = request.trigger
        now = self.wall_clock()
        call = replace(call, created_at=now, day=now.date().isoformat())
        limits = llm_store.Limits(self.cfg.daily_call_quota, self.cfg.daily_cost_limit_usd,
                                  self.cfg.warn_fraction)
        with write_transaction(self.conn):
            reservation = llm_store.reserve_call(self.conn, call, priced.reserve_usd, limits)
        if not reservation.granted:
            logger.warning("LLM attempt %d refused: %s", attempt, reservation.reason)
            return AnalysisOutcome(reservation.call_id, trigger, CallStatus.REFUSED, None, 0.0,
                                   reservation.reason), False
        result = self._send(request, time_left_s)
        spent = priced.reserve_usd  # a reply that may be billed at an unknown size: keep it
        if result.usage_known:
            spent = cost_usd(result.usage, priced.price, self.provider.model)
        reply, problem = (None, result.error)
        status = result.status
        if status is CallStatus.OK:
            reply, problem = self.parse(result.parsed)
            if reply is None:
                status = CallStatus.PARSE_ERROR
                logger.warning("LLM reply rejected: %s", problem)
        with write_transaction(self.conn):
            llm_store.settle_call(self.conn, reservation.call_id, llm_store.Settlement(
                status=status.value, response=result.raw_text[:20000], error=problem,
                stop_reason=result.stop_reason, input_tokens=result.usage.input_tokens,
                output_tokens=result.usage.output_tokens,
                cache_read_tokens=result.usage.cache_read_tokens,
                cache_write_tokens=result.usage.cache_write_tokens, cost_usd=spent,
                latency_ms=result.latency_ms, retry_attempts=attempt - 1,
                bias=reply.bias.value if isinstance(reply, LlmReply) else None,
                confidence=reply.confidence if isinstance(reply, LlmReply) else None,
                action=reply.action.value if isinstance(reply, LlmReply) else None,
                settled_at=self.wall_clock(),
            ))
        outcome = AnalysisOutcome(reservation.call_id, trigger, status, reply, spent, problem,
                                  reservation.warnings)
        return outcome, result.retryable

    def _send(self, request: AnalysisRequest, time_left_s: float) -> ProviderResult:
        """One provider call within the time left; a miss or a crash becomes a result."""
        time_left_s = max(time_left_s, 0.0)
        try:
            finished, result = run_with_deadline(
                lambda: self.provider.complete_json(request.system, request.user, self.schema),
                time_left_s,
            )
        except Exception as exc:  # a provider bug must still settle its reserved row
            logger.exception("LLM provider raised")
            return ProviderResult(CallStatus.ERROR, None, "", Usage(), 0.0, "", 0,
                                  f"{type(exc).__name__}: {exc}"[:500], usage_known=False)
        if not finished or result is None:
            return ProviderResult(CallStatus.TIMEOUT, None, "", Usage(), time_left_s * 1000, "",
                                  0, f"deadline of {self.cfg.timeout_s:g} s passed",
                                  usage_known=False)
        return result

    def discard(self, request: AnalysisRequest, reason: str) -> AnalysisOutcome:
        """Log a request that will not be sent (too old); it costs nothing and takes no quota."""
        call = self._call_request(request, self.wall_clock())
        with write_transaction(self.conn):
            call_id = llm_store.log_discarded_call(self.conn, call, CallStatus.EXPIRED.value,
                                                   reason)
        logger.warning("LLM %s request discarded: %s", request.trigger.kind.value, reason)
        return AnalysisOutcome(call_id, request.trigger, CallStatus.EXPIRED, None, 0.0, reason)

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
            reply, _ = self.parse(json.loads(source.response))
        except json.JSONDecodeError:
            return None
        if reply is None:
            return None
        with write_transaction(self.conn):
            call_id = llm_store.log_cached_call(self.conn, call, source, self.wall_clock())
        return AnalysisOutcome(call_id, trigger, CallStatus.CACHED, reply, 0.0, "")
