"""The calibration ledger against models of known skill, on the fake Bedrock over loopback.

A ``--llm record`` backtest on a seeded synthetic market asks the fake at every trigger. The
"skilled" fake reads the prompt's bar, looks the 45-minute move up in the same data and names
it 70 % of the time (seeded) at confidence 0.7; the "random" fake names a label at random. The
ledger (``shared.domain.calibration``: the same scoring live, in backtests and on the page)
must measure the skilled one's 70 % within its interval and find the random one no better than
the base rate, and ``llm.skill_scaled`` must take the random one's nudge away.
"""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

import pytest

from bot.backtest.runner import build_settings, load_data
from shared.config.backtest_request import BacktestRequest
from shared.domain.calibration import calibration, prompt_bar, score_calls, skill
from shared.domain.call_outcome import DEAD_BAND_POINTS, HORIZON_MINUTES, label_for
from shared.persistence import calibration_store
from shared.persistence.db import connect
from tests.fakellm.server import GOOD_REPLY, FakeLlmServer, Step
from tests.integration.botproc import write_config
from tests.integration.llm_backtests import run_llm_backtest

pytestmark = pytest.mark.integration

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
LABELS = ("BULLISH", "BEARISH", "NEUTRAL")
ACTIONS = {"BULLISH": "BUY", "BEARISH": "SELL", "NEUTRAL": "HOLD"}
BARS = 4320
MAX_CALLS = 600


def reply(bias: str, confidence: float) -> Step:
    return Step(payload={**GOOD_REPLY, "bias": bias, "action": ACTIONS[bias],
                         "confidence": round(confidence, 3)})


def prompt_of(record: dict) -> str:
    return "".join(c.get("text", "") for c in record["body"]["messages"][0]["content"])


class Oracle:
    """Names the real 45-minute move with probability ``skill``, else another label."""

    def __init__(self, closes: dict[datetime, float], right_share: float, seed: int) -> None:
        self.closes = closes
        self.right_share = right_share
        self.rng = random.Random(seed)

    def __call__(self, record: dict) -> Step:
        _, at = prompt_bar(prompt_of(record))
        later = self.closes.get(at + timedelta(minutes=HORIZON_MINUTES))
        if later is None:  # the horizon falls in a session break: the call is not scored
            return reply("NEUTRAL", 0.7)
        truth = label_for(later - self.closes[at], DEAD_BAND_POINTS).bias
        if self.rng.random() < self.right_share:
            return reply(truth, 0.7)
        return reply(self.rng.choice([b for b in LABELS if b != truth]), 0.7)


class Coin:
    """A label at random, at a random confidence."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)

    def __call__(self, record: dict) -> Step:
        return reply(self.rng.choice(LABELS), self.rng.uniform(0.5, 0.95))


@pytest.fixture(autouse=True)
def aws(monkeypatch):
    for name, value in DUMMY_AWS.items():
        monkeypatch.setenv(name, value)


def record_run(tmp_path, url: str, name: str, **llm):
    config = write_config(tmp_path, f"{name}.yaml", {
        "risk": {"max_trades_per_day": 40, "cooldown_after_loss_minutes": 1},
        "llm": {"enabled": True, "provider": "bedrock", "bedrock_endpoint_url": url,
                "bedrock_model": MODEL, "timeout_s": 5, "read_timeout_s": 4,
                "retry_backoff_s": 0.05, "reply_cache_minutes": 0, "max_attempts": 1,
                "daily_call_quota": 100_000, **llm},
        "events": {"triggers": ["market_open", "market_close", "volatility_spike"],
                   "cooldown_minutes": 10, "volatility_spike_atr_ratio": 1.05},
    })
    db = tmp_path / f"{name}.db"
    request = BacktestRequest(data="synthetic", bars=BARS, seed=11, bar_size="1min",
                              start="2025-03-03T00:00:00Z", config=str(config),
                              llm_journal=str(db), llm="record", llm_max_calls=MAX_CALLS,
                              llm_yes_spend=True)
    return run_llm_backtest(request, keep_decisions=True)[0], db


def closes_of(tmp_path) -> dict[datetime, float]:
    request = BacktestRequest(data="synthetic", bars=BARS, seed=11, bar_size="1min",
                              start="2025-03-03T00:00:00Z")
    data = load_data(request, build_settings(request))
    return {datetime.fromtimestamp(int(t) / 1e9, UTC): float(c)
            for t, c in zip(data.ts_ns, data.close, strict=True)}


def journal_ledger(db, closes):
    """The ledger of the run's call log, scored from the data (as the page scores the journal)."""
    conn = connect(db)
    try:
        calls = calibration_store.answered_calls(conn)
    finally:
        conn.close()
    scored, unscored = score_calls(calls, lambda _symbol, ts: closes.get(ts))
    assert len(scored) + unscored == len(calls)
    return scored


@pytest.fixture(scope="module")
def closes(tmp_path_factory):
    return closes_of(tmp_path_factory.mktemp("closes"))


def test_a_model_right_70_percent_at_0_7_is_measured_so(tmp_path, closes):
    with FakeLlmServer(responder=Oracle(closes, 0.7, seed=3)) as fake:
        outcome, db = record_run(tmp_path, fake.url, "skilled")
        asked = fake.count("/converse")
    scored = journal_ledger(db, closes)
    figures = calibration(scored)
    assert 120 <= figures.calls <= asked
    assert figures.hit_low <= 0.7 <= figures.hit_high, figures
    assert figures.mean_confidence == pytest.approx(0.7)
    assert figures.brier == pytest.approx(0.7 * 0.09 + 0.3 * 0.49, abs=0.04)
    assert skill(scored) > 0.1
    counts = outcome.llm.counts  # the backtest's own ledger, scored from the data: the same
    assert counts["llm_scored_calls"] == figures.calls
    assert counts["llm_hit_rate"] == pytest.approx(figures.hit_rate, abs=1e-4)


def test_a_random_model_is_no_better_than_the_base_rate_and_skill_scaled_mutes_it(
        tmp_path, closes):
    with FakeLlmServer(responder=Coin(seed=5)) as fake:
        plain, db = record_run(tmp_path, fake.url, "coin")
        scaled, _ = record_run(tmp_path, fake.url, "coin-scaled", skill_scaled=True)
    scored = journal_ledger(db, closes)
    figures = calibration(scored)
    assert figures.calls >= 120
    assert figures.hit_low <= figures.base_rate, figures
    assert skill(scored) == 0.0
    assert any(d.llm_adjustment for d in plain.decisions), "unscaled, the coin moves decisions"
    assert not any(d.llm_adjustment for d in scaled.decisions), "scaled by skill 0: no nudge"
    assert scaled.llm.counts["llm_skill"] == 0.0
