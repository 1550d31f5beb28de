"""The analyst roles (llm.roles) against the fake Bedrock on loopback, with the real boto3.

Order, per-role budgets (the ``maxTokens`` the fake receives), every HTTP attempt governed
(requests the fake saw = governed reservations), one deadline for the whole pipeline, the
single analyst's answer when a role fails, and the reviewer never raising confidence.
"""

from __future__ import annotations

import time
from dataclasses import replace
from datetime import UTC, datetime
from urllib.parse import unquote

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bot.core.llm_reply import LlmReply, ReplyAction, ReplyBias
from bot.llm.analyst import AnalysisOutcome, Analyst
from bot.llm.bedrock import BedrockProvider
from bot.llm.roles.governed import analyze_with_roles
from bot.llm.roles.pipeline import RoleAnswer, RoleCall, RolesPipeline
from bot.llm.roles.spec import (
    ROLE_ORDER,
    AnalystView,
    CaseReply,
    RoleName,
    reply_type,
    roles_version,
    template_version,
)
from bot.llm.roles.verdict import draft, reviewed
from bot.llm.routing import ProviderRouter
from bot.llm.types import CallStatus
from bot.llm.worker import LlmWorker
from shared.config.settings import parse_config_text
from shared.domain.errors import ConfigError
from shared.persistence import learning_queries, llm_backtest_store, llm_store
from shared.persistence.db import connect
from tests.bot.llm.conftest import llm_config, request, wall_clock
from tests.bot.llm.roles_fake import REPLIES, SINGLE, by_role, max_tokens, role_of
from tests.fakellm.server import FakeLlmServer, Step, garbage, throttled
from tests.support import migrated_journal, wait_for

pytestmark = pytest.mark.unit

BUDGETS = {"market": 410, "memory": 320, "bull": 230, "bear": 240, "risk": 150}
ORDER = [role.value for role in ROLE_ORDER]


def roles_config(url: str, **roles) -> object:
    section = {"enabled": True, **{name: {"max_output_tokens": tokens}
                                   for name, tokens in BUDGETS.items()}, **roles}
    return llm_config(provider="bedrock", bedrock_endpoint_url=url, max_output_tokens=600,
                      roles=section)


def run_roles(conn, cfg):
    router = ProviderRouter(BedrockProvider)
    single = Analyst(conn, cfg, router.provider(cfg, cfg.bedrock_model), wall_clock)
    return analyze_with_roles(conn, cfg, router, request(), single)


def posts(fake: FakeLlmServer) -> list[dict]:
    return [r for r in fake.requests if r["method"] == "POST"]


def test_the_worker_asks_each_role_in_order_within_its_budget_and_governs_every_attempt(
        tmp_path):
    db = tmp_path / "t.db"
    migrated_journal(db)
    with FakeLlmServer(responder=by_role()) as fake:
        fake.push(Step(payload=REPLIES["market"]), Step(payload=REPLIES["memory"]),
                  throttled())  # the bull's first attempt: retried, and governed too
        cfg = roles_config(fake.url)
        worker = LlmWorker(db, cfg, lambda: datetime.now(UTC), BedrockProvider)
        worker.start()
        done: list = []
        try:
            assert worker.submit(request())
            wait_for(lambda: done.extend(worker.results()) or done, 20, "the roles' answer")
        finally:
            worker.stop(timeout_s=0.1)
        sent = posts(fake)
    roles = [role_of(r) for r in sent]
    assert roles == ["market", "memory", "bull", "bull", "bear", "risk"]
    assert [max_tokens(r) for r in sent] == [BUDGETS[role] for role in roles]
    conn = connect(db, readonly=True)
    assert llm_store.governed_attempts(conn) == {"rows": 6, "daily_calls": 6}
    calls = list(reversed(llm_store.recent_calls(conn)))
    assert [c.template_version for c in calls] == [
        template_version(RoleName(role)) for role in roles] + [roles_version()]
    (outcome,) = done
    assert outcome.status is CallStatus.OK
    # (0.9 + 0.6 + (0.8 - 0.2)) / 3 = 0.70 BULLISH; the reviewer kept it
    assert (outcome.reply.bias, outcome.reply.confidence) == (ReplyBias.BULLISH, 0.7)
    assert outcome.cost_usd > 0
    final = calls[-1]  # the combined answer: its own row, no HTTP request, no cost
    assert (final.call_id, final.status, final.model, final.cost_usd) == (
        outcome.call_id, "cached", "roles", 0.0)
    assert [c.bias for c in calls] == [None] * 6 + ["BULLISH"]  # a role's view is no bias
    # what a journal replay of this live run puts in force: the combined answer only
    replies = llm_backtest_store.journal_replies(
        conn, datetime(2000, 1, 1, tzinfo=UTC), datetime(2100, 1, 1, tzinfo=UTC))
    assert [(r.call_id, r.bias, r.confidence) for r in replies] == [
        (outcome.call_id, "BULLISH", 0.7)]
    # the training export's market calls: the combined answer, not the roles' own calls
    exported = learning_queries.market_calls(conn, datetime(2000, 1, 1, tzinfo=UTC))
    assert [c.call_id for c in exported] == [outcome.call_id]


