"""Issue 23 in headless Chromium: the open position drawn on the Overview chart (entry, stop
and target), and the chart's title clear of its legend at 1,400 and 1,024 px."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from shared.persistence import ops_store
from shared.persistence.backup import backup_file
from shared.persistence.db import open_database, write_transaction
from tests.e2e.conftest import launch_dashboard, stop_dashboard, wait_idle

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
    """A copy of the running product's journal whose last heartbeat holds a short position
    (no bot writes it afterwards, so the position stays), with its own dashboard."""
    folder = tmp_path_factory.mktemp("position")
    db = folder / "trader.db"
    backup_file(running_product["db"], db)
    conn = open_database(db)
    try:
        state = ops_store.read_bot_state(conn)
        entry = round(state.last_price * 4) / 4
        with write_transaction(conn):
            ops_store.upsert_bot_state(conn, replace(
                state, position_side="short", position_contracts=1, position_entry_price=entry,
                position_entry_ts=state.last_bar_ts - timedelta(minutes=15),
                position_stop_price=entry + 8.25, position_target_price=entry - 12.5))
    finally:
        conn.close()
    server, url = launch_dashboard(folder, {"TRADER_DB": str(db),
                                            "TRADER_CONFIG": str(running_product["config"])})
    try:
        yield {"url": url, "entry": entry}
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
