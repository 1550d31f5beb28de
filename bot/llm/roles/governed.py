"""The live roles caller: each role is a governed analysis (``bot.llm.analyst.Analyst``).

Every HTTP attempt of every role is reserved against the day's call quota and dollar limit
before it is made and logged in ``llm_calls`` with the role's template version and route, the
same way the single analyst's attempts are. Their combined answer is one more row (status
``cached``: no HTTP request, no cost, no quota; model ``roles``) with the final bias: the
call id the bias in force, the gate's answer and a journal replay name. A role naming an
``llm.routes`` entry is answered by that route's model (a fine-tuned one only once its
evaluation passed, as for any route).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime

from bot.core.llm_reply import LlmReply
from bot.llm.analyst import AnalysisOutcome, AnalysisRequest, Analyst, ReplyType, prompt_hash
from bot.llm.roles.pipeline import RoleAnswer, RoleCall, RolesPipeline
from bot.llm.roles.spec import ROLES_MODEL, roles_version
from bot.llm.routing import ProviderRouter
from shared.config.settings import LlmConfig
from shared.persistence import llm_store
from shared.persistence.db import write_transaction


def role_config(cfg: LlmConfig, route_name: str) -> LlmConfig:
    """``cfg`` whose routing sends every moment to the route ``route_name`` names ('' keeps
    the configured routes: the trigger's route answers)."""
    if not route_name:
        return cfg
    named = [r.model_copy(update={"volatility": [], "triggers": []})
             for r in cfg.routes if r.name == route_name]
    return cfg.model_copy(update={"routes": named})


class GovernedCaller:
    """Makes each role's call as a governed analysis through the router's providers."""

    def __init__(self, conn: sqlite3.Connection, cfg: LlmConfig, router: ProviderRouter,
                 wall_clock: Callable[[], datetime], pause: Callable[[float], bool],
                 approved: Callable[[str], bool] | None = None) -> None:
        self.conn = conn
        self.router_cfg = cfg
        self.router = router
        self.wall_clock = wall_clock
        self.pause = pause
        self.approved = approved

    def call(self, call: RoleCall) -> RoleAnswer:
        """One governed analysis of the role's prompt."""
        cfg = role_config(call.cfg, call.route_name)
        request = call.request
        choice, provider = self.router.route(cfg, request.volatility,
                                             request.trigger.kind.value, self.approved)
        analyst = Analyst(self.conn, call.cfg, provider, self.wall_clock, self.pause,
                          ReplyType(call.reply_type.schema, call.reply_type.parse))
        outcome = analyst.analyze(replace(request, route=choice.name))
        return RoleAnswer(outcome.reply, outcome.call_id, outcome.status, outcome.cost_usd,
                          outcome.error, outcome.warnings)

    def conclude(self, request: AnalysisRequest, final: LlmReply, call_ids: list[int]) -> int:
        """Log the combined answer as its own call-log row (no HTTP, no cost, no quota): the
        row the bias in force and a journal replay name."""
        now = self.wall_clock()
        cfg = self.router_cfg
        call = llm_store.CallRequest(
            created_at=now, day=now.date().isoformat(), trigger=request.trigger.kind.value,
            trigger_json=llm_store.trigger_detail(request.trigger.payload),
            command_id=request.trigger.command_id, provider=cfg.provider, model=ROLES_MODEL,
            template_version=roles_version(), prompt_hash=prompt_hash(
                cfg.provider, ROLES_MODEL, request.system, request.user),
            system_prompt=request.system, prompt=request.user, mode=cfg.mode,
            route=request.route)
        ids = ", ".join(str(i) for i in call_ids)
        reply = llm_store.DerivedReply(
            final.bias.value, final.confidence, final.action.value,
            json.dumps(final.model_dump(mode="json"), sort_keys=True),
            f"the analyst roles' answer (calls {ids})")
        with write_transaction(self.conn):
            return llm_store.log_derived_reply(self.conn, call, reply, self.wall_clock())


def analyze_with_roles(conn: sqlite3.Connection, cfg: LlmConfig, router: ProviderRouter,
                       request: AnalysisRequest, single: Analyst,
                       approved: Callable[[str], bool] | None = None) -> AnalysisOutcome:
    """The roles' answer to ``request``, else ``single``'s (the analyst without roles)."""
    caller = GovernedCaller(conn, cfg, router, single.wall_clock, single.pause, approved)
    return RolesPipeline(cfg, caller).run(request, lambda: single.analyze(request))
