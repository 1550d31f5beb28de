"""The Backtest page's blind-vs-plain comparison, on two stored LLM record runs.

Two real ``python -m bot backtest --run-id N`` runs over the same synthetic bars record their
prompts against the fake Bedrock, one plain and one date-blind. The fake plays a model that
*remembers* the market: shown a plain prompt (its bar time), it answers with what the market
really did over the next 45 minutes; shown a blind one, it can only guess. The page must then
show the two runs side by side with "measured memorisation = plain − blind": a much higher hit
rate and a lower Brier score plain. A pair that differs in more than the prompts is not
compared.
"""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from bot.backtest.runner import build_settings, load_data
from shared.config.backtest_request import BacktestRequest
from shared.domain.calibration import prompt_bar
from shared.domain.call_outcome import DEAD_BAND_POINTS, HORIZON_MINUTES, label_for
from shared.persistence import backtest_store
from shared.persistence.db import connect, open_database, write_transaction
from tests.fakellm.server import FakeLlmServer, Step
from tests.integration.botproc import write_config
from tests.pages import apptest
from tests.pages.conftest import shown, wire_dashboard
from tests.support import wait_for

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
MODEL = "us.anthropic.claude-haiku-4-5-20251001-v1:0"
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
DATA = {"data": "synthetic", "bars": 2880, "seed": 4, "bar_size": "1min",
        "start": "2025-03-03T00:00:00Z"}
BIASES = ("BULLISH", "BEARISH", "NEUTRAL")
ACTIONS = {"BULLISH": "BUY", "BEARISH": "SELL", "NEUTRAL": "HOLD"}


def remembering(closes: dict, seed: int):
    """A model that knows each dated bar's future and guesses on a blind prompt."""
    rng = random.Random(seed)

    def respond(record: dict) -> Step:
        prompt = record["body"]["messages"][0]["content"][0]["text"]
        bar = prompt_bar(prompt)
        later = closes.get(bar[1] + timedelta(minutes=HORIZON_MINUTES)) if bar else None
        if bar and later is not None and bar[1] in closes:
            bias = label_for(later - closes[bar[1]], DEAD_BAND_POINTS).bias
        else:
            bias = rng.choice(BIASES)
        return Step(payload={"bias": bias, "confidence": 0.9, "action": ACTIONS[bias],
                             "rationale": "", "key_factors": [], "risk_notes": ""})
    return respond


def store_and_run(db: Path, request: BacktestRequest, name: str) -> int:
    conn = open_database(db)
    try:
        with write_transaction(conn):
            run_id = backtest_store.insert_backtest_run(
                conn, request.to_json(), pd.Timestamp.now(tz="UTC").to_pydatetime(), name)
    finally:
        conn.close()
    env = {**os.environ, **DUMMY_AWS, "PYTHONPATH": str(ROOT), "TRADER_DB": str(db)}
    done = subprocess.run([sys.executable, "-m", "bot", "backtest", "--run-id", str(run_id)],
                          cwd=ROOT, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    return run_id


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory) -> tuple[Path, Path, list[int]]:
    folder = tmp_path_factory.mktemp("blind_page")
    db = folder / "trader.db"
    with FakeLlmServer() as fake:
        config = write_config(folder, "config.yaml", {
            "risk": {"max_trades_per_day": 40, "cooldown_after_loss_minutes": 1},
            "llm": {"enabled": True, "provider": "bedrock", "bedrock_endpoint_url": fake.url,
                    "bedrock_model": MODEL, "timeout_s": 5, "read_timeout_s": 4,
                    "max_attempts": 1, "reply_cache_minutes": 0},
            "events": {"triggers": ["market_open", "market_close", "volatility_spike"],
                       "cooldown_minutes": 20, "volatility_spike_atr_ratio": 1.2}})
        base = {**DATA, "config": str(config), "llm": "record", "llm_max_calls": 200,
                "llm_yes_spend": True}
        plain = BacktestRequest(**base)
        bars = load_data(plain, build_settings(plain))
        closes = {pd.Timestamp(ns, tz="UTC").to_pydatetime(): float(close)
                  for ns, close in zip(bars.ts_ns, bars.close, strict=True)}
        fake.responder = remembering(closes, seed=3)
        ids = [store_and_run(db, plain, "mem · plain"),
               store_and_run(db, BacktestRequest(**base, llm_blind=True), "mem · blind")]
    # a blind run over other bars (its figures stored as they came; only its request matters)
    other = BacktestRequest(**{**base, "seed": 5}, llm_blind=True)
    conn = open_database(db)
    try:
        metrics = json.loads(backtest_store.backtest_run(conn, ids[1])["metrics_json"])
        now = pd.Timestamp.now(tz="UTC").to_pydatetime()
        with write_transaction(conn):
            other_id = backtest_store.insert_backtest_run(conn, other.to_json(), now,
                                                          "other bars · blind")
            backtest_store.finish_backtest_run(conn, other_id, metrics, {}, [], [], now)
    finally:
        conn.close()
    return db, config, [*ids, other_id]


