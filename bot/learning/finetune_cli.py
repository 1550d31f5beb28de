"""``python -m bot finetune start|status|evaluate|list``: Bedrock fine-tuning, governed.

``start`` checks the export's training and held-out files (``finetune_data``), refuses a job
above ``finetune.max_job_usd`` and, when its estimate is above $0, without ``--yes-spend``;
then uploads both files (governed S3 PUTs) and starts a model-customization job (one governed
control-plane attempt). ``status`` reads every unfinished job's status (or ``--job``'s).
``evaluate`` asks the base and the custom model every held-out example and approves the custom
model for a route only when it is at least as well calibrated (``finetune_eval``). Each job,
its estimate, status and evaluation is a ``finetune_jobs`` row, shown on the LLM page.
``schedule`` runs the nightly retrain check once (``retrain``).
Exit codes: 0 done (evaluate: approved), 1 failed remotely (evaluate: not approved),
2 bad input or refused.
"""

from __future__ import annotations

import argparse
import logging
import os
import re
import sqlite3
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bot.learning.finetune_data import check_files
from bot.learning.finetune_eval import Evaluation, held_out_examples
from bot.llm.bedrock_control import FINISHED, BedrockControl, JobSpec
from bot.llm.cost import price_for, reserve_usd
from bot.llm.providers import make_provider
from bot.ports import wall_clock_utc
from bot.runtime.config_watch import settings_for_process
from shared.config.settings import Settings
from shared.domain.errors import ConfigError
from shared.persistence import finetune_store, trade_log_store
from shared.persistence.db import db_path_from_env, open_database, write_transaction

logger = logging.getLogger(__name__)

EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
SERVICE = "bedrock"
UNFINISHED = ("submitting", "InProgress", "Stopping")
_JOB_NAME = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9+\-.])*$")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The ``finetune`` actions and their options."""
    parser.add_argument("action", choices=("start", "status", "evaluate", "list", "schedule"))
    parser.add_argument("--train", help="training JSONL (export-training --out)")
    parser.add_argument("--validation", help="held-out JSONL (<stem>.heldout.jsonl)")
    parser.add_argument("--base-model", help="base model id to customise")
    parser.add_argument("--role-arn", help="IAM role Bedrock assumes to read and write S3")
    parser.add_argument("--s3", metavar="s3://bucket/prefix", help="where the files go")
    parser.add_argument("--job-name", help="default: mytrader-<UTC time>")
    parser.add_argument("--job", help="a job's id or name (status, evaluate)")
    parser.add_argument("--held-out", help="evaluate: held-out JSONL (default --validation)")
    parser.add_argument("--custom-model-id", help="evaluate: the id to invoke the custom model "
                        "with (default its ARN; a provisioned-throughput ARN if you bought one)")
    parser.add_argument("--yes-spend", action="store_true", help="accept the printed estimate")
    parser.add_argument("--endpoint-url", help="Bedrock control endpoint (finetune.endpoint_url)")
    parser.add_argument("--s3-endpoint-url", help="S3 endpoint (learning.s3_endpoint_url)")
    parser.add_argument("--config", help="YAML config before the first active version")
    parser.add_argument("--db", help="SQLite file (default env TRADER_DB or data/trader.db)")


def command_finetune(args: argparse.Namespace) -> int:
    """Run one ``finetune`` action."""
    db = Path(args.db) if args.db else db_path_from_env()
    try:
        settings = settings_for_process(db, Path(args.config) if args.config else None,
                                        os.environ)
    except ConfigError as exc:
        return _refuse(str(exc))
    conn = open_database(db)
    try:
        handler = {"start": start_job, "status": _status, "evaluate": _evaluate,
                   "list": _list, "schedule": _schedule}[args.action]
        return handler(conn, settings, args)
    except ConfigError as exc:
        return _refuse(str(exc))
    finally:
        conn.close()


def _refuse(message: str) -> int:
    sys.stderr.write(f"error: {message}\n")
    return EXIT_BAD_INPUT


def _need(args: argparse.Namespace, *names: str) -> None:
    missing = [f"--{n.replace('_', '-')}" for n in names if not getattr(args, n)]
    if missing:
        raise ConfigError(f"finetune {args.action} needs {', '.join(missing)}")


