"""Bars from IB: history for warm-up and gaps, 5-second real-time bars (aggregated if needed).

Real-time bars arrive as ib_async updates; each complete bar of ``bar_seconds`` goes to the
callback. A subscription that stays silent longer than the watchdog allows is re-requested.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable
from datetime import UTC, datetime

from ib_async import IB, BarData, Contract, RealTimeBar, RealTimeBarList

from bot.adapters.ib.mapping import BAR_SIZE_SETTING
from bot.adapters.ib.pacing import HistoryPacer
from shared.domain.models import Bar

logger = logging.getLogger(__name__)

REALTIME_BAR_SECONDS = 5
KEEP_REALTIME_BARS = 50
MAX_HISTORY_SECONDS = 86_400


def bar_from_realtime(rt: RealTimeBar) -> Bar:
    """Our Bar from an IB real-time bar (labelled by its start time, UTC)."""
    return Bar(rt.time.astimezone(UTC), float(rt.open_), float(rt.high), float(rt.low),
               float(rt.close), float(rt.volume))


def bar_from_history(item: BarData) -> Bar:
    """Our Bar from an IB historical bar (formatDate=2 gives UTC datetimes)."""
    when = item.date
    if not isinstance(when, datetime):
        when = datetime(when.year, when.month, when.day, tzinfo=UTC)
    return Bar(when.astimezone(UTC), float(item.open), float(item.high), float(item.low),
               float(item.close), float(item.volume))


class BarAggregator:
    """Five-second bars into bars of ``bar_seconds``; a bar is released when its period ends."""

    def __init__(self, bar_seconds: int) -> None:
        self.bar_seconds = bar_seconds
        self._parts: list[Bar] = []

    def _period(self, ts: datetime) -> int:
        epoch = int(ts.timestamp())
        return epoch - epoch % self.bar_seconds

    def add(self, bar: Bar) -> list[Bar]:
        """Add one 5-second bar; return the bars completed by it (usually none or one)."""
        if self.bar_seconds == REALTIME_BAR_SECONDS:
            return [bar]
        done = []
        if self._parts and self._period(self._parts[0].ts) != self._period(bar.ts):
            done.append(self._combine())  # a 5-second bar went missing: release what we have
        self._parts.append(bar)
        end = self._period(bar.ts) + self.bar_seconds
        if bar.ts.timestamp() + REALTIME_BAR_SECONDS >= end:
            done.append(self._combine())
        return done

    def _combine(self) -> Bar:
        parts, self._parts = self._parts, []
        start = datetime.fromtimestamp(self._period(parts[0].ts), UTC)
        return Bar(start, parts[0].open, max(p.high for p in parts), min(p.low for p in parts),
                   parts[-1].close, sum(p.volume for p in parts))


class RealtimeFeed:
    """One real-time-bars subscription that can be dropped and re-made."""

    def __init__(self, bar_seconds: int, on_bar: Callable[[Bar], None]) -> None:
        self._aggregator = BarAggregator(bar_seconds)
        self._on_bar = on_bar
        self._ib: IB | None = None
        self._bars: RealTimeBarList | None = None
        self.last_bar_s = time.monotonic()

    def subscribe(self, ib: IB, contract: Contract) -> None:
        """Request 5-second TRADES bars, all hours."""
        self.unsubscribe()
        self._ib = ib
        self._bars = ib.reqRealTimeBars(contract, REALTIME_BAR_SECONDS, "TRADES", False)
        self._bars.updateEvent += self._on_update
        self.last_bar_s = time.monotonic()

    def unsubscribe(self) -> None:
        """Cancel the subscription (quietly when the connection is already gone)."""
        bars, self._bars = self._bars, None
        if bars is None:
            return
        bars.updateEvent -= self._on_update
        if self._ib is not None and self._ib.isConnected():
            self._ib.cancelRealTimeBars(bars)

    def stalled(self, timeout_s: float) -> bool:
        return self._bars is not None and time.monotonic() - self.last_bar_s > timeout_s

    def _on_update(self, bars: RealTimeBarList, has_new_bar: bool) -> None:
        if not has_new_bar or not bars:
            return
        self.last_bar_s = time.monotonic()
        try:
            bar = bar_from_realtime(bars[-1])
        except (TypeError, ValueError, AttributeError, OverflowError) as exc:
            logger.warning("skipped a malformed real-time bar: %s", exc)
            return
        if len(bars) > KEEP_REALTIME_BARS:
            del bars[:-KEEP_REALTIME_BARS]
        for done in self._aggregator.add(bar):
            self._on_bar(done)


async def fetch_history(
    ib: IB, contract: Contract, bar_seconds: int, seconds: float, pacer: HistoryPacer,
    end: datetime | None = None,
) -> list[Bar]:
    """Bars of ``bar_seconds`` for the ``seconds`` before ``end`` (None = now), oldest first."""
    duration_s = min(MAX_HISTORY_SECONDS, max(bar_seconds, math.ceil(seconds)))
    setting = BAR_SIZE_SETTING[bar_seconds]
    end_text = "" if end is None else end.astimezone(UTC).strftime("%Y%m%d %H:%M:%S UTC")
    request = (contract.conId, end_text, setting, duration_s)
    await pacer.acquire(request, contract.conId)
    items = await ib.reqHistoricalDataAsync(
        contract, end_text, f"{duration_s} S", setting, "TRADES", False, formatDate=2)
    bars = []
    for item in items or []:
        try:
            bars.append(bar_from_history(item))
        except (TypeError, ValueError, AttributeError) as exc:
            logger.warning("skipped a malformed historical bar: %s", exc)
    return bars


def history_seconds(window_bars: int, bar_seconds: int, last_bar: datetime | None,
                    server_now: datetime) -> float:
    """How far back to ask: the whole window, or just the gap since the last bar we have."""
    window = window_bars * bar_seconds
    if last_bar is None:
        return window
    gap = (server_now - last_bar).total_seconds() + bar_seconds
    return max(bar_seconds, min(window, gap))

