"""The fake venue's market: listed MES/ES quarterlies and a seeded or scripted 5-second price path.

Prices move on the 0.25 grid in small seeded steps; tests queue scripted bars (a breakout, a
move to a price) that are played before the random walk resumes. Time is simulated: each bar
advances the clock by five seconds, however fast the gateway releases bars.
"""

from __future__ import annotations

import calendar
import random
from collections import deque
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from tests.fakeib.wire import ListedFuture

BAR_SECONDS = 5
TICK = 0.25
MONTH_CODES = {3: "H", 6: "M", 9: "U", 12: "Z"}
SPECS = {
    "MES": (5, "Micro E-Mini S&P 500 Stock Price Index", 730_000_000),
    "ES": (50, "E-mini S&P 500", 620_000_000),
}


def third_friday(year: int, month: int) -> date:
    """The third Friday of a month (CME equity index futures expiry)."""
    first_weekday, _ = calendar.monthrange(year, month)
    first_friday = 1 + (4 - first_weekday) % 7
    return date(year, month, first_friday + 14)


def listed_futures(symbol: str, today: date, include_expired: bool = False) -> list[ListedFuture]:
    """The quarterlies listed on ``today``: front and next (plus the two before if expired)."""
    multiplier, long_name, base_con_id = SPECS[symbol]
    result = []
    year, month = today.year, 3
    quarters = []
    for offset in range(-3, 6):
        y, m = year + (month - 1 + 3 * offset) // 12, (month - 1 + 3 * offset) % 12 + 1
        quarters.append((y, m))
    live = [(y, m) for y, m in quarters if third_friday(y, m) >= today][:2]
    expired = [(y, m) for y, m in quarters if third_friday(y, m) < today][-2:]
    for y, m in (expired if include_expired else []) + live:
        expiry = third_friday(y, m)
        result.append(ListedFuture(
            con_id=base_con_id + y * 100 + m, symbol=symbol,
            local_symbol=f"{symbol}{MONTH_CODES[m]}{y % 10}", contract_month=f"{y}{m:02d}",
            last_trade_date=expiry.strftime("%Y%m%d"), multiplier=multiplier,
            long_name=long_name,
        ))
    return result


@dataclass(frozen=True, slots=True)
class FakeBar:
    """One 5-second bar labelled by its start time."""

    ts: datetime
    open: float
    high: float
    low: float
    close: float
    volume: float

    def as_tuple(self) -> tuple:
        return self.ts, self.open, self.high, self.low, self.close, self.volume


def _tick(price: float) -> float:
    return round(price / TICK) * TICK


class PricePath:
    """A seeded random walk on the tick grid with a queue of scripted bars played first."""

    def __init__(self, seed: int, start: datetime, start_price: float, history_bars: int) -> None:
        self._rng = random.Random(seed)
        self._scripted: deque[tuple[float, float, float, float, float]] = deque()
        self.bars: list[FakeBar] = []
        first = start.astimezone(UTC) - timedelta(seconds=BAR_SECONDS * history_bars)
        self._next_ts = first
        self._last_close = _tick(start_price)
        for _ in range(history_bars):
            self.next_bar()

    @property
    def last_price(self) -> float:
        return self._last_close

    @property
    def scripted_left(self) -> int:
        """Scripted bars not played yet."""
        return len(self._scripted)

    @property
    def now(self) -> datetime:
        """The simulated time: the end of the last bar."""
        return self._next_ts

    def script(self, bars: list[tuple[float, float, float, float, float]]) -> None:
        """Queue explicit (open, high, low, close, volume) bars."""
        self._scripted.extend(bars)

    def breakout(self, points: float, volume: float = 5000.0) -> None:
        """Queue one wide-bodied, heavy-volume bar moving ``points`` from the last close."""
        o = self._last_close
        c = _tick(o + points)
        self.script([(o, max(o, c) + TICK, min(o, c) - TICK, c, volume)])

    def move_to(self, price: float, bars: int = 3, volume: float = 100.0) -> None:
        """Queue bars walking in straight steps from the last close to ``price``."""
        start = self._last_close
        previous = start
        for step in range(1, bars + 1):
            close = _tick(start + (price - start) * step / bars)
            self.script([(previous, max(previous, close), min(previous, close), close, volume)])
            previous = close

    def next_bar(self) -> FakeBar:
        """Produce the next bar (a scripted one first, otherwise a random step)."""
        if self._scripted:
            o, h, low, c, v = self._scripted.popleft()
        else:
            o = self._last_close
            c = _tick(o + self._rng.choice((-0.5, -0.25, -0.25, 0.0, 0.25, 0.25, 0.5)))
            h = max(o, c) + self._rng.choice((0.0, 0.25, 0.25, 0.5))
            low = min(o, c) - self._rng.choice((0.0, 0.25, 0.25, 0.5))
            v = float(self._rng.randint(80, 120))
        bar = FakeBar(self._next_ts, _tick(o), _tick(h), _tick(low), _tick(c), v)
        self.bars.append(bar)
        self._next_ts += timedelta(seconds=BAR_SECONDS)
        self._last_close = bar.close
        return bar

    def window(self, end: datetime, seconds: int, bar_seconds: int) -> list[FakeBar]:
        """Bars of ``bar_seconds`` (a multiple of 5) starting in (end - seconds, end]."""
        start = end - timedelta(seconds=seconds)
        base = [b for b in self.bars if start <= b.ts < end]
        if bar_seconds <= BAR_SECONDS:
            return base
        grouped: dict[datetime, list[FakeBar]] = {}
        for bar in base:
            epoch = int(bar.ts.timestamp())
            key = datetime.fromtimestamp(epoch - epoch % bar_seconds, UTC)
            grouped.setdefault(key, []).append(bar)
        return [
            FakeBar(key, group[0].open, max(b.high for b in group), min(b.low for b in group),
                    group[-1].close, sum(b.volume for b in group))
            for key, group in sorted(grouped.items())
        ]
