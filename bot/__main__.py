"""Command line: ``python -m bot init`` prepares data/; ``python -m bot run`` trades.

Other commands: ``config`` imports/exports the active config version; ``backtest``; ``research``
(sweeps, walk-forwards, Monte Carlo); ``analyze`` (one manual LLM analysis, the dashboard's trigger
when no bot is running); ``fetch-history`` (IB bars for backtests into data/history/); ``news`` and
``alerts`` (their own supervisord programs: headlines and sentiment, and the alerter). Exit codes
(``bot/runtime/faults.py``): 0 clean stop; 2 bad config (an empty config file included), an
unusable replay file (binary, not UTF-8, empty, wrong columns: the same one line as ``python -m bot
backtest`` prints for it) or a refused start (a live account, live port or ``ib_live`` without both
the config flag and the environment variable), another bot holding the database's writer lock
(``<db>.lock``; the line names its pid and host) or a database written by newer code (schema
version above ours); 3 a journal fault (the database cannot be written: disk full, I/O error,
locked past its busy timeout; it fails its integrity check at start; its file is deleted or
replaced while running), reported in one stderr line naming the database. SIGTERM, SIGINT and
SIGHUP all stop cleanly (exit 0), a repeated signal included. ``backup`` copies a journal safely
while the bot runs.
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from contextlib import ExitStack
from pathlib import Path
from typing import TYPE_CHECKING

from bot.adapters.ib.mapping import BAR_SIZE_SETTING
from bot.lazy_commands import add_command, chosen_command
from bot.ports import wall_clock_utc
from bot.runtime.config_watch import (
    import_config_file,
    settings_for_process,
    settings_for_start,
)
from bot.runtime.faults import EXIT_BAD_CONFIG, EXIT_JOURNAL_FAULT, JournalFault, journal_guard
from bot.runtime.journal_lock import JournalInUse, journal_lock
from bot.runtime.journal_watch import check_at_start
from shared.config.settings import Settings, load_settings, settings_to_yaml
from shared.domain.errors import BadNewsFileError, ConfigError, DataFileError
from shared.domain.models import Mode
from shared.persistence import config_source, ops_store
from shared.persistence.db import (
    SchemaTooNewError,
    db_path_from_env,
    open_database,
    write_transaction,
)
from shared.private_files import write_private_text

if TYPE_CHECKING:  # StopSignals loads asyncio: imported by ``run`` only, not by every command
    from bot.runtime.stop_signals import StopSignals

logger = logging.getLogger("bot")

DEFAULT_CONFIG_PATH = Path("data/config.yaml")
LIVE_ENV_FLAG = "TRADER_ALLOW_LIVE"
LIVE_PORTS = frozenset({4001, 7496})  # IB Gateway and TWS live-account ports


def configure_logging() -> None:
    """Log to stdout (supervisord captures it)."""
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "INFO").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stdout,
    )


def refuse_start_reason(settings: Settings, env: dict[str, str]) -> str | None:
    """Why the bot must not start in this mode, or None when it may."""
    mode = settings.broker.mode
    live_allowed = settings.broker.allow_live and env.get(LIVE_ENV_FLAG) == "yes"
    live_port = mode is not Mode.PAPER and settings.ib.port in LIVE_PORTS
    if (mode is Mode.IB_LIVE or live_port) and not live_allowed:
        what = "broker.mode ib_live" if mode is Mode.IB_LIVE else f"port {settings.ib.port}"
        return (
            f"refusing to trade a live account ({what}): set broker.allow_live: true in the "
            f"config AND {LIVE_ENV_FLAG}=yes in the environment"
        )
    if mode is not Mode.PAPER and settings.feed.bar_seconds not in BAR_SIZE_SETTING:
        sizes = ", ".join(str(s) for s in BAR_SIZE_SETTING)
        return f"feed.bar_seconds must be one of IB's bar sizes ({sizes}) in {mode.value} mode"
    return None


def _config_path(arg: str | None) -> Path | None:
    if arg:
        return Path(arg)
    return DEFAULT_CONFIG_PATH if DEFAULT_CONFIG_PATH.exists() else None


def command_init(args: argparse.Namespace) -> int:
    """Create data/, the default config file (if missing), the database and its first version."""
    config_path = Path(args.config) if args.config else DEFAULT_CONFIG_PATH
    config_path.parent.mkdir(parents=True, exist_ok=True)
    if not config_path.exists():
        write_private_text(config_path, settings_to_yaml(Settings()))
        logger.info("wrote default config to %s", config_path)
    db_path = Path(args.db) if args.db else db_path_from_env()
    conn = open_database(db_path)
    try:
        version_id, _ = settings_for_start(conn, config_path, bool(args.config), {},
                                           wall_clock_utc())
    finally:
        conn.close()
    logger.info("database ready at %s (config version %s in force)", db_path, version_id)
    return 0


def _refuse(reason: str) -> int:
    logger.error(reason)
    sys.stderr.write(f"error: {reason}\n")
    return EXIT_BAD_CONFIG


def command_run(args: argparse.Namespace) -> int:
    """Take the journal's writer lock, check the journal, choose and check the config version,
    then run the live loop until stopped (signals: ``bot/runtime/stop_signals.py``)."""
    from bot.runtime.stop_signals import StopSignals

    stop = StopSignals().install()
    try:
        with ExitStack() as held:  # the writer lock, until the process is done with the journal
            return _run_locked(args, stop, held)
    finally:
        stop.ignore_further()


def _run_locked(args: argparse.Namespace, stop: StopSignals, held: ExitStack) -> int:
    config_path = _config_path(args.config)
    if args.config:  # a bad file or a refused start is refused before the database is touched
        refusal = refuse_start_reason(load_settings(config_path), dict(os.environ))
        if refusal is not None:
            return _refuse(refusal)
    db_path = Path(args.db) if args.db else db_path_from_env()
    try:
        with journal_guard(db_path, os_errors=True):
            held.enter_context(journal_lock(db_path, wall_clock_utc()))  # before any read
            check_at_start(db_path)
            conn = open_database(db_path)
            try:
                version_id, settings = settings_for_start(
                    conn, config_path, bool(args.config), os.environ, wall_clock_utc())
            finally:
                conn.close()
        refusal = refuse_start_reason(settings, dict(os.environ))
        if refusal is not None:
            return _refuse(refusal)
        source = f"config version {version_id}"
        import asyncio  # the live loop's imports load only for ``run``: a backtest starts faster

        from bot.composition import broker_factory
        from bot.runtime.live import run_live

        return asyncio.run(run_live(settings, db_path, source, broker_factory(settings),
                                    version_id, stop.event))
    except JournalInUse as in_use:
        return _refuse(str(in_use))
    except JournalFault as fault:
        logger.error("%s", fault.line())
        sys.stderr.write(fault.line() + "\n")
        return EXIT_JOURNAL_FAULT


def command_config(args: argparse.Namespace) -> int:
    """Import a YAML file as the active config version, export it, or show it."""
    db_path = Path(args.db) if args.db else db_path_from_env()
    conn = open_database(db_path)
    try:
        if args.action == "import":
            with write_transaction(conn):
                version_id, stored = import_config_file(
                    conn, Path(args.file), "cli", args.note or f"imported from {args.file}",
                    wall_clock_utc())
            what = "stored as" if stored else "already the active"
            sys.stdout.write(f"{args.file}: {what} config version {version_id}\n")
        elif args.action == "export":
            if not config_source.export_active(conn, Path(args.file)):
                raise ConfigError("no config version stored yet: run `python -m bot init`")
            sys.stdout.write(f"active config version written to {args.file}\n")
        else:
            active = ops_store.active_config_version(conn)
            sys.stdout.write(active.yaml if active else "no config version yet\n")
    finally:
        conn.close()
    return 0


def command_alerts(args: argparse.Namespace) -> int:
    """Run the alerter: follow the journal and send alerts; answer Telegram commands."""
    from bot.alerts.service import run_alerter  # loads Apprise only for this command

    config_path = _config_path(args.config)
    db_path = Path(args.db) if args.db else db_path_from_env()
    settings = settings_for_process(db_path, config_path, os.environ)
    return run_alerter(settings, db_path, dict(os.environ), config_path)


def command_fetch_history(args: argparse.Namespace) -> int:
    """Download bars from IB within its pacing limits, cached as Parquet per day."""
    import asyncio

    from bot.adapters.ib.history import (
        fetch_history_command,  # loads ib_async only for this command
    )

    settings = load_settings(_config_path(args.config))
    client_id = args.client_id if args.client_id is not None else settings.ib.client_id + 1
    if args.continuous is not None:  # rolls measured, then the spliced series built
        from bot.backtest.continuous_cli import fetch_continuous

        return fetch_continuous(args, settings, client_id)
    return asyncio.run(fetch_history_command(
        settings.ib, args.symbol, args.days, args.bar, Path(args.out), client_id))


def command_news(args: argparse.Namespace) -> int:
    """The news program: sources -> news table -> scores; or a one-off CSV import."""
    import asyncio

    from bot.composition import news_scorers, news_sources
    from bot.ports import wall_clock_utc
    from bot.runtime.news_worker import NewsWorker, run_news_program

    db_path = Path(args.db) if args.db else db_path_from_env()
    settings = settings_for_process(db_path, _config_path(args.config), os.environ)
    conn = open_database(db_path)
    scorer, fallback = news_scorers(settings, conn)
    if args.import_csv:
        from bot.adapters.news.headline_csv import read_headlines

        try:
            rows = read_headlines(Path(args.import_csv), args.tz)
        except BadNewsFileError as exc:
            logger.error("import refused: %s", exc)
            sys.stderr.write(f"error: {exc}\n")
            return EXIT_BAD_CONFIG
        worker = NewsWorker(settings.news, conn, [], scorer, fallback, wall_clock_utc)
        new, duplicates = worker.import_headlines([(r.headline, r.score) for r in rows])
        scored = worker.score_pending()
        logger.info("imported %d headline(s) from %s (%d duplicate(s)); %d scored", new,
                    args.import_csv, duplicates, scored)
        return 0
    if not settings.news.enabled:
        logger.info("news.enabled is false: the news program has nothing to do")
        return 0
    worker = NewsWorker(settings.news, conn, news_sources(settings), scorer, fallback,
                        wall_clock_utc)
    try:
        return asyncio.run(run_news_program(worker))
    finally:
        conn.close()


# Subcommands whose modules load only when they run (bot/lazy_commands.py): name, module,
# handler, help. The names the parser treats as lazy are derived from this one table.
LAZY_TABLE: tuple[tuple[str, str, str, str], ...] = (
    ("backtest", "bot.backtest.cli", "command_backtest", "replay bars through the decision path"),
    ("research", "bot.research.cli", "command_research",
     "sweeps, walk-forward and Monte Carlo (local workers or Dask)"),
    ("evaluate", "bot.evaluation.cli", "command_evaluate",
     "judge a learning layer against a placebo"),
    ("analyze", "bot.llm.analyze_cli", "command_analyze",
     "one manual LLM analysis from the journal"),
    ("review", "bot.learning.review_cli", "command_review",
     "nightly review: rule proposals and a lesson"),
    ("export-training", "bot.learning.export_cli", "command_export",
     "trade log: audit JSONL and Bedrock fine-tuning JSONL"),
    ("backup", "bot.backup_cli", "command_backup", "copy a journal safely (SQLite online backup)"),
    ("finetune", "bot.learning.finetune_cli", "command_finetune",
     "Bedrock fine-tuning: start, status, evaluate, list"),
    ("maintenance", "bot.maintenance.cli", "command_maintenance",
     "retention (Parquet archive), nightly backup and size record, once"),
)
LAZY_COMMANDS = tuple(name for name, *_ in LAZY_TABLE)
EAGER_COMMANDS = ("run", "init", "alerts", "config", "news", "fetch-history")  # no lazy import


def build_parser(chosen: str | None = None) -> argparse.ArgumentParser:
    """The ``python -m bot`` argument parser (only ``chosen``'s module loaded, if given)."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler, text in (
        ("run", command_run, "trade (paper broker and built-in feed by default)"),
        ("init", command_init, "create data/, default config and database"),
        ("alerts", command_alerts, "send alerts (Telegram, Slack, email) from the journal"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--config", help=f"YAML config (default {DEFAULT_CONFIG_PATH} if present)")
        sub.add_argument("--db", help="SQLite file (default env TRADER_DB or data/trader.db)")
        sub.set_defaults(handler=handler)
    config = commands.add_parser(
        "config", help="import/export/show the active config version (the one source of truth)")
    config.add_argument("action", choices=("import", "export", "show"))
    config.add_argument("file", nargs="?", default=str(DEFAULT_CONFIG_PATH),
                        help=f"YAML file to import or export (default {DEFAULT_CONFIG_PATH})")
    config.add_argument("--note", help="why (stored with the version)")
    config.add_argument("--db", help="SQLite file (default env TRADER_DB or data/trader.db)")
    config.set_defaults(handler=command_config)
    for name, module, handler, text in LAZY_TABLE:
        add_command(commands, name, module, handler, text, chosen)
    news = commands.add_parser("news", help="collect and score headlines (feeds, IB news)")
    news.add_argument("--config", help=f"YAML config (default {DEFAULT_CONFIG_PATH} if present)")
    news.add_argument("--db", help="SQLite file (default env TRADER_DB or data/trader.db)")
    news.add_argument("--import", dest="import_csv", metavar="FILE.csv",
                      help="store the headlines of a time,headline[,source][,score] CSV, exit")
    news.add_argument("--tz", default="UTC", help="zone of naive times in --import")
    news.set_defaults(handler=command_news)
    history = commands.add_parser("fetch-history", help="download IB bars into data/history")
    history.add_argument("--config", help=f"YAML config (default {DEFAULT_CONFIG_PATH} if present)")
    history.add_argument("--symbol", choices=("MES", "ES"), default="MES")
    history.add_argument("--days", type=int, default=5, help="calendar days back from today")
    history.add_argument("--bar", choices=("1min", "5s"), default="1min")
    history.add_argument("--out", default="data/history", help="cache folder for Parquet files")
    history.add_argument("--client-id", type=int, help="default: the config's client_id + 1")
    history.add_argument("--db", help="journal for roll events (default TRADER_DB)")
    history.add_argument("--continuous", choices=("none", "back-adjusted", "ratio"),
                         help="also write <out>/<symbol>/<bar>-<method>.parquet across rolls")
    history.set_defaults(handler=command_fetch_history)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    configure_logging()
    args = build_parser(chosen_command(sys.argv[1:] if argv is None else argv,
                                       (*LAZY_COMMANDS, *EAGER_COMMANDS))).parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        logger.error("invalid config: %s", exc)
        sys.stderr.write(f"error: invalid config: {exc}\n")
        return EXIT_BAD_CONFIG
    except SchemaTooNewError as exc:
        logger.error("%s", exc)
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_CONFIG
    except DataFileError as exc:  # the same line as `python -m bot backtest` gives for the file
        logger.error("unusable bar file: %s", exc)
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_CONFIG


if __name__ == "__main__":
    exit_code = main()
    if chosen_command(sys.argv[1:], ("run",)) == "run":
        from bot.runtime.heap import skip_exit_collection

        skip_exit_collection()
    sys.exit(exit_code)
