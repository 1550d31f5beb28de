"""The CME Globex equity-futures (ES/MES) session clock: open or halted, trading day, time bucket.

Trading days, holidays and early closes come from exchange_calendars ("CMES", sessions 17:00 CT
the day before to 17:00 CT). On top of it sit two facts of CME's equity-index schedule that the
calendar does not model: the daily halt 16:00-17:00 CT, and a 12:15 CT close (15 minutes after
the NYSE's early close, taken from the "XNYS" calendar) on cash half-days.
"""

from __future__ import annotations

import logging
from bisect import bisect_right
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import TYPE_CHECKING

import numpy as np

from shared.domain.models import SessionPhase, TimeBucket

if TYPE_CHECKING:  # pandas and exchange_calendars load only when a calendar is computed
    import pandas as pd

logger = logging.getLogger(__name__)

CHICAGO = "America/Chicago"
DAILY_HALT_CT = time(16, 0)
# The halt to the next open is a maintenance break only if it is the ordinary one-hour pause.
MAINTENANCE_BREAK_S = 3600.0
HALF_DAY_CLOSE_AFTER_CASH = timedelta(minutes=15)
# Time-of-day buckets, wall-clock Chicago time on the trading day; each edge starts its bucket:
# overnight from the 17:00 open (day before), pre_open 07:00, open 08:30, midday 10:00,
# close 14:00 until the halt (16:00, or earlier on an early close). Halted = closed.
PRE_OPEN_CT = time(7, 0)
RTH_OPEN_CT = time(8, 30)
MIDDAY_CT = time(10, 0)
CLOSE_BUCKET_CT = time(14, 0)
RTH_CLOSE_CT = time(15, 0)

_BUCKETS = (
    TimeBucket.OVERNIGHT, TimeBucket.PRE_OPEN, TimeBucket.OPEN, TimeBucket.MIDDAY, TimeBucket.CLOSE
)


@dataclass(frozen=True, slots=True)
class SessionEdges:
    """One trading day's edges in epoch seconds: the bars from ``start_s`` (the previous
    session's end) to ``end_s`` belong to it; RTH is ``is_rth``'s window (``cash`` False when
    the NYSE does not trade that day)."""

    index: int
    start_s: float
    end_s: float
    open_s: float
    halt_s: float
    rth_open_s: float
    rth_end_s: float
    cash: bool

    def is_rth(self, epoch_s: float) -> bool:
        """``CmeSessionClock.is_rth`` of a time inside this trading day."""
        return (self.cash and self.rth_open_s <= epoch_s < self.rth_end_s
                and self.open_s <= epoch_s < self.halt_s)


def _epoch_s(values: pd.DatetimeIndex) -> np.ndarray:
    """Seconds since the epoch of tz-aware timestamps."""
    return values.as_unit("s").asi8.astype(np.float64)


def _local_epoch_s(labels: pd.DatetimeIndex, clock_time: time) -> np.ndarray:
    """Seconds since the epoch of `clock_time` Chicago time on each session date."""
    import pandas as pd

    offset = pd.Timedelta(hours=clock_time.hour, minutes=clock_time.minute)
    local = (labels + offset).tz_localize(CHICAGO).tz_convert("UTC")
    return _epoch_s(local)


def _years_from(day: date, years: int) -> date:
    """``day`` moved by whole years, 29 February becoming the 28th (pandas' DateOffset rule)."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def _as_date(value: date | str) -> date:
    """A calendar bound as a date: a date, a datetime's date or an ISO date (or date-time)."""
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(value)
    except ValueError:
        return datetime.fromisoformat(value).date()


def calendar_range(
    start: date | str | None, end: date | str | None, today: date | None = None
) -> tuple[date, date]:
    """The calendar's first and last dates; a missing bound is exchange_calendars' default
    (today, local time, less 20 years / plus one year)."""
    today = today or date.today()
    first = _as_date(start) if start is not None else _years_from(today, -20)
    last = _as_date(end) if end is not None else _years_from(today, 1)
    return first, last


