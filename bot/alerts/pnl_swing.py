"""A large P&L move in a short time: equity samples in a sliding window of ``window_minutes``.

The heartbeat's ``equity_cents`` (realized plus open P&L) is sampled each time it changes; when
the newest sample is ``threshold_cents`` or more away from the highest or lowest sample of the
window, that is one swing: it is told once, and the window starts again from the newest sample
(so a continuing slide is told again only after another full threshold). Pure: no I/O.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from datetime import datetime, timedelta


@dataclass(frozen=True, slots=True)
class Swing:
    """Equity moved ``change_cents`` (signed) from ``from_cents`` at ``start`` to ``end``."""

    start: datetime
    end: datetime
    from_cents: int
    to_cents: int

    @property
    def change_cents(self) -> int:
        return self.to_cents - self.from_cents


class SwingWindow:
    """Keeps the equity samples of the last ``window_minutes``; reports a swing once."""

    def __init__(self) -> None:
        self._samples: deque[tuple[datetime, int]] = deque()

    def add(self, at: datetime, equity_cents: int, threshold_cents: int,
            window_minutes: float) -> Swing | None:
        """Record a sample; the swing it completes, if any (``threshold_cents`` <= 0: off)."""
        if self._samples and at <= self._samples[-1][0]:
            return None  # the same heartbeat read again
        self._samples.append((at, equity_cents))
        horizon = at - timedelta(minutes=window_minutes)
        while self._samples and self._samples[0][0] < horizon:
            self._samples.popleft()
        if threshold_cents <= 0:
            return None
        low = min(self._samples, key=lambda sample: sample[1])
        high = max(self._samples, key=lambda sample: sample[1])
        extreme = max((low, high), key=lambda sample: abs(equity_cents - sample[1]))
        if abs(equity_cents - extreme[1]) < threshold_cents:
            return None
        self._samples.clear()
        self._samples.append((at, equity_cents))
        return Swing(extreme[0], at, extreme[1], equity_cents)
