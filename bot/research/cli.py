"""``python -m bot research sweep|walk-forward|monte-carlo``: flags or a stored request -> results.

The backtest's data and strategy flags say what is varied; ``--grid KEY=V1,V2`` (repeatable) or
``--grid-file`` the values. ``--workers N`` runs local processes, ``--cluster tcp://host:8786``
an existing Dask scheduler. ``--run-id N`` runs the request the dashboard stored in
``research_runs`` (``--save`` stores a command-line run there too) and reports progress into
the row; ``--cancel-all`` raises every active run's cancel flag (``make stop`` does). A grid of
more than 1,000 points needs ``--yes``. Exit codes: 0 done, 2 bad input (a big grid without
``--yes`` included), 3 cancelled (the row's cancel flag, or SIGTERM).
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sqlite3
import sys
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from bot.backtest.cli import (
    add_request_arguments,
    flag_errors,
    money_text,
    request_from_args,
)
from bot.backtest.process_memory import return_freed_arrays_to_os
from bot.ports import wall_clock_utc
from bot.research.execute import execute
from bot.research.finish_notice import record_finish
from bot.research.grid import load_grid_file, parse_grid_flags
from bot.research.objectives import OBJECTIVE_HELP
from bot.research.progress import RunControl, TerminalBar, both
from bot.research.report import document_csv
from bot.research.scaleout import Cancelled
from shared.config.research_request import (
    MC_METHODS,
    ResearchKind,
    ResearchRequest,
    ResearchStatus,
)
from shared.domain.errors import BadBarError, ConfigError
from shared.persistence import research_liveness, research_store
from shared.persistence.db import db_path_from_env, open_database, write_transaction

logger = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2
EXIT_CANCELLED = 3
CONFIRM_GRID_POINTS = 1_000  # a larger command-line grid needs --yes
TOOLS = {"sweep": ResearchKind.SWEEP, "walk-forward": ResearchKind.WALK_FORWARD,
         "monte-carlo": ResearchKind.MONTE_CARLO}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``research`` and its three tools' flags."""
    parser.add_argument("--run-id", type=int, help="run the request stored in research_runs")
    parser.add_argument("--db", help="SQLite file (default env TRADER_DB or data/trader.db)")
    parser.add_argument("--cancel-all", action="store_true",
                        help="raise the cancel flag of every queued or running run (make stop)")
    tools = parser.add_subparsers(dest="tool")
    for name, text in (("sweep", "one backtest per grid point"),
                       ("walk-forward", "optimise in-sample, test out-of-sample, roll on"),
                       ("monte-carlo", "resample a backtest's trades")):
        tool = tools.add_parser(name, help=text)
        add_request_arguments(tool)
        _add_research_arguments(tool, name)


def _add_research_arguments(tool: argparse.ArgumentParser, name: str) -> None:
    search = tool.add_argument_group("research")
    if name != "monte-carlo":
        search.add_argument("--grid", action="append", default=[], metavar="KEY=V1,V2,...",
                            help="values to try for a --param key (repeatable)")
        search.add_argument("--grid-file", metavar="YAML", help="KEY: [values] mapping")
        search.add_argument("--objective", choices=list(OBJECTIVE_HELP), default="net_pnl",
                            help="; ".join(f"{k}: {v}" for k, v in OBJECTIVE_HELP.items()))
        search.add_argument("--drawdown-weight", type=float, default=1.0)
        search.add_argument("--yes", action="store_true",
                            help=f"run a grid of more than {CONFIRM_GRID_POINTS:,} points "
                            "(refused without it: each point is a full backtest)")
    if name == "sweep":
        search.add_argument("--search", choices=("grid", "tpe"), default="grid",
                            help="every grid point, or Optuna TPE trials (large grids)")
        search.add_argument("--trials", type=int, default=50, help="TPE trials")
        search.add_argument("--search-seed", type=int, default=7, help="TPE seed")
    if name == "walk-forward":
        search.add_argument("--train-bars", type=int, required=True)
        search.add_argument("--test-bars", type=int, required=True)
        search.add_argument("--anchored", action="store_true",
                            help="in-sample windows grow from the first bar")
    if name == "monte-carlo":
        search.add_argument("--method", choices=MC_METHODS, default="block")
        search.add_argument("--block-length", type=int, default=5, metavar="TRADES")
        search.add_argument("--runs", type=int, default=1000)
        search.add_argument("--mc-seed", type=int, default=7)
        search.add_argument("--starting-equity", type=float, metavar="USD")
        search.add_argument("--ruin-equity", type=float, default=0.0, metavar="USD")
    scale = tool.add_argument_group("scale-out and output")
    scale.add_argument("--workers", type=int, default=2, help="local worker processes")
    scale.add_argument("--cluster", metavar="tcp://HOST:8786", help="existing Dask scheduler")
    scale.add_argument("--json", metavar="OUT", help="write the result document here")
    scale.add_argument("--csv", metavar="OUT", help="write the result table here")
    scale.add_argument("--save", action="store_true", help="store the run in research_runs")
    scale.add_argument("--name", default="", help="run name (with --save)")


