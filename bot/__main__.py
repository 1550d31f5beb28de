"""Command line: ``python -m bot init`` prepares data/; ``python -m bot run`` trades.

``python -m bot research`` runs sweeps, walk-forwards and Monte Carlo. ``python -m bot
fetch-history`` downloads IB bars for backtests into data/history/. ``python -m bot analyze``
runs one manual LLM analysis (the dashboard's trigger when no bot is running). Exit codes:
0 clean stop, 2 bad config or a refused start (a live account, live port or ``ib_live`` without
both the config flag and the environment variable).
"""

from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from bot.adapters.ib.mapping import BAR_SIZE_SETTING
from bot.backtest import cli as backtest_cli
from bot.llm import analyze_cli
from bot.research import cli as research_cli
from shared.config.settings import Settings, load_settings, settings_to_yaml
from shared.domain.errors import ConfigError
from shared.domain.models import Mode
from shared.persistence.db import db_path_from_env, open_database

logger = logging.getLogger("bot")

DEFAULT_CONFIG_PATH = Path("data/config.yaml")
EXIT_BAD_CONFIG = 2
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
    """Create data/, the default config file (if missing) and the migrated database."""
    config_path = Path(args.config) if args.config else DEFAULT_CONFIG_PATH
    config_path.parent.mkdir(parents=True, exist_ok=True)
    if not config_path.exists():
        config_path.write_text(settings_to_yaml(Settings()), encoding="utf-8")
        logger.info("wrote default config to %s", config_path)
    load_settings(config_path)
    db_path = Path(args.db) if args.db else db_path_from_env()
    open_database(db_path).close()
    logger.info("database ready at %s", db_path)
    return 0


def command_run(args: argparse.Namespace) -> int:
    """Load and check the config, then run the live loop until stopped."""
    config_path = _config_path(args.config)
    settings = load_settings(config_path)
    refusal = refuse_start_reason(settings, dict(os.environ))
    if refusal is not None:
        logger.error(refusal)
        sys.stderr.write(f"error: {refusal}\n")
        return EXIT_BAD_CONFIG
    import asyncio  # the live loop's imports load only for ``run``: a backtest starts faster

    from bot.composition import broker_factory
    from bot.runtime.live import run_live

    db_path = Path(args.db) if args.db else db_path_from_env()
    source = str(config_path) if config_path else "built-in defaults"
    return asyncio.run(
        run_live(settings, db_path, source, broker_factory(settings), config_path)
    )


def command_fetch_history(args: argparse.Namespace) -> int:
    """Download bars from IB within its pacing limits, cached as Parquet per day."""
    import asyncio

    from bot.adapters.ib.history import (
        fetch_history_command,  # loads ib_async only for this command
    )

    settings = load_settings(_config_path(args.config))
    client_id = args.client_id if args.client_id is not None else settings.ib.client_id + 1
    return asyncio.run(fetch_history_command(
        settings.ib, args.symbol, args.days, args.bar, Path(args.out), client_id))


def build_parser() -> argparse.ArgumentParser:
    """The ``python -m bot`` argument parser."""
    parser = argparse.ArgumentParser(prog="python -m bot", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    for name, handler, text in (
        ("run", command_run, "trade (paper broker and built-in feed by default)"),
        ("init", command_init, "create data/, default config and database"),
    ):
        sub = commands.add_parser(name, help=text)
        sub.add_argument("--config", help=f"YAML config (default {DEFAULT_CONFIG_PATH} if present)")
        sub.add_argument("--db", help="SQLite file (default env TRADER_DB or data/trader.db)")
        sub.set_defaults(handler=handler)
    backtest = commands.add_parser("backtest", help="replay bars through the decision path")
    backtest_cli.add_arguments(backtest)
    backtest.set_defaults(handler=backtest_cli.command_backtest)
    research = commands.add_parser(
        "research", help="sweeps, walk-forward and Monte Carlo (local workers or Dask)")
    research_cli.add_arguments(research)
    research.set_defaults(handler=research_cli.command_research)
    analyze = commands.add_parser("analyze", help="one manual LLM analysis from the journal")
    analyze_cli.add_arguments(analyze)
    analyze.set_defaults(handler=analyze_cli.command_analyze)
    history = commands.add_parser("fetch-history", help="download IB bars into data/history")
    history.add_argument("--config", help=f"YAML config (default {DEFAULT_CONFIG_PATH} if present)")
    history.add_argument("--symbol", choices=("MES", "ES"), default="MES")
    history.add_argument("--days", type=int, default=5, help="calendar days back from today")
    history.add_argument("--bar", choices=("1min", "5s"), default="1min")
    history.add_argument("--out", default="data/history", help="cache folder for Parquet files")
    history.add_argument("--client-id", type=int, help="default: the config's client_id + 1")
    history.set_defaults(handler=command_fetch_history)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point; returns the process exit code."""
    configure_logging()
    args = build_parser().parse_args(argv)
    try:
        return int(args.handler(args))
    except ConfigError as exc:
        logger.error("invalid config: %s", exc)
        sys.stderr.write(f"error: invalid config: {exc}\n")
        return EXIT_BAD_CONFIG


if __name__ == "__main__":
    sys.exit(main())
