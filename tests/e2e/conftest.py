"""A real paper bot and a real Streamlit server on loopback, and headless Chromium to drive it."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.persistence import journal_store
from tests.fakellm.server import FakeLlmServer
from tests.integration.botproc import (
    REPO_ROOT,
    heartbeat,
    query,
    start_bot,
    stop_bot,
    wait_for,
)
from tests.integration.test_supervisor import free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROME_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
               "--disable-background-networking", "--disable-component-update",
               "--disable-sync", "--no-first-run", "--disable-quic"]
SCREENSHOTS = REPO_ROOT / "artifacts" / "screenshots"
DUMMY_AWS = {"AWS_ACCESS_KEY_ID": "test", "AWS_SECRET_ACCESS_KEY": "test",
             "AWS_EC2_METADATA_DISABLED": "true", "AWS_CONFIG_FILE": "/nonexistent",
             "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent"}


@pytest.fixture(scope="session")
def chromium_path() -> str:
    if not os.path.exists(CHROMIUM):
        pytest.skip("Chromium is not installed (apt-get install chromium); .ci/run installs it")
    try:
        import playwright  # noqa: F401
    except ImportError:
        pytest.skip("playwright is not installed")
    return CHROMIUM


# Playwright's expect() waits 5 s by default: under load (CI runs two workers on two cores, a
# bot and a Streamlit server beside the browser) a lazily loaded chart can take longer than
# that to appear. A failing check then waits this long; a passing one returns at once.
EXPECT_TIMEOUT_MS = 30_000


@pytest.fixture(scope="session", autouse=True)
def _patient_expect() -> None:
    """Every expect() without its own timeout waits up to ``EXPECT_TIMEOUT_MS``."""
    try:
        from playwright.sync_api import expect
    except ImportError:
        return
    expect.set_options(timeout=EXPECT_TIMEOUT_MS)


@pytest.fixture(scope="session")
def fake_llm() -> Iterator[FakeLlmServer]:
    """A fake Bedrock endpoint on loopback for the bot's LLM worker."""
    with FakeLlmServer() as server:
        yield server


@pytest.fixture(scope="session")
def running_product(chromium_path, tmp_path_factory, fake_llm) -> Iterator[dict]:
    """A paper bot (LLM on, against the fake Bedrock) and the dashboard on a free port."""
    folder = tmp_path_factory.mktemp("product")
    config = folder / "config.yaml"
    config.write_text(
        "feed:\n  source: synthetic\n  seed: 7\n  start: '2025-03-03T14:30:00Z'\n"
        "  speed: 100\nrisk:\n  max_hold_minutes: 10\n  max_trades_per_day: 40\n"
        "engine:\n  heartbeat_seconds: 1\n"
        f"llm:\n  enabled: true\n  bedrock_endpoint_url: '{fake_llm.url}'\n"
    )
    db, bot_log = folder / "trader.db", folder / "bot.log"
    bot = start_bot(config, db, bot_log, DUMMY_AWS)
    # The dashboard starts while the bot plays its first bars (it reads the journal only
    # when a page is opened): the two waits overlap.
    server, url, server_log = start_dashboard(
        folder, {"TRADER_DB": str(db), "TRADER_CONFIG": str(config)})
    try:
        wait_for(lambda: (h := heartbeat(db)) and h.bars_processed > 300, 120,
                 "the bot to journal some bars", bot, bot_log)
        wait_dashboard(server, url, server_log)
        yield {"url": url, "db": db, "config": config, "bot": bot, "bot_log": bot_log,
               "server": server}
    finally:
        stop_dashboard(server)
        if bot.poll() is None:
            stop_bot(bot)


def wait_for_first_trade(product: dict) -> None:
    """Wait until the product's bot has closed a trade: the Trades page shows its figures and
    downloads only then, and a test file may run before any other has let the bot trade."""
    wait_for(lambda: query(product["db"], journal_store.all_trades), 180,
             "the bot's first closed trade", product["bot"], product["bot_log"])


def launch_dashboard(folder: Path, env_extra: dict[str, str]) -> tuple[subprocess.Popen, str]:
    """Start ``streamlit run streamlit_app.py`` on a free loopback port; wait until healthy."""
    server, url, log = start_dashboard(folder, env_extra)
    wait_dashboard(server, url, log)
    return server, url


def start_dashboard(folder: Path, env_extra: dict[str, str],
                    ) -> tuple[subprocess.Popen, str, Path]:
    """Start the dashboard without waiting: (server, url, log). A fixture with other waits
    (a bot's first bars) does them meanwhile, then calls ``wait_dashboard``."""
    port = free_port()
    env = {**os.environ, "SUPERVISOR_URL": f"unix://{folder / 'no-supervisor.sock'}",
           "PYTHONUNBUFFERED": "1", **env_extra}
    if "DASHBOARD_PASSWORD" not in env_extra:
        env.pop("DASHBOARD_PASSWORD", None)
    log = folder / "streamlit.log"
    with log.open("w") as out:
        # Its own process group, as supervisord gives each program: the backtests the page
        # starts join it, and stop_dashboard signals the group (supervisord's stopasgroup).
        server = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "streamlit_app.py",
             "--server.address=127.0.0.1", f"--server.port={port}", "--server.headless=true",
             "--browser.gatherUsageStats=false"],
            cwd=REPO_ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return server, f"http://127.0.0.1:{port}", log


