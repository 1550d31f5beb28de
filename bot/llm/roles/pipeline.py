"""The roles pipeline: each role in order as one governed call, all within one deadline.

A ``RoleCaller`` makes one role's call (live: ``governed.GovernedCaller``, a governed analysis
per role; backtests: the record cache, ``bot.backtest.llm_roles``). Each role gets its own
prompt and template version (``spec``), its route and its output-token budget, and as its own
``timeout_s`` only the time left before the pipeline's deadline. The first role that fails
(no reply, a refusal, a parse error, the deadline) ends the pipeline: the single analyst's
answer is used instead (``fallback``, the call the bot makes without roles, with its own
``llm.timeout_s``), and what the roles spent is added to its cost.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any, Protocol

from bot.core.llm_reply import LlmReply
from bot.llm.analyst import AnalysisOutcome, AnalysisRequest, ReplyType
from bot.llm.retry import MIN_ATTEMPT_S
from bot.llm.roles.spec import (
    ROLE_ORDER,
    SYSTEMS,
    AnalystView,
    CaseReply,
    ReviewReply,
    RoleName,
    reply_type,
    role_user,
    template_version,
)
from bot.llm.roles.verdict import draft, reviewed
from bot.llm.types import CallStatus
from shared.config.settings import LlmConfig

logger = logging.getLogger(__name__)

ANSWERED = (CallStatus.OK, CallStatus.CACHED)


@dataclass(frozen=True, slots=True)
class RoleCall:
    """One role's call: its request, its config (budget, time left) and its reply type."""

    role: RoleName
    request: AnalysisRequest
    cfg: LlmConfig
    route_name: str  # the llm.routes entry the role names ('' = the trigger's route)
    reply_type: ReplyType


@dataclass(frozen=True, slots=True)
class RoleAnswer:
    """What one role's call gave: a validated reply (or None), its call id, status, cost."""

    reply: Any | None
    call_id: int
    status: CallStatus
    cost_usd: float
    error: str = ""
    warnings: tuple[str, ...] = ()  # the governor's quota warnings, journaled by the caller


class RoleCaller(Protocol):
    """Makes one role's call, and records the roles' combined answer."""

    def call(self, call: RoleCall) -> RoleAnswer:
        """The role's answer; never raises for provider or reply problems."""
        ...

    def conclude(self, request: AnalysisRequest, final: LlmReply, call_ids: list[int]) -> int:
        """Record the combined answer of the roles' calls ``call_ids``; its call id."""
        ...


def role_request(base: AnalysisRequest, role: RoleName, earlier: dict[str, Any]
                 ) -> AnalysisRequest:
    """The role's prompt over the base request's snapshot and the earlier roles' replies."""
    return replace(base, system=SYSTEMS[role], user=role_user(base.user, earlier),
                   template_version=template_version(role))


class RolesPipeline:
    """Runs the roles for one request; falls back to the single analyst on any failure."""

    def __init__(self, cfg: LlmConfig, caller: RoleCaller,
                 monotonic: Callable[[], float] = time.monotonic) -> None:
        self.cfg = cfg
        self.caller = caller
        self.monotonic = monotonic

    def run(self, request: AnalysisRequest, fallback: Callable[[], AnalysisOutcome]
            ) -> AnalysisOutcome:
        """The roles' answer, or ``fallback()``'s when a role fails."""
        deadline = self.monotonic() + self.cfg.roles.deadline_s
        replies: dict[RoleName, Any] = {}
        earlier: dict[str, Any] = {}
        spent = 0.0
        warnings: tuple[str, ...] = ()
        call_ids: list[int] = []
        for role in ROLE_ORDER:
            if role is RoleName.RISK:
                earlier["draft"] = self._draft(replies).model_dump(mode="json")
            answer = self._ask(role, request, earlier, deadline - self.monotonic())
            spent += answer.cost_usd
            warnings += answer.warnings
            if answer.reply is None or answer.status not in ANSWERED:
                logger.warning("LLM role %s %s (%s): the single analyst answers", role.value,
                               answer.status.value, answer.error[:200])
                outcome = fallback()
                return replace(outcome, cost_usd=outcome.cost_usd + spent,
                               warnings=warnings + outcome.warnings)
            replies[role] = answer.reply
            earlier[role.value] = answer.reply.model_dump(mode="json")
            call_ids.append(answer.call_id)
        final = self._final(replies)
        call_id = self.caller.conclude(request, final, call_ids)
        return AnalysisOutcome(call_id, request.trigger, CallStatus.OK, final, spent, "",
                               warnings)

    def _ask(self, role: RoleName, base: AnalysisRequest, earlier: dict[str, Any],
             left_s: float) -> RoleAnswer:
        if left_s < MIN_ATTEMPT_S:
            return RoleAnswer(None, 0, CallStatus.TIMEOUT, 0.0,
                              f"roles deadline of {self.cfg.roles.deadline_s:g} s passed")
        settings = getattr(self.cfg.roles, role.value)
        cfg = self.cfg.model_copy(update={"max_output_tokens": settings.max_output_tokens,
                                          "timeout_s": left_s})
        call = RoleCall(role, role_request(base, role, earlier), cfg, settings.route,
                        reply_type(role))
        try:
            return self.caller.call(call)
        except Exception as exc:  # a caller bug must still give the single analyst's answer
            logger.exception("LLM role %s raised", role.value)
            return RoleAnswer(None, 0, CallStatus.ERROR, 0.0, f"{type(exc).__name__}: {exc}")

    @staticmethod
    def _draft(replies: dict[RoleName, Any]) -> LlmReply:
        market, memory = replies[RoleName.MARKET], replies[RoleName.MEMORY]
        bull, bear = replies[RoleName.BULL], replies[RoleName.BEAR]
        if not (isinstance(market, AnalystView) and isinstance(memory, AnalystView)
                and isinstance(bull, CaseReply) and isinstance(bear, CaseReply)):
            raise TypeError("role replies of the wrong type")
        return draft(market.reply, memory.reply, bull, bear)

    def _final(self, replies: dict[RoleName, Any]) -> LlmReply:
        review = replies[RoleName.RISK]
        if not isinstance(review, ReviewReply):
            raise TypeError("the risk reviewer's reply is not a review")
        return reviewed(self._draft(replies), review)
