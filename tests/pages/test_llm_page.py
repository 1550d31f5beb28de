"""The LLM page with AppTest: status, manual trigger end to end (bot and one-off job), news, log."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
import yaml
from streamlit.testing.v1 import AppTest

from shared.config.settings import load_settings
from shared.domain.news import Headline
from shared.persistence import config_source, llm_state, llm_store, news_store, ops_store
from shared.persistence.db import connect, write_transaction
from tests.fakellm.server import FakeLlmServer, Step
from tests.integration.botproc import heartbeat, query, start_bot, stop_bot, wait_for
from tests.pages import apptest
from tests.pages.conftest import shown

DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}
REPLY = {"bias": "BEARISH", "confidence": 0.65, "action": "SELL", "rationale": "CPI hot",
         "key_factors": ["CPI"], "risk_notes": "event risk"}


@pytest.fixture
def fake(monkeypatch):
    for name, value in DUMMY_AWS.items():
        monkeypatch.setenv(name, value)
    with FakeLlmServer(Step(payload=REPLY)) as server:
        yield server


def use_fake(app_env: dict, fake: FakeLlmServer, **feed) -> None:
    config = yaml.safe_load(app_env["config"].read_text()) or {}
    # Timeouts well above a loaded machine's pauses: a retried attempt would be a second call.
    config["llm"] = {"enabled": True, "provider": "bedrock", "bedrock_endpoint_url": fake.url,
                     "timeout_s": 25, "read_timeout_s": 20}
    config["engine"] = {"heartbeat_seconds": 0.5, "commands_poll_seconds": 0.1}
    # Only the page's trigger asks the model: a market-open or volatility trigger of the running
    # bot would be a second call, sooner or later depending on how long the machine takes.
    config["events"] = {"triggers": []}
    if feed:
        config["feed"] = {**config.get("feed", {}), **feed}
    app_env["config"].write_text(yaml.safe_dump(config))
    activate(app_env)


def activate(app_env: dict) -> None:
    """Make the config file the active version, as the Config page's save does (the one-off
    job, like every process, reads the database's version)."""
    conn = connect(app_env["db"])
    try:
        with write_transaction(conn):
            config_source.store_version(conn, load_settings(app_env["config"], env={}), "test",
                                        "LLM page test", datetime.now(UTC))
    finally:
        conn.close()


def open_llm_page() -> AppTest:
    return apptest.open_page("app_pages/llm.py")


def ask(app: AppTest, notes: str) -> AppTest:
    app.text_area[0].input(notes)
    return next(b for b in app.button if b.label == "Ask the LLM").click().run()


def result_text(app: AppTest) -> str:
    return " ".join(shown(e.value) for e in [*app.success, *app.error, *app.info])


def test_status_shows_quota_and_limit_from_the_config(app_env):
    app = open_llm_page()
    assert not app.exception
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Calls today"] == "0" and metrics["Cost today"] == "$0.0000"
    bars = [b.proto.text for b in app.get("progress")]
    assert "quota 1,000/day" in bars and "limit $50.00/day" in bars
    assert metrics["Provider"] == "bedrock" and metrics["Bias in force"] == "neutral"
    assert metrics["Trades it enabled"] == "0" and metrics["Win % agreed"] == "-"


def test_manual_trigger_goes_through_the_running_bot_to_the_model(app_env, fake):
    use_fake(app_env, fake, max_bars=None, speed=20)
    log = app_env["db"].parent / "bot.log"
    process = start_bot(app_env["config"], app_env["db"], log, DUMMY_AWS)
    try:
        before = heartbeat(app_env["db"]).heartbeat_at
        wait_for(lambda: (h := heartbeat(app_env["db"])) and h.status == "running"
                 and h.heartbeat_at > before, 60, "the bot running", process, log)
        app = ask(open_llm_page(), "FOMC today, be careful")
        command_id = app.session_state["llm_command"]
        assert app.session_state["llm_via"] == "the running bot"
        call = wait_for(lambda: (c := query(app_env["db"], llm_store.call_for_command,
                                            command_id)) and c.status == "ok" and c,
                        30, "the call log row", process, log)
        wait_for(lambda: (o := query(app_env["db"], ops_store.command_outcome, command_id))
                 and "BEARISH" in o.result, 30, "the command result", process, log)
        app.run()
    finally:
        code, _ = stop_bot(process)
    asked = [str(r["body"])[-300:] for r in fake.requests]
    assert code == 0 and fake.count("/converse") == 1, asked
    assert "FOMC today" in call.prompt and call.trigger == "manual"
    assert f"Call {call.call_id} ok: BEARISH" in result_text(app)


