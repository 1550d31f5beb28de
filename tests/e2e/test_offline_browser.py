"""The dashboard fetches nothing from the internet: a trading box may be offline, and a page
that waits on Google's font server or a CDN for its icon shows late or not at all."""

from __future__ import annotations

import re
import urllib.request
from urllib.parse import urlparse

import pytest
from playwright.sync_api import expect

from tests.e2e.conftest import wait_idle

pytestmark = pytest.mark.integration
TIMEOUT_MS = 30_000
LOCAL_HOSTS = {"127.0.0.1", "localhost", "::1", ""}
PAGES = [("", "Overview"), ("/trades", "Trades & performance"), ("/controls", "Bot control"),
         ("/config", "Config"), ("/llm", "LLM"), ("/alerts", "Alerts"),
         ("/backtest", "Backtest"), ("/research", "Research"), ("/memory", "Memory & learning")]
# what the page asks the browser to load: a src, a stylesheet or icon link, a CSS url()
LOADED_JS = """() => [
  ...[...document.querySelectorAll('[src]')].map(e => e.getAttribute('src')),
  ...[...document.querySelectorAll('link[href]')].map(e => e.getAttribute('href')),
  ...[...document.querySelectorAll('style')].flatMap(
      e => [...e.textContent.matchAll(/url\\(["']?([^"')]+)/g)].map(m => m[1])),
]"""


def _external(urls) -> list[str]:
    return sorted({u for u in urls if urlparse(u).scheme in ("http", "https", "ws", "wss")
                   and urlparse(u).hostname not in LOCAL_HOSTS})


def test_the_served_html_names_no_outside_host(running_product):
    html = urllib.request.urlopen(running_product["url"], timeout=10).read().decode()
    assert not _external(re.findall(r"""(?:src|href)=["']([^"']+)""", html))


def test_no_page_fetches_from_an_outside_host(page, running_product):
    requested: list[str] = []
    page.on("request", lambda request: requested.append(request.url))
    for path, heading in PAGES:
        page.goto(running_product["url"] + path, wait_until="domcontentloaded")
        expect(page.get_by_role("heading", name=heading).first).to_be_visible(
            timeout=TIMEOUT_MS)
        wait_idle(page)
        assert not _external(page.evaluate(LOADED_JS)), path
    local = [u for u in requested if urlparse(u).hostname == "127.0.0.1"]
    assert local, "the test saw the page's own requests"
    assert not _external(requested)
