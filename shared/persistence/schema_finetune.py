"""Schema step: ``finetune_jobs``, the Bedrock model-customization jobs this journal started."""

from __future__ import annotations

import sqlite3


def finetune_jobs(conn: sqlite3.Connection) -> None:
    """One row per job: what it was given, its estimate, its status and its evaluation."""
    conn.execute("""
        CREATE TABLE finetune_jobs (
            id INTEGER PRIMARY KEY,
            created_at TEXT NOT NULL,
            job_name TEXT NOT NULL UNIQUE,
            job_arn TEXT NOT NULL DEFAULT '',
            base_model TEXT NOT NULL,
            custom_model_name TEXT NOT NULL,
            train_uri TEXT NOT NULL,
            validation_uri TEXT NOT NULL,
            output_uri TEXT NOT NULL,
            train_examples INTEGER NOT NULL,
            validation_examples INTEGER NOT NULL,
            train_tokens INTEGER NOT NULL,
            estimate_usd REAL NOT NULL,
            status TEXT NOT NULL,
            message TEXT NOT NULL DEFAULT '',
            custom_model_arn TEXT NOT NULL DEFAULT '',
            updated_at TEXT NOT NULL,
            evaluation_json TEXT NOT NULL DEFAULT '',
            approved INTEGER NOT NULL DEFAULT 0
        )""")