@pytest.mark.parametrize(("failing", "step"), [
    ("market", Step(error_type="AccessDeniedException", kind="error", http_status=403)),
    ("bear", garbage()),
    ("risk", Step(payload={"verdict": "raise", "confidence": 1.0}))])
def test_a_failing_role_gives_the_single_analyst_answer(conn, failing, step):
    with FakeLlmServer(responder=by_role({failing: step})) as fake:
        cfg = roles_config(fake.url)
        outcome = run_roles(conn, cfg)
        sent = posts(fake)
    roles = [role_of(r) for r in sent]
    assert roles == ORDER[:ORDER.index(failing) + 1] + [SINGLE]
    assert outcome.status is CallStatus.OK
    assert outcome.reply == LlmReply.model_validate(REPLIES[SINGLE])
    assert max_tokens(sent[-1]) == 600  # the single analyst keeps its own budget
    assert llm_store.governed_attempts(conn)["rows"] == len(sent)


def test_the_whole_pipeline_has_one_deadline(conn):
    """Each role may take only what is left of roles.deadline_s (not llm.timeout_s each):
    the memory analyst hangs, is cut at the pipeline's deadline, the later roles are never
    asked and the single analyst answers."""
    hang = Step(payload=REPLIES["memory"], delay_s=60)
    with FakeLlmServer(responder=by_role({"memory": hang})) as fake:
        cfg = roles_config(fake.url, deadline_s=5.0).model_copy(
            update={"timeout_s": 40.0, "read_timeout_s": 50.0})
        started = time.monotonic()
        outcome = run_roles(conn, cfg)
        elapsed_s = time.monotonic() - started
        roles = [role_of(r) for r in posts(fake)]
    assert roles == ["market", "memory", SINGLE]
    assert outcome.reply == LlmReply.model_validate(REPLIES[SINGLE])
    assert elapsed_s < 30, "a role waited for its own timeout_s (40 s) instead of the deadline"
    statuses = [c.status for c in reversed(llm_store.recent_calls(conn))]
    assert statuses == ["ok", "timeout", "ok"]


class ScriptedCaller:
    """Answers each role at once from REPLIES while a fake clock moves ``step_s`` per call."""

    def __init__(self, clock: list[float], step_s: float) -> None:
        self.clock = clock
        self.step_s = step_s
        self.calls: list[RoleCall] = []

    def call(self, call: RoleCall) -> RoleAnswer:
        self.calls.append(call)
        self.clock[0] += self.step_s
        reply, _ = call.reply_type.parse(REPLIES[call.role.value])
        return RoleAnswer(reply, len(self.calls), CallStatus.OK, 0.01)

    def conclude(self, request, final, call_ids) -> int:
        self.concluded = (final, call_ids)
        return 100


def test_each_role_gets_only_the_time_left_and_none_starts_past_the_deadline():
    clock = [100.0]
    cfg = llm_config(timeout_s=30.0, roles={"enabled": True, "deadline_s": 10.0})
    caller = ScriptedCaller(clock, 3.0)
    fallback_calls = []

    single = AnalysisOutcome(9, request().trigger, CallStatus.OK,
                             LlmReply.model_validate(REPLIES[SINGLE]), 0.02, "")

    def fallback():
        fallback_calls.append(1)
        return single

    result = RolesPipeline(cfg, caller, lambda: clock[0]).run(request(), fallback)
    assert [c.role.value for c in caller.calls] == ["market", "memory", "bull", "bear"]
    assert [c.cfg.timeout_s for c in caller.calls] == [10.0, 7.0, 4.0, 1.0]
    assert fallback_calls == [1]  # the reviewer had no time left: the single analyst answers
    assert result == replace(single, cost_usd=pytest.approx(0.06))


