"""The Backtest page with AppTest: launch a real run, live progress, results, bad input, delete."""

from __future__ import annotations

import json
import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from shared.persistence import backtest_store, config_source
from shared.persistence.db import connect, open_database, write_transaction
from tests.pages import apptest
from tests.pages.conftest import shown

PAGE = "app_pages/backtest.py"


def open_page() -> AppTest:
    """A fresh browser session on the page (as after a reload)."""
    return apptest.open_page(PAGE)


def runs(db: Path) -> list[dict]:
    conn = connect(db, readonly=True)
    try:
        return backtest_store.backtest_runs(conn)
    finally:
        conn.close()


def wait_for_run(db: Path, status: str, timeout_s: float = 120) -> dict:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        found = runs(db)
        if found and found[0]["status"] == status:
            return found[0]
        if found and found[0]["status"] == "failed" and status != "failed":
            raise AssertionError(f"run failed: {found[0]['message']}")
        time.sleep(0.1)
    raise AssertionError(f"no run reached {status!r} in {timeout_s} s: {runs(db)}")


def submit(app: AppTest, **fields) -> AppTest:
    if "bt_source" in fields:  # outside the form: the form then shows that source's fields
        app = app.radio(key="bt_source").set_value(fields.pop("bt_source")).run()
    for key, value in fields.items():
        widget = app.radio(key=key) if key == "bt_source" else None
        if widget is None:
            kind = {"bt_bars": app.number_input, "bt_strategy": app.selectbox,
                    "bt_params": app.text_area, "bt_llm": app.selectbox,
                    "bt_llm_mode": app.selectbox, "bt_instrument": app.selectbox,
                    }.get(key, app.text_input)
            widget = kind(key=key)
        widget.set_value(value)
    return app.button[0].click().run()


def test_a_synthetic_run_launches_and_shows_results(app_env):
    app = submit(open_page(), bt_bars=4000, bt_name="synthetic check",
                 bt_params="risk.max_hold_minutes=15")
    assert not app.exception, app.exception
    done = wait_for_run(app_env["db"], "done")
    assert done["name"] == "synthetic check"
    app = open_page()
    labels = {m.label for m in app.metric}
    assert {"Net P&L", "Trades", "Win rate", "Sharpe (daily)", "Max drawdown"} <= labels
    assert len(app.get("plotly_chart")) >= 2  # equity/drawdown and trades on price
    assert len(app.dataframe) >= 4  # the runs table and breakdowns
    # issue 23: trader figures only on the cards; breakdowns read as text, never "None"
    assert "Bars / s" not in labels
    assert any("bars/s" in c.value for c in app.caption)
    assert app.metric[[m.label for m in app.metric].index("Win rate")].value.endswith("%")
    weekday = next(d.value for d in app.dataframe if "Weekday" in d.value.columns)
    assert set(weekday["Weekday"]) <= {"Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"}
    for table in (d.value for d in app.dataframe if "Profit factor" in d.value.columns):
        assert "None" not in table.to_string() and "nan" not in table.to_string()
        assert all(re.fullmatch(r"\d+\.\d%", v) for v in table["Win rate"])


def test_a_bad_headline_file_fails_the_run_naming_its_line(app_env, tmp_path):
    news = tmp_path / "news.csv"
    news.write_text("time,headline\nsoon,Stocks post strong gains\n", encoding="utf-8")
    submit(open_page(), bt_bars=2000, bt_news=str(news))
    deadline, failed = time.monotonic() + 120, None
    while failed is None and time.monotonic() < deadline:
        failed = next((r for r in runs(app_env["db"]) if r["status"] == "failed"), None)
        time.sleep(0.1)
    assert failed is not None, runs(app_env["db"])
    assert f"{news} line 2: time 'soon' is not an ISO 8601 time" in failed["message"]


