"""A new user's first hour, in headless Chromium: downloads after several sidebar refreshes on
the page, cancelling
and deleting backtests, the sidebar when the bot is stopped, and stopping the dashboard
stopping its backtests."""

from __future__ import annotations

import json
import re
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import pytest
from playwright.sync_api import expect
from streamlit.proto.BackMsg_pb2 import BackMsg

from shared.config.settings import settings_from_mapping
from shared.persistence import backtest_store, config_source
from shared.persistence.db import open_database, write_transaction
from tests.e2e.conftest import (
    start_dashboard,
    stop_dashboard,
    wait_dashboard,
    wait_for_first_trade,
    wait_idle,
)
from tests.integration.botproc import heartbeat, query, start_bot, stop_bot, wait_for

pytestmark = pytest.mark.integration
TIMEOUT_MS = 30_000
RUN_TIMEOUT_MS = 120_000


def _open(page, url: str, path: str, heading: str) -> None:
    page.goto(url + path, wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(
        timeout=TIMEOUT_MS)
    wait_idle(page)


# The sidebar reruns every ``dashboard.refresh_seconds`` (5 s by default); this test's product
# refreshes every second so that the refreshes it waits through take seconds, not half a minute.
REFRESH_S = 1


@contextmanager
def refresh_every(db: Path, seconds: float) -> Iterator[None]:
    """Make ``dashboard.refresh_seconds`` = ``seconds`` the active config version of the running
    product (a hot field), and store the previous settings back afterwards."""
    conn = open_database(db)
    try:
        _, before = config_source.active_settings(conn, env={})
        fast = settings_from_mapping({**before.model_dump(mode="json"),
                                      "dashboard": {"refresh_seconds": seconds}}, env={})
        with write_transaction(conn):
            config_source.store_version(conn, fast, "test", "fast refresh", datetime.now(UTC))
        try:
            yield
        finally:
            with write_transaction(conn):
                config_source.store_version(conn, before, "test", "refresh restored",
                                            datetime.now(UTC))
    finally:
        conn.close()


def _count_timed_reruns(page) -> list[float]:
    """A list that gets a time per timed fragment rerun the page asks the server for (a
    ``rerun_script`` message marked ``is_auto_rerun``: the sidebar's refresh)."""
    reruns: list[float] = []

    def sent(payload: bytes | str) -> None:
        if isinstance(payload, str):
            return
        message = BackMsg.FromString(payload)
        if message.WhichOneof("type") == "rerun_script" and message.rerun_script.is_auto_rerun:
            reruns.append(time.monotonic())

    page.on("websocket", lambda ws: ws.on("framesent", sent))
    return reruns


def _wait_refreshes(page, reruns: list[float], count: int) -> None:
    """Wait until ``count`` more timed reruns have been asked for."""
    target, deadline = len(reruns) + count, time.monotonic() + TIMEOUT_MS / 1000
    while len(reruns) < target:
        assert time.monotonic() < deadline, f"{target - len(reruns)} of {count} refreshes missing"
        page.wait_for_timeout(100)  # lets Playwright deliver the websocket events


def test_downloads_still_work_after_sidebar_refreshes_on_the_trades_page(browser,
                                                                        running_product):
    wait_for_first_trade(running_product)
    context = browser.new_context(viewport={"width": 1400, "height": 1000},
                                  accept_downloads=True)
    page = context.new_page()
    reruns = _count_timed_reruns(page)
    try:
        with refresh_every(running_product["db"], REFRESH_S):
            _open(page, running_product["url"], "/trades", "Trades & performance")
            _wait_refreshes(page, reruns, 4)  # the scenario itself: four sidebar refreshes go by
            with page.expect_download(timeout=TIMEOUT_MS) as csv_download:
                page.get_by_role("button", name="Download CSV").click()
            lines = Path(csv_download.value.path()).read_text(encoding="utf-8").splitlines()
            assert lines[0].startswith("bracket_id,") and len(lines) > 1
            _wait_refreshes(page, reruns, 1)  # and once more after another refresh
            with page.expect_download(timeout=TIMEOUT_MS) as json_download:
                page.get_by_role("button", name="Download JSON").click()
            rows = json.loads(Path(json_download.value.path()).read_text(encoding="utf-8"))
            assert rows and "pnl_net_usd" in rows[0]
    finally:
        context.close()


def _launch_synthetic(page, bars: str, name: str) -> int:
    field = page.get_by_role("spinbutton", name="Synthetic bars")
    field.fill(bars)
    field.press("Tab")
    page.get_by_label("Run name (optional)").fill(name)
    page.get_by_role("button", name="Run backtest").click()
    started = page.get_by_text(re.compile(r"Run \d+ started"))
    expect(started).to_be_visible(timeout=TIMEOUT_MS)
    return int(re.search(r"Run (\d+)", started.inner_text()).group(1))


def test_a_running_backtest_can_be_cancelled(page, running_product):
    _open(page, running_product["url"], "/backtest", "Backtest")
    run_id = _launch_synthetic(page, "5000000", "to cancel")
    expect(page.get_by_text(re.compile(rf"Run {run_id} to cancel: running"))).to_be_visible(
        timeout=RUN_TIMEOUT_MS)
    page.get_by_role("button", name="Cancel").first.click()
    expect(page.get_by_text(re.compile(rf"Run {run_id} to cancel cancelled"))).to_be_visible(
        timeout=RUN_TIMEOUT_MS)
    run = query(running_product["db"], backtest_store.backtest_run, run_id)
    assert run["status"] == "cancelled" and run["cancel_requested_at"]


def test_a_failed_run_can_be_deleted_and_its_error_names_the_users_file(page, running_product,
                                                                         tmp_path):
    bad = tmp_path / "my-bars.csv"
    bad.write_text("when,price\nyesterday,lots\ntoday,more\n")
    _open(page, running_product["url"], "/backtest", "Backtest")
    page.get_by_text("Upload CSV").click()
    expect(page.get_by_role("spinbutton", name="Synthetic bars")).to_have_count(0)
    with page.expect_response(lambda r: "upload_file" in r.url and r.ok, timeout=30_000):
        page.locator("input[type='file']").set_input_files(str(bad))
    page.get_by_role("button", name="Run backtest").click()
    failure = page.get_by_text(re.compile(r"Run \d+ failed: my-bars\.csv"))
    expect(failure.first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    run_id = int(re.search(r"Run (\d+)", failure.first.inner_text()).group(1))
    assert "uploads" not in failure.first.inner_text()
    row = page.get_by_test_id("stHorizontalBlock").filter(has=failure.first)
    row.get_by_role("button", name="Delete").click()
    expect(page.get_by_text(re.compile(rf"Run {run_id} failed"))).to_have_count(
        0, timeout=TIMEOUT_MS)
    assert query(running_product["db"], backtest_store.backtest_run, run_id) is None


@pytest.fixture(scope="module")
def own_product(chromium_path, tmp_path_factory):
    """A bot and a dashboard of this module's own, which its tests stop."""
    folder = tmp_path_factory.mktemp("own")
    config = folder / "config.yaml"
    config.write_text("feed:\n  source: synthetic\n  seed: 3\n  start: '2025-03-03T14:30:00Z'\n"
                      "  speed: 50\nengine:\n  heartbeat_seconds: 1\n")
    db, log = folder / "trader.db", folder / "bot.log"
    bot = start_bot(config, db, log)
    # The dashboard starts while the bot plays its first bars: the waits overlap.
    server, url, server_log = start_dashboard(
        folder, {"TRADER_DB": str(db), "TRADER_CONFIG": str(config)})
    try:
        wait_for(lambda: (h := heartbeat(db)) and h.bars_processed > 5, 60, "the bot", bot, log)
        wait_dashboard(server, url, server_log)
        yield {"url": url, "db": db, "bot": bot, "server": server}
    finally:
        stop_dashboard(server)
        if bot.poll() is None:
            stop_bot(bot)


def test_sidebar_says_stopped_when_the_bot_is_stopped(page, own_product):
    _open(page, own_product["url"], "", "Overview")
    sidebar = page.get_by_test_id("stSidebar")
    expect(sidebar.get_by_text("Broker: connected")).to_be_visible(timeout=TIMEOUT_MS)
    expect(sidebar.get_by_test_id("stMetricValue")).to_have_text("running")
    code, _ = stop_bot(own_product["bot"])
    assert code == 0
    expect(sidebar.get_by_test_id("stMetricValue")).to_have_text("stopped", timeout=TIMEOUT_MS)
    expect(sidebar.get_by_text("Entries: none (bot stopped)")).to_be_visible()
    assert sidebar.get_by_text("Broker: connected").count() == 0
    assert sidebar.get_by_text("Entries: allowed").count() == 0


def test_stopping_the_dashboards_group_cancels_its_backtests(page, own_product):
    """What supervisord's stopasgroup does to the dashboard on ``make stop``."""
    _open(page, own_product["url"], "/backtest", "Backtest")
    run_id = _launch_synthetic(page, "5000000", "outlived?")
    wait_for(lambda: (r := query(own_product["db"], backtest_store.backtest_run, run_id))
             and r["status"] == "running", 120, "the run to start")
    stop_dashboard(own_product["server"])
    run = wait_for(lambda: (r := query(own_product["db"], backtest_store.backtest_run, run_id))
                   and r["status"] != "running" and r, 30, "the run to end")
    assert run["status"] == "cancelled" and signal.SIGTERM.name in run["message"]
