"""``python -m bot backtest``: flags -> request -> run -> JSON file and/or a persisted run row.

With ``--run-id N`` the request is read from ``backtest_runs`` (the dashboard wrote it), and
progress, status and results are written back there. Bad input exits 2 with one clear line.
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import os
import signal
import sqlite3
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.backtest import llm_cli
from bot.backtest.config_choice import choose_config
from bot.backtest.process_memory import return_freed_arrays_to_os
from bot.backtest.runner import BacktestResult, run_backtest
from bot.ports import wall_clock_utc
from shared.config.backtest_request import REFERENCE_STRATEGY_NAMES, BacktestRequest, RunStatus
from shared.domain.errors import BadBarError, BadNewsFileError, ConfigError
from shared.domain.models import ExitReason, Side, TradeRecord
from shared.persistence import backtest_store
from shared.persistence.db import connect, db_path_from_env, open_database, write_transaction

logger = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
CANCEL_SIGNAL = signal.SIGUSR1  # the cancel watcher's nudge to the main thread
CANCEL_POLL_S = 0.5
EXIT_CANCELLED = 4  # a stored run was cancelled (flag, deleted row, SIGTERM/SIGINT)
PROGRESS_EVERY_S = 0.5
EXIT_CODES_TEXT = ("exit codes (docs/reference.md, section 'Exit codes'): 0 done, 2 bad input (one "
                   "line on stderr names it), 4 a stored run (--run-id) was cancelled")
CONFIG_HELP = ("the config the run starts from: 'active' (default: the active version in the "
               "database, --db or env TRADER_DB, as the bot runs it; built-in defaults when "
               "there is none), 'defaults' (built-in defaults) or a YAML file")


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The backtest subcommand's flags (outside tools rely on these names)."""
    add_request_arguments(parser, CONFIG_HELP)
    parser.epilog = EXIT_CODES_TEXT
    parser.add_argument("--json", metavar="OUT", help="write {trades, metrics} here")
    parser.add_argument("--run-id", type=int, help="run the request stored in backtest_runs")
    parser.add_argument("--db", help="SQLite file for --run-id and the active config (default "
                        "env TRADER_DB, else data/trader.db)")
    parser.add_argument("--memory", metavar="off|on|FILE",
                        help="memory of past setups: off, on (starts empty), or a SQLite "
                        "journal whose setups closed before the first bar seed it; default: "
                        "the config's memory.enabled")
    parser.add_argument("--news", metavar="FILE.csv",
                        help="headlines (time,headline[,source][,score]) feeding the rolling "
                        "sentiment; unscored rows are scored with VADER")
    llm_cli.add_arguments(parser)


def add_request_arguments(
    parser: argparse.ArgumentParser,
    config_help: str = "base config YAML (default: built-in defaults)",
) -> None:
    """The flags that make a ``BacktestRequest``: data, strategy, parameters, costs, config
    (shared with ``python -m bot research``)."""
    data = parser.add_argument_group("data")
    data.add_argument("--data", default="synthetic",
                      help="synthetic, a CSV/Parquet file, a folder of Parquet days, or ib "
                      "(the fetch-history cache)")
    data.add_argument("--bars", type=int, default=100_000, help="synthetic length in bars")
    data.add_argument("--seed", type=int, default=7, help="synthetic market seed")
    data.add_argument("--bar-size", choices=["5s", "1min", "5min"], default=None)
    data.add_argument("--tz", default="UTC", help="zone of naive timestamps in a file")
    data.add_argument("--start", help="first day (YYYY-MM-DD) or ISO time, in --tz")
    data.add_argument("--end", help="last day (inclusive) or ISO end time, in --tz")
    strategy = parser.add_argument_group("strategy and costs")
    strategy.add_argument("--strategy", help="registry name; default: the full ensemble")
    strategy.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                          help="override, e.g. risk.max_hold_minutes=30 (repeatable)")
    strategy.add_argument("--commission", type=float, metavar="USD_PER_SIDE")
    strategy.add_argument("--slippage", type=int, metavar="TICKS")
    strategy.add_argument("--contracts", type=int, metavar="N")
    strategy.add_argument("--config", help=config_help)


