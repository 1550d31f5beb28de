"""The default scorer: VADER's compound score, computed locally from the lexicon in its wheel.

``vaderSentiment`` (not nltk's copy) ships its lexicon inside the package, so nothing is
downloaded at run time. The compound score is already in [-1, 1]; about 0.1 ms per headline.
"""

from __future__ import annotations

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from bot.ports import SentimentResult

NAME = "vader"


class VaderScorer:
    """VADER compound score per headline."""

    name = NAME

    def __init__(self) -> None:
        self._analyzer = SentimentIntensityAnalyzer()

    def score_one(self, text: str) -> float:
        """The compound score of one text in [-1, 1] (0 for an empty text)."""
        if not text.strip():
            return 0.0
        return float(self._analyzer.polarity_scores(text)["compound"])

    def score(self, texts: list[str]) -> SentimentResult:
        """Score every text (never fails)."""
        return SentimentResult([self.score_one(t) for t in texts], NAME)