def test_a_pipeline_in_time_gives_the_reviewed_draft_and_its_cost():
    clock = [0.0]
    cfg = llm_config(roles={"enabled": True, "deadline_s": 60.0})
    caller = ScriptedCaller(clock, 1.0)
    outcome = RolesPipeline(cfg, caller, lambda: clock[0]).run(request(), lambda: None)
    assert [c.role for c in caller.calls] == list(ROLE_ORDER)
    assert outcome.call_id == 100 and outcome.cost_usd == pytest.approx(0.05)
    assert caller.concluded == (outcome.reply, [1, 2, 3, 4, 5])
    review_prompt = caller.calls[-1].request.user
    assert '"draft": {' in review_prompt and '"bull": {"argument"' in review_prompt


DRAFTS = st.builds(
    LlmReply, bias=st.sampled_from(list(ReplyBias)),
    confidence=st.floats(0, 1), action=st.sampled_from(list(ReplyAction)))
CASES = st.builds(CaseReply, confidence=st.floats(0, 1))
JSONISH = st.recursive(
    st.none() | st.booleans() | st.floats(allow_nan=True, allow_infinity=True)
    | st.integers(-10**6, 10**6) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner,
                                                                 max_size=3), max_leaves=8)
EXTRAS = {"bias": st.sampled_from(["BULLISH", "BEARISH"]), "action": st.just("BUY"),
          "qty": st.integers(-5, 50), "size": st.integers(0, 50), "stop": st.floats(),
          "reason": st.text(max_size=50) | JSONISH}
VALIDATING = st.fixed_dictionaries(  # replies that pass the schema: the clamp must hold
    {"verdict": st.sampled_from(["keep", "LOWER", " veto ", "Keep", "lower"])},
    optional={"confidence": st.floats(-1e9, 1e9) | st.integers(-500, 500)
              | st.sampled_from(["99", "1e9", "-3", "0.5", "100"]), **EXTRAS})
HOSTILE = VALIDATING | st.fixed_dictionaries(
    {}, optional={
        "verdict": st.sampled_from(["raise", "boost", "", "size_up"]) | JSONISH,
        "confidence": st.floats(allow_nan=True, allow_infinity=True) | JSONISH,
        **EXTRAS}) | JSONISH


class HostileCaller:
    """Gives the panel's roles the drawn replies and the reviewer a hostile JSON reply,
    through the reviewer's real validator (as a reply from the wire would be)."""

    def __init__(self, replies: dict[RoleName, object], hostile: object) -> None:
        self.replies = replies
        self.hostile = hostile

    def call(self, call: RoleCall) -> RoleAnswer:
        if call.role is RoleName.RISK:
            review, problem = call.reply_type.parse(self.hostile)
            status = CallStatus.OK if review is not None else CallStatus.PARSE_ERROR
            return RoleAnswer(review, 5, status, 0.0, problem)
        reply = self.replies[call.role]
        if isinstance(reply, LlmReply):
            reply = AnalystView(reply)
        return RoleAnswer(reply, 1, CallStatus.OK, 0.0)

    def conclude(self, request, final, call_ids) -> int:
        return 7


SINGLE_OUTCOME = AnalysisOutcome(99, request().trigger, CallStatus.OK,
                                 LlmReply.model_validate(REPLIES[SINGLE]), 0.0, "")


@settings(max_examples=200, deadline=None)
@given(market=DRAFTS, memory=DRAFTS, bull=CASES, bear=CASES, hostile=HOSTILE)
def test_the_risk_reviewer_can_only_lower_confidence_or_veto(market, memory, bull, bear,
                                                             hostile):
    """Whatever the reviewer answers, the panel's answer is its draft kept, lowered or vetoed
    (never more confident, never another side, no size, stop or target), or, for a reply that
    does not validate, the single analyst's answer."""
    replies = {RoleName.MARKET: market, RoleName.MEMORY: memory, RoleName.BULL: bull,
               RoleName.BEAR: bear}
    panel = draft(market, memory, bull, bear)
    outcome = RolesPipeline(llm_config(roles={"enabled": True}),
                            HostileCaller(replies, hostile)).run(request(),
                                                                 lambda: SINGLE_OUTCOME)
    if outcome.call_id == SINGLE_OUTCOME.call_id:
        assert reply_type(RoleName.RISK).parse(hostile)[0] is None
        return
    final = outcome.reply
    assert final.confidence <= panel.confidence
    assert final.bias in (panel.bias, ReplyBias.NEUTRAL)
    assert final.action in (panel.action, ReplyAction.HOLD)
    assert set(final.model_dump()) == set(LlmReply.model_fields)  # no size, stop or target


