"""``python -m bot evaluate --layer memory|rules|llm|news``: does a learning layer earn its place?

On the same bars (a file, or the synthetic market, optionally with ``--planted-edge NAME``):
the layer off and on, ``--seeds`` placebo runs on local workers or a Dask cluster
(``--cluster``), the layer's percentile among them, a bootstrap interval of the on - off
difference, and the walk-forward form; a plain verdict is printed, the evidence written to
``--json`` and, with ``--save``, stored in ``evaluation_runs`` for the dashboard.

The layers and their placebos: ``memory`` (its refusals; placebo: as many entries refused at
random), ``rules`` (``--rules JOURNAL``'s approved rules; the same placebo), ``llm`` (the
replies ``--llm-journal`` recorded, replayed; placebo: the same replies with their answers
shuffled among them), ``news`` (``--news FILE.csv``'s rolling sentiment; placebo: the same
headlines with their scores shuffled). Each layer is judged alone: the others stay off (memory
too). Exit codes: 0 done, 2 bad input or an unavailable layer (one line naming it).
"""

from __future__ import annotations

import argparse
import json
import logging
import sqlite3
import sys
from pathlib import Path
from typing import Any

from bot.backtest.cli import add_request_arguments, request_from_args
from bot.backtest.data import BarData
from bot.backtest.news import load_headline_scores
from bot.backtest.planted_edge import PLANTED_EDGES, plant, planted_edge
from bot.backtest.runner import build_settings, load_data
from bot.evaluation.harness import LAYERS, EvalPlan, evaluate
from bot.evaluation.llm_layer import reply_count
from bot.evaluation.stats import DEFAULT_RESAMPLES
from bot.ports import wall_clock_utc
from bot.research.scaleout import DaskBackend, LocalBackend
from shared.config.settings import Settings
from shared.domain.errors import BadBarError, BadNewsFileError, ConfigError, DataFileError
from shared.domain.rules import RuleStatus
from shared.persistence import evaluation_store, rules_store
from shared.persistence.db import connect, db_path_from_env, open_database, write_transaction

logger = logging.getLogger(__name__)

