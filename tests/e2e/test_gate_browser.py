"""A fresh dashboard server reached first through a deep link still asks for the password."""

from __future__ import annotations

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import launch_dashboard

pytestmark = pytest.mark.integration


@pytest.mark.parametrize("path", ["/trades", "/controls", "/config", "/backtest"])
def test_deep_link_to_a_fresh_server_goes_through_the_password_gate(
    chromium_path, browser, tmp_path, path
):
    server, url = launch_dashboard(tmp_path, {
        "TRADER_DB": str(tmp_path / "none.db"), "TRADER_CONFIG": str(tmp_path / "none.yaml"),
        "DASHBOARD_PASSWORD": "s3cret",
    })
    context = browser.new_context()
    try:
        page = context.new_page()
        page.goto(url + path, wait_until="domcontentloaded")
        expect(page.locator("input[type='password']")).to_be_visible(timeout=30_000)
        expect(page.get_by_role("button", name="Log in")).to_be_visible()
        assert page.get_by_role("heading", level=1).count() == 0
    finally:
        context.close()
        server.terminate()
        server.wait(timeout=20)
