"""The daily summary, sent once a trading day has closed (16:00 CT, the daily halt).

The clock is the bot's: the close of its last journaled bar, or the wall clock when the bars
follow it (live trading, where no bar comes after the close). So an accelerated paper run gets
its summary when its bars pass 16:00 CT, and a live bot when the wall clock does. Only the last
closed day is summarised, and only if the bot made decisions in it.
"""

from __future__ import annotations

import sqlite3
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from bot.alerts.messages import Alert, usd
from shared.domain.alerts import AlertKind
from shared.domain.metrics import trade_stats
from shared.domain.models import TradeRecord
from shared.persistence import alert_feed_store as feed
from shared.persistence import alerts_store, journal_store, ops_store

CHICAGO = ZoneInfo("America/Chicago")
SESSION_OPEN_CT = time(17, 0)  # of the day before
SESSION_CLOSE_CT = time(16, 0)
FOLLOWS_WALL_CLOCK = timedelta(hours=6)
STATE = "summary_day"


def closed_day(reference: datetime) -> date:
    """The latest trading day whose 16:00 CT close is at or before ``reference``."""
    local = reference.astimezone(CHICAGO)
    return local.date() if local.time() >= SESSION_CLOSE_CT else local.date() - timedelta(days=1)


def session_bounds(day: date) -> tuple[datetime, datetime]:
    """[17:00 CT the day before, 16:00 CT on ``day``) as UTC datetimes."""
    start = datetime.combine(day - timedelta(days=1), SESSION_OPEN_CT, CHICAGO)
    end = datetime.combine(day, SESSION_CLOSE_CT, CHICAGO)
    return start.astimezone(UTC), end.astimezone(UTC)


def reference_time(last_bar_end: datetime | None, wall_now: datetime) -> datetime | None:
    """The bot's now: the wall clock when its bars follow it, else its last bar's close."""
    if last_bar_end is None:
        return None
    if abs(wall_now - last_bar_end) < FOLLOWS_WALL_CLOCK:
        return max(wall_now, last_bar_end)
    return last_bar_end


def max_drawdown_cents(trades: list[TradeRecord]) -> int:
    """Deepest fall of the day's cumulative net P&L below its running peak (<= 0)."""
    peak = equity = worst = 0
    for trade in trades:
        equity += trade.pnl_net_cents
        peak = max(peak, equity)
        worst = min(worst, equity - peak)
    return worst


def summary_text(day: date, symbol: str, trades: list[TradeRecord], llm_calls: int,
                 llm_cost_usd: float, equity_cents: int | None) -> str:
    stats = trade_stats(trades)
    lines = [f"Daily summary {symbol} {day.isoformat()}"]
    if stats.trades:
        lines.append(f"Trades {stats.trades}: {stats.wins} won, {stats.losses} lost · win rate "
                     f"{stats.win_rate:.0%}")
    else:
        lines.append("Trades 0")
    lines.append(f"Net P&L {usd(stats.net_pnl_cents)} (gross {usd(stats.gross_pnl_cents)}, "
                 f"commission {usd(stats.commission_cents, False)})")
    equity = f" · equity {usd(equity_cents, False)}" if equity_cents is not None else ""
    lines.append(f"Max drawdown {usd(max_drawdown_cents(trades))}{equity}")
    lines.append(f"LLM {llm_calls} calls · ${llm_cost_usd:.4f}")
    return "\n".join(lines)


def poll_summary(
    conn: sqlite3.Connection, bar_seconds: int, wall_now: datetime
) -> tuple[list[Alert], dict[str, str]]:
    """The summary of a newly closed day (if any) and the new ``summary_day`` watermark."""
    state = ops_store.read_bot_state(conn)
    last_bar = state.last_bar_ts if state else None
    last_bar_end = last_bar + timedelta(seconds=bar_seconds) if last_bar else None
    reference = reference_time(last_bar_end, wall_now)
    if reference is None or state is None:
        return [], {}
    day = closed_day(reference)
    stored = alerts_store.get_state(conn, STATE)
    if stored is not None and day <= date.fromisoformat(stored):
        return [], {}
    marks = {STATE: day.isoformat()}
    if stored is None:
        return [], marks  # first start: summarise from the next close on
    start, end = session_bounds(day)
    if feed.decisions_between_times(conn, start, end) == 0:
        return [], marks
    trades = journal_store.filtered_trades(conn, start, end)
    calls, cost = feed.llm_usage_between(conn, start, end)
    text = summary_text(day, str(state.symbol), trades, calls, cost,
                        state.equity_cents)
    return [Alert(AlertKind.DAILY_SUMMARY, f"summary:{day.isoformat()}", text, end)], marks
