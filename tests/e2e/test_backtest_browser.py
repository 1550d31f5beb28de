"""The Backtest page in headless Chromium: launch a run, watch it finish, refuse a bad CSV."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, wait_idle

pytestmark = pytest.mark.integration
RUN_TIMEOUT_MS = 120_000


def _open(page, url: str) -> None:
    page.goto(url + "/backtest", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Backtest")).to_be_visible(timeout=30_000)
    wait_idle(page)


def test_a_synthetic_run_launches_progresses_and_shows_results(page, running_product):
    _open(page, running_product["url"])
    bars = page.get_by_role("spinbutton", name="Synthetic bars")
    bars.fill("20000")
    bars.press("Tab")
    page.get_by_label("Run name (optional)").fill("browser run")
    page.get_by_role("button", name="Run backtest").click()
    expect(page.get_by_text(re.compile(r"Run \d+ started"))).to_be_visible(timeout=30_000)
    results = page.get_by_test_id("stMetricLabel").filter(has_text="Win rate")
    expect(results).to_be_visible(timeout=RUN_TIMEOUT_MS)
    expect(page.get_by_test_id("stPlotlyChart").first).to_be_visible()
    wait_idle(page)
    screenshot(page, "backtest")


def test_a_bad_csv_upload_gets_a_clear_error(page, running_product, tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("when,price\nyesterday,lots\ntoday,more\n")
    _open(page, running_product["url"])
    page.get_by_text("Upload CSV").click()
    # The upload goes to the server on its own request; submit only once it has been accepted.
    with page.expect_response(lambda r: "upload_file" in r.url and r.ok, timeout=30_000):
        page.locator("input[type='file']").set_input_files(str(bad))
    page.get_by_role("button", name="Run backtest").click()
    failure = page.get_by_text(re.compile(r"Run \d+ .*failed: .*bad\.csv|failed: .*column"))
    expect(failure.first).to_be_visible(timeout=RUN_TIMEOUT_MS)
    screenshot(page, "backtest-bad-csv")
