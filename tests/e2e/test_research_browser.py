"""The Research page in headless Chromium: launch a small sweep, see the heatmap, apply a point."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import screenshot, wait_idle

pytestmark = pytest.mark.integration
RUN_TIMEOUT_MS = 180_000


def test_a_sweep_runs_shows_a_heatmap_and_a_point_is_applied(page, running_product):
    page.goto(running_product["url"] + "/research", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Research")).to_be_visible(timeout=30_000)
    wait_idle(page)
    bars = page.get_by_role("spinbutton", name="Synthetic bars")
    bars.fill("6000")
    bars.press("Tab")
    page.get_by_label("Grid, KEY=V1,V2,... per line (sweep, walk-forward)").fill(
        "risk.max_hold_minutes=20,40\nrisk.atr_stop_multiplier=1.5,2.5")
    page.get_by_label("Run name (optional)").fill("browser sweep")
    page.get_by_role("button", name="Start research run").click()
    expect(page.get_by_text(re.compile(r"Research run \d+ started"))).to_be_visible(
        timeout=30_000)
    expect(page.get_by_text("Apply a parameter set to the config")).to_be_visible(
        timeout=RUN_TIMEOUT_MS)
    wait_idle(page)  # the run's end reruns the page once
    heatmap = page.get_by_test_id("stPlotlyChart").first
    expect(heatmap).to_be_visible(timeout=30_000)
    heatmap.scroll_into_view_if_needed()
    screenshot(page, "research")
    page.get_by_role("button", name="Save as new config version").click()
    expect(page.get_by_text(re.compile(r"Saved config version \d+"))).to_be_visible(
        timeout=30_000)