def wait_dashboard(server: subprocess.Popen, url: str, log: Path) -> None:
    """Wait until the dashboard ``start_dashboard`` started answers its health check."""

    def healthy() -> bool:
        try:
            return urllib.request.urlopen(url + "/_stcore/health", timeout=1).read() == b"ok"
        except OSError:
            return False

    try:
        wait_for(healthy, 60, "the Streamlit server", server, log)
    except AssertionError:
        server.kill()
        raise


def stop_dashboard(server: subprocess.Popen) -> None:
    """SIGTERM the dashboard's process group (the server and the jobs it started), as
    supervisord's stopasgroup does on ``make stop``; SIGKILL what is left after 20 s."""
    try:
        os.killpg(server.pid, signal.SIGTERM)
    except ProcessLookupError:
        return
    try:
        server.wait(timeout=20)
    except subprocess.TimeoutExpired:
        os.killpg(server.pid, signal.SIGKILL)
        server.wait(timeout=10)


@pytest.fixture(scope="module")
def browser(chromium_path):
    """Headless Chromium for one test module: closing it also ends Playwright's event loop,
    which would otherwise stay running in the main thread and break later asyncio.run tests."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        instance = playwright.chromium.launch(executable_path=chromium_path, headless=True,
                                              args=CHROME_ARGS)
        yield instance
        instance.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1500, "height": 1300})
    yield context.new_page()
    context.close()


def wait_idle(page, timeout_ms: int = 30_000) -> None:
    """Wait until Streamlit is connected, not running a script, and shows no skeleton."""
    from playwright.sync_api import expect

    app = "[data-testid='stApp']"
    page.locator(f"{app}[data-test-connection-state='CONNECTED']").wait_for(
        state="attached", timeout=timeout_ms)
    page.locator(f"{app}[data-test-script-state='notRunning']").wait_for(
        state="attached", timeout=timeout_ms)
    expect(page.get_by_test_id("stSkeleton")).to_have_count(0, timeout=timeout_ms)


def screenshot(page, name: str, folder: Path = SCREENSHOTS) -> Path:
    """Save a screenshot of the whole page (under the git-ignored artifacts folder by default).

    Streamlit scrolls inside its own container, so ``full_page`` alone captures the viewport:
    the viewport is made as tall as the content first, then put back.
    """
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{name}.png"
    size = page.viewport_size
    height = page.evaluate(
        "() => Math.max(...[...document.querySelectorAll('section, [data-testid=stMain], "
        "[data-testid=stAppViewContainer] *')].slice(0, 400).map(e => e.scrollHeight || 0), "
        "document.body.scrollHeight)")
    page.set_viewport_size({"width": size["width"], "height": min(max(height, 600), 12_000)})
    try:
        wait_idle(page)
        # no element greyed out by a fragment rerun still in flight
        page.locator("[data-stale='true']").first.wait_for(state="detached", timeout=30_000)
        page.screenshot(path=str(path), animations="disabled", full_page=True)
    finally:
        page.set_viewport_size(size)
    return path


OVERFLOW_JS = """() => {
  const found = [];
  const check = (selector, what) => {
    for (const el of document.querySelectorAll(selector)) {
      const inner = [el, ...el.querySelectorAll('*')];
      for (const node of inner) {
        if (node.scrollWidth > node.clientWidth + 1 && node.clientWidth > 0
            && getComputedStyle(node).overflowX !== 'visible') {
          found.push(what + ': ' + (el.innerText || '').trim().slice(0, 60));
          break;
        }
      }
    }
  };
  check('[data-testid=stMetricValue]', 'metric value');
  check('[data-testid=stMetricLabel]', 'metric label');
  check('[data-testid=stSidebar] [data-testid=stCaptionContainer]', 'sidebar line');
  check('[data-testid=stCode] pre', 'code block (not wrapping)');
  const width = document.documentElement.clientWidth;
  for (const el of document.querySelectorAll('[data-testid=stDataFrame]')) {
    const box = el.getBoundingClientRect();
    if (box.right > width + 1) found.push('table past the right edge: ' + Math.round(box.right));
  }
  return found;
}"""


def clipped_elements(page) -> list[str]:
    """Metric values and labels, sidebar lines and code blocks whose content is cut (scroll
    width beyond their box), and tables reaching past the window's right edge."""
    return page.evaluate(OVERFLOW_JS)
