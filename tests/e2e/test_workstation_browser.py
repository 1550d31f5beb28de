"""Issue 23 in headless Chromium: the open position drawn on the Overview chart (entry, stop
and target), the chart's title clear of its legend at 1,400 and 1,024 px, and the LLM page's
header refreshed by the answer to *Ask the LLM*."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from shared.config.settings import settings_from_mapping
from shared.persistence import config_source, llm_store, ops_store
from shared.persistence.backup import backup_file
from shared.persistence.db import open_database, write_transaction
from tests.e2e.conftest import DUMMY_AWS, launch_dashboard, stop_dashboard, wait_idle
from tests.integration.botproc import query

pytestmark = pytest.mark.integration
TIMEOUT_MS = 30_000
BOXES_JS = """() => {
  const chart = document.querySelector('[data-testid=stPlotlyChart]');
  const box = sel => { const e = chart.querySelector(sel); if (!e) return null;
    const r = e.getBoundingClientRect(); return [r.left, r.top, r.right, r.bottom]; };
  return {title: box('.gtitle'), legend: box('.legend')};
}"""


@pytest.fixture(scope="module")
def position_product(running_product, tmp_path_factory) -> Iterator[dict]:
    """A copy of the running product's journal whose last heartbeat (an hour old: no bot runs
    on the copy) holds a short position, with its own dashboard. Its config refreshes the pages
    only every 10 minutes, so what changes on a page within seconds was not a timed refresh."""
    folder = tmp_path_factory.mktemp("position")
    db = folder / "trader.db"
    backup_file(running_product["db"], db)
    conn = open_database(db)
    try:
        state = ops_store.read_bot_state(conn)
        entry = round(state.last_price * 4) / 4
        _, settings = config_source.active_settings(conn, env={})
        slow = settings_from_mapping({**settings.model_dump(mode="json"),
                                      "dashboard": {"refresh_seconds": 600}}, env={})
        with write_transaction(conn):
            ops_store.upsert_bot_state(conn, replace(
                state, status="stopped", heartbeat_at=datetime.now(UTC) - timedelta(hours=1),
                position_side="short", position_contracts=1, position_entry_price=entry,
                position_entry_ts=state.last_bar_ts - timedelta(minutes=15),
                position_stop_price=entry + 8.25, position_target_price=entry - 12.5))
            config_source.store_version(conn, slow, "test", "slow refresh", datetime.now(UTC))
    finally:
        conn.close()
    server, url = launch_dashboard(folder, {"TRADER_DB": str(db),
                                            "TRADER_CONFIG": str(running_product["config"]),
                                            **DUMMY_AWS})
    try:
        yield {"url": url, "entry": entry, "db": db}
    finally:
        stop_dashboard(server)


def _points(value: float) -> str:
    return f"{value:,.2f}"


@pytest.mark.parametrize("width", [1400, 1024])
def test_the_open_position_is_on_the_chart_and_the_title_clear_of_the_legend(
        browser, position_product, width):
    context = browser.new_context(viewport={"width": width, "height": 1100})
    page = context.new_page()
    try:
        page.goto(position_product["url"], wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=TIMEOUT_MS)
        wait_idle(page)
        chart = page.get_by_test_id("stPlotlyChart").first
        entry = position_product["entry"]
        for name in (f"Open short 1 ▼ @ {_points(entry)}", f"Stop {_points(entry + 8.25)}",
                     f"Target {_points(entry - 12.5)}"):
            expect(chart.locator(".legendtext", has_text=re.compile("^" + re.escape(name)))
                   ).to_be_visible(timeout=TIMEOUT_MS)
        boxes = page.evaluate(BOXES_JS)
        title, legend = boxes["title"], boxes["legend"]
        assert title and legend
        overlap = not (title[3] <= legend[1] or legend[3] <= title[1]
                       or title[2] <= legend[0] or legend[2] <= title[0])
        assert not overlap, boxes
    finally:
        context.close()


def _metric(page, label: str) -> str:
    card = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").filter(has_text=label))
    return card.get_by_test_id("stMetricValue").inner_text()


def test_the_llm_header_shows_the_answer_without_a_reload(page, position_product):
    """Issue 23: after *Ask the LLM* the header kept 0 calls and $0.0000 until a reload."""
    page.goto(position_product["url"] + "/llm", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="LLM", exact=True)).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    today = datetime.now(UTC).date().isoformat()
    before = query(position_product["db"], llm_store.daily_usage, today)
    assert _metric(page, "Calls today") == f"{before.calls:,}"
    page.get_by_role("textbox", name="Notes for the model").fill("header check")
    page.get_by_role("button", name="Ask the LLM").click()
    expect(page.get_by_text(re.compile(r"via a one-off analyze job"))).to_be_visible(
        timeout=TIMEOUT_MS)
    expect(page.get_by_text(re.compile(r"Call \d+ ok: "))).to_be_visible(timeout=60_000)
    after = query(position_product["db"], llm_store.daily_usage, today)
    assert after.calls == before.calls + 1
    calls = page.get_by_test_id("stMetric").filter(
        has=page.get_by_test_id("stMetricLabel").filter(has_text="Calls today"))
    expect(calls.get_by_test_id("stMetricValue")).to_have_text(f"{after.calls:,}")
    assert _metric(page, "Cost today") != "$0.0000"
