"""Migration: the ``news`` table learns de-duplication keys, links and sentiment scores.

``created_at`` stays the time the headline was received. ``scored_seq`` numbers rows in the order
they were scored, so a reader can follow newly scored rows (a row may be scored after newer ones).
"""

from __future__ import annotations

import sqlite3


def news_sentiment(conn: sqlite3.Connection) -> None:
    """Add norm_key, published_at, link, score, scorer, scored_at, scored_seq and indexes."""
    for statement in (
        "ALTER TABLE news ADD COLUMN norm_key TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE news ADD COLUMN published_at TEXT",
        "ALTER TABLE news ADD COLUMN link TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE news ADD COLUMN score REAL",
        "ALTER TABLE news ADD COLUMN scorer TEXT NOT NULL DEFAULT ''",
        "ALTER TABLE news ADD COLUMN scored_at TEXT",
        "ALTER TABLE news ADD COLUMN scored_seq INTEGER",
        "CREATE INDEX news_dedupe ON news (source, norm_key, created_at)",
        "CREATE UNIQUE INDEX news_scored_seq ON news (scored_seq)",
        "CREATE INDEX news_unscored ON news (id) WHERE scored_seq IS NULL",
        "CREATE INDEX news_created ON news (created_at)",
    ):
        conn.execute(statement)
