"""A restarted bot reads the day's peak P&L and profit lock back from its last heartbeat (the
peak may have come from open P&L, which no journaled trade holds) — only on the same trading
day."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.core.protections import NO_RELEASES, ProtectionRule, entry_block
from bot.core.risk import RiskState
from bot.core.sessions import CmeSessionClock
from bot.runtime.protections_restore import restore_protections
from shared.config.settings import settings_from_mapping
from shared.persistence import ops_store
from shared.persistence.db import write_transaction
from tests.support import open_migrated_journal

DAY = date(2025, 9, 11)
LAST_BAR = datetime(2025, 9, 11, 15, 0, tzinfo=UTC)
LOCK = "gave back $60.00 of the day's $120.00 peak (limit 50%): no new entries today"
SETTINGS = settings_from_mapping({"protections": {"giveback_pct": 50}}, env={})


@pytest.fixture(scope="module")
def clock() -> CmeSessionClock:
    return CmeSessionClock()


def _journal(tmp_path, last_bar_ts: datetime):
    conn = open_migrated_journal(tmp_path / "trader.db")
    with write_transaction(conn):
        ops_store.upsert_bot_state(conn, ops_store.Heartbeat(
            heartbeat_at=last_bar_ts, mode="paper", symbol="MES", last_bar_ts=last_bar_ts,
            day_peak_pnl_cents=12_000, profit_lock_rule=ProtectionRule.GIVEBACK,
            profit_lock=LOCK))
    return conn


def test_the_days_peak_and_lock_come_back_from_the_heartbeat(tmp_path, clock):
    conn = _journal(tmp_path, LAST_BAR)
    try:
        state = restore_protections(conn, clock, RiskState(trading_day=DAY), SETTINGS)
    finally:
        conn.close()
    assert state.day_peak_pnl_cents == 12_000
    block = entry_block(state, SETTINGS.protections, LAST_BAR, NO_RELEASES)
    assert block is not None and block.rule == ProtectionRule.GIVEBACK and block.reason == LOCK
    assert state.day_start_equity_cents == 2_500_000  # no trades: the starting equity


def test_yesterdays_heartbeat_is_not_read_back(tmp_path, clock):
    conn = _journal(tmp_path, datetime(2025, 9, 10, 15, 0, tzinfo=UTC))
    try:
        state = restore_protections(conn, clock, RiskState(trading_day=DAY), SETTINGS)
    finally:
        conn.close()
    assert state.day_peak_pnl_cents == 0 and not state.profit_lock_rule

