"""Issue 23, per-trade control in headless Chromium: on the Overview's position card a trader
moves the stop (a refusal first, naming what is wrong), then exits the position; a real paper bot
carries each command out and the journal shows it."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import expect

from shared.domain.instruments import round_to_tick
from shared.persistence import journal_store
from tests.e2e.conftest import (
    screenshot,
    start_dashboard,
    stop_dashboard,
    wait_dashboard,
    wait_idle,
)
from tests.integration.botproc import heartbeat, query, start_bot, stop_bot, wait_for

pytestmark = pytest.mark.integration
TIMEOUT_MS = 30_000

CONFIG = (
    "feed:\n  source: synthetic\n  seed: 7\n  start: '2025-03-03T14:30:00Z'\n  speed: 40\n"
    "features:\n  window_bars: 120\n  atr_baseline_bars: 100\n"
    # a 40-point stop and a 120-point target: the position stays open while the test works it
    "risk:\n  max_hold_minutes: 600\n  trailing_stop_enabled: false\n  min_stop_points: 40\n"
    "  risk_per_trade_usd: 250\n  max_contracts: 1\n  reward_risk_ratio: 3\n"
    "  cooldown_after_loss_minutes: 0\n"
    "engine:\n  heartbeat_seconds: 0.5\n  commands_poll_seconds: 0.1\n"
    "dashboard:\n  refresh_seconds: 2\n"
)


@pytest.fixture(scope="module")
def trading_product(chromium_path, tmp_path_factory) -> Iterator[dict]:
    """A paper bot holding an open position, and the dashboard on it."""
    folder = tmp_path_factory.mktemp("trade_control")
    config = folder / "config.yaml"
    config.write_text(CONFIG)
    db, bot_log = folder / "trader.db", folder / "bot.log"
    bot = start_bot(config, db, bot_log)
    # The dashboard starts while the bot warms up to its first position: the waits overlap.
    server, url, server_log = start_dashboard(folder, {"TRADER_DB": str(db),
                                                       "TRADER_CONFIG": str(config)})
    try:
        wait_for(lambda: heartbeat(db), 60, "the bot's first heartbeat", bot, bot_log)
        wait_dashboard(server, url, server_log)
        wait_for(lambda: query(db, journal_store.load_position, "MES"), 120,
                 "an open position", bot, bot_log)
        yield {"url": url, "db": db, "bot": bot, "bot_log": bot_log}
    finally:
        stop_dashboard(server)
        if bot.poll() is None:
            stop_bot(bot)


def _send_level(page, name: str, price: float) -> None:
    field = page.get_by_role("spinbutton", name=f"New {name}")
    field.fill(f"{price:.2f}")
    field.press("Enter")
    button = page.get_by_role("button", name=f"Move {name}")
    expect(button).to_be_enabled(timeout=TIMEOUT_MS)
    button.click()


def test_move_stop_refused_then_tightened_then_exit_from_the_position_card(
        page, trading_product):
    db, bot, log = trading_product["db"], trading_product["bot"], trading_product["bot_log"]
    position = query(db, journal_store.load_position, "MES")
    page.goto(trading_product["url"], wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Overview")).to_be_visible(timeout=TIMEOUT_MS)
    wait_idle(page)
    expect(page.get_by_role("spinbutton", name="New stop")).to_be_visible(timeout=TIMEOUT_MS)

    sign = 1 if position.side == "long" else -1
    wrong = round_to_tick(heartbeat(db).last_price + sign * 5.0)
    _send_level(page, "stop", wrong)
    relation = "above" if sign > 0 else "below"
    expect(page.get_by_text(re.compile(
        rf"refused: stop {re.escape(f'{wrong:,.2f}')} is {relation} the market [\d,.]+ "
        rf"for a {position.side}"))).to_be_visible(timeout=TIMEOUT_MS)
    assert query(db, journal_store.load_position, "MES").stop_price == position.stop_price

    tighter = position.stop_price + sign * 1.0
    _send_level(page, "stop", tighter)
    expect(page.get_by_text(re.compile(
        rf"stop tightened {re.escape(f'{position.stop_price:,.2f}')} → "
        rf"{re.escape(f'{tighter:,.2f}')}"))).to_be_visible(timeout=TIMEOUT_MS)
    assert query(db, journal_store.load_position, "MES").stop_price == tighter
    expect(page.get_by_text(re.compile(rf"Stop {re.escape(f'{tighter:,.2f}')} ·"))
           ).to_be_visible(timeout=TIMEOUT_MS)
    screenshot(page, "trade_control_position_card")

    exit_button = page.get_by_role("button", name="Exit position")
    expect(exit_button).to_be_disabled()  # not before the trader confirms
    page.get_by_text("Confirm: exit this position at market").click()
    expect(exit_button).to_be_enabled(timeout=TIMEOUT_MS)
    exit_button.click()
    expect(page.get_by_text(re.compile(r"Exit position: market exit sent for "))
           ).to_be_visible(timeout=TIMEOUT_MS)
    trade = wait_for(lambda: [t for t in query(db, journal_store.all_trades) or []
                              if t.bracket_id == position.bracket_id], 30,
                     "the exited trade", bot, log)[0]
    assert trade.exit_reason == "flatten"
    assert heartbeat(db).halted == 0, "an exit of one trade does not halt entries"