def test_hostile_reviews_that_validate_still_cannot_raise_or_flip():
    panel = draft(LlmReply.model_validate(REPLIES["market"]),
                  LlmReply.model_validate(REPLIES["memory"]),
                  CaseReply.model_validate(REPLIES["bull"]),
                  CaseReply.model_validate(REPLIES["bear"]))
    for hostile in ({"verdict": "LOWER", "confidence": 99, "bias": "BEARISH", "qty": 10},
                    {"verdict": "keep", "confidence": 1.0, "stop": 4000, "size": 50},
                    {"verdict": " Veto ", "confidence": 1.0, "action": "BUY"}):
        review, problem = reply_type(RoleName.RISK).parse(hostile)
        assert review is not None, problem
        final = reviewed(panel, review)
        assert final.confidence <= panel.confidence
        assert final.bias in (panel.bias, ReplyBias.NEUTRAL)


def test_a_role_is_answered_by_the_route_it_names_and_logged_under_it(conn):
    with FakeLlmServer(responder=by_role()) as fake:
        cfg = llm_config(provider="bedrock", bedrock_endpoint_url=fake.url,
                         bedrock_model="main-model",
                         routes=[{"name": "cheap", "model": "cheap-model",
                                  "triggers": ["news"]}],  # its filters do not bind a role
                         roles={"enabled": True, "risk": {"route": "cheap"}})
        outcome = run_roles(conn, cfg)
        paths = [unquote(r["path"]) for r in posts(fake)]
    assert outcome.status is CallStatus.OK
    assert ["/model/cheap-model/" in p for p in paths] == [False] * 4 + [True]
    calls = list(reversed(llm_store.recent_calls(conn)))[:-1]  # the roles' rows
    assert [(c.route, c.model) for c in calls][-2:] == [("default", "main-model"),
                                                        ("cheap", "cheap-model")]


def test_a_role_naming_no_route_is_a_clear_config_error():
    with pytest.raises(ConfigError, match=r"roles\.bear\.route 'fast' is not the name of an "
                                          r"llm\.routes entry"):
        parse_config_text("llm:\n  roles:\n    bear:\n      route: fast\n", env={})


def _mirror(reply: LlmReply) -> LlmReply:
    flip = {ReplyBias.BULLISH: ReplyBias.BEARISH, ReplyBias.BEARISH: ReplyBias.BULLISH,
            ReplyBias.NEUTRAL: ReplyBias.NEUTRAL}
    return reply.model_copy(update={"bias": flip[reply.bias]})



@settings(max_examples=150, deadline=None)
@given(market=DRAFTS, memory=DRAFTS, bull=CASES, bear=CASES)
def test_the_draft_takes_no_side_mirrored_evidence_gives_the_mirrored_answer(
        market, memory, bull, bear):
    """The synthesis is symmetric: swap the bull and the bear and flip both analysts, and the
    draft flips (same confidence), so the panel cannot drift to one side on its own."""
    up = draft(market, memory, bull, bear)
    down = draft(_mirror(market), _mirror(memory), bear, bull)
    assert down.bias == _mirror(up).bias
    assert down.confidence == pytest.approx(up.confidence, abs=1e-9)


def test_the_quota_binds_every_role_and_its_warning_reaches_the_outcome(conn):
    """A day's quota of 4 calls: the four first roles take it (the third one crosses the 75%
    warning), the reviewer and then the single analyst are refused before any request."""
    with FakeLlmServer(responder=by_role()) as fake:
        cfg = roles_config(fake.url).model_copy(update={"daily_call_quota": 4,
                                                        "warn_fraction": 0.75})
        outcome = run_roles(conn, cfg)
        roles = [role_of(r) for r in posts(fake)]
    assert roles == ["market", "memory", "bull", "bear"]
    assert outcome.status is CallStatus.REFUSED and outcome.reply is None
    assert llm_store.governed_attempts(conn) == {"rows": 4, "daily_calls": 4}
    assert any("75% warning" in w for w in outcome.warnings)
