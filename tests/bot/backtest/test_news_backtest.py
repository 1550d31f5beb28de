"""Backtests fed by a headline CSV: the same rolling sentiment as live, no look-ahead, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import timedelta

import pytest

from bot.backtest.engine_run import run_engine
from bot.backtest.news import load_headline_scores
from bot.core.sentiment import SentimentBook
from shared.config.settings import settings_from_mapping
from tests.bot.backtest.conftest import bar_data, minute_bars
from tests.integration.botproc import REPO_ROOT

BARS = minute_bars(3000)
SETTINGS = settings_from_mapping({"strategies": {"weights": {"rsi_macd": 1.0}},
                                  "risk": {"max_trades_per_day": 40, "max_hold_minutes": 20},
                                  "news": {"half_life_minutes": 45}}, env={})


def headline_file(tmp_path, score_word: str = "gains") -> object:
    start = BARS[0].ts
    lines = ["time,headline,source"]
    for hours, text in ((3, f"Stocks post strong {score_word} on great earnings"),
                        (9, "Markets crash in a brutal panic selloff"),
                        (20, "Shares rise modestly")):
        lines.append(f"{(start + timedelta(hours=hours)).isoformat()},{text},wire")
    path = tmp_path / "news.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


@pytest.mark.unit
def test_every_decision_sees_the_sentiment_of_the_headlines_received_by_then(tmp_path):
    headlines = load_headline_scores(headline_file(tmp_path))
    assert [h.score > 0 for h in headlines] == [True, False, True]
    outcome = run_engine(SETTINGS, bar_data(BARS), headlines=headlines, keep_decisions=True)
    reference = SentimentBook()
    reference.add(headlines)
    first_news = headlines[0].received_at
    for decision in outcome.decisions:
        seen = json.loads(decision.features_json)["sentiment"]
        assert seen == reference.at(decision.ts, 45)
        if decision.ts < first_news:
            assert seen == 0.0, "no headline counts before it was received"
    assert any(json.loads(d.features_json)["sentiment"] < 0 for d in outcome.decisions)


@pytest.mark.unit
def test_skipping_idle_bars_changes_nothing_with_news(tmp_path):
    headlines = load_headline_scores(headline_file(tmp_path))
    data = bar_data(BARS)
    fast = run_engine(SETTINGS, data, headlines=headlines)
    full = run_engine(SETTINGS, data, headlines=headlines, skip_idle_bars=False)
    assert fast.trades == full.trades and fast.trades
    assert fast.bars_evaluated < full.bars_evaluated


@pytest.mark.integration
def test_the_cli_takes_news_and_refuses_a_bad_file_naming_its_line(tmp_path):
    good, bad = headline_file(tmp_path), tmp_path / "bad.csv"
    bad.write_text("time,headline\n2025-03-03T14:35:00Z,ok\n2025-03-03T14:36:00Z,x,y\n")

    def backtest(news) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "-m", "bot", "backtest", "--bars", "3000",
                               "--news", str(news), "--json", str(tmp_path / "out.json")],
                              cwd=REPO_ROOT, capture_output=True, text=True, timeout=120,
                              check=False)

    refused = backtest(bad)
    assert refused.returncode == 2
    assert refused.stderr.strip() == f"error: {bad} line 3: more fields than columns"
    done = backtest(good)
    assert done.returncode == 0, done.stderr
    assert "3 headline(s)" in done.stdout and json.loads((tmp_path / "out.json").read_text())
