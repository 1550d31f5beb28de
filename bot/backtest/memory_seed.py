"""``--memory FILE``: seed a backtest's memory with a journal's setups closed before its start.

Only rows closed before the first decision bar are taken, so the run never learns from a trade
that closed after a decision it makes (DESIGN §4.9). Bad files get one clear line.
"""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from pathlib import Path

from bot.core.memory import FEATURE_SCHEMA_VERSION, MemoryIndex
from shared.domain.errors import ConfigError
from shared.persistence import memory_store
from shared.persistence.db import connect

logger = logging.getLogger(__name__)


def seed_memory(path_text: str, before: datetime) -> MemoryIndex:
    """The memory index of ``path_text``'s closed setups that closed before ``before``."""
    path = Path(path_text)
    if not path.is_file():
        raise ConfigError(f"--memory {path_text}: no such file (expected off, on or a SQLite "
                          "journal)")
    try:
        conn = connect(path, readonly=True)
    except sqlite3.Error as exc:
        raise ConfigError(f"--memory {path_text}: cannot open it as SQLite ({exc})") from None
    try:
        if not memory_store.has_memory_table(conn):
            raise ConfigError(f"--memory {path_text}: not a trading journal (no memory table)")
        rows = memory_store.closed_memory_rows(conn, FEATURE_SCHEMA_VERSION, before)
    except sqlite3.DatabaseError as exc:
        raise ConfigError(f"--memory {path_text}: not a readable SQLite journal ({exc})") from None
    finally:
        conn.close()
    logger.info("memory seeded with %d setups closed before %s from %s", len(rows),
                before.isoformat(), path_text)
    return MemoryIndex.from_rows(rows)