def compute_session_columns(start: date, end: date) -> dict[str, np.ndarray]:
    """Every session's edges from exchange_calendars, one array per edge (see
    ``bot.adapters.session_cache.COLUMNS``): the slow part of building a clock, which that
    adapter caches on disk."""
    import exchange_calendars as xcals
    import pandas as pd

    cme = xcals.get_calendar("CMES", start=start.isoformat(), end=end.isoformat())
    nyse = xcals.get_calendar("XNYS", start=cme.first_session, end=cme.last_session)
    schedule = cme.schedule
    labels = pd.DatetimeIndex(schedule.index)
    label_days = [label.date() for label in labels]
    opens = _epoch_s(pd.DatetimeIndex(schedule["open"].array))
    calendar_closes = _epoch_s(pd.DatetimeIndex(schedule["close"].array))
    daily_halts = _local_epoch_s(labels, DAILY_HALT_CT)

    half_day_closes = {
        label.date(): close.timestamp() + HALF_DAY_CLOSE_AFTER_CASH.total_seconds()
        for label, close in nyse.schedule.loc[nyse.early_closes, "close"].items()
    }
    halts = np.array([
        half_day_closes.get(label, min(calendar_close, daily_halt))
        for label, calendar_close, daily_halt in zip(
            label_days, calendar_closes.tolist(), daily_halts.tolist(), strict=True)
    ], dtype=np.float64)
    ends = np.maximum(calendar_closes, halts)
    next_opens = np.append(opens[1:], ends[-1])
    gaps = next_opens - halts
    break_ends = np.where((gaps > 0.0) & (gaps <= MAINTENANCE_BREAK_S), next_opens, halts)
    nyse_sessions = set(nyse.sessions.date)
    return {
        "day": np.array([label.toordinal() for label in label_days], dtype=np.int64),
        "open": opens, "halt": halts, "end": ends, "break_end": break_ends,
        "pre_open": _local_epoch_s(labels, PRE_OPEN_CT),
        "rth_open": _local_epoch_s(labels, RTH_OPEN_CT),
        "midday": _local_epoch_s(labels, MIDDAY_CT),
        "close_bucket": _local_epoch_s(labels, CLOSE_BUCKET_CT),
        "rth_end": _local_epoch_s(labels, RTH_CLOSE_CT),
        "cash": np.array([label in nyse_sessions for label in label_days], dtype=bool),
    }


