"""The backtest's LLM flags (one argument group) and the request fields they fill."""

from __future__ import annotations

import argparse
from typing import Any


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """``--llm``, ``--llm-mode``, ``--llm-journal``, ``--llm-max-calls``, ``--llm-latency-s``,
    ``--yes-spend``."""
    group = parser.add_argument_group(
        "LLM in backtests", "off (default): no LLM, as before. replay: the replies a live bot "
        "had, from its journal, at the bars it had them ($0). record: governed paid calls at "
        "detector triggers, each reply cached by prompt hash. replay-cache: those cached "
        "replies again ($0; a miss means no bias, never a call).")
    group.add_argument("--llm", choices=["off", "replay", "record", "replay-cache"],
                       default="off", help="where the run's LLM replies come from")
    group.add_argument("--llm-mode", choices=["disabled", "advisory", "bias", "consensus"],
                       help="llm.mode for this run (default: the config's)")
    group.add_argument("--llm-journal", metavar="DB",
                       help="SQLite file with the call log and the record cache (default env "
                       "TRADER_DB; with --run-id, --db)")
    group.add_argument("--llm-max-calls", type=int, default=20, metavar="N",
                       help="record: HTTP calls at most, retries included (default 20)")
    group.add_argument("--llm-latency-s", type=float, default=2.0, metavar="S",
                       help="record/replay-cache: a reply counts from its trigger bar's close "
                       "plus this (default 2)")
    group.add_argument("--blind", action="store_true",
                       help="record/replay-cache: date-blind prompts (no date or time of year, "
                       "prices rebased to an index, no headline text)")
    group.add_argument("--yes-spend", action="store_true",
                       help="record: accept the cost estimate printed before the first call")


def request_values(args: argparse.Namespace) -> dict[str, Any]:
    """The request fields of these flags."""
    return {"llm": args.llm, "llm_mode": args.llm_mode, "llm_journal": args.llm_journal,
            "llm_max_calls": args.llm_max_calls, "llm_latency_s": args.llm_latency_s,
            "llm_yes_spend": args.yes_spend, "llm_blind": args.blind}


def report_line(metrics: dict[str, Any]) -> str | None:
    """One line on what the LLM did in a finished run (None when it took no part)."""
    if "llm_source" not in metrics:
        return None
    return (f"LLM {metrics['llm_source']} ({metrics['llm_mode']}): "
            f"{metrics.get('llm_triggers', '-')} triggers, {metrics['llm_replies']} replies, "
            f"{metrics['llm_replies_applied']} put in force, cache hits "
            f"{metrics.get('llm_cache_hits', '-')} misses {metrics.get('llm_cache_misses', '-')}; "
            f"{metrics['llm_calls']} new calls, ${metrics['llm_cost_usd']:.4f}; moved "
            f"{metrics['llm_nudged_decisions']} decisions, vetoed "
            f"{metrics['llm_vetoed_decisions']}; enabled {metrics['llm_enabled_trades']} trades "
            f"(${metrics['llm_enabled_pnl_usd']:.2f}), skipped entries' shadows "
            f"{metrics['llm_vetoed_shadows']}")
