"""The RSS/Atom reader against fixture feeds on a loopback HTTP server, through to the table."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.news.rss import RssPoller, source_name
from bot.adapters.news.vader import VaderScorer
from bot.runtime.news_worker import NewsWorker
from shared.config.settings import NewsConfig
from shared.persistence import news_store, ops_store
from tests.bot.adapters.news.feed_server import FeedServer

pytestmark = pytest.mark.unit

RECEIVED = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)  # just after the fixtures' entries
FEEDS = ("markets.rss", "fed.atom", "truncated.rss", "garbage.rss", "status/500")


@pytest.fixture
def server():
    with FeedServer() as running:
        yield running


def poller(server: FeedServer, *names: str) -> RssPoller:
    return RssPoller([f"{server.url}/{n}" for n in names], poll_s=0.05, timeout_s=5,
                     max_bytes=100_000, max_age=timedelta(hours=2), clock=lambda: RECEIVED)


def worker(conn, sources=()) -> NewsWorker:
    cfg = NewsConfig(enabled=True, score_poll_seconds=0.05)
    return NewsWorker(cfg, conn, list(sources), VaderScorer(), None, lambda: RECEIVED)


def test_one_poll_reads_rss_and_atom_leniently_and_reports_broken_feeds(server):
    result = poller(server, *FEEDS).poll_once()
    texts = [(h.source, h.text) for h in result.headlines]
    host = source_name(server.url)
    assert texts == [
        (host, "Stocks post strong gains on great earnings"),
        (host, "Markets crash in a brutal panic selloff"),
        (host, "STOCKS POST STRONG GAINS ON GREAT EARNINGS!"),  # dropped when stored
        (host, "Fed officials worry about inflation"),  # HTML removed
        (host, "Markets crash in a brutal panic selloff"),
        (host, "Treasury yields rise after strong jobs report"),  # what a cut feed still had
    ]
    assert all(h.received_at == RECEIVED for h in result.headlines)
    assert result.headlines[0].published_at == datetime(2025, 3, 3, 14, 20, tzinfo=UTC)
    problems = " | ".join(result.problems)
    assert "truncated.rss: malformed feed" in problems
    assert "garbage.rss: malformed feed" in problems
    assert "status/500: HTTP 500" in problems
    assert len(result.problems) == 3


def test_stored_once_scored_and_an_unchanged_feed_is_a_304(server, conn):
    news = worker(conn)
    source = poller(server, "markets.rss", "fed.atom")
    for _ in range(2):
        news.receive(source.poll_once().headlines)
        news.store_pending()
    assert [(p, m) for p, m in server.requests if p == "/fed.atom"] == [
        ("/fed.atom", ""), ("/fed.atom", '"fed-v1"')]
    rows = news_store.recent_headlines(conn, 20)
    assert sorted(r.headline for r in rows) == [
        "Fed officials worry about inflation", "Markets crash in a brutal panic selloff",
        "Stocks post strong gains on great earnings"]
    assert news.duplicates == 5  # repost + cross-posted crash, then all 3 of markets again
    assert news.score_pending() == 3
    scores = {r.headline: r.score for r in news_store.recent_headlines(conn, 20)}
    assert scores["Stocks post strong gains on great earnings"] > 0
    assert scores["Markets crash in a brutal panic selloff"] < 0


def test_the_news_program_loop_polls_stores_scores_and_records_feed_problems(server, conn):
    news = worker(conn, [poller(server, "markets.rss", "garbage.rss")])

    async def run_until_scored() -> None:
        stop = asyncio.Event()
        task = asyncio.create_task(news.run(stop))
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline and (
                len(news_store.scored_after(conn, 0)) < 2 or server.count("/markets.rss") < 2):
            await asyncio.sleep(0.02)
        stop.set()
        assert await task == 0

    asyncio.run(run_until_scored())
    assert len(news_store.scored_after(conn, 0)) == 2
    events = [e for e in ops_store.recent_events(conn) if e.kind == "news_source"]
    assert len(events) == 1 and "garbage.rss" in events[0].message  # reported once
