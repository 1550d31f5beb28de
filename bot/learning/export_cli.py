"""``python -m bot export-training``: the trade log as audit JSONL and Bedrock training JSONL.

``--out FILE`` gets the training examples (Bedrock's conversational format for Claude, every
line checked by ``finetune_format`` before it is written); the audit records (one per trade,
with or without an LLM call) go beside it as ``<stem>.audit.jsonl`` unless ``--audit-out``
says otherwise. ``--s3 s3://bucket/prefix`` uploads both (governed, ``bot/llm/s3_export``).
The job writes its own ``export_runs`` row (``--token`` lets the dashboard find it) with
progress; SIGTERM cancels it. Exit codes: 0 done, 1 failed (validation, upload), 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import signal
import sqlite3
import sys
import uuid
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from bot.learning.finetune_format import file_problems, record_problems
from bot.learning.training import audit_record, training_record
from bot.ports import wall_clock_utc
from shared.config.settings import Settings, load_settings
from shared.domain.errors import ConfigError
from shared.persistence import trade_log_store
from shared.persistence.db import db_path_from_env, open_database, write_transaction

logger = logging.getLogger(__name__)

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
DEFAULT_CONFIG = Path("data/config.yaml")


class Cancelled(Exception):
    """SIGTERM arrived: the dashboard (or make stop) cancelled the export."""


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``export-training`` subcommand."""
    parser.add_argument("--since", required=True, help="first day (YYYY-MM-DD, UTC) of exits")
    parser.add_argument("--until", help="last day (inclusive, UTC); default: everything after")
    parser.add_argument("--out", required=True, help="training JSONL file to write")
    parser.add_argument("--audit-out", help="audit JSONL (default: <out stem>.audit.jsonl)")
    parser.add_argument("--s3", metavar="s3://bucket/prefix", help="upload both files there")
    parser.add_argument("--endpoint-url", help="S3 endpoint (default learning.s3_endpoint_url)")
    parser.add_argument("--token", help="id the dashboard follows this run by")
    parser.add_argument("--config", help="YAML config (default data/config.yaml if present)")
    parser.add_argument("--db", help="SQLite file (default env TRADER_DB or data/trader.db)")


def _day(text: str, flag: str) -> datetime:
    try:
        return datetime.combine(date.fromisoformat(text), datetime.min.time(), UTC)
    except ValueError:
        raise ConfigError(f"{flag} {text!r}: not a date (YYYY-MM-DD)") from None


def audit_path(out: Path, audit_out: str | None) -> Path:
    """Where the audit JSONL goes."""
    if audit_out:
        return Path(audit_out)
    stem = out.name.removesuffix(".jsonl")
    return out.with_name(f"{stem}.audit.jsonl")


def command_export(args: argparse.Namespace) -> int:
    """Write (and upload) the export; record its run for the dashboard."""
    try:
        since = _day(args.since, "--since")
        until = _day(args.until, "--until") + timedelta(days=1) if args.until else None
        path = Path(args.config) if args.config else (
            DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
        settings = load_settings(path)
        if args.s3:
            from bot.llm.s3_export import parse_s3_uri

            parse_s3_uri(args.s3)
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_INPUT
    conn = open_database(Path(args.db) if args.db else db_path_from_env())
    request = {"since": args.since, "until": args.until, "out": args.out,
               "audit_out": args.audit_out, "s3": args.s3}
    with write_transaction(conn):
        run_id = trade_log_store.start_export_run(conn, args.token or uuid.uuid4().hex, request,
                                                  os.getpid(), wall_clock_utc())

    def cancel(*_: object) -> None:
        raise Cancelled()

    signal.signal(signal.SIGTERM, cancel)
    try:
        result = export(conn, run_id, settings, since, until, Path(args.out),
                        audit_path(Path(args.out), args.audit_out), args.s3, args.endpoint_url)
    except Cancelled:
        return _finish(conn, run_id, "cancelled", "cancelled", {}, EXIT_FAILED)
    except (RuntimeError, OSError) as exc:
        return _finish(conn, run_id, "failed", str(exc), {}, EXIT_FAILED)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    message = (f"{result['trades']} trades: {result['audit_lines']} audit lines, "
               f"{result['training_lines']} training lines"
               + (f", uploaded to {args.s3}" if args.s3 else ""))
    return _finish(conn, run_id, "done", message, result, 0)


def _finish(conn: sqlite3.Connection, run_id: int, status: str, message: str,
            result: dict[str, Any], code: int) -> int:
    with write_transaction(conn):
        trade_log_store.finish_export_run(conn, run_id, status, message, result,
                                          wall_clock_utc())
    (logger.info if code == 0 else logger.error)("export %s: %s", status, message)
    if code:
        sys.stderr.write(f"error: {message}\n")
    conn.close()
    return code


def _progress(conn: sqlite3.Connection, run_id: int, fraction: float, message: str) -> None:
    with write_transaction(conn):
        trade_log_store.update_export_run(conn, run_id, round(fraction, 3), message)


def export(
    conn: sqlite3.Connection, run_id: int, settings: Settings, since: datetime,
    until: datetime | None, out: Path, audit_out: Path, s3_uri: str | None,
    endpoint_url: str | None,
) -> dict[str, Any]:
    """Write both files (and upload them); return the counts; RuntimeError on a bad line."""
    rows = trade_log_store.trade_log(conn, since, until)
    _progress(conn, run_id, 0.05, f"{len(rows)} trades read")
    out.parent.mkdir(parents=True, exist_ok=True)
    audit_out.parent.mkdir(parents=True, exist_ok=True)
    training_lines = 0
    step = max(1, len(rows) // 20)
    with audit_out.open("w", encoding="utf-8") as audit, out.open("w", encoding="utf-8") as train:
        for index, row in enumerate(rows):
            audit.write(json.dumps(audit_record(row), sort_keys=True) + "\n")
            example = training_record(row)
            if example is not None:
                problems = record_problems(example)
                if problems:
                    raise RuntimeError(f"trade {row.trade_id}: training line invalid: "
                                       f"{'; '.join(problems)}")
                train.write(json.dumps(example, ensure_ascii=False) + "\n")
                training_lines += 1
            if index % step == 0:
                _progress(conn, run_id, 0.05 + 0.6 * index / max(1, len(rows)),
                          f"{index + 1} of {len(rows)} trades written")
    problems = file_problems(out.read_text(encoding="utf-8"))
    if problems:
        raise RuntimeError(f"{out}: {'; '.join(problems[:3])}")
    result: dict[str, Any] = {"trades": len(rows), "audit_lines": len(rows),
                              "training_lines": training_lines,
                              "without_llm_call": len(rows) - training_lines,
                              "training_file": str(out), "audit_file": str(audit_out)}
    if s3_uri:
        from bot.llm.s3_export import S3Uploader, upload_files  # boto3 only when uploading

        _progress(conn, run_id, 0.7, f"uploading to {s3_uri}")
        learning = settings.learning
        uploader = S3Uploader(learning.s3_region or settings.llm.aws_region,
                              endpoint_url or learning.s3_endpoint_url,
                              settings.llm.read_timeout_s)
        uploaded = upload_files(conn, [out, audit_out], s3_uri, uploader,
                                learning.s3_daily_attempts, wall_clock_utc)
        result["s3"] = [u.uri for u in uploaded]
    return result
