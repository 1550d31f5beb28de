"""The bot's news intake: scored rows reach the engine's book at start and between bars."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.journal import MemoryJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core.engine import TradingEngine
from bot.core.sessions import CmeSessionClock
from bot.runtime.news_intake import NewsIntake
from shared.config.settings import settings_from_mapping
from shared.domain.instruments import get_instrument
from shared.domain.news import Headline
from shared.persistence import news_store
from shared.persistence.db import write_transaction
from tests.support import open_migrated_journal

pytestmark = pytest.mark.unit

T0 = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)


@pytest.fixture(scope="module")
def clock() -> CmeSessionClock:
    return CmeSessionClock()


def engine(news_on: bool, clock: CmeSessionClock) -> TradingEngine:
    settings = settings_from_mapping({"news": {"enabled": news_on, "half_life_minutes": 10}},
                                     env={})
    return TradingEngine(settings, PaperBroker(get_instrument("MES"), 62, 1), MemoryJournal(),
                         clock)


def add(conn, text: str, minutes: float, score: float | None) -> int:
    with write_transaction(conn):
        news_id = news_store.store_if_new(conn, Headline("x", text, T0 + timedelta(
            minutes=minutes)), timedelta(0))
        if score is not None:
            news_store.set_scores(conn, [news_store.Score(news_id, score, "vader")], T0)
    return news_id


def test_rows_scored_before_start_and_later_ones_reach_the_book(tmp_path, clock):
    conn = open_migrated_journal(tmp_path / "t.db")
    add(conn, "first", 0, 0.8)
    late = add(conn, "typed, scored late", 5, None)
    bot = engine(True, clock)
    intake = NewsIntake(conn, bot)
    assert len(bot.sentiment_book) == 1
    assert bot.sentiment_at(T0 + timedelta(minutes=10)) == 0.4
    with write_transaction(conn):
        news_store.set_scores(conn, [news_store.Score(late, -0.8, "vader")], T0)
    add(conn, "third", 30, 0.5)
    assert intake.poll() == 2 and intake.poll() == 0
    at = T0 + timedelta(minutes=15)  # weights 2^-1.5 and 2^-1 (total < 1): a plain sum
    assert bot.sentiment_at(at) == pytest.approx(0.8 * 2 ** -1.5 - 0.8 * 2 ** -1)
    conn.close()


def test_with_news_off_the_engine_gets_no_sentiment(tmp_path, clock):
    conn = open_migrated_journal(tmp_path / "t.db")
    add(conn, "first", 0, 0.8)
    bot = engine(False, clock)
    assert NewsIntake(conn, bot).poll() == 0
    assert bot.sentiment_book is None and bot.sentiment_at(T0) is None
    conn.close()
