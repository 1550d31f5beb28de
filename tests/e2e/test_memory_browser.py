"""The Memory page in headless Chromium: approve a proposed rule, see it in force, and see the
running bot's next decision refused by it (reason naming the rule); then expire it."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from playwright.sync_api import expect

from shared.persistence import rules_store
from shared.persistence.db import open_database, write_transaction
from tests.e2e.conftest import screenshot, wait_idle
from tests.integration.botproc import query, wait_for

pytestmark = pytest.mark.integration
TIMEOUT_MS = 30_000


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


def _refused_by(db, rule_id: int, after_id: int):
    def probe(conn):
        return conn.execute(
            "SELECT id, reasons_json FROM decisions WHERE id > ? AND risk_rule = 'learned_rule' "
            "AND reasons_json LIKE ? ORDER BY id LIMIT 1",
            (after_id, f"%rule #{rule_id}%")).fetchone()
    return query(db, probe)


def test_approving_a_rule_puts_it_in_force_for_the_running_bot(page, running_product):
    db = running_product["db"]
    rule_id = _propose(db)
    page.goto(running_product["url"] + "/memory", wait_until="domcontentloaded")
    expect(page.get_by_role("heading", name="Memory & learning")).to_be_visible(
        timeout=TIMEOUT_MS)
    wait_idle(page)
    expect(page.get_by_text(f"#{rule_id} · proposed")).to_be_visible(timeout=TIMEOUT_MS)
    before = query(db, lambda c: c.execute("SELECT MAX(id) FROM decisions").fetchone()[0])
    page.get_by_role("button", name=f"Approve #{rule_id}").click()
    expect(page.get_by_text(f"Rule #{rule_id} approved")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text(f"#{rule_id} · approved")).to_be_visible(timeout=TIMEOUT_MS)
    expect(page.get_by_text("In force since")).to_be_visible(timeout=TIMEOUT_MS)
    refused = wait_for(lambda: _refused_by(db, rule_id, before), 180,
                       "the bot's next entry refused by the rule", running_product["bot"],
                       running_product["bot_log"])
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
