"""The prompt's context (template v3): memory's evidence, the news sentiment, today's risk, the
session levels.

Each section is present when the engine has it and labelled "none yet" when it has not; the
nearest setups travel as relative features (no date, no price); the whole user message stays
within its bound however long the inputs.
"""

from __future__ import annotations

import json
import re
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from bot.adapters.journal import MemoryJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core.engine import TradingEngine
from bot.core.memory_guard import MemoryVerdict, Neighbour
from bot.core.sentiment import HeadlineScore
from bot.core.sessions import CmeSessionClock
from bot.learning.call_labels import prompt_time
from bot.llm.context import (
    MAX_SNAPSHOT_CHARS,
    MAX_USER_CHARS,
    TEMPLATE_VERSION,
    build_request,
)
from bot.llm.prompt_sections import NONE_YET, extras_from_engine
from bot.llm.snapshot import snapshot_with_trades
from bot.llm.types import Trigger, TriggerKind
from shared.config.settings import settings_from_mapping
from shared.domain.instruments import get_instrument

pytestmark = pytest.mark.unit

T0 = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
TRIGGER = Trigger(TriggerKind.VOLATILITY_SPIKE, T0, {"atr_ratio": 2.4})


@pytest.fixture(scope="module")
def clock() -> CmeSessionClock:
    return CmeSessionClock()


def engine(clock, news: bool) -> TradingEngine:
    settings = settings_from_mapping(
        {"news": {"enabled": news, "half_life_minutes": 30},
         "risk": {"daily_loss_limit_usd": 400, "max_consecutive_losses": 4}}, env={})
    bot = TradingEngine(settings, PaperBroker(get_instrument("MES"), 62, 1), MemoryJournal(),
                        clock)
    if news:
        bot.use_sentiment([HeadlineScore(T0 - timedelta(minutes=m), s, m)
                           for m, s in ((5, 0.6), (20, 0.2), (90, -0.9))])
    return bot


def verdict(neighbours: int) -> MemoryVerdict:
    found = tuple(
        Neighbour(f"b{i}", 0.2 + 0.1 * i, 1.0 - 0.1 * i, 1250 - 500 * i, 1.5 - i,
                  "target" if i % 2 == 0 else "stop", T0 - timedelta(days=3 + i, minutes=40),
                  T0 - timedelta(days=3 + i))
        for i in range(neighbours))
    return MemoryVerdict(True, True, 0.02, "memory allows", stored_setups=80,
                         neighbours_count=neighbours, effective_count=neighbours * 0.8,
                         weighted_win_rate=0.62, neighbours=found, mean_r=0.41,
                         lower_bound_r=0.08)


def decision(memory_json: str = "{}", sentiment: float | None = None) -> dict:
    return {"symbol": "MES", "ts": T0.isoformat(), "close": 5712.25,
            "features_json": json.dumps({"rsi": 61.0, "atr_points": 3.5, "close": 5712.25,
                                         "sentiment": sentiment}),
            "regime_json": json.dumps({"tradable": True, "reasons": []}),
            "signal_action": "buy", "signal_confidence": 0.66, "memory_json": memory_json}


def snapshot_json(request) -> dict:
    line = request.user.split("Market snapshot (JSON):\n", 1)[1].split("\n", 1)[0]
    return json.loads(line)


def test_memory_news_and_risk_are_in_the_prompt_when_the_engine_has_them(clock):
    bot = engine(clock, news=True)
    bot.risk_state = replace(bot.risk_state, consecutive_losses=2)
    snap = snapshot_with_trades(decision(verdict(5).to_json(), 0.31), None, -12_000, [],
                                extras_from_engine(bot, T0))
    request = build_request(TRIGGER, snap)
    data = snapshot_json(request)
    memory = data["memory"]
    assert (memory["similar_setups"], memory["weighted_win_rate"]) == (5, 0.62)
    assert (memory["expected_r"], memory["expected_r_lower_bound"]) == (0.41, 0.08)
    assert len(memory["nearest"]) == 3, "only the few nearest travel"
    first = memory["nearest"][0]
    assert first == {"distance": 0.2, "weight": 1.0, "r_multiple": 1.5, "exit_reason": "target",
                     "hold_minutes": 40.0}
    assert data["news"] == {"sentiment": 0.31, "headlines_recent": 2, "window_minutes": 30.0}
    assert data["risk_today"] == {"realized_today_usd": -120.0, "daily_loss_limit_usd": 400.0,
                                  "loss_cap_used_fraction": 0.3, "loss_streak": 2,
                                  "max_consecutive_losses": 4}
    memory_text = json.dumps(memory)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", memory_text), "no date of a past setup"
    assert "5712" not in memory_text
    assert prompt_time(request.user) == T0, "the call labeller still finds the prompt's bar"
    assert TEMPLATE_VERSION.startswith("v3-")


