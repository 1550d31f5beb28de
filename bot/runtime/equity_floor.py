"""The live ruin stop: equity at or below ``risk.min_equity_usd`` flattens and halts the bot.

Equity is marked at each decided bar's close the way a backtest's ruin stop marks it
(``bot/backtest/settle.py``): the paper starting equity, plus every closed trade's net P&L, plus
the open position's P&L at the close less its entry commission (already paid). At or below the
floor the bot sends a market exit (``ruin_stop``, filled at the next bar's open, as the backtest
flattens), halts entries with the reason and logs one line. A halt persists across restarts; a
``resume`` while equity is still below the floor halts again at the next bar, so going on needs
a lower ``risk.min_equity_usd`` (hot-reloadable). The journal's P&L total is read again only
when the risk counters change (an entry, a trade, a new day), not on every bar.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime

from bot.core.engine import TradingEngine
from bot.core.risk import RiskState
from shared.domain.instruments import usd_to_cents
from shared.domain.models import Bar, ExitReason
from shared.persistence import journal_store

logger = logging.getLogger(__name__)


class EquityFloor:
    """Watches equity bar by bar; acts once per breach (again after a ``resume``)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self._conn = conn
        self._seen: RiskState | None = None
        self._realized_cents = 0
        self._tripped = False
        self._settings: object = None  # the settings the two amounts below were read from
        self._starting_cents = self._floor_cents = 0

    def _amounts_cents(self, engine: TradingEngine) -> tuple[int, int]:
        """The paper starting equity and the floor in cents, converted once per settings."""
        settings = engine.settings
        if settings is not self._settings:  # a reload replaces the object
            self._starting_cents = usd_to_cents(settings.broker.paper_starting_equity_usd)
            self._floor_cents = usd_to_cents(settings.risk.min_equity_usd)
            self._settings = settings
        return self._starting_cents, self._floor_cents

    def equity_cents(self, engine: TradingEngine, close: float) -> int:
        """Starting equity + closed trades' net P&L + the open position marked at ``close``."""
        if engine.risk_state is not self._seen:  # frozen: a new object whenever it changed
            self._realized_cents = journal_store.total_realized_cents(self._conn)
            self._seen = engine.risk_state
        equity = self._amounts_cents(engine)[0] + self._realized_cents
        position = engine.broker.position()
        if position is not None:
            equity += engine.broker.open_pnl_cents(close) - position.entry_commission_cents
        return equity

    def check(self, engine: TradingEngine, bar: Bar, now: datetime) -> str | None:
        """Flatten and halt when equity at ``bar``'s close is at or below the floor; return the
        one-line reason when it acted."""
        floor_cents = self._amounts_cents(engine)[1]
        equity = self.equity_cents(engine, bar.close)
        if equity > floor_cents:
            self._tripped = False
            return None
        if self._tripped and engine.risk_state.halted:
            return None
        self._tripped = True
        broker = engine.broker
        exposed = broker.position() is not None or bool(broker.working_orders())
        reason = (f"ruin stop: equity ${equity / 100:,.2f} at or below risk.min_equity_usd "
                  f"${floor_cents / 100:,.2f}")
        logger.error("%s: %sentries halted", reason, "position flattened, " if exposed else "")
        if exposed:
            engine.flatten(ExitReason.RUIN_STOP, now)
        engine.halt(reason, now)
        return reason