class CmeSessionClock:
    """Answer "can ES/MES trade now?" for tz-aware timestamps in about a microsecond.

    Every session's edges are computed once, in the constructor, as epoch seconds; a call is a
    bisect into them. The trading day of a timestamp is the session it falls in or, when the
    market is shut, the next session (a Sunday 17:00 CT open belongs to Monday).
    """

    def __init__(
        self, start: date | str | None = None, end: date | str | None = None,
        columns: Mapping[str, np.ndarray] | None = None,
    ) -> None:
        """``columns``: the edges ``compute_session_columns`` gives for this range (a cached
        copy, from ``bot.adapters.session_cache``); computed here when None."""
        if columns is None:
            columns = compute_session_columns(*calendar_range(start, end))
        self._labels: list[date] = [date.fromordinal(day) for day in columns["day"].tolist()]
        self._opens: list[float] = columns["open"].tolist()
        self._halts: list[float] = columns["halt"].tolist()
        self._ends: list[float] = columns["end"].tolist()
        self._break_ends: list[float] = columns["break_end"].tolist()
        self._bucket_edges: list[tuple[float, ...]] = list(zip(
            *(columns[name].tolist() for name in ("pre_open", "rth_open", "midday",
                                                   "close_bucket")), strict=True))
        self._rth_opens: list[float] = columns["rth_open"].tolist()
        self._rth_ends: list[float] = columns["rth_end"].tolist()
        self._cash_session: list[bool] = columns["cash"].tolist()
        # the last time located and its answer, as one tuple (one atomic read): the engine asks
        # three to five questions about the same bar time per bar
        self._last_located: tuple[datetime, tuple[float, int]] | None = None
        logger.info(
            "CME session clock ready: %d sessions from %s to %s",
            len(self._labels), self._labels[0], self._labels[-1],
        )

    def _locate(self, ts: datetime) -> tuple[float, int]:
        """Return (epoch seconds, index of the session ts falls in or precedes)."""
        last = self._last_located
        if last is not None and last[0] is ts:  # datetimes are immutable: same object, same answer
            return last[1]
        if ts.tzinfo is None:
            raise ValueError(f"timestamp {ts} must be tz-aware")
        epoch = ts.timestamp()
        index = bisect_right(self._ends, epoch)
        if index >= len(self._ends) or epoch < self._opens[0]:
            raise ValueError(
                f"{ts} is outside the session calendar ({self._labels[0]} to "
                f"{self._labels[-1]}); build CmeSessionClock with a wider start/end"
            )
        located = epoch, index
        self._last_located = ts, located
        return located

    def is_open(self, ts: datetime) -> bool:
        """Return True if ES/MES trade at ts."""
        epoch, index = self._locate(ts)
        return self._opens[index] <= epoch < self._halts[index]

    def in_maintenance_break(self, ts: datetime) -> bool:
        """Return True during the daily 16:00-17:00 CT halt between two sessions."""
        epoch, index = self._locate(ts)
        return self._halts[index] <= epoch < self._break_ends[index]

    def minutes_to_close(self, ts: datetime) -> float:
        """Return minutes until the next halt (daily break, early or weekend close); 0 if shut."""
        epoch, index = self._locate(ts)
        if not self._opens[index] <= epoch < self._halts[index]:
            return 0.0
        return (self._halts[index] - epoch) / 60.0

    def trading_day(self, ts: datetime) -> date:
        """Return the CME trading date of ts: its session's, or the next one's when shut."""
        return self._labels[self._locate(ts)[1]]

    def is_rth(self, ts: datetime) -> bool:
        """Return True in regular trading hours: 08:30-15:00 CT, market open, NYSE trading."""
        epoch, index = self._locate(ts)
        return (
            self._cash_session[index]
            and self._rth_opens[index] <= epoch < self._rth_ends[index]
            and self._opens[index] <= epoch < self._halts[index]
        )

    def rth_flags(self, epoch_s: np.ndarray) -> np.ndarray:
        """``is_rth`` of many epoch seconds at once (False outside the calendar)."""
        epochs = np.asarray(epoch_s, dtype=float)
        ends = np.asarray(self._ends)
        index = np.searchsorted(ends, epochs, side="right")
        inside = (index < len(ends)) & (epochs >= self._opens[0])
        at = np.minimum(index, len(ends) - 1)
        opens, halts = np.asarray(self._opens)[at], np.asarray(self._halts)[at]
        rth_opens, rth_ends = np.asarray(self._rth_opens)[at], np.asarray(self._rth_ends)[at]
        return (inside & np.asarray(self._cash_session, dtype=bool)[at]
                & (rth_opens <= epochs) & (epochs < rth_ends) & (opens <= epochs)
                & (epochs < halts))

    def edges_at(self, epoch_s: float) -> SessionEdges:
        """The edges of the trading day an epoch second belongs to (ValueError outside)."""
        index = bisect_right(self._ends, epoch_s)
        if index >= len(self._ends) or epoch_s < self._opens[0]:
            raise ValueError(f"epoch {epoch_s} is outside the session calendar "
                             f"({self._labels[0]} to {self._labels[-1]})")
        start = self._ends[index - 1] if index > 0 else float("-inf")
        return SessionEdges(index, start, self._ends[index], self._opens[index],
                            self._halts[index], self._rth_opens[index], self._rth_ends[index],
                            self._cash_session[index])

    def day_indices(self, epoch_s: np.ndarray) -> np.ndarray:
        """The trading day index (``SessionEdges.index``) of many epoch seconds (-1 outside)."""
        epochs = np.asarray(epoch_s, dtype=float)
        index = np.searchsorted(np.asarray(self._ends), epochs, side="right")
        return np.where((index < len(self._ends)) & (epochs >= self._opens[0]), index, -1)

    def edges_of_index(self, index: int) -> SessionEdges:
        """The edges of the trading day at calendar position ``index``."""
        return self.edges_at(self._opens[index])

    def time_bucket(self, ts: datetime) -> TimeBucket:
        """Return the time-of-day bucket of ts (CLOSED whenever the market is halted)."""
        epoch, index = self._locate(ts)
        if not self._opens[index] <= epoch < self._halts[index]:
            return TimeBucket.CLOSED
        return _BUCKETS[bisect_right(self._bucket_edges[index], epoch)]

    def session_bounds(self, day: date) -> tuple[datetime, datetime]:
        """Open and end (UTC) of trading day ``day``'s session; ValueError if it has none."""
        index = bisect_right(self._labels, day) - 1
        if index < 0 or self._labels[index] != day:
            raise ValueError(f"{day} is not a CME trading day")
        return (datetime.fromtimestamp(self._opens[index], UTC),
                datetime.fromtimestamp(self._ends[index], UTC))

    def trading_days_through(self, day: date, count: int) -> list[date]:
        """The ``count`` trading days ending with ``day`` (or the last one before it), oldest
        first."""
        stop = bisect_right(self._labels, day)
        return self._labels[max(0, stop - count):stop]

    def next_session_close(self, ts: datetime) -> tuple[date, datetime]:
        """The next time trading stops for the day (the halt or early close) after ``ts``,
        with its trading day."""
        _, index = self._locate(ts)
        epoch = ts.timestamp()
        while index < len(self._halts) and self._halts[index] <= epoch:
            index += 1
        if index >= len(self._halts):
            raise ValueError(f"no session close after {ts} in the calendar")
        return self._labels[index], datetime.fromtimestamp(self._halts[index], UTC)

    def phase(self, ts: datetime) -> tuple[SessionPhase, datetime | None]:
        """Return the session phase at ts (open / daily break / closed) and when it changes."""
        epoch, index = self._locate(ts)
        if self._opens[index] <= epoch < self._halts[index]:
            return SessionPhase.OPEN, datetime.fromtimestamp(self._halts[index], UTC)
        if self._halts[index] <= epoch < self._break_ends[index]:
            return SessionPhase.BREAK, datetime.fromtimestamp(self._break_ends[index], UTC)
        if epoch < self._opens[index]:
            return SessionPhase.CLOSED, datetime.fromtimestamp(self._opens[index], UTC)
        following = index + 1
        if following < len(self._opens):
            return SessionPhase.CLOSED, datetime.fromtimestamp(self._opens[following], UTC)
        return SessionPhase.CLOSED, None
