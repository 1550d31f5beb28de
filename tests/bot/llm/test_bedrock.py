"""The real boto3 client against a fake Bedrock endpoint on loopback, through the analyst."""

from __future__ import annotations

import threading
import time

import pytest

from bot.llm.bedrock import TOOL_NAME, BedrockProvider
from bot.llm.cost import cost_usd, price_for
from bot.llm.types import CallStatus, Usage
from shared.persistence import llm_store
from tests.bot.llm.conftest import analyst, llm_config, request
from tests.fakellm.server import (
    FakeLlmServer,
    Step,
    access_denied,
    garbage,
    server_error,
    throttled,
)
from tests.fakellm.trickle import TricklingServer
from tests.support import wait_for

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"


@pytest.fixture
def fake():
    with FakeLlmServer() as server:
        yield server


def bedrock(fake: FakeLlmServer, **overrides):
    cfg = llm_config(provider="bedrock", bedrock_model=MODEL, bedrock_endpoint_url=fake.url,
                     **overrides)
    return cfg, BedrockProvider(cfg)


def only_call(conn) -> llm_store.LlmCallRow:
    calls = llm_store.recent_calls(conn)
    assert len(calls) == 1
    return calls[0]


def test_success_is_logged_with_tokens_cost_latency_and_bias(conn, fake):
    cfg, provider = bedrock(fake)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.OK
    assert outcome.reply is not None and outcome.reply.bias.value == "BULLISH"
    row = only_call(conn)
    expected = cost_usd(Usage(1200, 150), price_for(MODEL, cfg, "bedrock"), MODEL)
    assert (row.status, row.input_tokens, row.output_tokens) == ("ok", 1200, 150)
    assert row.cost_usd == pytest.approx(expected) and row.cost_usd > 0
    assert row.latency_ms == 42 and row.bias == "BULLISH" and row.confidence == 0.8
    assert row.model == MODEL and "Notes: check the open" in row.prompt
    usage = llm_store.daily_usage(conn, row.day)
    assert usage.calls == 1 and usage.cost_usd == pytest.approx(expected)
    assert "AKIA" not in str(row) and "test" not in row.response


def test_request_is_a_signed_converse_with_a_forced_tool(conn, fake):
    cfg, provider = bedrock(fake)
    analyst(conn, cfg, provider).analyze(request())
    sent = fake.requests[0]
    assert sent["path"] == "/model/us.anthropic.claude-haiku-4-5-20251001-v1%3A0/converse"
    assert sent["headers"]["Authorization"].startswith("AWS4-HMAC-SHA256")
    tool_config = sent["body"]["toolConfig"]
    assert tool_config["toolChoice"] == {"tool": {"name": TOOL_NAME}}
    schema = tool_config["tools"][0]["toolSpec"]["inputSchema"]["json"]
    assert set(schema["required"]) >= {"bias", "confidence", "action"}
    assert sent["body"]["inferenceConfig"]["maxTokens"] == cfg.max_output_tokens


def test_forced_tool_json_out_of_range_is_clamped(conn, fake):
    fake.push(Step(payload={"bias": "bearish", "confidence": 7.5e9, "action": "sell",
                            "rationale": "x" * 5000, "key_factors": "one", "risk_notes": ""}))
    cfg, provider = bedrock(fake)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.OK and outcome.reply is not None
    assert outcome.reply.confidence == 1.0 and outcome.reply.bias.value == "BEARISH"
    assert len(outcome.reply.rationale) == 1000 and outcome.reply.key_factors == ("one",)


@pytest.mark.parametrize("step", [
    Step(payload={"bias": "SIDEWAYS", "confidence": 0.5}),
    Step(payload={"confidence": "high"}),
    Step(kind="text", payload="I think the market goes up {not json"),
], ids=["unknown-bias", "bad-confidence", "prose"])
def test_malformed_reply_is_a_parse_error_with_no_bias(conn, fake, step):
    fake.push(step)
    cfg, provider = bedrock(fake)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.PARSE_ERROR and outcome.reply is None
    row = only_call(conn)
    assert row.status == "parse_error" and row.bias is None and row.error
    assert row.cost_usd > 0, "a parse error is still a paid call"


def test_text_reply_with_json_is_accepted(conn, fake):
    fake.push(Step(kind="text", payload='Here: ```json\n{"bias": "NEUTRAL", "confidence": 0.4,'
                                        ' "action": "HOLD"}\n```'))
    cfg, provider = bedrock(fake)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.OK and outcome.reply.bias.value == "NEUTRAL"


