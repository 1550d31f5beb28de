"""Amazon Comprehend through the real boto3 client against a fake endpoint on loopback.

Batching by 25, our own retry on throttling with every attempt reserved and settled in the
governor before/after it is made, botocore's retries off, costs in the call log, refusals.
"""

from __future__ import annotations

import math
from datetime import timedelta

import pytest

from bot.adapters.news.vader import VaderScorer
from bot.llm.comprehend import ComprehendScorer, units
from bot.runtime.news_worker import NewsWorker
from shared.config.settings import NewsConfig
from shared.domain.news import Headline
from shared.persistence import llm_store, news_store
from shared.persistence.db import write_transaction
from tests.bot.llm.conftest import llm_config, wall_clock
from tests.fakecomprehend.server import TARGET, FakeComprehend

pytestmark = pytest.mark.unit

PRICE = 0.0001


@pytest.fixture
def fake():
    with FakeComprehend() as server:
        yield server


def news_config(url: str, **overrides) -> NewsConfig:
    values = {"scorer": "comprehend", "comprehend_endpoint_url": url,
              "comprehend_backoff_s": 0.0, "comprehend_timeout_s": 5.0,
              "comprehend_usd_per_unit": PRICE, "comprehend_min_units": 3}
    values.update(overrides)
    return NewsConfig.model_validate(values)


def scorer(conn, url: str, sleeps: list | None = None, llm=None, **news) -> ComprehendScorer:
    sleep = sleeps.append if sleeps is not None else (lambda s: None)
    return ComprehendScorer(conn, news_config(url, **news), llm or llm_config(), wall_clock,
                            sleep)


def texts(count: int) -> list[str]:
    words = ("good", "bad", "flat")
    return [f"headline {i} {words[i % 3]} " + "x" * (i * 7) for i in range(count)]


def calls(conn) -> list[llm_store.LlmCallRow]:
    return list(reversed(llm_store.recent_calls(conn)))


def test_sixty_texts_go_in_batches_of_25_each_priced_and_logged(conn, fake):
    items = texts(60)
    result = scorer(conn, fake.url).score(items)
    assert [len(r["texts"]) for r in fake.requests] == [25, 25, 10]
    assert all(r["target"] == TARGET and r["signed"] and r["language"] == "en"
               for r in fake.requests)
    assert [r["texts"] for r in fake.requests] == [items[:25], items[25:50], items[50:]]
    assert result.scorer == "comprehend" and None not in result.scores
    for text, score in zip(items, result.scores, strict=True):
        word = text.split()[2]
        assert (score > 0) if word == "good" else (score < 0) if word == "bad" else score == 0
    rows = calls(conn)
    assert [(r.provider, r.status, r.trigger) for r in rows] == [
        ("comprehend", "ok", "sentiment")] * 3
    for row, batch in zip(rows, (items[:25], items[25:50], items[50:]), strict=True):
        expected = sum(max(3, math.ceil(len(t) / 100)) for t in batch) * PRICE
        assert row.cost_usd == pytest.approx(expected) and row.reserved_usd == row.cost_usd
    usage = llm_store.daily_usage(conn, rows[0].day)
    assert usage.calls == 3
    assert usage.cost_usd == pytest.approx(sum(r.cost_usd for r in rows))


def test_a_throttled_attempt_is_settled_free_then_retried_by_us_with_backoff(conn, fake):
    fake.push("throttle", "throttle", "ok")
    sleeps: list[float] = []
    result = scorer(conn, fake.url, sleeps, comprehend_backoff_s=0.5).score(["good news"])
    assert len(fake.requests) == 3, "botocore must not retry behind the governor's back"
    assert sleeps == [0.5, 1.0]
    rows = calls(conn)
    assert [(r.status, r.retry_attempts, r.cost_usd) for r in rows] == [
        ("throttled", 0, 0.0), ("throttled", 1, 0.0), ("ok", 2, units("good news", 3) * PRICE)]
    assert "ThrottlingException" in rows[0].error
    assert llm_store.daily_usage(conn, rows[0].day).calls == 3
    assert result.scores[0] > 0 and not result.problems


def test_attempts_stop_at_the_configured_count(conn, fake):
    fake.push("throttle", "error500", "ok")
    result = scorer(conn, fake.url, comprehend_max_attempts=2).score(["bad news"])
    assert len(fake.requests) == 2
    assert result.scores == [None]
    assert "InternalServerException" in result.problems[0]
    assert [r.status for r in calls(conn)] == ["throttled", "error"]


def test_the_daily_quota_refuses_before_any_request_is_made(conn, fake):
    result = scorer(conn, fake.url, llm=llm_config(daily_call_quota=1)).score(texts(30))
    assert [len(r["texts"]) for r in fake.requests] == [25]
    assert result.scores[:25] != [None] * 25 and result.scores[25:] == [None] * 5
    assert "daily call quota" in result.problems[0]
    assert [r.status for r in calls(conn)] == ["ok", "refused"]


def test_the_dollar_limit_refuses_a_batch_it_cannot_afford(conn, fake):
    result = scorer(conn, fake.url, llm=llm_config(daily_cost_limit_usd=0.0001)).score(
        ["good news"])  # three units at least: $0.0003
    assert fake.requests == [] and result.scores == [None]
    assert "daily cost limit" in result.problems[0]


def test_a_document_comprehend_could_not_score_is_not_billed(conn, fake):
    fake.push("doc_error")
    result = scorer(conn, fake.url).score(["good one", "bad one"])
    assert result.scores[0] is None and result.scores[1] < 0
    (row,) = calls(conn)
    assert row.cost_usd == pytest.approx(units("bad one", 3) * PRICE)
    assert "1 document(s) not scored" in row.error


def test_the_news_program_falls_back_to_vader_when_comprehend_refuses(conn, fake):
    comprehend = scorer(conn, fake.url, llm=llm_config(daily_call_quota=0))
    worker = NewsWorker(news_config(fake.url), conn, [], comprehend, VaderScorer(), wall_clock)
    with write_transaction(conn):
        news_store.store_if_new(conn, Headline("x", "Stocks post strong gains", wall_clock()),
                                timedelta(hours=1))
    assert worker.score_pending() == 1
    (row,) = news_store.recent_headlines(conn)
    assert row.scorer == "vader (fallback)" and row.score > 0
    assert fake.requests == []

