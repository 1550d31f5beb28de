"""Named queries of ``finetune_jobs``: the fine-tuning jobs, their status and evaluation."""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass, fields
from datetime import datetime

from shared.persistence.codec import from_text, to_text
from shared.persistence.db import require_transaction


@dataclass(frozen=True, slots=True)
class NewJob:
    """A job as it is submitted."""

    created_at: datetime
    job_name: str
    base_model: str
    custom_model_name: str
    train_uri: str
    validation_uri: str
    output_uri: str
    train_examples: int
    validation_examples: int
    train_tokens: int
    estimate_usd: float


@dataclass(frozen=True, slots=True)
class FinetuneJob:
    """One row of ``finetune_jobs``."""

    id: int
    created_at: datetime
    job_name: str
    job_arn: str
    base_model: str
    custom_model_name: str
    train_uri: str
    validation_uri: str
    output_uri: str
    train_examples: int
    validation_examples: int
    train_tokens: int
    estimate_usd: float
    status: str
    message: str
    custom_model_arn: str
    updated_at: datetime
    evaluation_json: str
    approved: bool


_COLUMNS = ", ".join(f.name for f in fields(FinetuneJob))


def _job(row: sqlite3.Row) -> FinetuneJob:
    values = dict(row)
    values["created_at"] = from_text(values["created_at"])
    values["updated_at"] = from_text(values["updated_at"])
    values["approved"] = bool(values["approved"])
    return FinetuneJob(**values)


def insert_job(conn: sqlite3.Connection, job: NewJob) -> int:
    """Record a job about to be submitted (status ``submitting``); its id."""
    require_transaction(conn, "insert_job")
    cursor = conn.execute(
        "INSERT INTO finetune_jobs (created_at, job_name, base_model, custom_model_name, "
        "train_uri, validation_uri, output_uri, train_examples, validation_examples, "
        "train_tokens, estimate_usd, status, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'submitting', ?)",
        (to_text(job.created_at), job.job_name, job.base_model, job.custom_model_name,
         job.train_uri, job.validation_uri, job.output_uri, job.train_examples,
         job.validation_examples, job.train_tokens, job.estimate_usd, to_text(job.created_at)))
    return int(cursor.lastrowid or 0)


def update_status(conn: sqlite3.Connection, job_id: int, status: str, message: str,
                  at: datetime, job_arn: str = "", custom_model_arn: str = "") -> None:
    """The job's latest status (ARNs kept when not given)."""
    require_transaction(conn, "update_status")
    conn.execute(
        "UPDATE finetune_jobs SET status = ?, message = ?, updated_at = ?, "
        "job_arn = CASE WHEN ? = '' THEN job_arn ELSE ? END, "
        "custom_model_arn = CASE WHEN ? = '' THEN custom_model_arn ELSE ? END WHERE id = ?",
        (status, message[:1000], to_text(at), job_arn, job_arn, custom_model_arn,
         custom_model_arn, job_id))


def set_evaluation(conn: sqlite3.Connection, job_id: int, evaluation_json: str, approved: bool,
                   at: datetime) -> None:
    """The held-out evaluation's figures and whether the custom model may answer a route."""
    require_transaction(conn, "set_evaluation")
    conn.execute("UPDATE finetune_jobs SET evaluation_json = ?, approved = ?, updated_at = ? "
                 "WHERE id = ?", (evaluation_json, int(approved), to_text(at), job_id))


def job(conn: sqlite3.Connection, key: str) -> FinetuneJob | None:
    """The job with this id or name."""
    row = conn.execute(f"SELECT {_COLUMNS} FROM finetune_jobs WHERE job_name = ? "
                       "OR CAST(id AS TEXT) = ? ORDER BY id LIMIT 1", (key, key)).fetchone()
    return _job(row) if row else None


def jobs(conn: sqlite3.Connection, limit: int = 50) -> list[FinetuneJob]:
    """The latest jobs, newest first."""
    rows = conn.execute(f"SELECT {_COLUMNS} FROM finetune_jobs ORDER BY id DESC LIMIT ?",
                        (limit,)).fetchall()
    return [_job(r) for r in rows]


def approved_custom_model(conn: sqlite3.Connection, model_id: str) -> bool:
    """Whether ``model_id`` is a custom model (its ARN, or the id it was evaluated under) whose
    job passed its held-out evaluation."""
    row = conn.execute(
        "SELECT 1 FROM finetune_jobs WHERE approved = 1 AND status = 'Completed' AND "
        "(custom_model_arn = ? OR json_extract(evaluation_json, '$.custom.model') = ?) LIMIT 1",
        (model_id, model_id)).fetchone()
    return row is not None


RETRAIN_EVENT_KINDS = ("retrain_ready", "retrain_started")


def last_retrain_at(conn: sqlite3.Connection) -> datetime | None:
    """When the retrain schedule last acted: the newest job, or the newest prepared-files
    (``retrain_ready``/``retrain_started``) event; None when neither exists."""
    found = [from_text(r[0]) for r in conn.execute(
        "SELECT MAX(created_at) FROM finetune_jobs UNION ALL "
        "SELECT MAX(ts) FROM events WHERE kind IN (?, ?)", RETRAIN_EVENT_KINDS).fetchall()
        if r[0]]
    return max(found) if found else None
