"""SIGTERM, SIGINT and SIGHUP all mean one clean stop, for the bot process's whole life.

asyncio's handlers (``loop.add_signal_handler``) cover only the time the event loop runs.
Before it (config, lock, integrity check, restore) a SIGINT would raise ``KeyboardInterrupt``
and a SIGTERM or SIGHUP would kill the process; after it (the loop closed, threads joining) a
second Ctrl-C would end a clean stop with a traceback and exit 130, which supervisord counts as
a crash. ``StopSignals.install`` turns every stop signal before the loop into the stop event the
loop then honours at once, and ``ignore_further`` makes signals after the loop harmless: the
process is already stopping. kill -9 still ends it at any time.
"""

from __future__ import annotations

import asyncio
import logging
import signal
from types import FrameType

logger = logging.getLogger(__name__)

STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


class StopSignals:
    """The stop event shared by the process's signal handlers and the live loop."""

    def __init__(self) -> None:
        self.event = asyncio.Event()  # bound to the loop lazily, when the loop first waits
        self.received: list[int] = []

    def install(self) -> StopSignals:
        """Handle the stop signals from now until the event loop takes them over."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, self._before_loop)
        return self

    def _before_loop(self, signum: int, frame: FrameType | None) -> None:
        self.received.append(signum)
        logger.info("%s before the live loop started: stopping once restored",
                    signal.Signals(signum).name)
        self.event.set()  # no waiter yet, so no loop is touched

    def ignore_further(self) -> None:
        """After the loop: the process is stopping; one more signal must not make it a crash."""
        for signum in STOP_SIGNALS:
            signal.signal(signum, signal.SIG_IGN)
