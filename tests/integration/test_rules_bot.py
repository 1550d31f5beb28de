"""A running bot takes an approved rule at its next decision: approve it in the database (as
the dashboard does), the bot reloads its rules and refuses the next entry risk approved."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

from shared.domain.rules import RuleStatus
from shared.persistence import rules_store
from shared.persistence.db import open_database, write_transaction
from tests.integration.botproc import heartbeat, query, start_bot, stop_bot, wait_for, write_config

CONFIG = {
    "feed": {"source": "synthetic", "seed": 7, "start": "2025-03-03T14:30:00Z", "speed": 400},
    "risk": {"max_hold_minutes": 10, "max_trades_per_day": 200, "max_consecutive_losses": 200,
             "cooldown_after_loss_minutes": 0},
    "engine": {"heartbeat_seconds": 1, "commands_poll_seconds": 0.2},
}


def _rule(conn, status: RuleStatus) -> int:
    now = datetime.now(UTC)
    new = rules_store.NewRule(
        review_day="2025-03-03", kind="lock_bucket",
        params_json=json.dumps({"bucket": {"side": None, "trend": None, "volatility": None,
                                           "time_bucket": None}}),
        fingerprint=f"test-{status.value}", summary="Lock any side in any regime",
        evidence={"trades": 0}, backtest={}, improved=None, expires_at=now + timedelta(days=2))
    with write_transaction(conn):
        rule_id = rules_store.insert_rule(conn, new, "review", now)
        if status is not RuleStatus.PROPOSED:
            rules_store.decide_rule(conn, rule_id, status, "dashboard", "test", now)
    return rule_id


def _entries_after(conn, decision_id: int):
    return conn.execute("SELECT id, verdict, risk_rule, reasons_json FROM decisions "
                        "WHERE id > ? AND (verdict = 'enter' OR risk_rule = 'learned_rule') "
                        "ORDER BY id", (decision_id,)).fetchall()


def test_an_approved_rule_is_in_force_at_the_next_decision(tmp_path):
    config = write_config(tmp_path, "config.yaml", CONFIG)
    db, log = tmp_path / "trader.db", tmp_path / "bot.log"
    bot = start_bot(config, db, log)
    try:
        wait_for(lambda: (h := heartbeat(db)) and h.bars_processed > 20, 60,
                 "the bot to decide", bot, log)
        conn = open_database(db)
        rejected = _rule(conn, RuleStatus.REJECTED)
        wait_for(lambda: query(db, lambda c: c.execute(
            "SELECT COUNT(*) FROM decisions WHERE verdict = 'enter'").fetchone()[0]), 120,
            "an entry while only a rejected rule exists", bot, log)
        rule_id = _rule(conn, RuleStatus.APPROVED)
        reloaded = wait_for(lambda: query(db, lambda c: c.execute(
            "SELECT id, message FROM events WHERE kind = 'rules_reloaded' ORDER BY id DESC"
        ).fetchone()), 30, "the rules reload", bot, log)
        assert f"rule #{rule_id}" in reloaded["message"]
        assert f"rule #{rejected}" not in reloaded["message"]
        since = conn.execute("SELECT MAX(id) FROM decisions").fetchone()[0]
        refused = wait_for(lambda: _entries_after(conn, since), 120,
                           "the next entry risk approved", bot, log)
        first = refused[0]
        assert first["verdict"] == "reject" and first["risk_rule"] == "learned_rule"
        assert any(f"rule #{rule_id}" in r for r in json.loads(first["reasons_json"]))
        with write_transaction(conn):
            rules_store.decide_rule(conn, rule_id, RuleStatus.EXPIRED, "dashboard", "done",
                                    datetime.now(UTC))
        wait_for(lambda: query(db, lambda c: c.execute(
            "SELECT 1 FROM events WHERE kind = 'rules_reloaded' AND message LIKE '%: none'"
        ).fetchone()), 30, "the rule to leave", bot, log)
        conn.close()
    finally:
        code, _ = stop_bot(bot)
    assert code == 0