def test_max_tokens_stop_is_a_parse_error(conn, fake):
    fake.push(Step(stop_reason="max_tokens", payload={"bias": "BULLISH", "confidence": 0.9}))
    cfg, provider = bedrock(fake)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.PARSE_ERROR and outcome.reply is None
    assert only_call(conn).stop_reason == "max_tokens"


def attempts(conn) -> list[tuple[str, int]]:
    """(status, retry_attempts) of every logged row, oldest first."""
    return [(r.status, r.retry_attempts) for r in reversed(llm_store.recent_calls(conn))]


def governed(conn) -> int:
    """Governed attempts; the call log and ``llm_daily`` must agree on it."""
    counts = llm_store.governed_attempts(conn)
    assert counts["rows"] == counts["daily_calls"]
    return counts["rows"]


@pytest.mark.parametrize("step", [throttled(), server_error(), Step(delay_s=1.0)],
                         ids=["throttled", "server-error", "read-timeout"])
def test_botocore_makes_exactly_one_request_per_attempt(monkeypatch, fake, step):
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "5")  # the SDK's own knobs cannot add retries
    monkeypatch.setenv("AWS_RETRY_MODE", "legacy")
    fake.push(step)
    _, provider = bedrock(fake, read_timeout_s=0.3)
    result = provider.complete_json("system", "user", {"type": "object"})
    assert result.retryable and result.status is not CallStatus.OK
    assert fake.count("/converse") == 1


def test_throttling_is_retried_and_every_attempt_is_governed(conn, fake):
    fake.push(throttled())
    cfg, provider = bedrock(fake)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.OK
    assert fake.count("/converse") == 2 == governed(conn)
    assert attempts(conn) == [("throttled", 0), ("ok", 1)]
    throttled_row = llm_store.recent_calls(conn)[1]
    assert throttled_row.cost_usd == 0 and throttled_row.reserved_usd > 0


def test_throttling_past_the_attempts_is_logged_throttled(conn, fake):
    fake.push(throttled(), throttled())
    cfg, provider = bedrock(fake, max_attempts=2)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.THROTTLED
    assert fake.count("/converse") == 2 == governed(conn)
    assert attempts(conn) == [("throttled", 0), ("throttled", 1)]
    assert all(r.cost_usd == 0 for r in llm_store.recent_calls(conn))


def test_server_error_is_retried_then_logged_as_error(conn, fake):
    fake.push(server_error(), server_error())
    cfg, provider = bedrock(fake, max_attempts=2)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.ERROR and "InternalServerException" in outcome.error
    assert fake.count("/converse") == 2 == governed(conn)
    assert attempts(conn) == [("error", 0), ("error", 1)]


def test_read_timeouts_are_retried_and_keep_their_reservation(conn, fake):
    fake.push(Step(delay_s=1.0), Step(delay_s=1.0))
    cfg, provider = bedrock(fake, read_timeout_s=0.3, max_attempts=2)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.TIMEOUT and "ReadTimeout" in outcome.error
    assert fake.count("/converse") == 2 == governed(conn)
    rows = llm_store.recent_calls(conn)
    assert all(r.cost_usd == r.reserved_usd > 0 for r in rows), "a timeout may be billed"


def test_access_denied_is_not_retried(conn, fake):
    fake.push(access_denied())
    cfg, provider = bedrock(fake)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.ERROR and "AccessDeniedException" in outcome.error
    assert fake.count("/converse") == 1 == governed(conn)


def test_a_garbage_body_is_a_parse_error_not_retried_and_kept_as_spent(conn, fake):
    fake.push(garbage())
    cfg, provider = bedrock(fake)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.PARSE_ERROR and "unreadable reply" in outcome.error
    assert fake.count("/converse") == 1 == governed(conn)
    row = only_call(conn)
    assert row.status == "parse_error" and row.cost_usd == row.reserved_usd > 0


@pytest.mark.parametrize("body", [b"[1, 2]", b'{"output": 5}', b"",
                                  b'{"output": {"message": {"content": [{"text": 5}]}}}'],
                         ids=["array", "wrong-type", "empty", "number-text"])
def test_replies_of_the_wrong_shape_are_parse_errors(conn, fake, body):
    fake.push(garbage(body))
    cfg, provider = bedrock(fake)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.PARSE_ERROR and outcome.reply is None
    assert only_call(conn).status == "parse_error"


def test_a_retry_is_refused_once_the_quota_is_used(conn, fake):
    fake.push(throttled())
    cfg, provider = bedrock(fake, daily_call_quota=1)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.REFUSED and "quota" in outcome.error
    assert fake.count("/converse") == 1 == governed(conn)
    assert attempts(conn) == [("throttled", 0), ("refused", 0)]


