"""Every page at 1,400 and 1,024 px: full-page screenshots into docs/screenshots/ (the README
shows them) and no clipped number: no metric value, sidebar line or code block cut short, no
table past the right edge."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from shared.config.backtest_request import BacktestRequest, launch_command
from shared.domain.models import CommandKind
from shared.persistence import backtest_store, llm_store, ops_store
from shared.persistence.db import open_database, write_transaction
from tests.e2e.conftest import clipped_elements, screenshot, wait_idle
from tests.integration.botproc import REPO_ROOT, query, wait_for

pytestmark = pytest.mark.integration
DOCS = REPO_ROOT / "docs" / "screenshots"
TIMEOUT_MS = 30_000
WIDTHS = (1400, 1024)
PAGES = [
    ("", "Overview", "overview", lambda page: page.get_by_test_id("stPlotlyChart").first),
    ("/trades", "Trades & performance", "trades",
     lambda page: page.get_by_test_id("stMetricLabel").filter(has_text="Win rate")),
    ("/controls", "Bot control", "controls",
     lambda page: page.get_by_role("button", name="Halt entries")),
    ("/config", "Config", "config", lambda page: page.get_by_role("tab", name="History")),
    ("/llm", "LLM", "llm", lambda page: page.get_by_role("heading", name="Calls")),
    ("/backtest", "Backtest", "backtest",
     lambda page: page.get_by_test_id("stMetricLabel").filter(has_text="Win rate")),
]


@pytest.fixture(scope="module")
def populated(running_product) -> dict:
    """The product with a finished backtest and an answered LLM call, so every page has
    something to show."""
    db = running_product["db"]
    conn = open_database(db)
    with write_transaction(conn):
        run_id = backtest_store.insert_backtest_run(
            conn, BacktestRequest(bars=20_000).to_json(), datetime.now(UTC), "screenshot run")
        command_id = ops_store.enqueue_command(conn, CommandKind.TRIGGER_LLM, datetime.now(UTC),
                                               {"notes": "screenshot", "context": ""})
    conn.close()
    subprocess.run(launch_command(sys.executable, run_id, str(db)), cwd=REPO_ROOT, check=True,
                   capture_output=True, timeout=300)
    wait_for(lambda: (c := query(db, llm_store.call_for_command, command_id))
             and c.status == "ok", 60, "the LLM call for the screenshots")
    return running_product


@pytest.mark.parametrize("width", WIDTHS)
@pytest.mark.parametrize(("path", "heading", "name", "element"), PAGES,
                         ids=[p[2] for p in PAGES])
def test_page_screenshot_has_no_clipped_numbers(browser, populated, width, path, heading, name,
                                                element):
    context = browser.new_context(viewport={"width": width, "height": 1000})
    page = context.new_page()
    try:
        page.goto(populated["url"] + path, wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name=heading, exact=True)).to_be_visible(
            timeout=TIMEOUT_MS)
        expect(element(page).first).to_be_visible(timeout=TIMEOUT_MS)
        if name == "llm":  # open the call log's latest prompt and reply
            expect(page.get_by_test_id("stCode").first).to_be_visible(timeout=TIMEOUT_MS)
        wait_idle(page)
        suffix = "" if width == WIDTHS[0] else f"-{width}"
        assert screenshot(page, f"{name}{suffix}", DOCS).stat().st_size > 10_000
        assert clipped_elements(page) == [], f"{name} at {width} px"
    finally:
        context.close()
