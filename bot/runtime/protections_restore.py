"""Rebuild the protections' counters from the journal after a restart.

Equity (starting equity + every closed trade), the net P&L of each of the last trading days for
the multi-day drawdown pause, and the day's peak P&L from today's closed trades (open P&L
between bars is not journaled, so a peak reached only by an open position before the restart is
not restored).
"""

from __future__ import annotations

import sqlite3
from collections import defaultdict
from datetime import date

from bot.core import protections
from bot.core.risk import RiskState
from bot.core.sessions import CmeSessionClock
from shared.config.protections import MAX_DRAWDOWN_SESSIONS
from shared.config.settings import Settings
from shared.domain.instruments import usd_to_cents
from shared.persistence import journal_store


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
    return protections.restore(state, sessions, dict(pnl_by_day), today, realized_total,
                               starting, settings.protections)
