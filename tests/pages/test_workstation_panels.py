"""Issue 23's dashboard leftovers with AppTest against a real paper run's journal: the P&L
calendar (Trades), the bot log's tail (Bot control), RSI/MACD panels under the candles
(Overview), the LLM tables without "None", and the training export's downloads (Memory)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from shared.persistence import journal_store, llm_store, trade_log_store
from shared.persistence.codec import to_text
from shared.persistence.db import connect, write_transaction
from tests.integration.botproc import query
from tests.pages.apptest import open_page
from tests.pages.conftest import shown

pytestmark = pytest.mark.integration
CT_OPEN_UTC = datetime(2025, 3, 3, 23, 0, tzinfo=UTC)  # 17:00 CST Monday: Tuesday's session


def cents(text: str) -> int:
    """``+$1,234.50`` / ``-$12.00`` as cents."""
    sign = -1 if text.startswith("-") else 1
    return sign * round(float(text.lstrip("+-").lstrip("$").replace(",", "")) * 100)


def move_trade(db: Path, bracket_id: str, exit_ts: datetime) -> None:
    """Shift a paper-run trade (a 5-s bar run closes all within one afternoon) to ``exit_ts``."""
    conn = connect(db)
    with conn:
        conn.execute("UPDATE trades SET entry_ts = ?, exit_ts = ? WHERE bracket_id = ?",
                     (to_text(exit_ts - timedelta(minutes=10)), to_text(exit_ts), bracket_id))
    conn.close()


def test_the_trades_page_shows_the_pnl_calendar_by_cme_trading_day(app_env):
    paper = query(app_env["db"], journal_store.all_trades)
    move_trade(app_env["db"], paper[-1].bracket_id, CT_OPEN_UTC + timedelta(minutes=40))
    move_trade(app_env["db"], paper[-2].bracket_id, datetime(2025, 3, 11, 15, 0, tzinfo=UTC))
    trades = query(app_env["db"], journal_store.all_trades)
    monday = sum(t.pnl_net_cents for t in trades if t.exit_ts < CT_OPEN_UTC)
    tuesday = paper[-1].pnl_net_cents  # closed 17:40 CST Monday: Tuesday's session
    next_week = paper[-2].pnl_net_cents
    app = open_page("app_pages/trades.py")
    app.date_input[0].set_value((date(2025, 3, 1), date(2025, 3, 12))).run()
    assert not app.exception, app.exception
    assert any(h.value == "P&L calendar" for h in app.subheader)
    grids = [json.loads(c.proto.spec) for c in app.get("plotly_chart")]
    (grid,) = [g for g in grids if g["data"][0].get("name") == "Daily P&L"]
    from dashboard import fmt

    assert grid["data"][0]["text"] == [[fmt.signed_usd(monday), fmt.signed_usd(tuesday), "",
                                        "", ""], ["", fmt.signed_usd(next_week), "", "", ""]]
    frames = {tuple(d.value.columns): d.value for d in app.dataframe}
    weeks = frames[("week of", "Mon", "Tue", "Wed", "Thu", "Fri", "week", "trades")]
    assert list(weeks["week of"]) == ["2025-03-10", "2025-03-03"]  # newest first
    assert list(weeks["trades"]) == [1, len(trades) - 1]
    assert cents(weeks.iloc[1]["week"]) == monday + tuesday
    assert cents(weeks.iloc[1]["Mon"]) == monday and cents(weeks.iloc[1]["Tue"]) == tuesday
    days = frames[("trading day", "net P&L", "trades", "wins", "first exit", "last exit")]
    assert list(days["trading day"]) == ["Tue 2025-03-11", "Tue 2025-03-04", "Mon 2025-03-03"]
    assert days.iloc[1]["first exit"] == "2025-03-03 17:40:00 CST"  # display zone: Chicago
    month = frames[("month", "net P&L", "trades", "green days", "red days")].iloc[0]
    assert month["month"] == "2025-03"
    assert cents(month["net P&L"]) == sum(t.pnl_net_cents for t in trades)


HOSTILE_LOG = (
    b"2025-03-03 14:30:00,001 INFO bot.runtime.live: started\n"
    b"2025-03-03 14:31:00,002 WARNING bot.llm: reply said ![x](http://evil.test/b.png) "
    b"<img src=x onerror=alert(1)>\n"
    b"\x00\x1b[2J\xff\xfe binary junk\n"
    b"2025-03-03 14:32:00,003 ERROR bot.runtime.live: broker call failed\n"
    b"Traceback (most recent call last):\n"
    b"ValueError: boom\n"
)


def test_the_bot_control_page_tails_the_log_with_a_level_filter(app_env, monkeypatch):
    log = app_env["db"].parent / "var" / "bot.log"
    log.parent.mkdir()
    log.write_bytes(b"2025-03-03 14:00:00,000 INFO bot: filler line\n" * 8000 + HOSTILE_LOG)
    monkeypatch.setenv("TRADER_BOT_LOG", str(log))
    app = open_page("app_pages/controls.py")
    assert not app.exception, app.exception
    (code,) = [c for c in app.code if "broker call failed" in c.value]
    lines = code.value.split("\n")
    assert len(lines) == 200  # the default line count
    assert "reply said ![x](http://evil.test/b.png) <img src=x onerror=alert(1)>" in code.value
    # NUL and the terminal escape as "?", the invalid UTF-8 bytes as U+FFFD
    assert "\n??\ufffd\ufffd binary junk\n" in code.value
    assert "\x00" not in code.value and "\x1b" not in code.value
    caption = next(shown(c.value) for c in app.caption if str(log) in shown(c.value))
    assert "from the last 256.0 KB of" in caption  # a bounded read of a bigger file

    app.segmented_control(key="log_level").set_value(app.segmented_control(
        key="log_level").options[2]).run()  # ERROR
    (code,) = [c for c in app.code if "broker call failed" in c.value]
    assert code.value.split("\n") == [
        "2025-03-03 14:32:00,003 ERROR bot.runtime.live: broker call failed",
        "Traceback (most recent call last):", "ValueError: boom"]
    app.segmented_control(key="log_level").set_value(app.segmented_control(
        key="log_level").options[1]).run()  # WARNING and above
    app.selectbox(key="log_lines").set_value(50).run()
    (code,) = [c for c in app.code if "broker call failed" in c.value]
    # the warning, its binary continuation, the error and its two traceback lines
    assert len(code.value.split("\n")) == 5 and "filler" not in code.value


def test_without_a_log_the_page_says_where_it_looked(app_env, monkeypatch):
    monkeypatch.setenv("TRADER_BOT_LOG", str(app_env["db"].parent / "missing.log"))
    app = open_page("app_pages/controls.py")
    assert not app.exception
    assert any("No log at" in shown(i.value) for i in app.info)


def test_the_overview_chart_has_rsi_and_macd_panels_with_the_regime_shaded(app_env):
    conn = connect(app_env["db"])
    latest = [row["id"] for row in journal_store.recent_decisions(conn, 300)]
    blocked = latest[100:140]  # one stretch the regime called not tradable
    with conn:
        conn.execute("UPDATE decisions SET regime_json = json_set(regime_json, '$.tradable', "
                     "json('true'))")
        conn.executemany("UPDATE decisions SET regime_json = json_set(regime_json, "
                         "'$.tradable', json('false')) WHERE id = ?", [(i,) for i in blocked])
    conn.close()
    app = open_page("app_pages/overview.py")
    assert not app.exception, app.exception
    price = next(json.loads(c.proto.spec) for c in app.get("plotly_chart")
                 if any(t.get("name") == "Price" for t in json.loads(c.proto.spec)["data"]))
    traces = {t.get("name"): t for t in price["data"]}
    assert traces["RSI"]["yaxis"] == "y3" and traces["MACD"]["yaxis"] == "y4"
    assert all(0 <= v <= 100 for v in traces["RSI"]["y"] if v is not None)
    assert "Not tradable (regime)" in traces
    shaded = [s for s in price["layout"]["shapes"] if s["type"] == "rect"]
    assert len(shaded) == 1 and shaded[0]["yref"] == "paper"
    layout = price["layout"]
    assert layout["xaxis"]["anchor"] == "y4"
    assert layout["yaxis"]["domain"][0] > layout["yaxis3"]["domain"][1]


def _call(conn, at: datetime, route: str) -> int:
    request = llm_store.CallRequest(at, at.date().isoformat(), "manual", "{}", None, "bedrock",
                                    "anthropic.claude-test", "v1", "h", "sys", "prompt",
                                    "bias", route)
    return llm_store.reserve_call(conn, request, 0.01,
                                  llm_store.Limits(100, 5.0, 0.8)).call_id


def test_llm_tables_show_empty_cells_and_readable_headers(app_env):
    now = datetime.now(UTC)
    conn = connect(app_env["db"])
    with write_transaction(conn):
        failed = _call(conn, now - timedelta(minutes=5), "")
        llm_store.settle_call(conn, failed, llm_store.Settlement(
            "error", "", "timeout after 4 s", "", 0, 0, 0, 0, 0.0, None, 2, None, None, None,
            now))
        _call(conn, now, "default")  # still pending: nearly every field missing
    conn.close()
    app = open_page("app_pages/llm.py")
    assert not app.exception, app.exception
    (calls,) = [d for d in app.dataframe if "cost_usd" in d.value.columns
                and "trigger" in d.value.columns]
    assert calls.proto.placeholder == ""  # a missing value is an empty cell, not "None"
    config = json.loads(calls.proto.columns)
    shown_columns = list(calls.proto.column_order)
    labels = [config[name]["label"] for name in shown_columns]
    assert all("_" not in label for label in labels), labels
    assert labels[:3] == ["call", "time", "trigger"]
    assert calls.value["bias"].isna().all()
    for table in app.dataframe:
        assert table.proto.placeholder == "", list(table.value.columns)


def test_a_finished_export_offers_its_files_for_download(app_env):
    folder = app_env["db"].parent / "exports"
    folder.mkdir()
    training = folder / "training-2025-03-01-abc.jsonl"
    training.write_text('{"prompt": "p", "completion": "c"}\n')
    audit = folder / "training-2025-03-01-abc.audit.jsonl"
    audit.write_text('{"trade": 1}\n{"trade": 2}\n')
    outside = app_env["db"].parent / "secret.jsonl"
    outside.write_text("not for download\n")
    conn = connect(app_env["db"])
    now = datetime.now(UTC)
    with write_transaction(conn):
        good = trade_log_store.start_export_run(conn, "t1", {"since": "2025-03-01"}, 0, now)
        trade_log_store.finish_export_run(conn, good, "done", "2 files", {
            "training_file": str(training), "heldout_file": None, "audit_file": str(audit)},
            now)
        bad = trade_log_store.start_export_run(conn, "t2", {"since": "2025-02-01"}, 0, now)
        trade_log_store.finish_export_run(conn, bad, "done", "tampered", {
            "training_file": str(outside), "audit_file": "/etc/passwd"}, now)
    conn.close()
    app = open_page("app_pages/memory.py")
    assert not app.exception, app.exception
    chooser = app.selectbox(key="export_download_run")
    assert chooser.value == bad  # newest first
    errors = [shown(e.value) for e in app.error]
    assert sum("not inside the data folders" in e for e in errors) == 2
    assert not [b for b in app.get("download_button") if "training" in b.proto.label]
    assert "not for download" not in str([e.value for e in app.error])

    chooser.set_value(good).run()
    assert not app.exception, app.exception
    buttons = {b.proto.label: b.proto for b in app.get("download_button")}
    assert set(buttons) == {"Download training (35 B)", "Download audit (26 B)"}
