"""The live bot with news on, as a real process: scored rows reach the strategies between bars,
and a sharp move of the rolling sentiment fires the LLM's news trigger.

The synthetic feed at speed 50 runs ahead of the wall clock, so bars stamped after the headline's
receipt may be decided before the row exists: those keep 0, every later one sees the decay.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.news import Headline
from shared.persistence import codec, journal_store, llm_store, news_store
from shared.persistence.db import open_database, write_transaction
from tests.fakellm.server import FakeLlmServer
from tests.integration.botproc import heartbeat, query, start_bot, stop_bot, wait_for, write_config
from tests.integration.test_llm_bot import DUMMY_AWS

pytestmark = pytest.mark.integration

HALF_LIFE_MIN = 30.0


def sentiments(db) -> list[tuple[datetime, float]]:
    rows = query(db, journal_store.recent_decisions, 100_000) or []
    found = [(codec.from_text(r["ts"]), json.loads(r["features_json"])["sentiment"])
             for r in reversed(rows)]
    return [(ts, s) for ts, s in found if s is not None]


def test_a_scored_headline_moves_the_sentiment_and_asks_the_llm(tmp_path):
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    with FakeLlmServer() as fake:
        config = write_config(tmp_path, "c.yaml", {
            "feed": {"source": "synthetic", "seed": 7, "speed": 50},  # starts at the wall clock
            "engine": {"heartbeat_seconds": 0.2, "commands_poll_seconds": 0.05},
            "llm": {"enabled": True, "provider": "bedrock", "bedrock_endpoint_url": fake.url,
                    "timeout_s": 5, "read_timeout_s": 4},
            "events": {"triggers": ["news"], "sentiment_move_threshold": 0.5,
                       "sentiment_move_minutes": 15},
            "news": {"enabled": True, "half_life_minutes": HALF_LIFE_MIN},
        })
        process = start_bot(config, db, log, DUMMY_AWS)
        try:
            wait_for(lambda: (h := heartbeat(db)) and h.bars_processed > 5, 60, "some bars",
                     process, log)
            assert all(s == 0.0 for _, s in sentiments(db)), "no news: neutral"
            received = datetime.now(UTC)
            conn = open_database(db)
            with write_transaction(conn):  # what the news program does with a headline
                news_id = news_store.store_if_new(
                    conn, Headline("wire", "Stocks post strong gains", received), timedelta(0))
                news_store.set_scores(conn, [news_store.Score(news_id, 0.9, "vader")], received)
            conn.close()
            wait_for(lambda: [s for _, s in sentiments(db) if s > 0], 30, "a positive sentiment",
                     process, log)
            call = wait_for(lambda: next((c for c in query(db, llm_store.recent_calls) or []
                                          if c.trigger == "news"), None), 30,
                            "the news call", process, log)
        finally:
            code, _ = stop_bot(process)
    assert code == 0, log.read_text()[-3000:]
    payload = json.loads(call.trigger_json)
    assert payload["sentiment_move"] >= 0.5 and "headlines" not in payload
    series = sentiments(db)
    first = next(i for i, (_, seen) in enumerate(series) if seen > 0)
    assert all(seen == 0.0 for _, seen in series[:first]), "bars decided before it was stored"
    for ts, seen in series[first:]:  # from then on, exactly the half-life decay
        age_min = (ts - received) / timedelta(minutes=1)
        assert seen == pytest.approx(0.9 * 2 ** (-age_min / HALF_LIFE_MIN), rel=1e-12), ts
