"""Date-blind LLM recording: every prompt a ``--blind`` record run sends is scanned.

On a slice of real ES minutes (and on the synthetic market), a blind record run against the
fake Bedrock must send prompts with no date, no clock time, no bar timestamp and no number
near the market's price level (prices are an index around 100); the plain run over the same
bars does carry them (so the scan can fail). A manual trigger's headline is dropped too.
"""

from __future__ import annotations

import csv
import json
import re
from datetime import UTC, datetime

import pytest

from bot.llm.context import Snapshot, build_request
from bot.llm.types import Trigger, TriggerKind
from shared.config.backtest_request import BacktestRequest
from shared.persistence import llm_store
from shared.persistence.db import connect
from tests.fakellm.server import FakeLlmServer
from tests.integration.botproc import write_config
from tests.integration.llm_backtests import run_llm_backtest

pytestmark = pytest.mark.integration

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
DATE = re.compile(  # a date, a clock time, a year, a month's name
    r"\b(19|20)\d\d[-/.]\d\d?[-/.]\d\d?|\b\d\d?[-/.]\d\d?[-/.](19|20)\d\d|"
    r"\bT?\d\d:\d\d(:\d\d)?\b|(?<![\d.])(19|20)\d\d(?![\d.])|"
    r"\b(January|February|March|April|May|June|July|August|September|October|November|"
    r"December|Jan|Feb|Mar|Apr|Jun|Jul|Aug|Sep|Sept|Oct|Nov|Dec)\b")
NUMBER = re.compile(r"-?\d+(?:\.\d+)?")


@pytest.fixture(autouse=True)
def aws(monkeypatch):
    for name, value in DUMMY_AWS.items():
        monkeypatch.setenv(name, value)


def recorded_prompts(tmp_path, url: str, blind: bool, **data) -> tuple[list[str], tuple]:
    """Every prompt a record run sent, and the data's (lowest, highest) close."""
    name = "blind" if blind else "plain"
    config = write_config(tmp_path, f"{name}.yaml", {
        "risk": {"max_trades_per_day": 40, "cooldown_after_loss_minutes": 1},
        "memory": {"enabled": True, "cold_start": "allow", "min_similar_trades": 1},
        "llm": {"enabled": True, "provider": "bedrock", "bedrock_endpoint_url": url,
                "bedrock_model": MODEL, "timeout_s": 5, "read_timeout_s": 4,
                "max_attempts": 1, "reply_cache_minutes": 0},
        "events": {"triggers": ["market_open", "market_close", "volatility_spike"],
                   "cooldown_minutes": 20, "volatility_spike_atr_ratio": 1.2},
    })
    db = tmp_path / f"{name}.db"
    request = BacktestRequest(**data, config=str(config), llm_journal=str(db), llm="record",
                              llm_max_calls=200, llm_yes_spend=True, llm_blind=blind)
    _, bars = run_llm_backtest(request)
    conn = connect(db)
    try:
        calls = llm_store.recent_calls(conn, 10_000)
    finally:
        conn.close()
    return ([c.system_prompt + "\n" + c.prompt for c in calls],
            (float(bars.close.min()), float(bars.close.max())))


def leaks(prompt: str, closes: tuple[float, float]) -> list[str]:
    """Dates, clock times, years, and numbers within the market's price range (±30 %)."""
    low, high = closes[0] * 0.7, closes[1] * 1.3
    found = [m.group(0) for m in DATE.finditer(prompt)]
    found += [n for n in NUMBER.findall(prompt) if low <= abs(float(n)) <= high]
    return found


def assert_blind(tmp_path, url: str, **data) -> int:
    blind, closes = recorded_prompts(tmp_path, url, True, **data)
    plain, _ = recorded_prompts(tmp_path, url, False, **data)
    assert len(blind) >= 5 and len(plain) >= 5
    for prompt in blind:
        assert leaks(prompt, closes) == [], prompt
        snapshot = json.loads(prompt.split("Market snapshot (JSON):\n")[1].split("\n")[0])
        assert "time_utc" not in snapshot and snapshot["price"] == 100.0
    assert all(leaks(prompt, closes) for prompt in plain), "the plain prompts carry them"
    return len(blind)


def test_blind_prompts_on_real_es_minutes_carry_no_date_and_no_price(tmp_path, shared_data):
    source = shared_data / "ES_1min_frd_sample_2023-03-08_2023-03-23_et.csv"
    sample = tmp_path / "sample.csv"  # a temp slice, never kept in the repo
    with source.open(newline="") as src, sample.open("w", newline="") as out:
        writer = csv.writer(out)
        for index, row in enumerate(csv.reader(src)):
            if index >= 4000:
                break
            writer.writerow(row)
    with FakeLlmServer() as fake:
        assert assert_blind(tmp_path, fake.url, data=str(sample), tz="America/New_York") >= 5


def test_blind_prompts_on_the_synthetic_market_carry_no_date_and_no_price(tmp_path):
    with FakeLlmServer() as fake:
        assert assert_blind(tmp_path, fake.url, data="synthetic", bars=2880, seed=4,
                            bar_size="1min", start="2025-03-03T00:00:00Z") >= 5


def test_a_blind_prompt_drops_headline_text_but_keeps_the_keywords():
    at = datetime(2025, 3, 12, 12, 30, tzinfo=UTC)
    trigger = Trigger(TriggerKind.NEWS, at, {"headlines": ["CPI for February 2025 hot"],
                                             "keywords": ["CPI"]})
    snapshot = Snapshot("MES", at.isoformat(), 5712.25, {"close": 5712.25, "atr_points": 5.7},
                        {}, {}, {"side": "long", "contracts": 1, "entry_price": 5700.0,
                                 "stop": 5690.0, "target": 5720.0}, 0.0)
    blind = build_request(trigger, snapshot, blind=True).user
    assert "CPI" in blind and "February" not in blind and "5712" not in blind
    assert '"atr_pct": 0.09979' in blind and '"entry_price": 99.7855' in blind
