"""The nightly retrain check (issue 25 item 3): prepare a fine-tuning job's files, maybe start it.

Run by the nightly program after the review and maintenance (``review_cli.run_nightly``) and by
``python -m bot finetune schedule``. It counts the labelled examples (the export's labelling,
``export_cli.training_examples``) whose market time is after the schedule last acted (a job or
prepared files, ``finetune_store.last_retrain_at``) and asks ``retrain_schedule`` whether a
retrain is due. When it is, the export writes the training and held-out files of every labelled
call so far into a dated folder (``finetune.retrain_folder``, default ``retrain/`` beside the
database). With ``finetune.auto_start`` and nothing blocking (``start_blockers``), the job is
started through ``finetune start``'s own code path (checked, governed, journaled); otherwise an
event ``retrain_ready`` says "retrain ready: files at ..." and why it was not started.
"""

from __future__ import annotations

import argparse
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.learning.export_cli import audit_path, export, heldout_path, training_examples
from bot.learning.finetune_data import check_files
from bot.learning.retrain_schedule import schedule_decision, start_blockers
from shared.config.settings import Settings
from shared.domain.errors import ConfigError
from shared.persistence import finetune_store, ops_store, trade_log_store
from shared.persistence.db import write_transaction

logger = logging.getLogger(__name__)

EVERYTHING = datetime(1970, 1, 1, tzinfo=UTC)
TRAIN_FILE = "calls.jsonl"
SPLIT_SEED = 0
StartJob = Callable[[sqlite3.Connection, Settings, argparse.Namespace], int]


@dataclass(frozen=True, slots=True)
class RetrainOutcome:
    """What tonight's check did, in one line; ``failed`` when a prepared job failed to start."""

    message: str
    folder: Path | None = None
    job_name: str = ""
    failed: bool = False


def retrain_folder(settings: Settings, db_path: Path, now: datetime) -> Path:
    """Tonight's folder: ``<retrain_folder or retrain beside the db>/<UTC time>``."""
    base = settings.finetune.retrain_folder
    root = Path(base) if base else Path(db_path).parent / "retrain"
    return root / f"{now:%Y%m%d-%H%M%S}"


def _event(conn: sqlite3.Connection, kind: str, severity: str, message: str,
           detail: dict[str, Any], now: datetime) -> None:
    with write_transaction(conn):
        ops_store.insert_event(conn, now, kind, severity, message, detail, now)


def _prepare(conn: sqlite3.Connection, settings: Settings, folder: Path, now: datetime
             ) -> dict[str, Any]:
    """Every labelled call so far as training and held-out files (the export's own code)."""
    out = folder / TRAIN_FILE
    split = (settings.finetune.retrain_heldout_fraction, SPLIT_SEED)
    request = {"since": EVERYTHING.date().isoformat(), "out": str(out), "retrain": True}
    with write_transaction(conn):
        run_id = trade_log_store.start_export_run(conn, f"retrain-{now:%Y%m%d%H%M%S}", request,
                                                  0, now)
    try:
        result = export(conn, run_id, settings, EVERYTHING, None, out, audit_path(out, None),
                        None, None, split)
    except (RuntimeError, OSError) as exc:
        with write_transaction(conn):
            trade_log_store.finish_export_run(conn, run_id, "failed", str(exc), {}, now)
        raise
    with write_transaction(conn):
        trade_log_store.finish_export_run(conn, run_id, "done", "retrain files", result, now)
    return result


def check_retrain(conn: sqlite3.Connection, settings: Settings, db_path: Path, now: datetime,
                  start_job: StartJob) -> RetrainOutcome:
    """Tonight's retrain check: nothing, files prepared (``retrain_ready``), or a job started
    by ``start_job`` (``finetune_cli.start_job``: passed in, as that module runs this one)."""
    cfg = settings.finetune
    last_at = finetune_store.last_retrain_at(conn)
    new_examples = 0
    if cfg.retrain_after_examples or cfg.retrain_weekly:
        new_examples = len(training_examples(conn, settings, last_at or EVERYTHING, None)[0])
    decision = schedule_decision(cfg, new_examples, last_at, now)
    if not decision.due:
        logger.info("retrain not due: %s", decision.reason)
        return RetrainOutcome(f"retrain not due: {decision.reason}")
    folder = retrain_folder(settings, db_path, now)
    result = _prepare(conn, settings, folder, now)
    train, held = folder / TRAIN_FILE, heldout_path(folder / TRAIN_FILE)
    if not result.get("training_file") or not result.get("heldout_file"):
        why = result.get("no_training_reason") or "no held-out day (one trading day only)"
        logger.warning("retrain due (%s) but no files: %s", decision.reason, why)
        return RetrainOutcome(f"retrain due but not prepared: {why}", folder)
    files = check_files(train.read_text(encoding="utf-8"), held.read_text(encoding="utf-8"), cfg)
    blockers = start_blockers(cfg, files.estimate_usd, files.problems)
    detail = {"folder": str(folder), "train": str(train), "validation": str(held),
              "train_examples": files.train_examples,
              "validation_examples": files.validation_examples,
              "estimate_usd": files.estimate_usd, "reason": decision.reason,
              "not_started": blockers}
    ready = (f"retrain ready: files at {folder} ({files.train_examples} training, "
             f"{files.validation_examples} held-out examples, estimate "
             f"${files.estimate_usd:,.2f}; {decision.reason})")
    if blockers:
        message = f"{ready}; not started: {'; '.join(blockers)}"
        _event(conn, "retrain_ready", "info", message[:2000], detail, now)
        logger.info("%s", message)
        return RetrainOutcome(message, folder)
    return _start(conn, settings, folder, (ready, detail), now, start_job)


def _start(conn: sqlite3.Connection, settings: Settings, folder: Path,
           prepared: tuple[str, dict[str, Any]], now: datetime,
           start_job: StartJob) -> RetrainOutcome:
    """Start the job exactly as ``finetune start --yes-spend`` would (the cap was checked)."""
    ready, detail = prepared
    cfg = settings.finetune
    job_name = f"mytrader-retrain-{now:%Y%m%d-%H%M%S}"
    args = argparse.Namespace(
        action="start", train=detail["train"], validation=detail["validation"],
        base_model=cfg.retrain_base_model, role_arn=cfg.retrain_role_arn,
        s3=cfg.retrain_s3_uri, job_name=job_name, yes_spend=True, endpoint_url=None,
        s3_endpoint_url=None)
    try:
        code = start_job(conn, settings, args)
        problem = "" if code == 0 else "start failed (see the job's row)"
    except ConfigError as exc:
        problem = f"start refused: {exc}"
    if problem:
        message = f"{ready}; job {job_name} not started: {problem}"
        _event(conn, "retrain_ready", "warning", message[:2000], {**detail, "job": job_name},
               now)
        logger.error("%s", message)
        return RetrainOutcome(message, folder, job_name, failed=True)
    message = f"retrain job {job_name} started: {ready.removeprefix('retrain ready: ')}"
    _event(conn, "retrain_started", "info", message[:2000], {**detail, "job": job_name}, now)
    logger.info("%s", message)
    return RetrainOutcome(message, folder, job_name)