def _read(path: str, flag: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{flag} {path}: {exc}") from None


def _control(settings: Settings, args: argparse.Namespace) -> BedrockControl:
    return BedrockControl(settings.llm.aws_region,
                          args.endpoint_url or settings.finetune.endpoint_url,
                          settings.llm.timeout_s)


def governed(conn: sqlite3.Connection, settings: Settings, operation: str, target: str,
             call: Callable[[], tuple[Any, str]]) -> tuple[Any, str]:
    """One control-plane attempt reserved in ``cloud_calls`` first; (result, error)."""
    with write_transaction(conn):
        reservation = trade_log_store.reserve_cloud_call(
            conn, SERVICE, operation, target, 0, settings.finetune.daily_control_calls,
            wall_clock_utc())
    if not reservation.granted:
        return None, f"refused: {reservation.reason}"
    started = time.perf_counter()
    result, error = call()
    with write_transaction(conn):
        trade_log_store.settle_cloud_call(conn, reservation.call_id, "error" if error else "ok",
                                          error, (time.perf_counter() - started) * 1000,
                                          wall_clock_utc())
    return result, error


def start_job(conn: sqlite3.Connection, settings: Settings, args: argparse.Namespace) -> int:
    """``finetune start``: check, upload, start; 0 started, 1 failed remotely; ConfigError
    when refused. The retrain schedule starts its jobs through here too."""
    _need(args, "train", "validation", "base_model", "role_arn", "s3")
    from bot.llm.s3_export import S3Uploader, parse_s3_uri, upload_files

    bucket, prefix = parse_s3_uri(args.s3)
    now = wall_clock_utc()
    job_name = args.job_name or f"mytrader-{now:%Y%m%d-%H%M%S}"
    if not _JOB_NAME.match(job_name) or len(job_name) > 63:
        raise ConfigError(f"--job-name {job_name[:80]!r}: letters, digits, - + . (63 at most)")
    if finetune_store.job(conn, job_name) is not None:
        raise ConfigError(f"--job-name {job_name}: a job of that name exists in this journal")
    files = check_files(_read(args.train, "--train"), _read(args.validation, "--validation"),
                        settings.finetune)
    if files.problems:
        raise ConfigError("the job's files are refused:\n  " + "\n  ".join(files.problems))
    line = (f"fine-tuning {args.base_model} on {files.train_examples} examples "
            f"(~{files.train_tokens:,} tokens x {settings.finetune.epochs} epoch(s)): "
            f"estimate ${files.estimate_usd:,.2f}")
    logger.info("%s", line)
    if files.estimate_usd > 0 and not args.yes_spend:
        raise ConfigError(f"{line}; add --yes-spend to start it")
    base = f"s3://{bucket}/{prefix}/{job_name}" if prefix else f"s3://{bucket}/{job_name}"
    spec = JobSpec(job_name, f"{job_name}-model", args.role_arn, args.base_model,
                   f"{base}/train.jsonl", f"{base}/validation.jsonl", f"{base}/output/",
                   settings.finetune.epochs)
    with write_transaction(conn):
        job_id = finetune_store.insert_job(conn, finetune_store.NewJob(
            now, job_name, spec.base_model, spec.custom_model_name, spec.train_uri,
            spec.validation_uri, spec.output_uri, files.train_examples,
            files.validation_examples, files.train_tokens, files.estimate_usd))
    learning = settings.learning
    uploader = S3Uploader(learning.s3_region or settings.llm.aws_region,
                          args.s3_endpoint_url or learning.s3_endpoint_url)
    try:
        with tempfile.TemporaryDirectory() as folder:  # the names the job's URIs give
            staged = [Path(folder) / "train.jsonl", Path(folder) / "validation.jsonl"]
            staged[0].write_bytes(Path(args.train).read_bytes())
            staged[1].write_bytes(Path(args.validation).read_bytes())
            upload_files(conn, staged, base, uploader, learning.s3_daily_attempts,
                         wall_clock_utc)
    except (RuntimeError, OSError) as exc:
        return _failed(conn, job_id, f"upload failed: {exc}")
    arn, error = governed(conn, settings, "CreateModelCustomizationJob", job_name,
                          lambda: _control(settings, args).start(spec))
    if error:
        return _failed(conn, job_id, f"start refused by Bedrock: {error}")
    with write_transaction(conn):
        finetune_store.update_status(conn, job_id, "InProgress", "", wall_clock_utc(),
                                     job_arn=str(arn))
    logger.info("job %s started: %s", job_name, arn)
    return 0


def _failed(conn: sqlite3.Connection, job_id: int, message: str) -> int:
    with write_transaction(conn):
        finetune_store.update_status(conn, job_id, "Failed", message, wall_clock_utc())
    logger.error("%s", message)
    return EXIT_FAILED


def _status(conn: sqlite3.Connection, settings: Settings, args: argparse.Namespace) -> int:
    chosen = [_job(conn, args.job)] if args.job else [
        j for j in finetune_store.jobs(conn, 200) if j.status in UNFINISHED and j.job_arn]
    failures = 0
    for job in chosen:
        state, error = governed(conn, settings, "GetModelCustomizationJob", job.job_name,
                                lambda job=job: _control(settings, args).status(job.job_name))
        if error:
            failures += 1
            logger.error("job %s: status unknown: %s", job.job_name, error)
            continue
        with write_transaction(conn):
            finetune_store.update_status(conn, job.id, state.status, state.message,
                                         wall_clock_utc(),
                                         custom_model_arn=state.custom_model_arn)
        logger.info("job %s: %s %s", job.job_name, state.status,
                    state.custom_model_arn or state.message)
    return EXIT_FAILED if failures else 0


def _job(conn: sqlite3.Connection, key: str) -> finetune_store.FinetuneJob:
    job = finetune_store.job(conn, key)
    if job is None:
        raise ConfigError(f"--job {key}: no such fine-tuning job in this journal")
    return job


def _evaluate(conn: sqlite3.Connection, settings: Settings, args: argparse.Namespace) -> int:
    _need(args, "job")
    job = _job(conn, args.job)
    if job.status != FINISHED or not job.custom_model_arn:
        raise ConfigError(f"job {job.job_name} is {job.status}, not {FINISHED}: run "
                          "finetune status until it finishes")
    if settings.llm.provider != "bedrock":
        raise ConfigError("finetune evaluate asks Bedrock: set llm.provider: bedrock")
    held_out = args.held_out or args.validation
    if not held_out:
        raise ConfigError("finetune evaluate needs --held-out (the export's heldout file)")
    examples, skipped = held_out_examples(_read(held_out, "--held-out"),
                                          settings.finetune.evaluation_max_examples)
    if skipped:
        logger.warning("%d held-out line(s) skipped: %s", len(skipped), "; ".join(skipped[:3]))
    if len(examples) < settings.finetune.min_validation_examples:
        raise ConfigError(f"--held-out {held_out}: {len(examples)} usable example(s), fewer "
                          f"than finetune.min_validation_examples "
                          f"({settings.finetune.min_validation_examples})")
    custom = args.custom_model_id or job.custom_model_arn
    estimate = _evaluation_estimate(settings, [job.base_model, custom], examples)
    line = (f"evaluating {custom} against {job.base_model} on {len(examples)} held-out "
            f"examples ({2 * len(examples)} governed calls): at most ${estimate:,.4f}")
    logger.info("%s", line)
    if estimate > 0 and not args.yes_spend:
        raise ConfigError(f"{line}; add --yes-spend to make these calls")
    verdict = Evaluation(conn, settings.llm, make_provider, wall_clock_utc).run(
        job.base_model, custom, examples, job.job_name, settings.finetune)
    with write_transaction(conn):
        finetune_store.set_evaluation(conn, job.id, verdict.as_json(job.base_model, custom),
                                      verdict.approved, wall_clock_utc())
    (logger.info if verdict.approved else logger.warning)(
        "job %s: %s: %s", job.job_name, "approved for a route" if verdict.approved
        else "not approved", verdict.reason)
    return 0 if verdict.approved else EXIT_FAILED


def _evaluation_estimate(settings: Settings, models: list[str], examples: list[Any]) -> float:
    """The governor's worst case of asking every model every example once."""
    cfg = settings.llm
    total = 0.0
    for model in models:
        price = price_for(model, cfg, cfg.provider)
        total += sum(reserve_usd(e.system + e.prompt, cfg.max_output_tokens, price, model)
                     for e in examples)
    return total


def _schedule(conn: sqlite3.Connection, settings: Settings, args: argparse.Namespace) -> int:
    """The nightly retrain check, once, now (``retrain.check_retrain``)."""
    from bot.learning.retrain import check_retrain

    db = Path(args.db) if args.db else db_path_from_env()
    try:
        outcome = check_retrain(conn, settings, db, wall_clock_utc(), start_job)
    except (RuntimeError, OSError) as exc:  # the export could not write its files
        sys.stderr.write(f"error: retrain files not prepared: {exc}\n")
        return EXIT_FAILED
    sys.stdout.write(outcome.message + "\n")
    return EXIT_FAILED if outcome.failed else 0


def _list(conn: sqlite3.Connection, settings: Settings, args: argparse.Namespace) -> int:
    for job in finetune_store.jobs(conn):
        sys.stdout.write(f"{job.id}\t{job.job_name}\t{job.status}\t{job.base_model}\t"
                         f"${job.estimate_usd:,.2f}\t{'approved' if job.approved else '-'}\t"
                         f"{job.custom_model_arn or job.message}\n")
    return 0