def big_grid_problem(request: ResearchRequest, confirmed: bool) -> str | None:
    """Why a command-line grid is too big to start unasked (None when it may start).

    Each point is a full backtest (once per window in a walk-forward): a typo'd range of 10,000
    points would hold the machine for hours without a word. The dashboard's form shows the
    point count before its Run button; the command line asks for ``--yes`` instead.
    """
    points = request.grid_points() if request.search == "grid" else 0
    if points <= CONFIRM_GRID_POINTS or confirmed:
        return None
    return (f"--grid: {points:,} points, each a full backtest: add --yes to run them all, "
            f"or shrink the grid (or --search tpe --trials N); refused above "
            f"{CONFIRM_GRID_POINTS:,} points without --yes")


def request_from_research_args(args: argparse.Namespace) -> ResearchRequest:
    """The flags as a validated request; ConfigError names the bad flag."""
    grid: dict[str, list[str]] = {}
    if getattr(args, "grid_file", None):
        grid.update(load_grid_file(Path(args.grid_file)))
    for key, values in parse_grid_flags(getattr(args, "grid", [])).items():
        grid[key] = values
    values: dict[str, Any] = {
        "kind": TOOLS[args.tool], "backtest": request_from_args(args), "grid": grid,
        "workers": args.workers, "cluster": args.cluster,
    }
    for field in ("objective", "drawdown_weight", "train_bars", "test_bars", "anchored",
                  "method", "block_length", "runs", "search", "trials"):
        if hasattr(args, field):
            values[field] = getattr(args, field)
    if hasattr(args, "search_seed"):
        values["seed"] = args.search_seed
    if hasattr(args, "mc_seed"):
        values.update(seed=args.mc_seed, starting_equity_usd=args.starting_equity,
                      ruin_equity_usd=args.ruin_equity)
    try:
        return ResearchRequest.model_validate(values)
    except ValidationError as exc:
        raise ConfigError(f"bad flag: {flag_errors(exc)}") from None


def command_research(args: argparse.Namespace) -> int:
    """Run one research request from flags or from a stored row; return the exit code."""
    return_freed_arrays_to_os()
    conn: sqlite3.Connection | None = None
    run_id = args.run_id
    if args.cancel_all:
        return cancel_all(Path(args.db) if args.db else db_path_from_env())
    try:
        if run_id is not None:
            conn = open_database(Path(args.db) if args.db else db_path_from_env())
            found = research_store.research_run(conn, run_id)
            if found is None:
                return _refuse(f"--run-id {run_id}: no such research run")
            request = ResearchRequest.from_json(found.request_json)
        elif args.tool is None:
            return _refuse("research: name a tool (sweep, walk-forward, monte-carlo) or --run-id")
        else:
            request = request_from_research_args(args)
            if (big := big_grid_problem(request, getattr(args, "yes", False))) is not None:
                return _refuse(big)
            if args.save:
                conn = open_database(Path(args.db) if args.db else db_path_from_env())
                with write_transaction(conn):
                    run_id = research_store.insert_research_run(
                        conn, request.kind.value, request.to_json(), wall_clock_utc(), args.name)
    except (ConfigError, OSError) as exc:
        return _refuse(str(exc), conn, run_id)
    return _run(request, conn, run_id, getattr(args, "json", None), getattr(args, "csv", None))


