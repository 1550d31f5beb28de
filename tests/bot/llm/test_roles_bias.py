"""The debate-bias measure in-process (no HTTP): the roles pipeline over a balanced market
(mirrored snapshots built by the real context builder) with the evidence-reading fake model
(tests/fakellm/evidence.py, deterministic, not a language model). Its BULLISH share of
directional answers is 50% exactly; a bull leaning toward its side moves it up, so the
measure sees a drift (docs/llm-roles.md gives the HTTP benchmark's figures)."""

from __future__ import annotations

import pytest

from bot.llm.analyst import AnalysisOutcome
from bot.llm.roles.pipeline import RoleAnswer, RoleCall, RolesPipeline
from bot.llm.roles.spec import RoleName
from bot.llm.types import CallStatus
from tests.bot.llm.conftest import llm_config
from tests.fakellm.evidence import balanced_requests, role_reply

pytestmark = pytest.mark.unit


class EvidenceCaller:
    """Each role answered by the evidence model; the bull's rating raised by ``optimism``."""

    def __init__(self, optimism: float = 0.0) -> None:
        self.optimism = optimism

    def call(self, call: RoleCall) -> RoleAnswer:
        payload = role_reply(call.request.system, call.request.user)
        if call.role is RoleName.BULL:
            payload["confidence"] = min(1.0, payload["confidence"] + self.optimism)
        reply, problem = call.reply_type.parse(payload)
        return RoleAnswer(reply, 1, CallStatus.OK if reply else CallStatus.PARSE_ERROR, 0.0,
                          problem)

    def conclude(self, request, final, call_ids) -> int:
        return 0


def bullish_share(optimism: float, pairs: int = 40) -> tuple[int, int]:
    pipeline = RolesPipeline(llm_config(roles={"enabled": True}), EvidenceCaller(optimism))
    answers = []
    for request in balanced_requests(pairs):
        def failed() -> AnalysisOutcome:
            raise AssertionError("no role may fail here")
        answers.append(pipeline.run(request, failed).reply)
    directional = [a for a in answers if a.bias.value != "NEUTRAL"]
    return sum(a.bias.value == "BULLISH" for a in directional), len(directional)


def test_on_a_balanced_market_half_the_directional_answers_are_bullish():
    bullish, directional = bullish_share(0.0)
    assert directional >= 20 and bullish * 2 == directional


def test_a_bull_leaning_to_its_side_shows_as_a_drift_up():
    bullish, directional = bullish_share(0.4)
    assert bullish / directional >= 0.7