def open_page(env: dict, labels: list[str]) -> AppTest:
    app = apptest.open_page("app_pages/backtest.py")
    app.multiselect[0].set_value(labels)
    return app.run()


def label(db: Path, run_id: int) -> str:
    conn = connect(db, readonly=True)
    try:
        return f"#{run_id} {backtest_store.backtest_run(conn, run_id)['name']}"
    finally:
        conn.close()


def test_blind_and_plain_runs_show_the_measured_memorisation(two_runs, monkeypatch):
    db, config, (plain_id, blind_id, _) = two_runs
    env = wire_dashboard(monkeypatch, db, config)
    plain, blind = label(db, plain_id), label(db, blind_id)
    app = open_page(env, [plain, blind])
    assert not app.exception, app.exception
    table = next(d.value for d in app.dataframe if "Brier score (lower is better)" in
                 d.value.index)
    assert list(table.columns) == [f"plain: {plain}", f"blind: {blind}",
                                   "measured memorisation = plain − blind"]
    assert {"Trades", "Net P&L", "Hit rate", "Hit rate, 95% interval",
            "LLM answers scored"} <= set(table.index)
    conn = connect(db, readonly=True)
    metrics = [json.loads(backtest_store.backtest_run(conn, i)["metrics_json"])
               for i in (plain_id, blind_id)]
    conn.close()
    assert metrics[0]["llm_blind"] is False and metrics[1]["llm_blind"] is True
    assert min(m["llm_scored_calls"] for m in metrics) >= 10
    # the remembering model: right on (nearly) every dated prompt, a guess on a blind one
    assert metrics[0]["llm_hit_rate"] - metrics[1]["llm_hit_rate"] > 0.3
    hit = table.loc["Hit rate"]
    expected = 100 * (metrics[0]["llm_hit_rate"] - metrics[1]["llm_hit_rate"])
    assert hit.iloc[2] == f"{expected:+.1f} pp"
    brier = table.loc["Brier score (lower is better)"]
    assert float(brier.iloc[2]) == pytest.approx(
        metrics[0]["llm_brier"] - metrics[1]["llm_brier"], abs=1e-4) and brier.iloc[2][0] == "-"
    trades = table.loc["Trades"]
    assert int(trades.iloc[2].replace(",", "")) == metrics[0]["trades"] - metrics[1]["trades"]


def test_a_pair_over_different_bars_is_not_compared(two_runs, monkeypatch):
    db, config, (plain_id, _, other_id) = two_runs
    env = wire_dashboard(monkeypatch, db, config)
    app = open_page(env, [label(db, plain_id), label(db, other_id)])
    assert not app.exception, app.exception
    assert not any("Brier score (lower is better)" in d.value.index for d in app.dataframe)
    warnings = [shown(w.value) for w in app.warning]
    assert any("differ in seed, not only in blind prompts" in w for w in warnings), warnings


def test_the_form_launches_a_plain_and_a_blind_run_of_the_same_request(two_runs, monkeypatch):
    db, config, ids = two_runs
    env = wire_dashboard(monkeypatch, db, config)
    app = apptest.open_page("app_pages/backtest.py")
    app.selectbox(key="bt_llm_blind").set_value("compare plain / blind")
    app.number_input(key="bt_bars").set_value(1000)
    refused = app.button[0].click().run()  # the LLM is off: no prompt to blind
    assert any("only record and replay-cache runs send prompts" in shown(e.value)
               for e in refused.error)
    refused.selectbox(key="bt_llm").set_value("replay the record cache ($0)")
    refused.text_input(key="bt_name").set_value("pair")
    launched = refused.button[0].click().run()
    assert not launched.exception, launched.exception
    conn = connect(env["db"], readonly=True)
    try:
        new = [r for r in backtest_store.backtest_runs(conn) if r["id"] not in ids]
        requests = {r["name"]: json.loads(backtest_store.backtest_run(conn, r["id"])
                                          ["request_json"]) for r in new}
    finally:
        conn.close()
    assert sorted(requests) == ["pair · blind", "pair · plain"]
    assert requests["pair · blind"]["llm_blind"] and not requests["pair · plain"]["llm_blind"]
    assert {k: v for k, v in requests["pair · blind"].items() if k != "llm_blind"} == {
        k: v for k, v in requests["pair · plain"].items() if k != "llm_blind"}

    def ended() -> list[dict]:  # nothing the test started outlives it
        conn = connect(env["db"], readonly=True)
        try:
            mine = [r for r in backtest_store.backtest_runs(conn) if r["id"] not in ids]
        finally:
            conn.close()
        return mine if all(r["status"] in ("done", "failed") for r in mine) else []

    finished = wait_for(ended, 180, "the plain and the blind run to end")
    assert {r["status"] for r in finished} == {"done"}, finished