def request_from_args(args: argparse.Namespace) -> BacktestRequest:
    """Build a request from the flags; ConfigError names a bad flag."""
    params: dict[str, str] = {}
    for item in args.param:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"--param {item!r}: expected KEY=VALUE")
        params[key.strip()] = value.strip()
    values = {
        "data": args.data, "bars": args.bars, "seed": args.seed, "bar_size": args.bar_size,
        "tz": args.tz, "start": args.start, "end": args.end, "strategy": args.strategy,
        "params": params, "commission_usd": args.commission, "slippage_ticks": args.slippage,
        "contracts": args.contracts, "config": args.config,
    }
    if hasattr(args, "llm"):  # the backtest's own flags (research runs without news or LLM)
        values.update(news=args.news, memory=args.memory, **llm_cli.request_values(args))
    try:
        return BacktestRequest.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"bad flag: {flag_errors(exc)}") from None


FLAG_OF_FIELD = {"params": "param", "commission_usd": "commission",
                 "slippage_ticks": "slippage", "llm_yes_spend": "yes_spend"}


def flag_errors(error: ValidationError) -> str:
    """Request errors named by flag (``--bar-size``); messages (setting names) kept as they are."""
    lines = []
    for item in error.errors():
        field, *rest = [str(part) for part in item["loc"]] or ["request"]
        flag = FLAG_OF_FIELD.get(field, field).replace("_", "-")
        message = item["msg"].removeprefix("Value error, ")
        where = ".".join([f"--{flag}", *rest])
        lines.append(message if message.startswith("--") else f"{where}: {message}")
    return "; ".join(lines)


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


# Each side's and exit reason's JSON text (an enum's ``.value`` costs a property call: 30,000
# trades read it 60,000 times)
_TEXT: dict[Side | ExitReason, str] = {member: member.value for member in (*Side, *ExitReason)}


def trade_json(trade: TradeRecord) -> dict[str, Any]:
    """One trade for the JSON output (times ISO 8601 UTC, money in cents and dollars)."""
    return {
        "bracket_id": trade.bracket_id, "side": _TEXT[trade.side], "contracts": trade.contracts,
        "entry_time": trade.entry_ts.isoformat(), "entry_price": trade.entry_price,
        "exit_time": trade.exit_ts.isoformat(), "exit_price": trade.exit_price,
        "exit_reason": _TEXT[trade.exit_reason],
        "pnl_gross_cents": trade.pnl_gross_cents, "commission_cents": trade.commission_cents,
        "pnl_net_cents": trade.pnl_net_cents, "pnl_gross_usd": trade.pnl_gross_cents / 100,
        "pnl_net_usd": trade.pnl_net_cents / 100, "labels": trade.labels,
    }


def result_json(result: BacktestResult) -> dict[str, Any]:
    """The ``--json`` document: trades, metrics and breakdowns (NaN and inf become null).

    Every position is closed (``end_of_data`` or ``ruin_stop``); ``metrics.undefined`` says why
    each null metric has no number, ``stopped_reason`` why the run stopped early (or null).
    """
    return {
        "strategy": result.strategy,
        "stopped_reason": result.stopped_reason,
        "trades": [trade_json(t) for t in result.trades],
        "metrics": {k: _finite(v) for k, v in result.metrics.items()},
        "breakdowns": {name: [{k: _finite(v) for k, v in row.items()} for row in rows]
                       for name, rows in result.breakdowns.items()},
    }


class BacktestCancelled(Exception):
    """The run was cancelled (the page's flag, its row deleted, or SIGTERM/SIGINT)."""


class RunRow:
    """Writes a persisted run's status and throttled progress; on every progress tick it
    checks the run's cancel flag (and that the row still exists) and stops the run if set."""

    def __init__(self, conn: sqlite3.Connection, run_id: int) -> None:
        self.conn, self.run_id = conn, run_id
        self._last_s = 0.0

    def check_cancelled(self) -> None:
        """Raise ``BacktestCancelled`` when the page asked to cancel or deleted the run."""
        state = backtest_store.backtest_cancel_state(self.conn, self.run_id)
        if state is None:
            raise BacktestCancelled("the run was deleted")
        if state:
            raise BacktestCancelled("cancelled from the dashboard")

    def progress(self, fraction: float) -> None:
        logger.info("backtest run %d: %.0f%%", self.run_id, fraction * 100)
        self.check_cancelled()
        now_s = time.monotonic()
        if now_s - self._last_s < PROGRESS_EVERY_S and fraction < 1.0:
            return
        self._last_s = now_s
        with write_transaction(self.conn):
            backtest_store.update_backtest_progress(
                self.conn, self.run_id, round(fraction, 4), f"{fraction:.0%} of bars",
                wall_clock_utc(),
            )


