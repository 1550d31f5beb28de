"""Every dashboard page, run headless with AppTest against a journal from a real paper run."""

from __future__ import annotations

import json
import os
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from streamlit.testing.v1 import AppTest

from bot.runtime.journal_lock import journal_lock
from shared.config.settings import Settings
from shared.persistence import config_source, journal_store, ops_store
from shared.persistence.db import connect
from tests.integration.botproc import query
from tests.pages.apptest import open_page
from tests.pages.conftest import shown

ROOT = Path(__file__).resolve().parents[2]
APP = str(ROOT / "streamlit_app.py")
PAGES = sorted(p.relative_to(ROOT).as_posix() for p in (ROOT / "app_pages").glob("*.py"))


@pytest.mark.parametrize("page", PAGES)
def test_every_page_renders_without_exception(app_env, page):
    app = open_page(page)
    assert not app.exception, app.exception
    assert app.title, f"{page} shows no title"


def test_overview_shows_the_journal(app_env):
    app = open_page("app_pages/overview.py")
    labels = {m.label: m.value for m in app.metric}
    assert "Equity" in labels and labels["Equity"].startswith("$")
    charts = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    names = {trace.get("name") for chart in charts for trace in chart["data"]}
    assert {"Price", "EMA 9", "Long entry ▲", "Short entry ▼", "Exit ×", "Equity"} <= names
    symbols = {trace.get("name"): trace.get("marker", {}).get("symbol")
               for chart in charts for trace in chart["data"]}
    assert symbols["Long entry ▲"] == "triangle-up" and symbols["Short entry ▼"] == "triangle-down"
    assert symbols["Exit ×"] == "x"
    decisions = app.dataframe[0].value
    assert len(decisions) == 25 and {"verdict", "reasons"} <= set(decisions.columns)


def test_overview_draws_the_journaled_sentiment_under_the_price(app_env):
    conn = connect(app_env["db"])
    latest = [row["id"] for row in journal_store.recent_decisions(conn, 40)]
    with conn:  # as a bot with news on journals it: the sentiment beside the features
        conn.executemany("UPDATE decisions SET features_json = json_set(features_json, "
                         "'$.sentiment', ?) WHERE id = ?",
                         [(round(0.02 * i - 0.4, 2), i_d) for i, i_d in enumerate(latest)])
    conn.close()
    app = open_page("app_pages/overview.py")
    price = next(json.loads(c.proto.spec) for c in app.get("plotly_chart")
                 if any(t.get("name") == "Price" for t in json.loads(c.proto.spec)["data"]))
    (panel,) = [t for t in price["data"] if t.get("name") == "Sentiment"]
    assert panel["yaxis"] == "y2" and len(panel["y"]) >= 1
    assert all(-1 <= v <= 1 for v in panel["y"])


def test_overview_has_no_sentiment_panel_without_news(app_env):
    app = open_page("app_pages/overview.py")
    names = {t.get("name") for c in app.get("plotly_chart") for t in json.loads(c.proto.spec)[
        "data"]}
    assert "Price" in names and "Sentiment" not in names


def test_sidebar_reports_heartbeat_mode_and_unreachable_supervisor(app_env):
    app = AppTest.from_file(APP, default_timeout=60).run()
    sidebar_metrics = {m.label: m.value for m in app.sidebar.metric}
    # supervisord unreachable and the paper run's last heartbeat says it stopped
    assert sidebar_metrics["Bot"] == "stopped"
    captions = " ".join(c.value for c in app.sidebar.caption)
    assert "Mode: **paper**" in captions and "Entries: none (bot stopped)" in captions
    assert "Broker: connected" not in captions and "Entries: allowed" not in captions


def test_halt_button_queues_a_command(app_env):
    app = open_page("app_pages/controls.py")
    next(b for b in app.button if b.label == "Halt entries").click().run()
    assert not app.exception
    conn = connect(app_env["db"])
    pending = ops_store.pending_commands(conn)
    assert [(c.kind, c.payload) for c in pending] == [("halt", {"reason": "halted from the "
                                                                          "dashboard"})]


