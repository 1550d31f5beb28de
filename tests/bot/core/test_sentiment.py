"""The rolling sentiment feature: exact half-life decay, no look-ahead, bounds, order-free."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from bot.core.sentiment import CUTOFF_HALF_LIVES, HeadlineScore, SentimentBook

pytestmark = pytest.mark.unit

T0 = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
HALF_LIFE = 30.0


def book_of(*items: tuple[float, float]) -> SentimentBook:
    """A book of (minutes after T0, score) headlines."""
    book = SentimentBook()
    book.add(HeadlineScore(T0 + timedelta(minutes=m), s, i) for i, (m, s) in enumerate(items))
    return book


def test_a_lone_headline_halves_every_half_life_exactly():
    book = book_of((0, 0.8))
    values = [book.at(T0 + timedelta(minutes=HALF_LIFE * k), HALF_LIFE) for k in range(5)]
    assert values == [0.8, 0.4, 0.2, 0.1, 0.05]


def test_the_half_life_is_read_at_query_time():
    book = book_of((0, -0.6))
    assert book.at(T0 + timedelta(minutes=10), 10.0) == -0.3
    assert book.at(T0 + timedelta(minutes=10), 5.0) == -0.15


def test_no_news_is_neutral_and_old_news_decays_to_exactly_zero():
    assert SentimentBook().at(T0, HALF_LIFE) == 0.0
    book = book_of((0, 1.0))
    last_counted = T0 + timedelta(minutes=HALF_LIFE * CUTOFF_HALF_LIVES)
    assert 0 < book.at(last_counted, HALF_LIFE) <= 2.0 ** -CUTOFF_HALF_LIVES
    assert book.at(last_counted + timedelta(microseconds=1), HALF_LIFE) == 0.0


def test_a_headline_counts_from_its_received_time_and_not_a_microsecond_before():
    book = book_of((5, 0.9))
    received = T0 + timedelta(minutes=5)
    assert book.at(received - timedelta(microseconds=1), HALF_LIFE) == 0.0
    assert book.at(received, HALF_LIFE) == 0.9


def test_a_burst_of_headlines_is_their_weighted_mean_within_bounds():
    book = book_of((0, 1.0), (0, 1.0), (0, 0.5))
    assert book.at(T0, HALF_LIFE) == pytest.approx((1.0 + 1.0 + 0.5) / 3)
    mixed = book_of((0, 1.0), (0, -1.0))
    assert mixed.at(T0, HALF_LIFE) == 0.0


def test_scores_are_clamped_and_nan_counts_as_no_opinion():
    assert book_of((0, 7.0)).at(T0, HALF_LIFE) == 1.0
    assert book_of((0, float("nan"))).at(T0, HALF_LIFE) == 0.0


def test_a_key_is_added_once():
    book = SentimentBook()
    item = HeadlineScore(T0, 0.5, ("news", 1))
    assert book.add([item, item]) == 1
    assert book.add([item]) == 0 and len(book) == 1


@given(st.lists(st.tuples(st.integers(0, 600), st.floats(-1, 1)), min_size=1, max_size=30),
       st.integers(0, 2**32))
def test_the_value_does_not_depend_on_the_order_headlines_arrive_in(items, seed):
    headlines = [HeadlineScore(T0 + timedelta(minutes=m), s, i)
                 for i, (m, s) in enumerate(items)]
    shuffled = list(headlines)
    random.Random(seed).shuffle(shuffled)
    first, second = SentimentBook(), SentimentBook()
    first.add(headlines)
    for item in shuffled:
        second.add([item])
    for minutes in (0, 30, 300, 700):
        when = T0 + timedelta(minutes=minutes)
        value = first.at(when, HALF_LIFE)
        assert value == second.at(when, HALF_LIFE)
        assert -1.0 <= value <= 1.0