class LogProgress:
    """Logs progress each time another tenth of the bars is done."""

    def __init__(self) -> None:
        self._logged = 0

    def __call__(self, fraction: float) -> None:
        tenth = int(fraction * 10 + 1e-9)
        if tenth > self._logged:
            self._logged = tenth
            logger.info("backtest progress %.0f%%", fraction * 100)


def command_backtest(args: argparse.Namespace) -> int:
    """Run one backtest from flags or from a stored request; return the exit code."""
    if args.strategy not in REFERENCE_STRATEGY_NAMES:
        # The engine's run holds ~390 MB at 1M bars: freed arrays go back to the OS at once.
        # A reference strategy's (~330 MB) keeps glibc's defaults: 0.3 s less in page faults.
        return_freed_arrays_to_os()
    if args.run_id is None:
        with tempfile.TemporaryDirectory(prefix="backtest-config-") as folder:
            try:
                choice = choose_config(args.config, args.db, Path(folder))
                logger.info("config: %s", choice.label)
                args.config = choice.path
                result = run_backtest(request_from_args(args), LogProgress())
            except (ConfigError, BadBarError, BadNewsFileError, OSError) as exc:
                return _refuse(str(exc))
        _report(result, args.json, choice.label)
        return 0
    return _run_stored(args)


def _raise_cancelled(signum: int, _frame: object) -> None:
    if signum == CANCEL_SIGNAL:
        raise BacktestCancelled("cancelled from the dashboard")
    raise BacktestCancelled(f"stopped by {signal.Signals(signum).name} (the dashboard or "
                            "make stop ended it)")


class CancelWatcher(threading.Thread):
    """Polls the run's cancel flag every ``CANCEL_POLL_S`` on its own connection and
    interrupts the main thread with ``CANCEL_SIGNAL`` when it is set or the run is deleted,
    so a cancel is honoured while the data loads too, not only at progress ticks."""

    def __init__(self, db_path: Path, run_id: int) -> None:
        super().__init__(name=f"cancel-watch-{run_id}", daemon=True)
        self.db_path, self.run_id = db_path, run_id
        self.done = threading.Event()

    def run(self) -> None:
        conn = connect(self.db_path, readonly=True)
        try:
            while not self.done.wait(CANCEL_POLL_S):
                try:
                    state = backtest_store.backtest_cancel_state(conn, self.run_id)
                except sqlite3.Error as exc:
                    logger.warning("cancel watch: %s", exc)
                    continue
                if state is None or state:
                    os.kill(os.getpid(), CANCEL_SIGNAL)
                    return
        finally:
            conn.close()


def _run_stored(args: argparse.Namespace) -> int:
    """Run a stored request; a cancel (flag, deleted row, SIGTERM) marks it cancelled."""
    conn = open_database(Path(args.db) if args.db else db_path_from_env())
    row = backtest_store.backtest_run(conn, args.run_id)
    if row is None:
        return _refuse(f"--run-id {args.run_id}: no such backtest run")
    try:
        return _run_row(args, conn, row)
    finally:
        _ignore_signals()


def _run_row(args: argparse.Namespace, conn: sqlite3.Connection, row: dict[str, Any]) -> int:
    for signum in (signal.SIGTERM, signal.SIGINT, CANCEL_SIGNAL):
        signal.signal(signum, _raise_cancelled)
    db_path = Path(args.db) if args.db else db_path_from_env()
    watcher = CancelWatcher(db_path, args.run_id)
    watcher.start()
    run_row = RunRow(conn, args.run_id)
    with tempfile.TemporaryDirectory(prefix="backtest-config-") as config_folder:
        return _run_request(args, conn, row, db_path, watcher, run_row, config_folder)


