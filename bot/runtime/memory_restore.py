"""Crash-only start for memory: rebuild the index from the journal's closed setups.

The closed rows are replayed in the order they closed, so the index (and its scaler, refitted
at the same counts) is the one the engine had built as it went. The setups of brackets still
open come back too, so their outcomes join the index when they close, and so do the refused
entries' shadows still open: each is advanced again over the bars journaled since its decision,
so it exits where it would have without the restart (as the backtest, which never stops, has it).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Iterable
from datetime import timedelta

from bot.core.engine import TradingEngine
from bot.core.memory import FEATURE_SCHEMA_VERSION, MemoryIndex
from shared.domain.memory import MemoryRow
from shared.persistence import learning_queries, memory_store

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


def resume_shadows(conn: sqlite3.Connection, engine: TradingEngine) -> int:
    """Follow again the refused entries' shadows open at the last stop; return how many.

    Call after ``warm_up``: the bars journaled since the oldest one's decision are replayed
    through the engine's shadows (an exit among them is journaled and learned as it would have
    been), so the memory the next decision sees is the one an uninterrupted run has.
    """
    rows = memory_store.open_shadow_setups(conn, engine.instrument.symbol)
    last = engine.last_bar
    if not rows or last is None:
        return 0
    for row in rows:
        engine.memory.resume_shadow(row)
    since = rows[0].setup.decision_ts
    for bar in learning_queries.bars_between(conn, engine.instrument.symbol, since,
                                             last.ts + timedelta(seconds=1)):
        engine.follow_shadows(bar)
    engine.journal.flush()
    logger.info("memory: %d refused entries' shadows resumed (%d still open)", len(rows),
                len(engine.memory.shadows.open))
    return len(rows)