def test_bot_control_names_the_process_holding_the_journal(app_env):
    app = open_page("app_pages/controls.py")
    assert "Journal writer: none" in [shown(c.value) for c in app.caption]
    with journal_lock(app_env["db"], datetime(2026, 12, 7, 18, 0, tzinfo=UTC)):
        app = open_page("app_pages/controls.py")
        writer = f"Journal writer: pid {os.getpid()} on host {os.uname().nodename}, since "
        captions = [shown(c.value) for c in app.caption]
        assert any(c.startswith(writer) for c in captions), captions


def test_flatten_needs_confirmation(app_env):
    app = open_page("app_pages/controls.py")
    flatten = next(b for b in app.button if b.label == "Flatten all")
    assert flatten.disabled
    app.checkbox[0].check().run()
    next(b for b in app.button if b.label == "Flatten all").click().run()
    conn = connect(app_env["db"])
    assert [c.kind for c in ops_store.pending_commands(conn)] == ["flatten"]


def _field(app: AppTest, key: str):
    return next(w for w in app.number_input if w.key == key)


def test_config_form_rejects_a_bad_value_and_saves_nothing(app_env):
    app = open_page("app_pages/config.py")
    app.selectbox[0].select("risk").run()
    _field(app, "field.risk.max_contracts").set_value(0)
    next(b for b in app.button if b.label == "Review changes").click().run()
    assert any("risk.max_contracts" in shown(e.value) for e in app.error)
    before = app_env["config"].read_text()
    assert not any(b.label == "Save as new version" for b in app.button)
    assert app_env["config"].read_text() == before


def test_config_form_saves_a_new_active_version_and_file(app_env):
    app = open_page("app_pages/config.py")
    app.selectbox[0].select("risk").run()
    _field(app, "field.risk.max_contracts").set_value(3)
    next(b for b in app.button if b.label == "Review changes").click().run()
    assert any("max_contracts: 3" in c.value for c in app.code)
    next(b for b in app.button if b.label == "Save as new version").click().run()
    assert not app.exception
    conn = connect(app_env["db"])
    active = ops_store.active_config_version(conn)
    assert active.author == "dashboard" and "max_contracts: 3" in active.yaml
    assert "max_contracts: 3" in app_env["config"].read_text()


def test_config_yaml_mode_reports_unknown_keys(app_env):
    app = open_page("app_pages/config.py")
    yaml_area = next(t for t in app.text_area if t.label == "config.yaml")
    yaml_area.input("risk:\n  max_contract: 3\n")
    next(b for b in app.button if b.label == "Review YAML").click().run()
    assert any("risk.max_contract" in shown(e.value) and "Extra inputs" in e.value
               for e in app.error)


def test_trades_page_metrics_match_the_journal(app_env):
    app = open_page("app_pages/trades.py")  # the default range covers the journal's trades
    assert not app.exception
    conn = connect(app_env["db"])
    trades = journal_store.all_trades(conn)
    cards = {m.label: m.value for m in app.metric}
    net = sum(t.pnl_net_cents for t in trades) / 100
    assert cards["Trades"] == str(len(trades)) and cards["Net P&L"] == f"${net:,.2f}"
    log = next(frame.value for frame in app.dataframe if "bracket_id" in frame.value.columns)
    assert len(log) == len(trades)
    assert [b.label for b in app.get("download_button")] == ["Download CSV", "Download JSON"]


def test_trades_page_filters_by_side(app_env):
    app = open_page("app_pages/trades.py")
    app.date_input[0].set_value((date(2025, 3, 1), date(2025, 3, 10))).run()
    app.multiselect[0].set_value(["long"]).run()
    conn = connect(app_env["db"])
    longs = [t for t in journal_store.all_trades(conn) if t.side.value == "long"]
    assert {m.label: m.value for m in app.metric}["Trades"] == str(len(longs))


@pytest.mark.parametrize("hand_edit", ["risk: [this is : not yaml\n", "  \n", ""])
def test_a_broken_hand_edit_of_the_exported_file_changes_nothing_on_the_config_page(
    app_env, hand_edit
):
    # the config's one source is the active version in the database, not data/config.yaml
    app_env["config"].write_text(hand_edit)
    app = open_page("app_pages/config.py")
    assert not app.exception and not [e for e in app.error if "config" in e.value.lower()]
    app.selectbox[0].select("risk").run()
    active = query(app_env["db"], config_source.active_settings)[1]
    assert active.risk.max_hold_minutes != Settings().risk.max_hold_minutes  # not the defaults
    assert _field(app, "field.risk.max_hold_minutes").value == active.risk.max_hold_minutes


