"""The CME Globex clock of the synthetic market: sessions 17:00-16:00 CT, weekends closed.

Holidays are ignored (the synthetic market trades every weekday). ``history_start`` says where
a market must begin to have a given number of complete bars before an instant.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

CHICAGO = ZoneInfo("America/Chicago")
SESSION_OPEN_CT = time(17, 0)
SESSION_CLOSE_CT = time(16, 0)
SessionOf = Callable[[datetime], tuple[datetime, datetime]]


def globex_session(ts: datetime) -> tuple[datetime, datetime]:
    """Return the UTC (open, close) of the Globex session holding ``ts``, or of the next one."""
    if ts.tzinfo is None:
        raise ValueError("ts must be timezone-aware")
    local = ts.astimezone(CHICAGO)
    trading_day = local.date()
    if local.time() >= SESSION_OPEN_CT:
        trading_day += timedelta(days=1)
    while True:
        if trading_day.weekday() >= 5:  # Saturday/Sunday belong to Monday's session
            trading_day += timedelta(days=7 - trading_day.weekday())
        previous_day = trading_day - timedelta(days=1)
        open_utc = datetime.combine(previous_day, SESSION_OPEN_CT, CHICAGO).astimezone(UTC)
        close_utc = datetime.combine(trading_day, SESSION_CLOSE_CT, CHICAGO).astimezone(UTC)
        if ts < close_utc:
            return open_utc, close_utc
        trading_day += timedelta(days=1)


def _previous_session(ts: datetime, session_of: SessionOf = globex_session
                      ) -> tuple[datetime, datetime]:
    """The latest session that opens before ``ts``."""
    for days_back in range(7):
        open_utc, close_utc = session_of(ts - timedelta(days=days_back))
        if open_utc < ts:
            return open_utc, close_utc
    raise ValueError(f"no Globex session opens in the week before {ts}")  # not reachable


def always_open_session(ts: datetime) -> tuple[datetime, datetime]:
    """The UTC day holding ``ts`` as one session: a market that never closes (practice)."""
    if ts.tzinfo is None:
        raise ValueError("ts must be timezone-aware")
    day = datetime.combine(ts.astimezone(UTC).date(), time(0, 0), UTC)
    return day, day + timedelta(days=1)


def session_clock(always_open: bool) -> SessionOf:
    """The sessions a synthetic market trades: the Globex clock, or every hour of every day."""
    return always_open_session if always_open else globex_session


def history_start(end: datetime, bars: int, bar_seconds: int,
                  always_open: bool = False) -> datetime:
    """The start of the session bar that lies ``bars`` complete bars before ``end``.

    A market started there yields exactly ``bars`` bars that close at or before ``end``
    (walking back over breaks and weekends), then the bars after them.
    """
    if bars < 1:
        raise ValueError(f"bars must be at least 1, not {bars}")
    remaining, cursor = bars, end.astimezone(UTC)
    while True:
        open_utc, close_utc = _previous_session(cursor, session_clock(always_open))
        complete = int((min(close_utc, cursor) - open_utc).total_seconds() // bar_seconds)
        if complete >= remaining:
            return open_utc + timedelta(seconds=(complete - remaining) * bar_seconds)
        remaining -= complete
        cursor = open_utc
