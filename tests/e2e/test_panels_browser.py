"""Issue 23 in headless Chromium at 1,400 and 1,024 px: the Overview chart's RSI and MACD panels
under the candles (the regime's not-tradable stretch shaded, panels tall enough to read, the
title clear of the legend) and the Trades page's P&L calendar, each saved as a screenshot."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from shared.persistence import journal_store
from shared.persistence.backup import backup_file
from shared.persistence.db import open_database
from tests.e2e.conftest import (
    DUMMY_AWS,
    clipped_elements,
    screenshot,
    start_dashboard,
    stop_dashboard,
    wait_dashboard,
    wait_for_first_trade,
    wait_idle,
)

pytestmark = pytest.mark.integration
TIMEOUT_MS = 30_000
PANELS_JS = """() => {
  const chart = [...document.querySelectorAll('[data-testid=stPlotlyChart]')]
    .find(c => c.querySelector('.y3title'));
  if (!chart) return null;
  const box = e => { if (!e) return null; const r = e.getBoundingClientRect();
    return [r.left, r.top, r.right, r.bottom]; };
  return {title: box(chart.querySelector('.gtitle')), legend: box(chart.querySelector('.legend')),
          price: box(chart.querySelector('.xy .nsewdrag')),
          rsi: box(chart.querySelector('.xy3 .nsewdrag')),
          macd: box(chart.querySelector('.xy4 .nsewdrag')),
          shaded: chart.querySelectorAll('.shapelayer path, .layer-below .shapelayer path').length,
          width: document.documentElement.clientWidth};
}"""


@pytest.fixture(scope="module")
def panels_product(running_product, tmp_path_factory) -> Iterator[dict]:
    """A copy of the running product's journal (after its first trade) whose middle stretch of
    decisions the regime called not tradable, with its own dashboard."""
    folder = tmp_path_factory.mktemp("panels")
    db = folder / "trader.db"
    # The dashboard starts while the bot trades (it opens the copy only when a page is
    # opened, after it is written below): the waits overlap.
    server, url, server_log = start_dashboard(
        folder, {"TRADER_DB": str(db), "TRADER_CONFIG": str(running_product["config"]),
                 **DUMMY_AWS})
    try:
        wait_for_first_trade(running_product)
        backup_file(running_product["db"], db)
        conn = open_database(db)
        try:
            ids = [row["id"] for row in journal_store.recent_decisions(conn, 400)]
            with conn:
                conn.executemany("UPDATE decisions SET regime_json = json_set(regime_json, "
                                 "'$.tradable', json(?)) WHERE id = ?",
                                 [("false" if 120 <= i < 200 else "true", d)
                                  for i, d in enumerate(ids)])
        finally:
            conn.close()
        wait_dashboard(server, url, server_log)
        yield {"url": url, "db": db}
    finally:
        stop_dashboard(server)


def _apart(a: list[float], b: list[float]) -> bool:
    return a[3] <= b[1] or b[3] <= a[1] or a[2] <= b[0] or b[2] <= a[0]


@pytest.mark.parametrize("width", [1400, 1024])
def test_indicator_panels_and_pnl_calendar_read_at_width(browser, panels_product, width):
    context = browser.new_context(viewport={"width": width, "height": 1100})
    page = context.new_page()
    try:
        page.goto(panels_product["url"], wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=TIMEOUT_MS)
        wait_idle(page)
        page.locator(".y3title").first.wait_for(timeout=TIMEOUT_MS)
        boxes = page.evaluate(PANELS_JS)
        assert boxes is not None
        price, rsi, macd = boxes["price"], boxes["rsi"], boxes["macd"]
        # stacked top to bottom, none overlapping, each panel tall enough to read
        assert price[3] <= rsi[1] and rsi[3] <= macd[1], boxes
        assert rsi[3] - rsi[1] >= 80 and macd[3] - macd[1] >= 80, boxes
        assert price[3] - price[1] >= 250, boxes
        assert _apart(boxes["title"], boxes["legend"]), boxes
        assert macd[2] <= boxes["width"], boxes
        assert boxes["shaded"] >= 3, boxes  # RSI guides (2) and the not-tradable stretch
        shot = screenshot(page, f"overview-indicators-{width}")
        assert shot.stat().st_size > 0

        page.goto(panels_product["url"] + "/trades", wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name="P&L calendar")).to_be_visible(
            timeout=TIMEOUT_MS)
        wait_idle(page)
        calendar = page.get_by_test_id("stPlotlyChart").filter(
            has=page.locator(".hm, .heatmaplayer")).first
        expect(calendar).to_be_visible(timeout=TIMEOUT_MS)
        expect(calendar.locator("text", has_text="Mon").first).to_be_visible()
        assert calendar.bounding_box()["width"] <= width
        assert clipped_elements(page) == []
        screenshot(page, f"trades-calendar-{width}")
        if width == 1400:
            _llm_call_log_fits(page, panels_product["url"])
    finally:
        context.close()


GRID_JS = """() => {
  const heading = [...document.querySelectorAll('h3')].find(h => h.textContent.trim() === 'Calls');
  return [...document.querySelectorAll('[data-testid=stDataFrame]')].map(el => {
    const scroller = el.querySelector('.dvn-scroller');
    return {after_calls: !!heading && !!(heading.compareDocumentPosition(el) & 4),
            text: el.textContent.slice(0, 600),
            scroll: scroller ? scroller.scrollWidth : 0,
            client: scroller ? scroller.clientWidth : 0};
  });
}"""


def _llm_call_log_fits(page, url: str) -> None:
    """The LLM page's call log: headers in words and every column on screen at 1,400 px (no
    horizontal scroll); the screenshot shows its cells (drawn on a canvas)."""
    page.goto(url + "/llm", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Calls", exact=True)).to_be_visible(
        timeout=TIMEOUT_MS)
    wait_idle(page)
    grids = page.evaluate(GRID_JS)
    calls = next(g for g in grids if g["after_calls"])
    assert calls["client"] > 0 and calls["scroll"] <= calls["client"] + 1, calls
    if "tokens in / out" in calls["text"]:  # the grid's accessible copy of its headers
        assert "_usd" not in calls["text"] and "None" not in calls["text"], calls["text"]
    screenshot(page, "llm-1400")