def _run_request(
    args: argparse.Namespace, conn: sqlite3.Connection, row: dict[str, Any], db_path: Path,
    watcher: CancelWatcher, run_row: RunRow, config_folder: str,
) -> int:
    """Run the stored request (its config, or the active version written to
    ``config_folder``) and record the outcome on its row."""
    request: BacktestRequest | None = None
    try:
        run_row.check_cancelled()
        with write_transaction(conn):
            backtest_store.mark_backtest_running(conn, args.run_id, os.getpid(),
                                                 wall_clock_utc())
        request = BacktestRequest.from_json(row["request_json"])
        if request.llm_journal is None:  # the run's database holds the LLM call log too
            request = request.model_copy(update={"llm_journal": str(db_path)})
        label = f"file {request.config}" if request.config else "built-in defaults"
        if request.config is None:  # a dashboard run starts from the active config, as the bot
            choice = choose_config(None, str(db_path), Path(config_folder))
            request = request.model_copy(update={"config": choice.path})
            label = choice.label
        logger.info("backtest run %d: config %s", args.run_id, label)
        result = run_backtest(request, run_row.progress)
        document = result_json(result)
        with write_transaction(conn):
            backtest_store.finish_backtest_run(
                conn, args.run_id, document["metrics"], document["breakdowns"], result.trades,
                result.equity, wall_clock_utc(), result.candles,
            )
    except BacktestCancelled as exc:
        _settle(watcher)
        with write_transaction(conn):
            backtest_store.end_backtest_run(conn, args.run_id, RunStatus.CANCELLED, str(exc),
                                            wall_clock_utc())
        logger.warning("backtest run %d cancelled: %s", args.run_id, exc)
        conn.close()
        return EXIT_CANCELLED
    except (ConfigError, BadBarError, OSError) as exc:
        _settle(watcher)
        message = request.user_message(str(exc)) if request else str(exc)
        with write_transaction(conn):
            backtest_store.fail_backtest_run(conn, args.run_id, message, wall_clock_utc())
        return _refuse(message)
    except Exception as exc:
        _settle(watcher)
        with write_transaction(conn):
            backtest_store.fail_backtest_run(
                conn, args.run_id, f"internal error: {exc}", wall_clock_utc()
            )
        raise
    _settle(watcher)
    _report(result, args.json, label)
    conn.close()
    return 0


def _settle(watcher: CancelWatcher) -> None:
    """The outcome is being written: no signal or cancel may interrupt it any more."""
    _ignore_signals()
    watcher.done.set()


def _ignore_signals() -> None:
    """Once the outcome is being written, a late SIGTERM must not interrupt that write."""
    for signum in (signal.SIGTERM, signal.SIGINT, CANCEL_SIGNAL):
        signal.signal(signum, signal.SIG_IGN)


def money_text(cents: float) -> str:
    """Cents as dollars with the sign in front, as the dashboard writes them: ``-$2,125.72``."""
    sign = "-" if round(cents) < 0 else ""
    return f"{sign}${abs(cents) / 100:,.2f}"


def percent_text(fraction: float | None) -> str:
    """A fraction as ``47.7 %``; undefined (no trades) as ``n/a``."""
    if fraction is None or not math.isfinite(fraction):
        return "n/a"
    return f"{fraction * 100:.1f} %"


def _report(result: BacktestResult, json_path: str | None, config_label: str = "") -> None:
    m = result.metrics
    logger.info(
        "backtest done: %d trades, net %s, win rate %s, %d bars in %.1f s (%s bars/s); "
        "file rows skipped %s, out of order (sorted) %s%s",
        m["trades"], money_text(m["net_pnl_cents"]), percent_text(m["win_rate"]), result.bars,
        result.seconds, m["bars_per_second"], m.get("rows_skipped", 0),
        m.get("rows_out_of_order", 0), f"; config: {config_label}" if config_label else "",
    )
    if m.get("memory_enabled"):
        logger.info(
            "memory: %d setups (%d seeded); refused %d entries; the %d followed to their exit "
            "(one at a time) would have made %s net", m["memory_setups"],
            m["memory_seeded_setups"], m["memory_refused"], m["memory_refused_closed"],
            money_text(m["memory_refused_net_pnl_cents"]),
        )
    if result.stopped_reason:
        logger.warning("backtest stopped early: %s", result.stopped_reason)
    if (llm_line := llm_cli.report_line(m)) is not None:
        logger.info("%s", llm_line)
    for name, reason in m.get("undefined", {}).items():
        logger.info("metric %s has no value: %s", name, reason)
    if json_path:
        Path(json_path).write_text(  # no indent: the C encoder, 10x faster on 1M-bar runs
            json.dumps(result_json(result), separators=(",", ":")), encoding="utf-8")
        logger.info("wrote %s", json_path)


def _refuse(message: str) -> int:
    logger.error("backtest refused: %s", message)
    sys.stderr.write(f"error: {message}\n")
    return EXIT_BAD_INPUT
