"""The engine passes the rolling sentiment to the strategies and journals it with the features.

The seed's RSI/MACD/sentiment strategy wants momentum *aligned* with the news: a strongly
positive score raises the confidence of a BUY and lowers that of a SELL, a negative score the
reverse, and the score never changes which way (or whether) it votes.
"""

from __future__ import annotations

import json
from datetime import timedelta

import pytest

from bot.adapters.journal import MemoryJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core.engine import TradingEngine
from bot.core.sentiment import HeadlineScore
from bot.core.sessions import CmeSessionClock
from shared.config.settings import settings_from_mapping
from shared.domain.instruments import get_instrument
from tests.conftest import synthetic_bars

pytestmark = pytest.mark.unit

BARS = synthetic_bars(1000)
ONLY_RSI_MACD = {"strategies": {"weights": {"rsi_macd": 1.0}},
                 "news": {"half_life_minutes": 10_080}}


@pytest.fixture(scope="module")
def clock() -> CmeSessionClock:
    return CmeSessionClock()


def run(clock: CmeSessionClock, score: float | None) -> MemoryJournal:
    settings = settings_from_mapping(ONLY_RSI_MACD, env={})
    engine = TradingEngine(settings, PaperBroker(get_instrument("MES"), 62, 1), MemoryJournal(),
                           clock)
    if score is not None:
        engine.use_sentiment([HeadlineScore(BARS[0].ts, score, "headline")])
    for bar in BARS:
        engine.on_bar(bar)
    return engine.journal


def rsi_macd_votes(journal: MemoryJournal) -> dict:
    found = {}
    for decision in journal.decisions:
        vote = next(v for v in json.loads(decision.votes_json) if v["strategy"] == "rsi_macd")
        if vote["action"] != "hold":
            found[decision.ts] = vote
    return found


@pytest.fixture(scope="module")
def runs(clock) -> dict:
    return {name: run(clock, score) for name, score in
            (("none", None), ("bullish", 1.0), ("bearish", -1.0))}


def test_strong_news_moves_rsi_macd_confidence_with_momentum_alignment(runs):
    plain, bullish, bearish = (rsi_macd_votes(runs[k]) for k in ("none", "bullish", "bearish"))
    assert plain.keys() == bullish.keys() == bearish.keys(), "news never makes it fire or stop"
    sides = set()
    for ts, vote in plain.items():
        assert bullish[ts]["action"] == bearish[ts]["action"] == vote["action"]
        up, down, neutral = (bullish[ts]["confidence"], bearish[ts]["confidence"],
                             vote["confidence"])
        aligned, opposed = (up, down) if vote["action"] == "buy" else (down, up)
        assert aligned > opposed and aligned >= neutral >= opposed
        sides.add(vote["action"])
    assert sides == {"buy", "sell"}, "the synthetic market has both setups"


def test_the_journaled_features_carry_the_sentiment_the_strategies_saw(runs):
    without = json.loads(runs["none"].decisions[-1].features_json)
    assert without["sentiment"] is None
    decision = runs["bullish"].decisions[-1]
    seen = json.loads(decision.features_json)["sentiment"]
    age_min = (decision.ts - BARS[0].ts) / timedelta(minutes=1)
    assert seen == pytest.approx(2 ** (-age_min / 10_080), rel=1e-12)
