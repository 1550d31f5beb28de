"""The dashboard in headless Chromium against a running paper bot: pages, config edits."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from shared.persistence import ops_store
from tests.e2e.conftest import clipped_elements, screenshot, wait_for_first_trade, wait_idle
from tests.integration.botproc import heartbeat, query, wait_for

pytestmark = pytest.mark.integration
TIMEOUT_MS = 30_000

PAGES = [
    ("", "Overview", "overview", lambda page: page.get_by_test_id("stPlotlyChart").first),
    ("/trades", "Trades & performance", "trades",
     lambda page: page.get_by_test_id("stMetricLabel").filter(has_text="Win rate")),
    ("/controls", "Bot control", "controls",
     lambda page: page.get_by_role("button", name="Halt entries")),
    ("/config", "Config", "config", lambda page: page.get_by_role("tab", name="History")),
    ("/alerts", "Alerts", "alerts",
     lambda page: page.get_by_role("button", name="Send test message")),
]


@pytest.mark.parametrize(("path", "heading", "name", "element"), PAGES,
                         ids=[p[2] for p in PAGES])
def test_every_page_shows_its_content(page, running_product, path, heading, name, element):
    if name == "trades":
        wait_for_first_trade(running_product)
    page.goto(running_product["url"] + path, wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=TIMEOUT_MS)
    expect(element(page)).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    assert not clipped_elements(page)


def _open_risk_form(page, url: str) -> None:
    page.goto(url + "/config", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Config")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    page.get_by_role("combobox", name="Section").click()
    page.get_by_role("option", name="risk", exact=True).click()
    field = page.get_by_role("spinbutton", name="max_contracts (live)")
    expect(field).to_be_visible(timeout=TIMEOUT_MS)


def _set_max_contracts(page, value: str) -> None:
    field = page.get_by_role("spinbutton", name="max_contracts (live)")
    field.fill(value)
    field.press("Tab")
    page.get_by_role("button", name="Review changes").click()


def test_bad_config_value_is_refused_and_nothing_saved(page, running_product):
    before_file = running_product["config"].read_text()
    before = query(running_product["db"], ops_store.active_config_version)
    _open_risk_form(page, running_product["url"])
    _set_max_contracts(page, "0")
    expect(page.get_by_text(re.compile(r"risk\.max_contracts: .*greater than or equal to 1"))
           ).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("Nothing was saved.")).to_be_visible()
    assert running_product["config"].read_text() == before_file
    assert query(running_product["db"], ops_store.active_config_version) == before


def test_good_config_value_is_saved_and_applied_by_the_running_bot(page, running_product):
    db = running_product["db"]
    _open_risk_form(page, running_product["url"])
    _set_max_contracts(page, "3")
    expect(page.get_by_text("+  max_contracts: 3")).to_be_visible(timeout=TIMEOUT_MS)
    page.get_by_role("button", name="Save as new version").click()
    saved = page.get_by_text(re.compile(r"Saved version \d+"))
    expect(saved).to_be_visible(timeout=TIMEOUT_MS)
    version_id = int(re.search(r"\d+", saved.inner_text()).group())
    active = query(db, ops_store.active_config_version)
    assert active.version_id == version_id and "max_contracts: 3" in active.yaml
    state = wait_for(lambda: (h := heartbeat(db)) and h.config_version == version_id and h,
                     30, "the bot to run the new version")
    assert state.status == "running"
    reloads = [e for e in query(db, ops_store.recent_events, 100) if e.kind == "config_reloaded"]
    assert "risk.max_contracts" in reloads[0].message
    screenshot(page, "config-saved")