def cancel_all(db: Path) -> int:
    """Ask every active run to stop (each honours its flag within about a second)."""
    if not db.exists():
        return 0
    conn = open_database(db)
    with write_transaction(conn):
        listed = research_store.research_runs(conn, limit=1000)
        gone = research_liveness.fail_lost_runs(  # nobody left to honour their flag
            conn, research_liveness.lost_runs(listed), wall_clock_utc())
        runs = [run.id for run in research_store.research_runs(conn, limit=1000) if run.active]
        for run_id in runs:
            research_store.request_research_cancel(conn, run_id)
    conn.close()
    logger.info("cancel requested for %d research run(s); %d whose process was gone failed",
                len(runs), gone)
    return 0


def _run(request: ResearchRequest, conn: sqlite3.Connection | None, run_id: int | None,
         json_path: str | None, csv_path: str | None) -> int:
    control = RunControl(conn, run_id)
    if conn is not None and run_id is not None:
        with write_transaction(conn):
            research_store.mark_research_running(conn, run_id, os.getpid(), wall_clock_utc())
    logger.info("research %s%s started", request.kind.value,
                f" run {run_id}" if run_id is not None else "")
    try:
        with control.sigterm_stops():
            document = execute(request, both(TerminalBar(), control.progress),
                               control.should_stop)
    except Cancelled as exc:
        _end(conn, run_id, ResearchStatus.CANCELLED, str(exc))
        logger.warning("research %s", exc)
        sys.stderr.write(f"research {exc}\n")
        return EXIT_CANCELLED
    except (ConfigError, BadBarError, OSError) as exc:
        return _refuse(str(exc), conn, run_id)
    except Exception as exc:
        _end(conn, run_id, ResearchStatus.FAILED, f"internal error: {exc}")
        raise
    if conn is not None and run_id is not None:
        with write_transaction(conn):
            research_store.finish_research_run(conn, run_id, document, summary_line(document),
                                               wall_clock_utc())
            record_finish(conn, run_id, request.kind.value, "done", summary_line(document),
                          wall_clock_utc())
    logger.info("research done: %s", summary_line(document))
    if json_path:
        Path(json_path).write_text(json.dumps(document, indent=1), encoding="utf-8")
    if csv_path:
        Path(csv_path).write_text(document_csv(document), encoding="utf-8")
    return 0


def summary_line(document: dict[str, Any]) -> str:
    """One line saying what a finished run found."""
    if document["kind"] == "sweep":
        best = ", ".join(f"{k}={v}" for k, v in document["best"]["params"].items())
        return f"{len(document['points'])} points; best {best or '(defaults)'}"
    if document["kind"] == "walk_forward":
        net = money_text(document["stitched"]["net_pnl_cents"])
        return f"{len(document['windows'])} windows; out-of-sample net {net}"
    median = money_text(document["percentiles"]["final_pnl_cents"]["50"])
    return (f"{document['runs']} runs; median final P&L {median}; ruin "
            f"{document['probability_of_ruin'] * 100:.1f} %")


def _end(conn: sqlite3.Connection | None, run_id: int | None,
         status: ResearchStatus, message: str) -> None:
    if conn is not None and run_id is not None:
        with write_transaction(conn):
            research_store.end_research_run(conn, run_id, status, message, wall_clock_utc())
            record_finish(conn, run_id, "", status.value, message, wall_clock_utc())


def _refuse(message: str, conn: sqlite3.Connection | None = None,
            run_id: int | None = None) -> int:
    _end(conn, run_id, ResearchStatus.FAILED, message)
    logger.error("research refused: %s", message)
    sys.stderr.write(f"error: {message}\n")
    return EXIT_BAD_INPUT
