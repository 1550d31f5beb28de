"""Research progress: a text bar on the terminal (stderr), the run row, the cancel flag, SIGTERM.

``RunControl`` writes tasks done / total to ``research_runs`` at most every half second and
reads the row's cancel flag at most as often; SIGTERM sets a flag too. ``run_many`` asks
``should_stop`` between tasks (and while they run), so either ends the run within a second or
so, cleanly marked cancelled.
"""

from __future__ import annotations

import logging
import signal
import sqlite3
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TextIO

from bot.ports import wall_clock_utc
from shared.persistence import research_store
from shared.persistence.db import write_transaction

logger = logging.getLogger(__name__)

EVERY_S = 0.5


class TerminalBar:
    """``[##########----------]  8/16 tasks  50%`` redrawn in place on a terminal; on a pipe or
    file, one line per tenth."""

    def __init__(self, stream: TextIO | None = None, width: int = 30, label: str = "tasks"):
        self.stream, self.width, self.label = stream or sys.stderr, width, label
        self._tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._tenth = -1

    def __call__(self, done: int, total: int) -> None:
        fraction = done / total if total else 1.0
        filled = int(round(fraction * self.width))
        text = (f"[{'#' * filled}{'-' * (self.width - filled)}] {done:>{len(str(total))}}/"
                f"{total} {self.label} {fraction:4.0%}")
        if self._tty:
            self.stream.write("\r" + text + ("\n" if done >= total else ""))
        elif int(fraction * 10) > self._tenth:
            self._tenth = int(fraction * 10)
            self.stream.write(text + "\n")
        self.stream.flush()


class RunControl:
    """Progress, message and cancel flag of one ``research_runs`` row (None: no row)."""

    def __init__(self, conn: sqlite3.Connection | None, run_id: int | None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.conn, self.run_id, self._clock = conn, run_id, clock
        self._written_at = self._checked_at = -1e9
        self._cancelled = False
        self.terminated = False

    def progress(self, done: int, total: int) -> None:
        """Store progress (throttled; the last task always)."""
        if self.conn is None or self.run_id is None:
            return
        now = self._clock()
        if now - self._written_at < EVERY_S and done < total:
            return
        self._written_at = now
        with write_transaction(self.conn):
            research_store.update_research_progress(
                self.conn, self.run_id, done, total, f"{done} of {total} tasks",
                wall_clock_utc())

    def should_stop(self) -> bool:
        """SIGTERM received, or the row's cancel flag raised (read at most every half second)."""
        if self.terminated or self._cancelled:
            return True
        if self.conn is None or self.run_id is None:
            return False
        now = self._clock()
        if now - self._checked_at >= EVERY_S:
            self._checked_at = now
            self._cancelled = research_store.research_cancel_requested(self.conn, self.run_id)
        return self._cancelled

    @contextmanager
    def sigterm_stops(self) -> Iterator[None]:
        """While inside, SIGTERM asks the run to stop instead of killing the process at once."""
        def on_term(signum: int, frame: object) -> None:
            self.terminated = True
            logger.warning("SIGTERM: stopping the research run")

        previous = signal.signal(signal.SIGTERM, on_term)
        try:
            yield
        finally:
            signal.signal(signal.SIGTERM, previous)


def both(*callbacks: Callable[[int, int], None]) -> Callable[[int, int], None]:
    """One progress callback calling several."""
    def report(done: int, total: int) -> None:
        for callback in callbacks:
            callback(done, total)
    return report
