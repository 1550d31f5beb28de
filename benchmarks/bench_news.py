"""Benchmark: what news costs per bar (the sentiment feature, the SQLite poll) and VADER's speed.

The feature is summed over the headlines of the last ten half-lives on every decision, so its
cost grows with the news rate; the poll is one indexed query per bar. Prints figures; asserts
nothing. Usage: ``python benchmarks/bench_news.py``.
"""

from __future__ import annotations

import logging
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bot.adapters.news.vader import VaderScorer  # noqa: E402
from bot.core.sentiment import HeadlineScore, SentimentBook  # noqa: E402
from shared.domain.news import Headline  # noqa: E402
from shared.persistence import news_store  # noqa: E402
from shared.persistence.db import open_database, write_transaction  # noqa: E402

T0 = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
HALF_LIFE_MIN = 30.0
logger = logging.getLogger("bench_news")


def per_call_us(fn, repeat: int) -> float:
    started = time.perf_counter()
    for _ in range(repeat):
        fn()
    return (time.perf_counter() - started) / repeat * 1e6


def feature_cost() -> None:
    for per_hour in (10, 100, 1000):
        book = SentimentBook()
        count = int(per_hour * 24)
        book.add(HeadlineScore(T0 + timedelta(hours=24 * i / count), (i % 7 - 3) / 3, i)
                 for i in range(count))
        when = T0 + timedelta(hours=23)
        in_window = int(per_hour * 10 * HALF_LIFE_MIN / 60)
        logger.info("sentiment feature, %4d headlines/hour (%4d in the window): %7.1f us per bar",
                    per_hour, in_window, per_call_us(lambda b=book, w=when: b.at(w, 30.0), 2000))


def poll_cost() -> None:
    with tempfile.TemporaryDirectory() as folder:
        conn = open_database(Path(folder) / "t.db")
        with write_transaction(conn):
            ids = [news_store.store_if_new(conn, Headline("x", f"headline {i}", T0), timedelta(0))
                   for i in range(20_000)]
            news_store.set_scores(conn, [news_store.Score(i, 0.1, "vader") for i in ids if i],
                                  T0)
        last = news_store.scored_after(conn, 0, 100_000)[-1].scored_seq
        logger.info("news poll with nothing new (20,000 rows stored): %7.1f us per bar",
                    per_call_us(lambda: news_store.scored_after(conn, last), 5000))
        conn.close()


def vader_speed() -> None:
    scorer = VaderScorer()
    texts = ["Stocks post strong gains on great earnings", "Markets crash in a panic selloff",
             "The Federal Reserve will publish its minutes on Wednesday"] * 100
    logger.info("VADER: %7.1f us per headline",
                per_call_us(lambda: scorer.score(texts), 20) / len(texts))


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    logging.getLogger("shared.persistence.db").setLevel(logging.WARNING)
    feature_cost()
    poll_cost()
    vader_speed()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
