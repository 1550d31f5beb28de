"""IB's historical-data pacing rules, so history requests never earn error 162.

No identical request within 15 s, at most 6 requests for one contract within 2 s, at most 60
requests in 10 minutes. ``wait_s`` is pure (time is passed in); ``acquire`` sleeps as needed.
"""

from __future__ import annotations

import asyncio
import time
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field


@dataclass(slots=True)
class HistoryPacer:
    """Remembers recent requests and says how long the next one must wait."""

    identical_s: float = 15.0
    burst_count: int = 6
    burst_window_s: float = 2.0
    window_count: int = 60
    window_s: float = 600.0
    clock: Callable[[], float] = time.monotonic
    _sent: deque[tuple[float, Hashable, Hashable]] = field(default_factory=deque)

    def wait_s(self, request: Hashable, contract: Hashable, now_s: float) -> float:
        """Seconds to wait before sending ``request`` for ``contract`` at ``now_s``."""
        while self._sent and now_s - self._sent[0][0] >= self.window_s:
            self._sent.popleft()
        waits = [0.0]
        same = [t for t, r, _ in self._sent if r == request]
        if same:
            waits.append(same[-1] + self.identical_s - now_s)
        recent = [t for t, _, c in self._sent if c == contract and now_s - t < self.burst_window_s]
        if len(recent) >= self.burst_count:
            waits.append(recent[-self.burst_count] + self.burst_window_s - now_s)
        if len(self._sent) >= self.window_count:
            waits.append(self._sent[-self.window_count][0] + self.window_s - now_s)
        return max(waits)

    def record(self, request: Hashable, contract: Hashable, now_s: float) -> None:
        """Note that ``request`` was sent at ``now_s``."""
        self._sent.append((now_s, request, contract))

    async def acquire(self, request: Hashable, contract: Hashable) -> float:
        """Sleep until ``request`` may go, record it; return the seconds waited."""
        waited = 0.0
        while (delay := self.wait_s(request, contract, self.clock())) > 0:
            await asyncio.sleep(delay)
            waited += delay
        self.record(request, contract, self.clock())
        return waited
