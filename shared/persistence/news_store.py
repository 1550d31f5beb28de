"""Every SQL statement of the news pipeline: store new headlines once, score them, read them.

Callers own the transactions (``db.write_transaction``): ``store_if_new`` and ``set_scores``
never commit. A duplicate is the same source and normalised text received within the window
(either side, so a CSV imported out of order is de-duplicated too).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from shared.domain.news import Headline, clean_headline, normalise_headline
from shared.persistence.codec import from_text, optional_ts, to_text
from shared.persistence.db import require_transaction


@dataclass(frozen=True, slots=True)
class NewsRow:
    """One stored headline with its score (None until scored)."""

    id: int
    received_at: datetime
    source: str
    headline: str
    published_at: datetime | None
    link: str
    score: float | None
    scorer: str
    scored_seq: int | None


@dataclass(frozen=True, slots=True)
class ScoredHeadline:
    """What the sentiment feature needs of a scored row."""

    id: int
    received_at: datetime
    score: float
    scored_seq: int


@dataclass(frozen=True, slots=True)
class Score:
    """A score to store for one row, and which scorer gave it."""

    news_id: int
    score: float
    scorer: str


def _row(r: sqlite3.Row) -> NewsRow:
    return NewsRow(
        id=int(r["id"]), received_at=from_text(r["created_at"]), source=r["source"],
        headline=r["headline"], published_at=optional_ts(r["published_at"]), link=r["link"],
        score=r["score"], scorer=r["scorer"], scored_seq=r["scored_seq"],
    )


def is_duplicate(conn: sqlite3.Connection, source: str, key: str, at: datetime,
                 window: timedelta) -> bool:
    """Whether ``source`` sent the same normalised text within ``window`` of ``at``."""
    row = conn.execute(
        "SELECT 1 FROM news WHERE source = ? AND norm_key = ? AND created_at BETWEEN ? AND ? "
        "LIMIT 1",
        (source, key, to_text(at - window), to_text(at + window)),
    ).fetchone()
    return row is not None


def store_if_new(conn: sqlite3.Connection, headline: Headline, window: timedelta) -> int | None:
    """Insert ``headline`` unless it is a duplicate; return its id, or None when skipped."""
    require_transaction(conn, "store_if_new")
    text = clean_headline(headline.text)
    key = normalise_headline(text)
    if not key or is_duplicate(conn, headline.source, key, headline.received_at, window):
        return None
    cursor = conn.execute(
        "INSERT INTO news (created_at, source, headline, norm_key, published_at, link) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (to_text(headline.received_at), headline.source, text, key,
         to_text(headline.published_at) if headline.published_at else None, headline.link),
    )
    return int(cursor.lastrowid or 0)


def unscored(conn: sqlite3.Connection, limit: int) -> list[NewsRow]:
    """Headlines without a score yet (any source, typed ones included), oldest first."""
    rows = conn.execute(
        "SELECT * FROM news WHERE scored_seq IS NULL ORDER BY id LIMIT ?", (limit,)
    ).fetchall()
    return [_row(r) for r in rows]


def set_scores(conn: sqlite3.Connection, scores: Iterable[Score], at: datetime) -> int:
    """Store scores, numbering the rows in scoring order (``scored_seq``); return the count."""
    require_transaction(conn, "set_scores")
    done = 0
    for item in scores:
        cursor = conn.execute(
            "UPDATE news SET score = ?, scorer = ?, scored_at = ?, "
            "scored_seq = (SELECT COALESCE(MAX(scored_seq), 0) + 1 FROM news) "
            "WHERE id = ? AND scored_seq IS NULL",
            (item.score, item.scorer, to_text(at), item.news_id),
        )
        done += cursor.rowcount
    return done


def scored_after(conn: sqlite3.Connection, after_seq: int, limit: int = 10_000
                 ) -> list[ScoredHeadline]:
    """Rows scored after sequence number ``after_seq``, in scoring order."""
    rows = conn.execute(
        "SELECT id, created_at, score, scored_seq FROM news WHERE scored_seq > ? "
        "ORDER BY scored_seq LIMIT ?",
        (after_seq, limit),
    ).fetchall()
    return [ScoredHeadline(int(r["id"]), from_text(r["created_at"]), float(r["score"]),
                           int(r["scored_seq"])) for r in rows]


def recent_headlines(conn: sqlite3.Connection, limit: int = 20) -> list[NewsRow]:
    """The latest headlines, newest first, with their scores."""
    rows = conn.execute("SELECT * FROM news ORDER BY id DESC LIMIT ?", (limit,)).fetchall()
    return [_row(r) for r in rows]


def headlines_between(conn: sqlite3.Connection, start: datetime, end: datetime
                      ) -> list[NewsRow]:
    """Headlines received in [start, end], oldest first (exports, charts)."""
    rows = conn.execute(
        "SELECT * FROM news WHERE created_at BETWEEN ? AND ? ORDER BY created_at, id",
        (to_text(start), to_text(end)),
    ).fetchall()
    return [_row(r) for r in rows]


def prune_news(conn: sqlite3.Connection, before: datetime) -> int:
    """Delete headlines received before ``before``; return how many."""
    require_transaction(conn, "prune_news")
    cursor = conn.execute("DELETE FROM news WHERE created_at < ?", (to_text(before),))
    return cursor.rowcount


def count_by_source(conn: sqlite3.Connection) -> dict[str, int]:
    """How many headlines each source has stored."""
    rows = conn.execute("SELECT source, COUNT(*) FROM news GROUP BY source").fetchall()
    return {r[0]: int(r[1]) for r in rows}

