"""Crash-only start for memory: rebuild the index from the journal's closed setups.

The closed rows are replayed in the order they closed, so the index (and its scaler, refitted
at the same counts) is the one the engine had built as it went. The setups of brackets still
open come back too, so their outcomes join the index when they close.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable

from bot.core.memory import FEATURE_SCHEMA_VERSION, MemoryIndex
from shared.domain.memory import MemoryRow
from shared.persistence import memory_store

logger = logging.getLogger(__name__)


def restore_memory(conn: sqlite3.Connection) -> MemoryIndex:
    """The memory index rebuilt from every closed setup of the current feature schema."""
    index = MemoryIndex.from_rows(memory_store.closed_memory_rows(conn, FEATURE_SCHEMA_VERSION))
    counts = memory_store.memory_counts(conn, FEATURE_SCHEMA_VERSION)
    if counts.other_schema:
        logger.warning("memory: %d setups of another feature schema are not used",
                       counts.other_schema)
    stored = memory_store.latest_memory_scaler(conn, FEATURE_SCHEMA_VERSION)
    if stored is not None and index.scaler is not None and stored != index.scaler:
        logger.warning("memory: the scaler refitted on %d setups differs from the stored one "
                       "(fitted on %d); using the refitted one", index.scaler.fitted_rows,
                       stored.fitted_rows)
    logger.info("memory: %d closed setups restored (%d still open)", counts.closed, counts.open)
    return index


def open_setups(conn: sqlite3.Connection, bracket_ids: Iterable[str]) -> dict[str, MemoryRow]:
    """The stored setups of the given brackets that have not closed yet."""
    found = {}
    for bracket_id in bracket_ids:
        row = memory_store.open_memory_setup(conn, bracket_id)
        if row is not None:
            found[bracket_id] = row
    return found
