"""Every page at 1,400 and 1,024 px: full-page screenshots into docs/screenshots/ (the README and
docs/dashboard.md show them) and no clipped number: no metric value, sidebar line or code block
cut short, no table past the right edge."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from playwright.sync_api import expect

from bot.core.sessions import CmeSessionClock
from dashboard import alert_views
from shared.config.backtest_request import BacktestRequest, launch_command
from shared.config.research_request import ResearchRequest, research_command
from shared.domain.models import CommandKind
from shared.persistence import (
    alerts_store,
    backtest_store,
    llm_store,
    ops_store,
    research_store,
    rules_store,
)
from shared.persistence.db import open_database, write_transaction
from shared.persistence.journal_store import all_trades
from tests.e2e.conftest import DUMMY_AWS, clipped_elements, screenshot, wait_idle
from tests.fakechat.smtp import SmtpSink
from tests.fakellm.server import Step
from tests.integration.botproc import REPO_ROOT, heartbeat, query, wait_for

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
    ("/research", "Research", "research", lambda page: page.get_by_test_id("stPlotlyChart")),
    ("/memory", "Memory & learning", "memory",
     lambda page: page.get_by_role("button", name="Approve #")),
    ("/alerts", "Alerts", "alerts",
     lambda page: page.get_by_test_id("stDataFrame").filter(has_text="email")),
]
# the nightly review's thresholds lowered so the few trades of a short run can propose a rule
REVIEW_LEARNING = ("learning:\n  min_sample: 1\n  min_losses: 1\n  lookback_days: 1\n"
                   "  backtest_days: 1\n")
LESSON = ("The losing long was entered in a rising, normal-volatility market and stopped out "
          "within minutes: wait for a pullback before a trend entry.")


@pytest.fixture(scope="module")
def populated(running_product, fake_llm, tmp_path_factory) -> Iterator[dict]:
    """The product with a finished backtest, an answered LLM call, a finished research sweep,
    a nightly review's proposals and an alerter that delivered a test message, so every page
    has something to show. Each is made the way the product makes it."""
    db = running_product["db"]
    folder = tmp_path_factory.mktemp("populated")
    with SmtpSink() as smtp:
        alerter = _start_alerter(running_product, smtp, folder / "alerter.log")
        try:
            conn = open_database(db)
            with write_transaction(conn):
                run_id = backtest_store.insert_backtest_run(
                    conn, BacktestRequest(bars=20_000).to_json(), datetime.now(UTC),
                    "screenshot run")
                command_id = ops_store.enqueue_command(
                    conn, CommandKind.TRIGGER_LLM, datetime.now(UTC),
                    {"notes": "screenshot", "context": ""})
            conn.close()
            subprocess.run(launch_command(sys.executable, run_id, str(db)), cwd=REPO_ROOT,
                           check=True, capture_output=True, timeout=300)
            _research_sweep(db)
            wait_for(lambda: (c := query(db, llm_store.call_for_command, command_id))
                     and c.status == "ok", 60, "the LLM call for the screenshots")
            fake_llm.push(Step(payload={"lesson": LESSON}))  # the review's lesson reply
            try:
                _review(running_product, folder)
            finally:  # a review that asked for no lesson leaves it: not for a later test
                fake_llm.drop_script()
            _test_message_sent(db, alerter, folder / "alerter.log")
        finally:
            alerter.send_signal(signal.SIGTERM)
            alerter.wait(timeout=30)
    yield running_product


def _start_alerter(product: dict, smtp: SmtpSink, log: Path) -> subprocess.Popen[bytes]:
    """``python -m bot alerts`` with an email channel to a loopback SMTP server."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("ALERT_")}
    env.update({"PYTHONUNBUFFERED": "1", "ALERT_EMAIL_URL": (
        f"mailto://127.0.0.1:{smtp.port}?from=bot@example.com&to=me@example.com&mode=insecure")})
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "bot", "alerts", "--config", str(product["config"]),
             "--db", str(product["db"])], cwd=REPO_ROOT, env=env, stdout=out,
            stderr=subprocess.STDOUT)


def _test_message_sent(db: Path, alerter: subprocess.Popen[bytes], log: Path) -> None:
    """Queue a test message as the Alerts page does; wait until the alerter sent it."""
    wait_for(lambda: query(db, alerts_store.channel_statuses), 60, "the alerter", alerter, log)
    conn = open_database(db)
    try:
        alert_views.request_test_messages(conn, ["email"], datetime.now(UTC))
    finally:
        conn.close()
    wait_for(lambda: any(d.kind == "test" and d.status == "sent"
                         for d in query(db, alerts_store.recent_deliveries, 20) or []),
             60, "the test message", alerter, log)
    wait_for(lambda: any(s.channel == "email" and s.last_sent_at is not None
                         for s in query(db, alerts_store.channel_statuses) or []),
             30, "the email channel's report of the send", alerter, log)


def _research_sweep(db: Path) -> None:
    """A 4-point sweep on a small synthetic set, queued and run as the Research page does."""
    request = ResearchRequest.model_validate({
        "kind": "sweep", "backtest": {"bars": 5000},
        "grid": {"risk.max_hold_minutes": ["20", "40"],
                 "risk.atr_stop_multiplier": ["1.5", "2.5"]}})
    conn = open_database(db)
    with write_transaction(conn):
        run_id = research_store.insert_research_run(conn, request.kind.value, request.to_json(),
                                                    datetime.now(UTC), "screenshot sweep")
    conn.close()
    subprocess.run(research_command(sys.executable, run_id, str(db)), cwd=REPO_ROOT,
                   check=True, capture_output=True, timeout=300)


def _review(product: dict, folder: Path) -> None:
    """``python -m bot review --day`` over the running bot's journal of its current day."""
    db = product["db"]
    config = folder / "review.yaml"
    config.write_text(product["config"].read_text() + REVIEW_LEARNING)
    wait_for(lambda: any(t.pnl_net_cents < 0 for t in query(db, all_trades) or []), 120,
             "a losing trade for the review to learn from", product["bot"], product["bot_log"])
    # the review mines the days before its gate window: review the next trading day, so the
    # running bot's current day is the one mined (its gate days have no bars yet: not run)
    clock = CmeSessionClock()
    today = clock.trading_day(heartbeat(db).last_bar_ts)
    upcoming = clock.trading_days_through(today + timedelta(days=5), 5)
    day = upcoming[upcoming.index(today) + 1]
    done = subprocess.run(
        [sys.executable, "-m", "bot", "review", "--day", day.isoformat(), "--config",
         str(config), "--db", str(db)], cwd=REPO_ROOT, env={**os.environ, **DUMMY_AWS},
        capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert query(db, rules_store.rules), f"no rule proposed: {done.stdout}{done.stderr[-2000:]}"


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
