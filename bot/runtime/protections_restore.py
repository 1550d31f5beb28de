"""Rebuild the protections' counters from the journal after a restart.

Equity (starting equity + every closed trade), the net P&L of each of the last trading days for
the multi-day drawdown pause, and the day's peak P&L and profit lock: from today's closed
trades, and from the last heartbeat when it was written on the same trading day (a peak reached
by an open position's unrealized gain is in no trade; the heartbeat, written at every stop and
every few seconds, keeps it)."""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from dataclasses import replace
from datetime import date

from bot.core import protections
from bot.core.risk import RiskState
from bot.core.sessions import CmeSessionClock
from shared.config.protections import MAX_DRAWDOWN_SESSIONS
from shared.config.settings import Settings
from shared.domain.instruments import usd_to_cents
from shared.persistence import journal_store, ops_store


def restore_protections(
    conn: sqlite3.Connection, clock: CmeSessionClock, state: RiskState, settings: Settings
) -> RiskState:
    """``state`` (today's counters from ``restore_risk_state``) with the protections' history."""
    realized_total = journal_store.total_realized_cents(conn)
    starting = usd_to_cents(settings.broker.paper_starting_equity_usd)
    day = state.trading_day
    if day is None:  # no bar journaled yet: the first bar's begin_day fixes the day's equity
        return RiskState(halted=state.halted, halt_reason=state.halt_reason,
                         realized_total_cents=realized_total)
    sessions = clock.trading_days_through(day, MAX_DRAWDOWN_SESSIONS)
    since, _ = clock.session_bounds(sessions[0])
    pnl_by_day: dict[date, int] = defaultdict(int)
    today: list[int] = []
    for trade in journal_store.trades_since(conn, since):
        trade_day = clock.trading_day(trade.exit_ts)
        pnl_by_day[trade_day] += trade.pnl_net_cents
        if trade_day == day:
            today.append(trade.pnl_net_cents)
    restored = protections.restore(state, sessions, dict(pnl_by_day), today, realized_total,
                                   starting, settings.protections)
    beat = ops_store.read_bot_state(conn)
    if beat is None or beat.last_bar_ts is None or clock.trading_day(beat.last_bar_ts) != day:
        return restored
    rule, reason = restored.profit_lock_rule, restored.profit_lock
    if not rule:
        rule, reason = beat.profit_lock_rule, beat.profit_lock
    return replace(restored, profit_lock_rule=rule, profit_lock=reason,
                   day_peak_pnl_cents=max(restored.day_peak_pnl_cents, beat.day_peak_pnl_cents))
