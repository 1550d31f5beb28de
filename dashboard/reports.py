"""Read-side queries for the dashboard, returned as pandas DataFrames (SQL stays in shared/).

Times come back as tz-aware UTC timestamps and money as dollars (``*_usd`` columns derived from
the journal's integer cents), ready for tables and charts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from datetime import datetime

import pandas as pd

from dashboard import fmt, zones
from shared.domain.models import TradeRecord
from shared.persistence import journal_store


def _utc(frame: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for column in columns:
        frame[column] = pd.to_datetime(frame[column], utc=True, format="ISO8601")
    return frame


def trades_frame(
    conn: sqlite3.Connection,
    start: datetime | None = None,
    end: datetime | None = None,
    sides: list[str] | None = None,
    exit_reasons: list[str] | None = None,
) -> pd.DataFrame:
    """Closed trades as a table (filters optional: exit time in [start, end), side, reason)."""
    trades = journal_store.filtered_trades(conn, start, end, sides or (), exit_reasons or ())
    return trades_table(trades)


def trades_table(trades: Sequence[TradeRecord]) -> pd.DataFrame:
    """One row per trade with dollar columns, for tables, charts and exports."""
    rows = [
        {
            "bracket_id": t.bracket_id, "symbol": t.symbol, "side": t.side.value,
            "contracts": t.contracts, "entry_ts": t.entry_ts, "entry_price": t.entry_price,
            "exit_ts": t.exit_ts, "exit_price": t.exit_price, "exit_reason": t.exit_reason.value,
            "pnl_gross_usd": t.pnl_gross_cents / 100, "commission_usd": t.commission_cents / 100,
            "pnl_net_usd": t.pnl_net_cents / 100, "trend": t.labels.get("trend"),
            "volatility": t.labels.get("volatility"), "time_bucket": t.labels.get("time_bucket"),
            "bias_at_entry": t.labels.get("bias"),
        }
        for t in trades
    ]
    columns = ["bracket_id", "symbol", "side", "contracts", "entry_ts", "entry_price", "exit_ts",
               "exit_price", "exit_reason", "pnl_gross_usd", "commission_usd", "pnl_net_usd",
               "trend", "volatility", "time_bucket", "bias_at_entry"]
    frame = pd.DataFrame(rows, columns=columns)
    return _utc(frame, "entry_ts", "exit_ts")


def pnl_by_hour(table: pd.DataFrame, zone: str) -> pd.Series:
    """Net P&L (dollars) by entry hour in ``zone``, every hour listed in Globex session order
    (the hour of the 17:00 CT open first), labelled ``HH:00``."""
    hours = zones.session_hour_order(zone)
    if table.empty:
        pnl = pd.Series(0.0, index=hours)
    else:
        local_hour = pd.to_datetime(table["entry_ts"], utc=True).dt.tz_convert(zone).dt.hour
        pnl = table.groupby(local_hour)["pnl_net_usd"].sum().reindex(hours, fill_value=0.0)
    pnl.index = [f"{hour:02d}:00" for hour in hours]
    return pnl


def usd(cents: float | None) -> str:
    """Dollars with cents (``-$1,250.00``); an undefined amount as an en dash."""
    return fmt.usd(cents)


def ratio(value: float | None, pattern: str = "{:.2f}") -> str:
    """A ratio for display: NaN (undefined) as an en dash, infinity as the symbol."""
    return fmt.ratio(value, pattern)