def test_progress_is_shown_while_running_and_survives_a_reload(app_env):
    submit(open_page(), bt_bars=400_000, bt_strategy="rsi_macd_bracket")
    deadline, seen = time.monotonic() + 120, None
    while time.monotonic() < deadline and seen is None:
        reloaded = open_page()  # a new session each time, as after a browser reload
        bars = [p for p in reloaded.get("progress") if "running" in p.proto.text]
        if bars:
            seen = bars[0]
        time.sleep(0.2)
    assert seen is not None, "no progress bar of the running run"
    wait_for_run(app_env["db"], "done")
    assert not [p for p in open_page().get("progress")]


def test_a_bad_csv_upload_is_rejected_with_the_reason(app_env):
    app = open_page().radio(key="bt_source").set_value("Upload CSV").run()
    assert not any(w.label == "Synthetic bars" for w in app.number_input)
    app.get("file_uploader")[0].upload("bad.csv", b"when,price\n2025-01-01,abc\n", "text/csv")
    app = app.button[0].click().run()
    failed = wait_for_run(app_env["db"], "failed")
    assert "missing column(s)" in failed["message"]
    assert "bad.csv" in failed["message"] and "uploads" not in failed["message"]
    page = open_page()
    errors = [shown(e.value) for e in page.error]
    assert any("missing column(s)" in text for text in errors)
    next(b for b in page.button if b.label == "Delete").click().run()
    assert runs(app_env["db"]) == []


def test_the_form_shows_only_the_chosen_sources_fields_and_the_instrument(app_env):
    app = open_page()
    assert any(w.label == "Synthetic bars" for w in app.number_input)
    assert not any(w.label.startswith("Path of a CSV") for w in app.text_input)
    app = app.radio(key="bt_source").set_value("File on the server").run()
    assert any(w.label.startswith("Path of a CSV") for w in app.text_input)
    assert not any(w.label == "Synthetic bars" for w in app.number_input)
    app = submit(open_page(), bt_bars=2000, bt_instrument="ES")
    done = wait_for_run(app_env["db"], "done")
    conn = connect(app_env["db"], readonly=True)
    request = backtest_store.backtest_run(conn, done["id"])["request_json"]
    conn.close()
    assert '"instrument.symbol": "ES"' in request


def allow_folder(db: Path, folder: Path) -> None:
    """List ``folder`` in the active config's backtest.data_folders, as the Config page would."""
    conn = open_database(db)
    try:
        settings = config_source.active_settings(conn, env={})[1]
        backtest = settings.backtest.model_copy(update={"data_folders": [str(folder)]})
        with write_transaction(conn):
            config_source.store_version(conn, settings.model_copy(update={"backtest": backtest}),
                                        "test", "allow a data folder", datetime.now(UTC))
    finally:
        conn.close()


def test_an_empty_date_range_is_reported(app_env, shared_data):
    path = shared_data / "ES_1min_2025-08-31_2025-11-03_utc.csv"
    allow_folder(app_env["db"], shared_data)
    submit(open_page(), bt_source="File on the server", bt_path=str(path),
           bt_start="2030-01-01")
    failed = wait_for_run(app_env["db"], "failed")
    assert "no bars in the requested date range" in failed["message"]


def test_an_invalid_request_is_refused_before_any_run(app_env):
    app = submit(open_page(), bt_params="no equals sign")
    assert any("expected KEY=VALUE" in e.value for e in app.error)
    assert runs(app_env["db"]) == []


@pytest.mark.parametrize("count", [2])
def test_runs_are_compared_side_by_side_and_deleted(app_env, count):
    for index in range(count):
        submit(open_page(), bt_bars=2000, bt_name=f"run {index}")
        wait_for_run(app_env["db"], "done")
    app = open_page()
    labels = app.multiselect[0].options
    app.multiselect[0].set_value(labels[:2])
    app = app.run()
    comparison = app.dataframe[1].value
    assert list(comparison.columns) == labels[:2] and "Net P&L" in comparison.index
    delete = next(b for b in app.button if b.label.startswith("Delete run"))
    delete.click().run()
    assert len(runs(app_env["db"])) == count - 1


