"""The Memory page in headless Chromium: approve a proposed rule, see it in force, and see the
running bot's next decision refused by it (reason naming the rule); then expire it.

The bot here is its own (not the session's shared one, whose risk state after other test files
may block every entry before a learned rule is asked): a seeded synthetic market with a risk
config that blocks nothing a learned rule would see (caps far above what the test reaches, no
cooldown, short holds). On that seeded feed an entry comes at least every 295 bars over its
first 12,000 (measured with the in-process engine on the same config; live = backtest), so at
200x (40 bars/s) the refusal follows the rule's reload within about 7 s; the bounded wait
below still holds for a bot on a busy machine running ten times slower.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from shared.persistence import rules_store
from shared.persistence.db import open_database, write_transaction
from tests.e2e.conftest import (
    screenshot,
    start_dashboard,
    stop_dashboard,
    wait_dashboard,
    wait_idle,
)
from tests.integration.botproc import (
    heartbeat,
    query,
    start_bot,
    stop_bot,
    wait_for,
    write_config,
)

pytestmark = pytest.mark.integration
TIMEOUT_MS = 30_000
REFUSAL_WAIT_S = 90  # > 10 x the longest gap between entries on this feed at this speed


@pytest.fixture(scope="module")
def rule_product(chromium_path, tmp_path_factory):
    """A paper bot whose entries only a learned rule can refuse, and the dashboard on it."""
    folder = tmp_path_factory.mktemp("rules_product")
    config = write_config(folder, "config.yaml", {
        "feed": {"source": "synthetic", "seed": 7, "start": "2025-03-03T14:35:00Z",
                 "speed": 200},
        "risk": {"max_trades_per_day": 200, "cooldown_after_loss_minutes": 0,
                 "max_consecutive_losses": 50, "daily_loss_limit_usd": 20000,
                 "max_hold_minutes": 5},
        "engine": {"heartbeat_seconds": 1},
    })
    db, bot_log = folder / "trader.db", folder / "bot.log"
    bot = start_bot(config, db, bot_log)
    # The dashboard starts while the bot plays its first bars: the waits overlap.
    server, url, server_log = start_dashboard(
        folder, {"TRADER_DB": str(db), "TRADER_CONFIG": str(config)})
    try:
        wait_for(lambda: (h := heartbeat(db)) and h.bars_processed > 100, 120,
                 "the bot to journal some bars", bot, bot_log)
        wait_dashboard(server, url, server_log)
        yield {"url": url, "db": db, "bot": bot, "bot_log": bot_log}
    finally:
        stop_dashboard(server)
        if bot.poll() is None:
            stop_bot(bot)


def _propose(db) -> int:
    conn = open_database(db)
    now = datetime.now(UTC)
    new = rules_store.NewRule(
        review_day="2025-03-03", kind="lock_bucket",
        params_json=json.dumps({"bucket": {"side": None, "trend": None, "volatility": None,
                                           "time_bucket": None}}),
        fingerprint="e2e-lock-all", summary="Lock any side in any regime (browser test)",
        evidence={"trades": 0}, backtest={}, improved=None, expires_at=now + timedelta(days=1))
    with write_transaction(conn):
        rule_id = rules_store.insert_rule(conn, new, "review", now)
    conn.close()
    return rule_id


def _reloaded_with(db, rule_id: int):
    def probe(conn):
        return conn.execute(
            "SELECT id FROM events WHERE kind = 'rules_reloaded' AND EXISTS (SELECT 1 FROM "
            "json_each(detail_json, '$.rule_ids') WHERE value = ?)", (rule_id,)).fetchone()
    return query(db, probe)


def _refused_by(db, rule_id: int, after_id: int):
    def probe(conn):
        return conn.execute(
            "SELECT id, reasons_json FROM decisions WHERE id > ? AND risk_rule = 'learned_rule' "
            "AND reasons_json LIKE ? ORDER BY id LIMIT 1",
            (after_id, f"%rule #{rule_id}%")).fetchone()
    return query(db, probe)


def test_approving_a_rule_puts_it_in_force_for_the_running_bot(page, rule_product):
    db = rule_product["db"]
    rule_id = _propose(db)
    page.goto(rule_product["url"] + "/memory", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Memory & learning")).to_be_visible(
        timeout=TIMEOUT_MS)
    wait_idle(page)
    expect(page.get_by_text(f"#{rule_id} · proposed")).to_be_visible(timeout=TIMEOUT_MS)
    before = query(db, lambda c: c.execute("SELECT MAX(id) FROM decisions").fetchone()[0])
    page.get_by_role("button", name=f"Approve #{rule_id}").click()
    expect(page.get_by_text(f"Rule #{rule_id} approved")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text(f"#{rule_id} · approved")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("In force since")).to_be_visible(timeout=TIMEOUT_MS)
    wait_for(lambda: _reloaded_with(db, rule_id), 30, "the running bot to load the rule",
             rule_product["bot"], rule_product["bot_log"])
    refused = wait_for(lambda: _refused_by(db, rule_id, before), REFUSAL_WAIT_S,
                       "the bot's next entry refused by the rule", rule_product["bot"],
                       rule_product["bot_log"])
    assert any(f"rule #{rule_id}" in r for r in json.loads(refused["reasons_json"]))
    page.reload(wait_until="domcontentloaded")
    wait_idle(page)
    expect(page.get_by_text(f"rule #{rule_id}: entries locked for any side in any regime"
                            ).first).to_be_visible(timeout=TIMEOUT_MS)
    assert screenshot(page, "memory").stat().st_size > 10_000
    page.get_by_role("button", name=f"Expire #{rule_id}").click()
    expect(page.get_by_text(f"Rule #{rule_id} expired")).to_be_visible(timeout=TIMEOUT_MS)
    wait_for(lambda: query(db, lambda c: c.execute(
        "SELECT 1 FROM events WHERE kind = 'rules_reloaded' AND message LIKE '%: none'"
    ).fetchone()), 30, "the bot to drop the expired rule")