def test_absent_evidence_is_labelled_none_yet(clock):
    bot = engine(clock, news=False)
    for memory_json in ("{}", verdict(0).to_json(), "not json"):
        snap = snapshot_with_trades(decision(memory_json), None, 0, [],
                                    extras_from_engine(bot, T0))
        data = snapshot_json(build_request(TRIGGER, snap))
        assert data["memory"] == NONE_YET == data["news"]
        assert data["risk_today"]["loss_streak"] == 0
    assert '"memory": "none yet"' in build_request(TRIGGER, snap).user
    bare = snapshot_with_trades(decision(), None, 0, [])  # no engine extras at all
    data = snapshot_json(build_request(TRIGGER, bare))
    assert data["news"] == NONE_YET and data["risk_today"] == {"realized_today_usd": 0.0}


def test_the_prompt_stays_within_its_bound_however_long_the_inputs(clock):
    bot = engine(clock, news=True)
    trades = [{"side": "long", "contracts": 1, "entry": 5700.0 + i, "exit": 5702.5 + i,
               "exit_reason": "target", "pnl_usd": 11.25} for i in range(50)]
    row = decision(verdict(10).to_json(), 0.1)
    row["regime_json"] = json.dumps({"tradable": False, "reasons": ["x" * 5000] * 40})
    snap = snapshot_with_trades(row, None, -5000, trades, extras_from_engine(bot, T0))
    long_trigger = Trigger(TriggerKind.MANUAL, T0, {"notes": "y" * 50_000,
                                                    "context": "z" * 50_000})
    request = build_request(long_trigger, snap, lessons=("lesson " * 500,) * 5)
    assert len(request.user) <= MAX_USER_CHARS
    line = request.user.split("Market snapshot (JSON):\n", 1)[1].split("\n", 1)[0]
    assert len(line) <= MAX_SNAPSHOT_CHARS
    data = json.loads(line)
    assert data["memory"]["similar_setups"] == 10 and data["news"]["headlines_recent"] == 2
    assert 0 < len(data["recent_trades"]) <= 10


def test_the_oldest_trades_then_the_nearest_setups_go_first_when_too_long(clock):
    bot = engine(clock, news=True)
    trades = [{"side": "long", "contracts": 1, "entry": 5700.0, "exit": 5702.5,
               "exit_reason": f"r{i}" + "x" * 400, "pnl_usd": 11.25} for i in range(10)]
    snap = snapshot_with_trades(decision(verdict(10).to_json(), 0.1), None, 0, trades,
                                extras_from_engine(bot, T0))
    data = snapshot_json(build_request(TRIGGER, snap))
    kept = [t["exit_reason"][:2] for t in data["recent_trades"]]
    assert 0 < len(kept) < 10 and kept == [f"r{i}" for i in range(len(kept))], "newest kept"
    assert len(data["memory"]["nearest"]) == 3, "trades went first"
    assert data["news"]["headlines_recent"] == 2 and data["risk_today"]["loss_streak"] == 0


def test_session_levels_travel_as_distances_in_atrs_never_as_prices(clock):
    row = decision()
    features = json.loads(row["features_json"])
    features.update({"session_vwap": 5705.25, "opening_range_high": 5719.25,
                     "opening_range_low": None, "prior_day_close": 5712.25})
    row["features_json"] = json.dumps(features)
    snap = snapshot_with_trades(row, None, 0, [], extras_from_engine(engine(clock, False), T0))
    request = build_request(TRIGGER, snap)
    levels = snapshot_json(request)["session_levels"]["price_minus_level_in_atr"]
    assert levels == {"vwap": 2.0, "opening_range_high": -2.0, "prior_day_close": 0.0}
    assert "5705.25" not in request.user and "5719.25" not in request.user
    assert "session_levels" in request.system
    assert snapshot_json(build_request(TRIGGER, snapshot_with_trades(decision(), None, 0, [])))[
        "session_levels"] == NONE_YET  # no level known yet
    assert TEMPLATE_VERSION.startswith("v3-")