def test_memory_compare_runs_off_and_on_and_shows_them_side_by_side(app_env):
    app = open_page()
    app.radio(key="bt_memory").set_value("compare off / on")
    app = submit(app, bt_bars=3000, bt_name="mem",
                 bt_params="memory.cold_start_setups=3\nrisk.max_hold_minutes=15")
    assert not app.exception, app.exception
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        found = runs(app_env["db"])
        if len(found) == 2 and {r["status"] for r in found} == {"done"}:
            break
        assert "failed" not in {r["status"] for r in found}, found
        time.sleep(0.2)
    else:
        raise AssertionError(f"the two memory runs did not finish: {runs(app_env['db'])}")
    assert sorted(r["name"] for r in found) == ["mem · memory off", "mem · memory on"]
    conn = connect(app_env["db"], readonly=True)
    try:
        requests = [json.loads(backtest_store.backtest_run(conn, r["id"])["request_json"])
                    for r in found]
    finally:
        conn.close()
    assert sorted(r["memory"] for r in requests) == ["off", "on"]
    assert len({json.dumps({k: v for k, v in r.items() if k != "memory"}, sort_keys=True)
                for r in requests}) == 1  # the same data, strategy and parameters
    app = app.run()  # the same session: both runs are selected for comparison
    assert len(app.multiselect[0].value) == 2
    reloaded = open_page()  # issue 23: after a reload only the second run was selected
    assert sorted(reloaded.multiselect[0].value) == sorted(
        f"#{r['id']} {r['name']}" for r in found)
    table = next(d.value for d in app.dataframe if "Entries refused by memory" in d.value.index)
    assert list(table.loc["Memory"]) in (["on", "off"], ["off", "on"])
    refused = dict(zip(table.loc["Memory"], table.loc["Entries refused by memory"], strict=True))
    assert refused["off"] == "0" and int(refused["on"].replace(",", "")) > 0
    assert "What they would have made (net)" in table.index


def test_llm_modes_are_compared_side_by_side_on_the_same_data(app_env):
    app = submit(open_page(), bt_bars=2000, bt_name="llm modes",
                 bt_llm="replay the bot's journal ($0)", bt_llm_mode="compare all four")
    assert not app.exception, app.exception
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline and not (
            len(found := runs(app_env["db"])) == 4 and all(r["status"] == "done"
                                                           for r in found)):
        assert not [r for r in runs(app_env["db"]) if r["status"] == "failed"], runs(
            app_env["db"])
        time.sleep(0.2)
    names = sorted(r["name"] for r in runs(app_env["db"]))
    assert names == sorted(f"llm modes · llm {m}" for m in
                           ("disabled", "advisory", "bias", "consensus"))
    app = open_page()
    app.multiselect[0].set_value(app.multiselect[0].options[:4])
    app = app.run()
    table = next(d.value for d in app.dataframe if "Mode" in d.value.columns)
    assert sorted(table["Mode"]) == ["advisory", "bias", "consensus", "disabled"]
    assert set(table["LLM"]) == {"replay"} and set(table["New calls"]) == {"0"}
    assert {"Trades", "Net P&L", "Max drawdown", "New $", "Trades it enabled",
            "Skipped entries followed"} <= set(table.columns)


def test_a_server_path_outside_the_data_folders_is_refused_without_its_content(app_env):
    outside = "/etc/passwd"
    first_line = Path(outside).read_text().splitlines()[0]
    app = submit(open_page(), bt_source="File on the server", bt_path=outside)
    errors = [shown(e.value) for e in app.error]
    assert len(errors) == 1 and errors[0].startswith("/etc/passwd: not inside the data folders")
    assert first_line not in errors[0] and str(app_env["db"].parent) in errors[0]
    app = submit(open_page(), bt_source="File on the server", bt_path="/etc/no-such-file")
    assert [shown(e.value) for e in app.error] == [errors[0].replace("passwd",
                                                                     "no-such-file")]
    app = submit(open_page(), bt_news="../../../../../../etc/passwd")
    assert any("not inside the data folders" in shown(e.value) for e in app.error)
    assert runs(app_env["db"]) == []
