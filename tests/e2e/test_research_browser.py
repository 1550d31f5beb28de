"""The Research page in headless Chromium: launch a small sweep, see the heatmap, apply a point."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from shared.persistence import research_store
from tests.e2e.conftest import screenshot, wait_idle
from tests.integration.botproc import query, wait_for

pytestmark = pytest.mark.integration
RUN_TIMEOUT_S = 180


def test_a_sweep_runs_shows_a_heatmap_and_a_point_is_applied(page, running_product):
    page.goto(running_product["url"] + "/research", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Research")).to_be_visible(timeout=30_000)
    wait_idle(page)
    bars = page.get_by_role("spinbutton", name="Synthetic bars")
    if not bars.is_visible():  # the form folds once runs exist (another test may have run one)
        page.get_by_text("New run", exact=True).click()
    bars.fill("6000")
    bars.press("Tab")
    page.get_by_label("Grid, KEY=V1,V2,... per line (sweep, walk-forward)").fill(
        "risk.max_hold_minutes=20,40\nrisk.atr_stop_multiplier=1.5,2.5")
    page.get_by_label("Run name (optional)").fill("browser sweep")
    page.get_by_role("button", name="Start research run").click()
    started = page.get_by_text(re.compile(r"Research run \d+ started"))
    expect(started).to_be_visible(timeout=30_000)
    run_id = int(re.search(r"\d+", started.inner_text()).group())
    db = running_product["db"]
    wait_for(lambda: (run := query(db, research_store.research_run, run_id)) is not None
             and run.summary.status == "done", RUN_TIMEOUT_S, "the browser sweep to finish")
    page.reload(wait_until="domcontentloaded")  # a finished run survives a reload
    wait_idle(page)
    label = re.compile(rf"#{run_id} sweep browser sweep")
    results = page.get_by_role("combobox", name="Results of")
    expect(results).to_be_visible(timeout=30_000)
    if not label.search(results.input_value()):  # an earlier run's results are shown
        results.click()
        page.get_by_role("option", name=label).click()
    expect(results).to_have_value(label, timeout=30_000)
    expect(page.get_by_text("Apply a parameter set to the config")).to_be_visible(
        timeout=30_000)
    wait_idle(page)
    heatmap = page.get_by_test_id("stPlotlyChart").first
    expect(heatmap).to_be_visible(timeout=30_000)
    heatmap.scroll_into_view_if_needed()
    screenshot(page, "research")
    page.get_by_role("button", name="Save as new config version").click()
    expect(page.get_by_text(re.compile(r"Saved config version \d+"))).to_be_visible(
        timeout=30_000)