EXIT_BAD_INPUT = 2


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The evaluate command's flags (the backtest's data and strategy flags, and its own)."""
    add_request_arguments(parser)
    own = parser.add_argument_group("evaluation")
    own.add_argument("--layer", choices=LAYERS, required=True, help="the layer to judge")
    own.add_argument("--planted-edge", metavar="NAME",
                     help="plant a known edge in the synthetic market: "
                     + "; ".join(f"{e.name}: {e.description}" for e in PLANTED_EDGES.values()))
    own.add_argument("--seeds", type=int, default=20, help="placebo runs (default 20)")
    own.add_argument("--resamples", type=int, default=DEFAULT_RESAMPLES,
                     help="bootstrap resamples (seeded)")
    own.add_argument("--split", type=float, default=0.5,
                     help="walk-forward: the share of bars the layer learns from first")
    own.add_argument("--rules", metavar="JOURNAL",
                     help="--layer rules: the SQLite journal whose approved rules are judged")
    own.add_argument("--llm-journal", metavar="DB",
                     help="--layer llm: the journal whose recorded replies are replayed "
                     "(default env TRADER_DB)")
    own.add_argument("--llm-mode", choices=["advisory", "bias", "consensus"], default="bias",
                     help="--layer llm: llm.mode of the replay (default bias)")
    own.add_argument("--news", metavar="FILE.csv",
                     help="--layer news: headlines feeding the rolling sentiment (unscored "
                     "rows are scored with VADER)")
    own.add_argument("--workers", type=int, default=2, help="local worker processes")
    own.add_argument("--cluster", metavar="ADDR", help="a Dask scheduler, tcp://host:8786")
    own.add_argument("--json", metavar="OUT", help="write the evidence here")
    own.add_argument("--save", action="store_true",
                     help="store the evidence in evaluation_runs (the dashboard shows it)")
    own.add_argument("--db", help="SQLite file for --save (default env TRADER_DB)")


def approved_rules(path_text: str | None) -> tuple[Any, ...]:
    """The approved learned rules of a journal (``--layer rules``); ConfigError if none."""
    from bot.adapters.rule_book import book_from_rows  # the rules layer only

    if not path_text:
        raise ConfigError("--layer rules needs --rules JOURNAL (a SQLite journal with "
                          "approved rules)")
    path = Path(path_text)
    if not path.is_file():
        raise ConfigError(f"--rules {path_text}: no such file")
    try:
        conn = connect(path, readonly=True)
        try:
            rows = rules_store.rules(conn, (RuleStatus.APPROVED,))
        finally:
            conn.close()
    except sqlite3.Error as exc:
        raise ConfigError(f"--rules {path_text}: not a readable journal with rules ({exc})"
                          ) from None
    book, problems = book_from_rows(rows, "evaluation")
    for problem in problems:
        logger.warning("%s", problem)
    if not book.rules:
        raise ConfigError(f"--rules {path_text}: no approved rules to judge")
    return tuple(book.rules)


def llm_journal(args: argparse.Namespace, data: BarData, settings: Settings) -> str:
    """The journal of recorded replies (``--layer llm``); ConfigError when it has none over
    these bars (then the layer cannot be judged: it is unavailable, not "no evidence")."""
    path = Path(args.llm_journal) if args.llm_journal else db_path_from_env()
    count = reply_count(path, data, settings)
    if count == 0:
        raise ConfigError(f"--layer llm: unavailable: {path} holds no recorded LLM replies "
                          "over these bars (run the bot with the LLM on, or record replies "
                          "with `python -m bot backtest --llm record`)")
    logger.info("LLM layer: %d recorded replies in %s over these bars", count, path)
    return str(path)


def _check(args: argparse.Namespace) -> None:
    if args.seeds < 1 or args.seeds > 1000:
        raise ConfigError(f"--seeds {args.seeds}: expected 1 to 1000 placebo runs")
    if not 0.1 <= args.split <= 0.9:
        raise ConfigError(f"--split {args.split}: expected a share between 0.1 and 0.9")
    if args.resamples < 100:
        raise ConfigError(f"--resamples {args.resamples}: expected at least 100")
    if args.planted_edge and args.data != "synthetic":
        raise ConfigError("--planted-edge needs --data synthetic (an edge is planted in the "
                          "synthetic market only)")
    if args.layer == "news" and not args.news:
        raise ConfigError("--layer news needs --news FILE.csv (time,headline[,source][,score])")


def run_evaluation(args: argparse.Namespace) -> dict[str, Any]:
    """Load the bars (plant the edge), evaluate the layer, return the evidence document."""
    _check(args)
    edge = planted_edge(args.planted_edge)
    rules = approved_rules(args.rules) if args.layer == "rules" else ()
    request = request_from_args(args)
    if args.layer == "llm":
        request = request.model_copy(update={"llm_mode": args.llm_mode})
    settings = build_settings(request)
    data = plant(load_data(request, settings), edge, settings.features, settings.regime)
    journal = llm_journal(args, data, settings) if args.layer == "llm" else None
    headlines = (tuple(load_headline_scores(Path(args.news), args.tz))
                 if args.layer == "news" else ())
    backend = DaskBackend(args.cluster) if args.cluster else LocalBackend(max(1, args.workers))
    plan = EvalPlan(args.layer, request, args.seeds, args.resamples, args.split, rules=rules,
                    llm_journal=journal, headlines=headlines)
    logger.info("evaluating %s on %s%s: %d placebo seeds on %s", args.layer, args.data,
                f" (planted edge {edge.name})" if edge else "", args.seeds, backend.describe())
    document = evaluate(plan, data, backend,
                        lambda done, total: logger.info("evaluation: %d of %d runs", done, total))
    document["data"] = args.data
    document["planted_edge"] = edge.name if edge else None
    return document


def command_evaluate(args: argparse.Namespace) -> int:
    """Run ``evaluate``; return the exit code."""
    try:
        document = run_evaluation(args)
    except (ConfigError, BadBarError, BadNewsFileError, DataFileError, OSError) as exc:
        logger.error("evaluate refused: %s", exc)
        sys.stderr.write(f"error: {exc}\n")
        return EXIT_BAD_INPUT
    sys.stdout.write(f"{args.layer}: {document['verdict']}\n"
                     f"{args.layer} walk-forward: {document['walk_forward_verdict']}\n")
    if args.json:
        Path(args.json).write_text(json.dumps(document, indent=1, sort_keys=True),
                                   encoding="utf-8")
        logger.info("wrote %s", args.json)
    if args.save:
        conn = open_database(Path(args.db) if args.db else db_path_from_env())
        try:
            with write_transaction(conn):
                run_id = evaluation_store.insert_evaluation_run(
                    conn, wall_clock_utc(), args.layer, args.data, document["planted_edge"],
                    document)
        finally:
            conn.close()
        logger.info("saved as evaluation run %d", run_id)
    return 0
