"""Hostile model text in a real browser: a lesson, a rule, a review message, an LLM reply and a
halt reason holding image links, links and HTML show as characters; the browser fetches
nothing from the beacon host and renders no link or image pointing at it."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from dashboard.plain import WORD_JOINER
from tests.e2e.conftest import launch_dashboard, stop_dashboard, wait_idle
from tests.pages.test_hostile_text import HOSTILE, _seed

pytestmark = pytest.mark.integration
BEACON_HOST = "203.0.113.9"


def test_hostile_text_shows_literally_and_fetches_nothing(chromium_path, browser, tmp_path):
    db = tmp_path / "trader.db"
    _seed(db)
    server, url = launch_dashboard(tmp_path, {"TRADER_DB": str(db),
                                              "TRADER_CONFIG": str(tmp_path / "config.yaml")})
    context = browser.new_context(viewport={"width": 1400, "height": 1300})
    fetched: list[str] = []
    context.route(f"**/{BEACON_HOST}/**", lambda route: (fetched.append(route.request.url),
                                                        route.abort()))
    try:
        page = context.new_page()
        for path, heading in (("/memory", "Memory & learning"), ("/", "Overview")):
            page.goto(url + path, wait_until="domcontentloaded")
            expect(page.get_by_role("heading", name=heading)).to_be_visible(timeout=30_000)
            wait_idle(page)
            if path == "/memory":  # the lesson, through st.text, character for character
                expect(page.get_by_text(HOSTILE, exact=True).first).to_be_visible()
            else:  # the halt reason, escaped inside an alert: the same characters on screen
                halted = page.get_by_text(re.compile(r"^Halted: ")).first
                expect(halted).to_be_visible(timeout=30_000)
                shown = halted.inner_text().replace(WORD_JOINER, "")
                assert shown == f"Halted: {HOSTILE}"
            assert page.locator(f"img[src*='{BEACON_HOST}']").count() == 0
            links = page.locator(f"a[href*='{BEACON_HOST}']")
            assert links.count() == 0, links.first.evaluate(
                "e => e.parentElement.outerHTML.slice(0, 400)")
            assert page.locator("[data-testid=stMain] code").count() == 0  # no `tick` code
        assert fetched == []
    finally:
        context.close()
        stop_dashboard(server)