def test_a_retry_is_refused_when_its_reservation_passes_the_dollar_limit(conn, fake):
    cfg, provider = bedrock(fake)
    first = analyst(conn, cfg, provider).analyze(request("probe"))
    reserved = llm_store.recent_calls(conn)[0].reserved_usd
    fake.push(Step(delay_s=1.0))  # a read timeout keeps its reservation: it may be billed
    cfg, provider = bedrock(fake, daily_cost_limit_usd=first.cost_usd + reserved * 1.5,
                            read_timeout_s=0.3)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.REFUSED and "cost limit" in outcome.error
    assert fake.count("/converse") == 2 == governed(conn)
    assert attempts(conn) == [("ok", 0), ("timeout", 0), ("refused", 0)]


def test_connection_refused_is_one_governed_attempt_at_no_cost(conn):
    with FakeLlmServer() as closed:
        url = closed.url  # nothing listens there once the server is closed
    cfg = llm_config(provider="bedrock", bedrock_model=MODEL, bedrock_endpoint_url=url)
    outcome = analyst(conn, cfg, BedrockProvider(cfg)).analyze(request())
    assert outcome.status is CallStatus.ERROR and "EndpointConnectionError" in outcome.error
    row = only_call(conn)
    assert governed(conn) == 1 and row.cost_usd == 0


def test_deadline_holds_against_a_hung_endpoint(conn, fake):
    fake.push(Step(delay_s=4.0))
    cfg, provider = bedrock(fake, timeout_s=0.5, read_timeout_s=10.0)
    started = time.monotonic()
    outcome = analyst(conn, cfg, provider).analyze(request())
    elapsed_s = time.monotonic() - started
    assert outcome.status is CallStatus.TIMEOUT and elapsed_s < 1.5
    row = only_call(conn)
    assert row.status == "timeout" and row.cost_usd == row.reserved_usd > 0


def test_read_timeout_inside_botocore_is_a_timeout(conn, fake):
    fake.push(Step(delay_s=2.0))
    cfg, provider = bedrock(fake, read_timeout_s=0.3, max_attempts=1)
    outcome = analyst(conn, cfg, provider).analyze(request())
    assert outcome.status is CallStatus.TIMEOUT and "ReadTimeout" in outcome.error
    assert fake.count("/converse") == 1 == governed(conn)


def test_missing_credentials_make_the_provider_unavailable(monkeypatch, fake):
    monkeypatch.delenv("AWS_ACCESS_KEY_ID")
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY")
    _, provider = bedrock(fake)
    available, reason = provider.availability()
    assert not available and "no AWS credentials" in reason


def test_identical_prompt_within_the_ttl_reuses_the_reply_at_no_cost(conn, fake):
    cfg, provider = bedrock(fake, reply_cache_minutes=10.0)
    first = analyst(conn, cfg, provider).analyze(request())
    second = analyst(conn, cfg, provider).analyze(request())
    assert first.status is CallStatus.OK and second.status is CallStatus.CACHED
    assert second.reply == first.reply and fake.count("/converse") == 1
    calls = llm_store.recent_calls(conn)
    assert calls[0].status == "cached" and calls[0].cost_usd == 0
    assert llm_store.daily_usage(conn, calls[0].day).calls == 1


def test_a_trickling_endpoint_leaks_no_thread_and_no_socket(conn):
    server = TricklingServer(interval_s=1.0)
    try:
        cfg = llm_config(provider="bedrock", bedrock_model=MODEL,
                         bedrock_endpoint_url=server.url, timeout_s=0.5, read_timeout_s=2.0,
                         max_attempts=1)
        provider = BedrockProvider(cfg)
        before = threading.active_count()
        for _ in range(3):
            outcome = analyst(conn, cfg, provider).analyze(request())
            assert outcome.status is CallStatus.TIMEOUT
        assert server.open_connections >= 1  # the calls are still reading in their threads
        # an earlier test's abandoned call (a hung server's) may still be ending: wait for it
        # too, rather than for as long as this server once took to notice closed sockets
        wait_for(lambda: threading.active_count() <= before and server.open_connections == 0
                 and not llm_call_threads(), 10,
                 "the abandoned calls to end and close their sockets")
        assert not llm_call_threads()
        result = provider.complete_json("system", "user", {"type": "object"})
        assert result.status is CallStatus.TIMEOUT and result.retryable
    finally:
        server.close()


def llm_call_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "llm-call"]
