"""Parity with news: headlines imported into the live database and the same CSV in a backtest
give the same sentiment on every evaluated bar, the same confidences and the same trades."""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from bot.backtest.engine_run import run_engine
from bot.backtest.news import load_headline_scores
from bot.backtest.runner import build_settings, load_data, run_backtest
from shared.config.backtest_request import BacktestRequest
from shared.persistence import codec, journal_store, news_store
from tests.integration.botproc import REPO_ROOT, query, start_bot, write_config

pytestmark = pytest.mark.integration

START = datetime(2021, 1, 4, tzinfo=UTC)
BARS = 3000
TEXTS = ("Stocks post strong gains on great earnings", "Markets crash in a brutal panic selloff",
         "Shares rise modestly", "Stocks fall as investors worry")


def news_csv(tmp_path):
    lines = ["time,headline,source"]
    for index in range(40):  # one every 70 minutes over the 50 hours of bars
        when = START + timedelta(minutes=35 + 70 * index)
        lines.append(f"{when.isoformat()},{TEXTS[index % 4]} ({index}),wire")
    path = tmp_path / "news.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def key(trade) -> tuple:
    return (trade.bracket_id, trade.side, trade.entry_ts, trade.entry_price, trade.exit_ts,
            trade.exit_price, trade.exit_reason, trade.pnl_net_cents)


def test_imported_headlines_give_identical_decisions_live_and_backtest(tmp_path):
    news = news_csv(tmp_path)
    config = write_config(tmp_path, "c.yaml", {
        "feed": {"source": "synthetic", "seed": 5, "start": START.isoformat(),
                 "bar_seconds": 60, "speed": 100_000, "max_bars": BARS},
        "risk": {"max_trades_per_day": 40, "cooldown_after_loss_minutes": 1,
                 "max_hold_minutes": 30},
        "strategies": {"rsi_macd": {"sentiment_weight": 0.5}},
        "engine": {"heartbeat_seconds": 0.5},
        "news": {"enabled": True, "half_life_minutes": 45},
    })
    db, log = tmp_path / "live.db", tmp_path / "bot.log"
    imported = subprocess.run([sys.executable, "-m", "bot", "news", "--config", str(config),
                               "--db", str(db), "--import", str(news)], cwd=REPO_ROOT,
                              capture_output=True, text=True, timeout=120, check=False)
    assert imported.returncode == 0, imported.stdout + imported.stderr
    assert len(query(db, news_store.scored_after, 0)) == 40
    assert start_bot(config, db, log).wait(timeout=240) == 0, log.read_text()[-3000:]

    request = BacktestRequest(data="synthetic", bars=BARS, seed=5, bar_size="1min",
                              config=str(config), news=str(news))
    live_trades = query(db, journal_store.all_trades)
    assert [key(t) for t in run_backtest(request).trades] == [key(t) for t in live_trades]
    assert live_trades

    settings = build_settings(request)
    data = load_data(request, settings)
    settings = settings.model_copy(update={"feed": settings.feed.model_copy(
        update={"bar_seconds": data.bar_seconds})})
    outcome = run_engine(settings, data, keep_decisions=True,
                         headlines=load_headline_scores(news))
    live = {codec.from_text(r["ts"]): r for r in query(db, journal_store.recent_decisions,
                                                         1_000_000)}
    moved = 0
    for mine in outcome.decisions:
        row = live[mine.ts]
        seen = json.loads(row["features_json"])["sentiment"]
        assert json.loads(mine.features_json)["sentiment"] == seen
        assert (mine.verdict.value, mine.action_taken, mine.final_confidence) == (
            row["verdict"], row["action_taken"], row["final_confidence"])
        moved += seen != 0.0 and "sentiment" in row["votes_json"]
    assert moved, "the headlines moved some rsi_macd votes"