def test_without_a_bot_the_page_runs_a_one_off_job(app_env, fake):
    use_fake(app_env, fake)
    app = ask(open_llm_page(), "quiet tape")
    command_id = app.session_state["llm_command"]
    assert app.session_state["llm_via"] == "a one-off analyze job"
    call = wait_for(lambda: (c := query(app_env["db"], llm_store.call_for_command, command_id))
                    and c.status == "ok" and c, 60, "the job's call")
    app.run()
    assert f"Call {call.call_id} ok: BEARISH" in result_text(app)
    outcome = query(app_env["db"], ops_store.command_outcome, command_id)
    assert outcome.status == "done" and "BEARISH" in outcome.result
    assert fake.count("/converse") == 1
    metrics = {m.label: m.value for m in app.metric}
    assert metrics["Calls today"] == "1" and metrics["Cost today"] != "$0.0000"
    assert any("quiet tape" in c.value for c in app.code), "prompt drill-down"


def test_one_off_job_reports_an_unavailable_provider(app_env, monkeypatch):
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_CONFIG_FILE", "/nonexistent")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent")
    monkeypatch.delenv("AWS_ACCESS_KEY_ID", raising=False)
    monkeypatch.delenv("AWS_SECRET_ACCESS_KEY", raising=False)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    config = yaml.safe_load(app_env["config"].read_text()) or {}
    app_env["config"].write_text(yaml.safe_dump({**config, "llm": {"enabled": True}}))
    activate(app_env)
    app = ask(open_llm_page(), "anything")
    command_id = app.session_state["llm_command"]
    outcome = wait_for(lambda: (o := query(app_env["db"], ops_store.command_outcome, command_id))
                       and "unavailable" in o.result and o, 60, "the job's answer")
    assert "no AWS credentials" in outcome.result
    app.run()
    assert "unavailable" in result_text(app)


def test_headline_form_stores_news(app_env):
    app = open_llm_page()
    next(t for t in app.text_input if t.label == "Headline").input("CPI rises 0.4%")
    next(b for b in app.button if b.label == "Add headline").click().run()
    conn = connect(app_env["db"])
    assert [n["headline"] for n in llm_state.recent_news(conn)] == ["CPI rises 0.4%"]


def test_headlines_show_with_their_sentiment_scores(app_env):
    conn = connect(app_env["db"])
    received = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
    with write_transaction(conn):
        good = news_store.store_if_new(conn, Headline("rss:wire", "Stocks post strong gains",
                                                      received), timedelta(hours=1))
        news_store.store_if_new(conn, Headline("ib:BRFG", "Markets crash", received),
                                timedelta(hours=1))
        news_store.set_scores(conn, [news_store.Score(good, 0.77, "vader")], received)
    conn.close()
    app = open_llm_page()
    table = next(d.value for d in app.dataframe if "headline" in d.value.columns)
    rows = {r["headline"]: r for r in table.to_dict("records")}
    assert rows["Stocks post strong gains"]["score"] == 0.77
    assert rows["Stocks post strong gains"]["scorer"] == "vader"
    assert pd.isna(rows["Markets crash"]["score"]), "not scored yet: empty"


def test_config_page_edits_the_llm_section(app_env):
    app = apptest.open_page("app_pages/config.py")
    app.selectbox[0].select("llm").run()
    assert not app.exception
    assert any("input_per_1k_usd" in t.value for t in app.text_area), "price table as YAML"
    next(w for w in app.number_input if w.key == "field.llm.daily_call_quota").set_value(500)
    next(b for b in app.button if b.label == "Review changes").click().run()
    next(b for b in app.button if b.label == "Save as new version").click().run()
    assert not app.exception
    assert "daily_call_quota: 500" in app_env["config"].read_text()