def test_config_yaml_mode_refuses_empty_text(app_env):
    app = open_page("app_pages/config.py")
    next(t for t in app.text_area if t.label == "config.yaml").input("   ")
    next(b for b in app.button if b.label == "Review YAML").click().run()
    assert any("the config text is empty" in e.value for e in app.error)
    assert not any(b.label == "Save as new version" for b in app.button)
    assert app_env["config"].read_text().strip()


def test_password_gate_when_a_password_is_set(app_env, monkeypatch):
    monkeypatch.setenv("DASHBOARD_PASSWORD", "s3cret")
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not app.title  # nothing rendered before login
    app.text_input[0].input("wrong")
    app.button[0].click().run()
    assert [e.value for e in app.error] == ["Wrong password"]
    app.text_input[0].input("s3cret")
    app.button[0].click().run()
    assert app.title[0].value == "Overview"


def test_password_is_mandatory_off_loopback(app_env):
    from streamlit import config as streamlit_config

    previous = streamlit_config.get_option("server.address")
    streamlit_config.set_option("server.address", "0.0.0.0")
    try:
        app = AppTest.from_file(APP, default_timeout=60).run()
    finally:
        streamlit_config.set_option("server.address", previous)
    assert not app.title
    assert "set DASHBOARD_PASSWORD" in app.error[0].value


def test_overview_shows_the_trader_panels_and_a_trade_drilldown(app_env):
    app = open_page("app_pages/overview.py")
    text = " ".join(m.value for m in app.markdown)
    assert "**Position**" in text and "**Risk today**" in text
    assert "Market session (CME Globex)" in text and "Trades left" in text
    trade = next(s for s in app.selectbox if s.label == "Trade")
    assert trade.options and ("▲" in trade.options[0] or "▼" in trade.options[0])
    text = " ".join(m.value for m in app.markdown)  # the latest trade is drilled into
    assert "**Decision** at" in text and "**Orders**" in text and "**Fills**" in text
    tables = [d.value for d in app.dataframe]
    assert any({"strategy", "vote"} <= set(t.columns) for t in tables)
    assert any("role" in t.columns and "placed" in t.columns for t in tables)


def test_times_follow_the_zone_chosen_in_the_sidebar(app_env):
    app = AppTest.from_file(APP, default_timeout=60).run()
    app.switch_page("app_pages/overview.py").run()
    chicago = app.dataframe[0].value["ts"].iloc[0]
    app.sidebar.selectbox[0].select("UTC").run()
    utc = app.dataframe[0].value["ts"].iloc[0]
    assert str(chicago.tz) == "America/Chicago" and str(utc.tz) == "UTC"
    assert chicago == utc  # the same instant, shown in another zone


def test_the_zone_choice_is_kept_in_the_url_and_read_back_on_reload(app_env):
    """Issue 23: the zone choice was forgotten on reload."""
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert app.query_params["tz"] == "America/Chicago"
    app.sidebar.selectbox[0].select("UTC").run()
    assert app.query_params["tz"] == "UTC"
    reloaded = AppTest.from_file(APP, default_timeout=60)  # a new session with that URL
    reloaded.query_params["tz"] = "UTC"
    reloaded.run()
    assert reloaded.sidebar.selectbox[0].value == "UTC"
    reloaded.switch_page("app_pages/overview.py").run()
    assert str(reloaded.dataframe[0].value["ts"].iloc[0].tz) == "UTC"
    bogus = AppTest.from_file(APP, default_timeout=60)
    bogus.query_params["tz"] = "Mars/Olympus"
    bogus.run()
    assert bogus.sidebar.selectbox[0].value == "America/Chicago"


