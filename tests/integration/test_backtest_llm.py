"""The LLM in backtests, against the fake Bedrock on loopback and a real live paper run.

- ``--llm replay`` over the journal of a live ``python -m bot run`` with the LLM on (an
  accelerated synthetic feed, the real boto3 client against the fake) gives every bar the
  live bot's LLM bias and adjustment, the live trades, and costs nothing: no request reaches
  the fake and no call-log row is added.
- ``--llm record`` refuses to start without ``--yes-spend`` (exit 2, one line stating the
  estimate, no request), never makes more HTTP requests than ``--llm-max-calls`` (counted by
  the server, retries included), and ``--llm replay-cache`` then gives identical trades and
  identical biases at identical bars with no new call.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.backtest.engine_run import run_engine
from bot.backtest.llm_replay import journal_llm
from bot.backtest.llm_setup import make_backtest_llm
from bot.backtest.runner import build_settings, load_data
from shared.config.backtest_request import BacktestRequest
from shared.domain.models import ExitReason
from shared.persistence import codec, journal_store, llm_backtest_store, llm_store
from tests.fakellm.server import GOOD_REPLY, FakeLlmServer, Step, throttled
from tests.integration.botproc import REPO_ROOT, query, start_bot, write_config

pytestmark = pytest.mark.integration

MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
BEARISH = {**GOOD_REPLY, "bias": "BEARISH", "action": "SELL", "confidence": 0.7}
START = "2025-03-03T14:25:00Z"
LIVE_BARS = 2500  # 5-second bars: from 5 minutes before the open to past 17:50 UTC
ACTIVE_RISK = {"max_trades_per_day": 40, "cooldown_after_loss_minutes": 1,
               "max_hold_minutes": 30}


def llm_section(url: str, **extra) -> dict:
    return {"enabled": True, "provider": "bedrock", "bedrock_endpoint_url": url,
            "bedrock_model": MODEL, "timeout_s": 5, "read_timeout_s": 4,
            "retry_backoff_s": 0.05, "reply_cache_minutes": 0, **extra}


def backtest(tmp_path: Path, *flags: str) -> tuple[subprocess.CompletedProcess[str], dict]:
    """``python -m bot backtest`` as a process; its result and its --json document."""
    out = tmp_path / f"bt-{len(list(tmp_path.glob('bt-*.json')))}.json"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "backtest", *flags, "--json", str(out)], cwd=REPO_ROOT,
        env={**os.environ, **DUMMY_AWS}, capture_output=True, text=True, timeout=300)
    document = json.loads(out.read_text()) if out.exists() else {}
    return result, document


def call_log(db: Path) -> tuple[int, dict, dict]:
    """Call-log rows, governed attempts (rows and llm_daily), statuses."""
    return (query(db, llm_backtest_store.call_count) or 0,
            query(db, llm_store.governed_attempts) or {},
            query(db, llm_store.status_counts) or {})


def prepared(request: BacktestRequest):
    settings = build_settings(request)
    data = load_data(request, settings)
    return settings.model_copy(update={"feed": settings.feed.model_copy(
        update={"bar_seconds": data.bar_seconds})}), data


def llm_view(decision) -> tuple:
    """What the LLM did to one decision, and the decision."""
    return (decision.llm_adjustment, decision.labels["bias"], decision.final_confidence,
            decision.verdict.value, decision.action_taken, decision.risk_rule)


# --- replay of a live run ------------------------------------------------------------------


@pytest.fixture(scope="module")
def live_run(tmp_path_factory):
    """A live paper run with the LLM on (bullish and bearish replies), its fake still up."""
    folder = tmp_path_factory.mktemp("live_llm")
    db, log = folder / "live.db", folder / "bot.log"
    with FakeLlmServer() as fake:
        fake.push(*[Step(payload=BEARISH if i % 2 else GOOD_REPLY) for i in range(40)])
        config = write_config(folder, "c.yaml", {
            "feed": {"source": "synthetic", "seed": 7, "start": START, "speed": 1000,
                     "max_bars": LIVE_BARS},
            "engine": {"heartbeat_seconds": 0.5}, "risk": ACTIVE_RISK,
            "llm": llm_section(fake.url, bias_ttl_minutes=20),
            "events": {"triggers": ["market_open", "volatility_spike"], "cooldown_minutes": 10,
                       "volatility_spike_atr_ratio": 1.3},
        })
        process = start_bot(config, db, log, DUMMY_AWS)
        assert process.wait(timeout=300) == 0, log.read_text()[-3000:]
        yield {"folder": folder, "db": db, "config": config, "fake": fake}


def replay_request(live: dict, **extra) -> BacktestRequest:
    return BacktestRequest(data="synthetic", bars=LIVE_BARS, seed=7, bar_size="5s", start=START,
                           config=str(live["config"]), llm="replay",
                           llm_journal=str(live["db"]), **extra)


def test_replay_gives_every_bar_the_live_bias_and_adjustment(live_run):
    db = live_run["db"]
    live = {codec.from_text(r["ts"]): r for r in query(db, journal_store.recent_decisions,
                                                        1_000_000)}
    statuses = call_log(db)[2]
    assert statuses.get("ok", 0) >= 4, "the live run had several replies"
    biases = {json.loads(r["labels_json"])["bias"] for r in live.values()}
    assert {"bullish", "bearish", "neutral"} <= biases
    assert sum(1 for r in live.values() if r["llm_adjustment"] > 0) > 0
    settings, data = prepared(replay_request(live_run))
    assert len(data) == len(live)
    for skip in (False, True):  # every bar, then the bars the fast path evaluates
        outcome = run_engine(settings, data, keep_decisions=True, skip_idle_bars=skip,
                             llm=journal_llm(db, data, settings))
        assert outcome.decisions and (len(outcome.decisions) == len(live)) is not skip
        for mine in outcome.decisions:
            row = live[mine.ts]
            assert llm_view(mine) == (
                row["llm_adjustment"], json.loads(row["labels_json"])["bias"],
                row["final_confidence"], row["verdict"], row["action_taken"],
                row["risk_rule"]), mine.ts


def test_a_replay_backtest_gives_the_live_trades_and_costs_nothing(live_run, tmp_path):
    db, fake = live_run["db"], live_run["fake"]
    before, requests = call_log(db), fake.count("/converse")
    result, document = backtest(
        tmp_path, "--bars", str(LIVE_BARS), "--seed", "7", "--bar-size", "5s", "--start", START,
        "--config", str(live_run["config"]), "--llm", "replay", "--llm-journal", str(db))
    assert result.returncode == 0, result.stderr[-2000:]
    assert fake.count("/converse") == requests and call_log(db) == before
    metrics = document["metrics"]
    assert (metrics["llm_source"], metrics["llm_calls"], metrics["llm_cost_usd"]) == (
        "replay", 0, 0.0)
    assert metrics["llm_replies_applied"] >= 2 and metrics["llm_nudged_decisions"] > 0
    live_trades = query(db, journal_store.all_trades)
    closed = [t for t in document["trades"] if t["exit_reason"] != ExitReason.END_OF_DATA]
    assert [(t["bracket_id"], t["entry_time"], t["exit_time"], t["pnl_net_cents"],
             t["labels"]["bias"]) for t in closed] == [
        (t.bracket_id, t.entry_ts.isoformat(), t.exit_ts.isoformat(), t.pnl_net_cents,
         t.labels["bias"]) for t in live_trades]
    assert "LLM replay (bias)" in result.stdout


# --- record once, replay many --------------------------------------------------------------


def record_config(folder: Path, url: str) -> Path:
    return write_config(folder, "c.yaml", {
        "risk": ACTIVE_RISK, "llm": llm_section(url, max_attempts=3),
        "events": {"triggers": ["market_open", "market_close", "volatility_spike"]},
    })


RECORD_DATA = ("--bars", "4320", "--seed", "7", "--bar-size", "1min", "--start",
               "2025-03-03T00:00:00Z")


def test_record_refuses_without_confirmation_when_it_would_spend(tmp_path):
    db = tmp_path / "cache.db"
    with FakeLlmServer() as fake:
        config = record_config(tmp_path, fake.url)
        result, _ = backtest(tmp_path, *RECORD_DATA, "--config", str(config), "--llm", "record",
                             "--llm-max-calls", "4", "--llm-journal", str(db))
        assert fake.count("/converse") == 0
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --llm record:")
    assert "at most 4 HTTP call(s)" in lines[0] and "estimate $0.0" in lines[0]
    assert "--yes-spend" in lines[0]
    assert call_log(db)[0] == 0


def test_record_keeps_to_its_cap_and_replay_cache_repeats_it_for_free(tmp_path):
    db = tmp_path / "cache.db"
    with FakeLlmServer() as fake:
        fake.push(throttled(), Step(), Step(payload=BEARISH), Step())  # one retry, governed
        config = record_config(tmp_path, fake.url)
        flags = (*RECORD_DATA, "--config", str(config), "--llm-journal", str(db))
        recorded, first = backtest(tmp_path, *flags, "--llm", "record", "--llm-max-calls", "3",
                                   "--yes-spend")
        assert recorded.returncode == 0, recorded.stderr[-2000:]
        sent = fake.count("/converse")
        rows, governed, _ = call_log(db)
        replayed, second = backtest(tmp_path, *flags, "--llm", "replay-cache")
        assert replayed.returncode == 0, replayed.stderr[-2000:]
        assert fake.count("/converse") == sent and call_log(db)[0] == rows
    metrics = first["metrics"]
    assert metrics["llm_triggers"] > 3, "more triggers than the cap allows calls"
    assert sent == 3 == metrics["llm_calls"] == governed["rows"] == governed["daily_calls"]
    assert metrics["llm_capped"] >= 1 and metrics["llm_cost_usd"] > 0
    assert metrics["llm_cost_usd"] <= metrics["llm_budget_usd"]
    again = second["metrics"]
    assert (again["llm_calls"], again["llm_cost_usd"]) == (0, 0.0)
    answered = metrics["llm_triggers_asked"] - metrics["llm_capped"] - metrics["llm_failed"]
    assert again["llm_cache_hits"] == answered == 2  # the throttled call was retried once
    assert again["llm_cache_misses"] == metrics["llm_capped"] + metrics["llm_failed"]
    assert second["trades"] == first["trades"]
    assert again["llm_nudged_decisions"] == metrics["llm_nudged_decisions"]


def test_record_then_replay_cache_give_identical_biases_at_identical_bars(tmp_path,
                                                                          monkeypatch):
    for name, value in DUMMY_AWS.items():
        monkeypatch.setenv(name, value)
    db = tmp_path / "cache.db"
    with FakeLlmServer() as fake:
        fake.push(*[Step(payload=BEARISH if i % 3 == 1 else GOOD_REPLY) for i in range(60)])
        config = record_config(tmp_path, fake.url)
        base = dict(data="synthetic", bars=4320, seed=7, bar_size="1min",
                    start="2025-03-03T00:00:00Z", config=str(config), llm_journal=str(db))
        runs = {}
        for source in ("record", "replay-cache", "record"):  # a second record buys nothing
            request = BacktestRequest(**base, llm=source, llm_max_calls=50, llm_yes_spend=True)
            settings, data = prepared(request)
            hook = make_backtest_llm(request, settings, data)
            try:
                outcome = run_engine(settings, data, keep_decisions=True, llm=hook)
            finally:
                hook.close()
            runs.setdefault(source, []).append((outcome, fake.count("/converse")))
    (recorded, bought), = runs["record"][:1]
    (cached, after_cache), = runs["replay-cache"]
    (again, after_again) = runs["record"][1]
    assert bought > 3 and after_cache == bought and after_again == bought
    assert recorded.llm.counts["llm_calls"] == bought
    assert cached.llm.counts["llm_cache_hits"] == bought
    assert again.llm.counts["llm_calls"] == 0 == cached.llm.counts["llm_cache_misses"]
    assert any(d.llm_adjustment for d in recorded.decisions)
    for other in (cached, again):
        assert [(d.ts, *llm_view(d)) for d in other.decisions] == [
            (d.ts, *llm_view(d)) for d in recorded.decisions]
        assert other.trades == recorded.trades
