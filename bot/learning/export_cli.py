"""``python -m bot export-training``: LLM calls as Bedrock training JSONL, trades as audit JSONL.

``--out FILE`` gets the training examples: one per distinct LLM market prompt whose market
time falls in the range, labelled by the market's move over the prompt's horizon from
journaled bars (``call_labels``), in Bedrock's conversational format for Claude (every line
checked by ``finetune_format`` before it is written). Whole trading days, chosen by a seeded
shuffle (``--heldout-fraction``, ``--seed``), go to ``<stem>.heldout.jsonl`` instead. The
audit records (one per trade, with or without an LLM call) go beside it as
``<stem>.audit.jsonl`` unless ``--audit-out`` says otherwise. With no example to write, no
training file is written and the run says why. ``--s3 s3://bucket/prefix`` uploads the files
(governed, ``bot/llm/s3_export``).
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

from bot.backtest.engine_run import session_clock
from bot.learning.call_labels import (
    DEAD_BAND_POINTS,
    HORIZON_MINUTES,
    Example,
    LabelCounts,
    label_calls,
    split_by_day,
)
from bot.learning.finetune_format import file_problems, record_problems
from bot.learning.training import audit_record
from bot.ports import wall_clock_utc
from shared.config.settings import Settings, load_settings
from shared.domain.errors import ConfigError
from shared.domain.instruments import get_instrument
from shared.persistence import learning_queries, trade_log_store
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
    parser.add_argument("--heldout-fraction", type=float, default=0.2,
                        help="share of trading days held out (default 0.2)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the held-out day choice")
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


def heldout_path(out: Path) -> Path:
    """Where the held-out examples go: ``<stem>.heldout.jsonl`` beside the training file."""
    stem = out.name.removesuffix(".jsonl")
    return out.with_name(f"{stem}.heldout.jsonl")


def command_export(args: argparse.Namespace) -> int:
    """Write (and upload) the export; record its run for the dashboard."""
    try:
        since = _day(args.since, "--since")
        until = _day(args.until, "--until") + timedelta(days=1) if args.until else None
        path = Path(args.config) if args.config else (
            DEFAULT_CONFIG if DEFAULT_CONFIG.exists() else None)
        settings = load_settings(path)
        if not 0 <= args.heldout_fraction < 1:
            raise ConfigError(f"--heldout-fraction {args.heldout_fraction}: must be in [0, 1)")
        if args.s3:
            from bot.llm.s3_export import parse_s3_uri

            parse_s3_uri(args.s3)
    except ConfigError as exc:
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_INPUT
    conn = open_database(Path(args.db) if args.db else db_path_from_env())
    request = {"since": args.since, "until": args.until, "out": args.out,
               "audit_out": args.audit_out, "s3": args.s3,
               "heldout_fraction": args.heldout_fraction, "seed": args.seed}
    with write_transaction(conn):
        run_id = trade_log_store.start_export_run(conn, args.token or uuid.uuid4().hex, request,
                                                  os.getpid(), wall_clock_utc())

    def cancel(*_: object) -> None:
        raise Cancelled()

    signal.signal(signal.SIGTERM, cancel)
    try:
        result = export(conn, run_id, settings, since, until, Path(args.out),
                        audit_path(Path(args.out), args.audit_out), args.s3, args.endpoint_url,
                        (args.heldout_fraction, args.seed))
    except Cancelled:
        return _finish(conn, run_id, "cancelled", "cancelled", {}, EXIT_FAILED)
    except (RuntimeError, OSError) as exc:
        return _finish(conn, run_id, "failed", str(exc), {}, EXIT_FAILED)
    finally:
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
    message = (f"{result['trades']} trades: {result['audit_lines']} audit lines; "
               f"{result['llm_calls']} LLM calls: {result['training_lines']} training and "
               f"{result['heldout_lines']} held-out lines"
               + (f" ({result['no_training_reason']})" if result.get("no_training_reason")
                  else "")
               + (f", uploaded to {args.s3}" if args.s3 else ""))
    if result.get("no_training_reason"):
        sys.stderr.write(f"warning: no training file written: {result['no_training_reason']}\n")
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


def _write_examples(path: Path, examples: list[Example]) -> None:
    """Write checked lines; RuntimeError naming the calls of a line that fails the check."""
    with path.open("w", encoding="utf-8") as out:
        for example in examples:
            record = example.record()
            problems = record_problems(record)
            if problems:
                raise RuntimeError(f"LLM call(s) {list(example.call_ids)}: training line "
                                   f"invalid: {'; '.join(problems)}")
            out.write(json.dumps(record, ensure_ascii=False) + "\n")
    problems = file_problems(path.read_text(encoding="utf-8"))
    if problems:
        raise RuntimeError(f"{path}: {'; '.join(problems[:3])}")


def no_example_reason(counts: LabelCounts) -> str:
    """Why the export has no training example, in one line."""
    if counts.calls == 0:
        return "no LLM market call was logged in the range (llm.enabled, llm_calls)"
    return (f"none of the {counts.calls} LLM calls could be labelled: "
            f"{counts.out_of_range} outside the range, {counts.no_market_time} without a market "
            f"time in the prompt, {counts.horizon_not_journaled} whose {HORIZON_MINUTES}-minute "
            f"horizon is not covered by journaled bars, {counts.conflicts_dropped} conflicting")


def training_examples(conn: sqlite3.Connection, settings: Settings, since: datetime,
                      until: datetime | None) -> tuple[list[Example], LabelCounts]:
    """The range's LLM calls labelled by the move over the prompt's horizon (journaled bars)."""
    calls = learning_queries.market_calls(conn, since)
    symbol = get_instrument(settings.instrument.symbol).symbol
    end = until + timedelta(minutes=HORIZON_MINUTES + 1) if until is not None else \
        datetime.max.replace(tzinfo=UTC)
    closes = {b.ts: b.close for b in learning_queries.bars_between(conn, symbol, since, end)}
    return label_calls(calls, closes, since, until, session_clock().trading_day,
                       HORIZON_MINUTES, DEAD_BAND_POINTS)


def export(
    conn: sqlite3.Connection, run_id: int, settings: Settings, since: datetime,
    until: datetime | None, out: Path, audit_out: Path, s3_uri: str | None,
    endpoint_url: str | None, split: tuple[float, int] = (0.2, 0),
) -> dict[str, Any]:
    """Write the files (and upload them); return the counts; RuntimeError on a bad line."""
    rows = trade_log_store.trade_log(conn, since, until)
    _progress(conn, run_id, 0.05, f"{len(rows)} trades read")
    audit_out.parent.mkdir(parents=True, exist_ok=True)
    with audit_out.open("w", encoding="utf-8") as audit:
        for row in rows:
            audit.write(json.dumps(audit_record(row), sort_keys=True) + "\n")
    _progress(conn, run_id, 0.3, f"{len(rows)} audit lines written; labelling LLM calls")
    examples, counts = training_examples(conn, settings, since, until)
    training, heldout = split_by_day(examples, split[0], split[1])
    result: dict[str, Any] = {
        "trades": len(rows), "audit_lines": len(rows), "audit_file": str(audit_out),
        "llm_calls": counts.calls, "training_lines": len(training),
        "heldout_lines": len(heldout), "skipped_horizon_not_journaled":
            counts.horizon_not_journaled, "skipped_no_market_time": counts.no_market_time,
        "outside_range": counts.out_of_range, "duplicates_merged": counts.duplicates_merged,
        "conflicts_dropped": counts.conflicts_dropped, "horizon_minutes": HORIZON_MINUTES,
        "dead_band_points": DEAD_BAND_POINTS, "heldout_fraction": split[0], "seed": split[1],
        "training_file": None, "heldout_file": None}
    files = [audit_out]
    if examples:
        out.parent.mkdir(parents=True, exist_ok=True)
        _write_examples(out, training)
        result["training_file"] = str(out)
        files.insert(0, out)
        if heldout:
            _write_examples(heldout_path(out), heldout)
            result["heldout_file"] = str(heldout_path(out))
            files.insert(1, heldout_path(out))
    else:
        result["no_training_reason"] = no_example_reason(counts)
        logger.warning("no training file written: %s", result["no_training_reason"])
    _progress(conn, run_id, 0.65, f"{len(training)} training and {len(heldout)} held-out lines")
    if s3_uri:
        from bot.llm.s3_export import S3Uploader, upload_files  # boto3 only when uploading

        _progress(conn, run_id, 0.7, f"uploading to {s3_uri}")
        learning = settings.learning
        uploader = S3Uploader(learning.s3_region or settings.llm.aws_region,
                              endpoint_url or learning.s3_endpoint_url,
                              settings.llm.read_timeout_s)
        uploaded = upload_files(conn, files, s3_uri, uploader, learning.s3_daily_attempts,
                                wall_clock_utc)
        result["s3"] = [u.uri for u in uploaded]
    return result