def test_trade_drilldown_shows_the_llm_call_in_force(app_env):
    """Issue 23: the drill-down crashed ('dict' has no attribute 'response') once a trade had an
    answered LLM call before it; it now shows the call, its reply as plain text."""
    from shared.persistence import llm_store
    from shared.persistence.db import write_transaction

    conn = connect(app_env["db"])
    try:
        first = conn.execute("SELECT MIN(recorded_at) FROM decisions").fetchone()[0]
        at = datetime.fromisoformat(first) - timedelta(minutes=1)
        with write_transaction(conn):  # the entries were taken with that call's bias in force
            conn.execute("UPDATE decisions SET labels_json = json_set(labels_json, '$.bias', "
                         "'bullish') WHERE bracket_id IS NOT NULL")
        request = llm_store.CallRequest(
            created_at=at, day=at.date().isoformat(), trigger="volatility", trigger_json="{}",
            command_id=None, provider="bedrock", model="m", template_version="v1",
            prompt_hash="h", system_prompt="s", prompt="p")
        reply = json.dumps({"bias": "BULLISH", "confidence": 0.7,
                            "rationale": "![x](http://beacon.invalid/b.png) buyers stepped in",
                            "key_factors": ["breadth"], "risk_notes": "thin tape"})
        with write_transaction(conn):
            reservation = llm_store.reserve_call(conn, request, 0.01,
                                                 llm_store.Limits(100, 5.0, 0.8))
            llm_store.settle_call(conn, reservation.call_id, llm_store.Settlement(
                status="ok", response=reply, error="", stop_reason="tool_use", input_tokens=10,
                output_tokens=10, cache_read_tokens=0, cache_write_tokens=0, cost_usd=0.001,
                latency_ms=5.0, retry_attempts=0, bias="BULLISH", confidence=0.7,
                action="BUY", settled_at=at))
    finally:
        conn.close()
    app = open_page("app_pages/overview.py")
    assert not app.exception
    text = " ".join(m.value for m in app.markdown)
    assert "LLM call in force" in text and "BULLISH" in text
    shown_text = " ".join(t.value for t in app.text)
    assert "buyers stepped in" in shown_text and "thin tape" in shown_text


def test_overview_draws_the_open_position_with_its_stop_and_target(app_env):
    """Issue 23: the open position was not on the chart, only closed trades."""
    from dataclasses import replace

    from shared.persistence.db import write_transaction

    conn = connect(app_env["db"])
    try:
        state = ops_store.read_bot_state(conn)
        entry_ts = state.last_bar_ts - timedelta(minutes=20)
        with write_transaction(conn):
            ops_store.upsert_bot_state(conn, replace(
                state, position_side="short", position_contracts=1,
                position_entry_price=5004.0, position_entry_ts=entry_ts,
                position_stop_price=5012.25, position_target_price=4990.5))
    finally:
        conn.close()
    app = open_page("app_pages/overview.py")
    assert not app.exception
    price = next(json.loads(c.proto.spec) for c in app.get("plotly_chart")
                 if any(t.get("name") == "Price" for t in json.loads(c.proto.spec)["data"]))
    traces = {t.get("name"): t for t in price["data"]}
    marker = traces["Open short 1 ▼ @ 5,004.00"]
    assert marker["y"] == [5004.0] and marker["marker"]["symbol"] == "triangle-down"
    entry_wall = entry_ts.astimezone(ZoneInfo("America/Chicago")).replace(tzinfo=None)
    assert datetime.fromisoformat(marker["x"][0]) == entry_wall  # shown in the chosen zone
    for name, level in (("Entry 5,004.00", 5004.0), ("Stop 5,012.25", 5012.25),
                        ("Target 4,990.50", 4990.5)):
        line = traces[name]
        assert line["y"] == [level, level], name  # across the window, past the entry
        assert datetime.fromisoformat(line["x"][0]) < entry_wall < datetime.fromisoformat(
            line["x"][1])
    assert traces["Stop 5,012.25"]["line"]["color"] != traces["Target 4,990.50"]["line"]["color"]


def test_overview_draws_no_position_lines_when_flat(app_env):
    from dataclasses import replace

    from shared.persistence.db import write_transaction

    conn = connect(app_env["db"])
    try:
        with write_transaction(conn):
            ops_store.upsert_bot_state(conn, replace(
                ops_store.read_bot_state(conn), position_side=None, position_contracts=0,
                position_entry_price=None, position_entry_ts=None, position_stop_price=None,
                position_target_price=None))
    finally:
        conn.close()
    app = open_page("app_pages/overview.py")
    names = {t.get("name") for c in app.get("plotly_chart")
             for t in json.loads(c.proto.spec)["data"]}
    assert "Price" in names
    assert not any(str(n).startswith(("Open ", "Stop ", "Target ", "Entry ")) for n in names)
