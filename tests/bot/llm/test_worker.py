"""The worker thread: submitting never blocks, results arrive later, a full queue drops."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from urllib.parse import unquote

from bot.llm.bedrock import BedrockProvider
from bot.llm.types import CallStatus
from bot.llm.worker import QUEUE_SIZE, LlmWorker
from shared.persistence import llm_store
from shared.persistence.db import connect
from tests.bot.llm.conftest import llm_config, request
from tests.fakellm.server import FakeLlmServer, Step
from tests.support import migrated_journal, wait_for


def test_submit_returns_at_once_while_the_provider_takes_seconds(tmp_path):
    db = tmp_path / "t.db"
    migrated_journal(db)
    with FakeLlmServer(Step(delay_s=1.5)) as fake:
        cfg = llm_config(provider="bedrock", bedrock_endpoint_url=fake.url, timeout_s=5)
        worker = LlmWorker(db, cfg, lambda: datetime.now(UTC), BedrockProvider)
        worker.start()
        try:
            wait_for(lambda: worker.availability[0], 10, "the worker to start")
            accepted = [worker.submit(request(f"n{i}")) for i in range(QUEUE_SIZE + 3)]
            # every submit returned while the provider still holds the first call (how fast
            # they return is measured by benchmarks/bench_llm_loop.py, not asserted here)
            assert worker.results() == []
            assert accepted.count(False) >= 2
            first = wait_for(worker.results, 10, "the first result")
        finally:
            worker.stop(timeout_s=0.1)
    assert first[0].status is CallStatus.OK and first[0].reply.bias.value == "BULLISH"
    conn = connect(db, readonly=True)
    assert llm_store.recent_calls(conn)[-1].status == "ok"


class SteppedClock:
    """A wall clock the test moves by hand."""

    def __init__(self, start: datetime) -> None:
        self.at = start

    def __call__(self) -> datetime:
        return self.at


def test_a_request_older_than_the_queue_age_limit_is_discarded_unsent(tmp_path):
    db = tmp_path / "t.db"
    migrated_journal(db)
    clock = SteppedClock(datetime(2025, 3, 3, 15, tzinfo=UTC))
    with FakeLlmServer() as fake:
        cfg = llm_config(provider="bedrock", bedrock_endpoint_url=fake.url,
                         max_queue_age_seconds=60)
        worker = LlmWorker(db, cfg, clock, BedrockProvider)
        assert worker.submit(request("stale"))
        clock.at += timedelta(seconds=61)
        assert worker.submit(request("fresh"))
        worker.start()  # takes both only now: the first has waited 61 s
        done: list = []
        try:
            wait_for(lambda: done.extend(worker.results()) or len(done) == 2, 10, "two results")
        finally:
            worker.stop(timeout_s=0.1)
        sent = fake.count("/converse")
    assert [o.status for o in done] == [CallStatus.EXPIRED, CallStatus.OK]
    assert "max_queue_age_seconds" in done[0].error and done[0].cost_usd == 0
    conn = connect(db, readonly=True)
    expired, ok = reversed(llm_store.recent_calls(conn))
    assert (expired.status, expired.reserved_usd, expired.cost_usd) == ("expired", 0, 0)
    assert "Notes: stale" in expired.prompt and "Notes: fresh" in ok.prompt
    assert sent == 1 == llm_store.governed_attempts(conn)["daily_calls"]


def test_the_live_worker_routes_each_request_by_its_volatility(tmp_path):
    """llm.routes in the live worker: a high-volatility request goes to the routed model's
    URL and is logged with its route; a calm one stays on the default model."""
    db = tmp_path / "t.db"
    migrated_journal(db)
    with FakeLlmServer() as fake:
        cfg = llm_config(provider="bedrock", bedrock_endpoint_url=fake.url,
                         bedrock_model="calm-model", routes=[
                             {"name": "busy", "model": "busy-model", "volatility": ["high"]}])
        worker = LlmWorker(db, cfg, lambda: datetime.now(UTC), BedrockProvider)
        worker.start()
        done: list = []
        try:
            assert worker.submit(replace(request("quiet"), volatility="normal"))
            assert worker.submit(replace(request("wild"), volatility="high"))
            wait_for(lambda: done.extend(worker.results()) or len(done) == 2, 10, "two results")
        finally:
            worker.stop(timeout_s=0.1)
        paths = [unquote(r["path"]) for r in fake.requests if r["method"] == "POST"]
    assert [o.status for o in done] == [CallStatus.OK, CallStatus.OK]
    assert ["/model/calm-model/" in paths[0], "/model/busy-model/" in paths[1]] == [True, True]
    conn = connect(db, readonly=True)
    quiet, wild = reversed(llm_store.recent_calls(conn))
    assert (quiet.route, quiet.model) == ("default", "calm-model")
    assert (wild.route, wild.model) == ("busy", "busy-model")
