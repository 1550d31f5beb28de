"""VADER on fixture headlines: the sign of each score and their order, never exact values."""

from __future__ import annotations

import pytest

from bot.adapters.news.vader import VaderScorer

pytestmark = pytest.mark.unit

# VADER's lexicon is general English: "gains", "great", "worry", "crash", "panic" carry weight,
# market jargon such as "soar" or "edge higher" does not (see docs/news.md).
STRONG_UP = "Stocks post strong gains on great earnings"
MILD_UP = "Shares rise modestly"
NEUTRAL = "The Federal Reserve will publish its minutes on Wednesday"
MILD_DOWN = "Stocks fall as investors worry"
STRONG_DOWN = "Markets crash in a brutal panic selloff as recession fears explode"


@pytest.fixture(scope="module")
def scorer() -> VaderScorer:
    return VaderScorer()


def test_scores_have_the_sign_of_the_news(scorer):
    result = scorer.score([STRONG_UP, MILD_UP, NEUTRAL, MILD_DOWN, STRONG_DOWN])
    up, mild_up, neutral, mild_down, down = result.scores
    assert result.scorer == "vader"
    assert up > 0 and mild_up > 0 and mild_down < 0 and down < 0
    assert neutral == 0.0


def test_stronger_words_score_further_from_zero(scorer):
    scores = [scorer.score_one(t) for t in (STRONG_UP, MILD_UP, NEUTRAL, MILD_DOWN, STRONG_DOWN)]
    assert scores == sorted(scores, reverse=True)
    assert all(-1.0 <= s <= 1.0 for s in scores)


def test_an_empty_text_is_neutral(scorer):
    assert scorer.score(["", "   "]).scores == [0.0, 0.0]
