"""Exit codes of ``python -m bot run`` and the journal fault (DESIGN §4 rule 11, §7).

The bot cannot trade without its journal: an order it cannot record is an order a restart would
not know about. So when SQLite refuses a write for a reason outside the code (disk full, I/O
error, a lock held past ``busy_timeout``, a file it cannot open), the live loop stops new
entries, leaves the position's protective orders where they are, records what it still can, and
the process exits with ``EXIT_JOURNAL_FAULT`` after one line on stderr. supervisord treats that
code as expected (``exitcodes`` in supervisord.conf), so a full disk is not restarted in a loop.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

EXIT_OK = 0
EXIT_BAD_CONFIG = 2  # invalid config, or a refused start (live account without both flags)
EXIT_JOURNAL_FAULT = 3  # the journal cannot be written: entries stopped, position left protected

# sqlite3 errors that mean our code misused the database: bugs, which must surface as such.
_CODE_ERRORS = (
    sqlite3.IntegrityError, sqlite3.ProgrammingError, sqlite3.NotSupportedError,
    sqlite3.DataError,
)


class JournalFault(Exception):
    """The journal at ``path`` could not be written; ``protection`` says what the position has."""

    def __init__(self, path: Path, cause: str, protection: str = "") -> None:
        super().__init__(f"journal write failed ({cause}) at {path}")
        self.path = path
        self.cause = cause
        self.protection = protection or "orders and the journaled position are left as they are"

    def line(self) -> str:
        """The one line for stderr: what failed, where, what the bot did, and the exit code."""
        return (
            f"error: journal write failed ({self.cause}) at {self.path}: stopping new entries; "
            f"{self.protection}; exit {EXIT_JOURNAL_FAULT}"
        )


def is_journal_error(exc: BaseException, os_errors: bool = False) -> bool:
    """Whether ``exc`` is the database failing under the bot rather than a bug in the bot.

    sqlite3 reports a full disk, an I/O error, a lock past ``busy_timeout`` and a corrupt or
    unopenable file as ``OperationalError``/``DatabaseError``. ``OSError`` counts only where
    the caller touches nothing but the database file (opening it creates its folder).
    """
    if isinstance(exc, _CODE_ERRORS):
        return False
    if isinstance(exc, sqlite3.DatabaseError):
        return True
    return os_errors and isinstance(exc, OSError)


def cause_text(exc: BaseException) -> str:
    """A short cause for the fault line, e.g. ``database or disk is full``."""
    if isinstance(exc, OSError) and exc.strerror:
        return exc.strerror
    return str(exc) or type(exc).__name__


@contextmanager
def journal_guard(path: Path, os_errors: bool = False) -> Iterator[None]:
    """Turn a database failure inside the block into a ``JournalFault`` naming ``path``."""
    try:
        yield
    except JournalFault:
        raise
    except Exception as exc:
        if not is_journal_error(exc, os_errors):
            raise
        raise JournalFault(path, cause_text(exc)) from exc
