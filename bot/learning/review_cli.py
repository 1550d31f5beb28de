"""``python -m bot review``: review one trading day, or (``--nightly``) every day at its close.

``--nightly`` is the supervisord program ``review``: it sleeps until the next CME session close
(the session calendar in ``bot/core/sessions.py``) plus ``learning.review_delay_minutes``,
reviews that trading day in this process (never in the trading loop), runs the journal's
maintenance (``bot/maintenance/nightly.py``: retention, archive, backup), checks the retrain
schedule (``bot/learning/retrain.py``), and sleeps again. On
start it first catches up the last closed day if no review of it finished. SIGTERM ends the
wait at once. Exit codes: 0 done, 2 bad input (a date that is not a CME trading day).
"""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import threading
from datetime import date, datetime, timedelta
from pathlib import Path

from bot.adapters.session_cache import cached_session_clock
from bot.core.sessions import CmeSessionClock
from bot.learning.review import review_day
from bot.maintenance.nightly import safe_maintenance
from bot.ports import wall_clock_utc
from shared.config.settings import Settings, load_settings
from shared.domain.errors import ConfigError
from shared.persistence import rules_store
from shared.persistence.db import db_path_from_env, open_database

logger = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
DEFAULT_CONFIG = Path("data/config.yaml")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``review`` subcommand."""
    when = parser.add_mutually_exclusive_group(required=True)
    when.add_argument("--day", help="the CME trading day to review (YYYY-MM-DD); a day "
                      "still open is reviewed with a warning")
    when.add_argument("--nightly", action="store_true",
                      help="run forever: review each trading day after its session close")
    parser.add_argument("--config", help="YAML config (default data/config.yaml if present)")
    parser.add_argument("--db", help="SQLite file (default env TRADER_DB or data/trader.db)")


def _settings(args: argparse.Namespace) -> Settings:
    path = Path(args.config) if args.config else (DEFAULT_CONFIG if DEFAULT_CONFIG.exists()
                                                  else None)
    return load_settings(path)


def _db(args: argparse.Namespace) -> Path:
    return Path(args.db) if args.db else db_path_from_env()


def review_once(args: argparse.Namespace, day: date, clock: CmeSessionClock) -> int:
    """Review ``day`` with a fresh config and connection; return the exit code."""
    settings = _settings(args)
    conn = open_database(_db(args))
    try:
        report = review_day(conn, settings, day, clock, wall_clock_utc)
    finally:
        conn.close()
    for item in report.proposed:
        verdict = ("passed out of sample" if item["passed_out_of_sample"] else
                   "not passed out of sample")
        logger.info("rule #%s %s (%s, %s): %s", item["rule_id"], item["status"], item["kind"],
                    verdict, item["summary"])
    for line in report.skipped:
        logger.info("not proposed again: %s", line)
    logger.info("%s", report.lesson_status)
    return 0


def command_review(args: argparse.Namespace) -> int:
    """Review one day, or run the nightly loop."""
    clock = cached_session_clock()
    if args.nightly:
        return run_nightly(args, clock)
    try:
        day = date.fromisoformat(args.day)
    except ValueError:
        sys.stderr.write(f"error: --day {args.day}: not a date; expected YYYY-MM-DD "
                         "(e.g. 2026-12-07)\n")
        return EXIT_BAD_INPUT
    try:
        _, session_end = clock.session_bounds(day)
    except ValueError as exc:
        sys.stderr.write(f"error: --day {args.day}: {exc}\n")
        return EXIT_BAD_INPUT
    if (warning := open_session_warning(day, session_end, wall_clock_utc())) is not None:
        logger.warning("%s", warning)
        sys.stderr.write(f"warning: {warning}\n")
    return review_once(args, day, clock)


def open_session_warning(day: date, session_end: datetime, now: datetime) -> str | None:
    """A line when ``day``'s session has not ended: its review sees only the trades so far."""
    if now >= session_end:
        return None
    return (f"trading day {day} is still open (its session ends {session_end:%Y-%m-%d %H:%M} "
            "UTC): this review covers only the trades closed so far; review it again after "
            "the close")


def _last_closed_day(clock: CmeSessionClock, now: datetime) -> date | None:
    """The latest trading day whose session had closed by ``now``."""
    upcoming, _ = clock.next_session_close(now)
    days = clock.trading_days_through(upcoming - timedelta(days=1), 1)
    return days[-1] if days else None


def _reviewed(args: argparse.Namespace, day: date) -> bool:
    conn = open_database(_db(args))
    try:
        return any(r.day == day.isoformat() and r.status == "done"
                   for r in rules_store.review_runs(conn, 50))
    finally:
        conn.close()


def run_nightly(args: argparse.Namespace, clock: CmeSessionClock) -> int:
    """Sleep until each session close (+ delay), review that day; until SIGTERM."""
    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    delay = timedelta(minutes=_settings(args).learning.review_delay_minutes)
    last = _last_closed_day(clock, wall_clock_utc() - delay)
    if last is not None and not _reviewed(args, last):
        _safe_review(args, last, clock)
    while not stop.is_set():
        day, close = clock.next_session_close(wall_clock_utc() - delay)
        due = close + delay
        logger.info("next review: trading day %s at %s UTC", day, f"{due:%Y-%m-%d %H:%M}")
        if stop.wait(max(0.0, (due - wall_clock_utc()).total_seconds())):
            break
        _safe_review(args, day, clock)
        _maintenance(args, stop)
        _retrain(args)
        delay = timedelta(minutes=_settings(args).learning.review_delay_minutes)
    logger.info("nightly review stopped")
    return 0


def _maintenance(args: argparse.Namespace, stop: threading.Event) -> None:
    """The journal's nightly maintenance with tonight's config (skipped, logged, if invalid)."""
    try:
        config = _settings(args).maintenance
    except ConfigError as exc:
        logger.error("nightly maintenance skipped: %s", exc)
        return
    safe_maintenance(_db(args), config, wall_clock_utc(), stop)


def _retrain(args: argparse.Namespace) -> None:
    """The fine-tuning retrain schedule (``bot/learning/retrain.py``) with tonight's config."""
    from bot.learning.finetune_cli import start_job  # boto3: loaded here, not at start
    from bot.learning.retrain import check_retrain

    try:
        settings = _settings(args)
        conn = open_database(_db(args))
        try:
            check_retrain(conn, settings, _db(args), wall_clock_utc(), start_job)
        finally:
            conn.close()
    except Exception:  # one bad night must not end the schedule: logged, retried tomorrow
        logger.exception("retrain check failed")


def _safe_review(args: argparse.Namespace, day: date, clock: CmeSessionClock) -> None:
    try:
        review_once(args, day, clock)
    except Exception:  # one bad night must not end the schedule: logged, retried tomorrow
        logger.exception("review of %s failed", day)
