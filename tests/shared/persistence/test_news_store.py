"""The news table: duplicates by source and normalised text within the window; scoring order."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.domain.news import Headline, normalise_headline
from shared.persistence import llm_state, news_store
from shared.persistence.db import write_transaction

pytestmark = pytest.mark.unit

T0 = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
WINDOW = timedelta(hours=12)


def store(conn, *headlines: Headline) -> list[int | None]:
    with write_transaction(conn):
        return [news_store.store_if_new(conn, h, WINDOW) for h in headlines]


def test_normalised_text_ignores_case_spacing_and_punctuation():
    assert normalise_headline("  FED Holds Rates -- Steady!! ") == "fed holds rates steady"
    assert normalise_headline("Ｆｅｄ holds") == "fed holds"  # full-width letters (NFKC)


def test_the_same_story_from_the_same_source_within_the_window_is_stored_once(conn):
    ids = store(conn,
                Headline("rss:a", "Fed holds rates steady", T0),
                Headline("rss:a", "FED holds rates, steady.", T0 + timedelta(hours=1)),
                Headline("rss:b", "Fed holds rates steady", T0 + timedelta(hours=1)),
                Headline("rss:a", "Fed holds rates steady", T0 + WINDOW + timedelta(minutes=1)),
                Headline("rss:a", "Fed holds rates steady", T0 - timedelta(hours=2)))
    assert [i is not None for i in ids] == [True, False, True, True, False]
    assert news_store.count_by_source(conn) == {"rss:a": 2, "rss:b": 1}


def test_rows_are_followed_in_scoring_order_even_when_an_older_row_is_scored_late(conn):
    first, second = store(conn, Headline("x", "one", T0), Headline("x", "two", T0))
    with write_transaction(conn):
        news_store.set_scores(conn, [news_store.Score(second, 0.5, "vader")], T0)
    assert [r.id for r in news_store.scored_after(conn, 0)] == [second]
    seen = news_store.scored_after(conn, 0)[-1].scored_seq
    with write_transaction(conn):
        news_store.set_scores(conn, [news_store.Score(first, -0.25, "vader"),
                                     news_store.Score(second, 0.9, "vader")], T0)
    later = news_store.scored_after(conn, seen)
    assert [(r.id, r.score) for r in later] == [(first, -0.25)]  # a row is scored once
    assert news_store.unscored(conn, 10) == []


def test_typed_headlines_wait_unscored_and_show_with_their_scores(conn):
    with write_transaction(conn):
        typed = llm_state.insert_news(conn, "CPI rises 0.4%", "dashboard", T0)
    assert [r.id for r in news_store.unscored(conn, 10)] == [typed]
    with write_transaction(conn):
        news_store.set_scores(conn, [news_store.Score(typed, -0.1, "vader")], T0)
    (row,) = news_store.recent_headlines(conn, 5)
    assert (row.headline, row.source, row.score, row.scorer) == ("CPI rises 0.4%", "dashboard",
                                                                 -0.1, "vader")


def test_retention_deletes_old_headlines(conn):
    store(conn, Headline("x", "old", T0 - timedelta(days=40)), Headline("x", "new", T0))
    with write_transaction(conn):
        assert news_store.prune_news(conn, T0 - timedelta(days=30)) == 1
    assert [r.headline for r in news_store.recent_headlines(conn)] == ["new"]
