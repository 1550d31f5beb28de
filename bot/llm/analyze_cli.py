"""``python -m bot analyze``: one governed LLM analysis from the journal, for a stopped bot.

The dashboard runs it when no bot is running to take a ``trigger_llm`` command; the command row
is claimed first (by the page or the job), so a running bot cannot answer it a second time.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
from dataclasses import replace
from pathlib import Path

from bot.llm.analyst import Analyst, outcome_summary
from bot.llm.context import build_request
from bot.llm.providers import make_provider
from bot.llm.routing import ProviderRouter
from bot.llm.snapshot import snapshot_from_journal
from bot.llm.types import Trigger, TriggerKind
from bot.ports import wall_clock_utc
from shared.config.settings import load_settings
from shared.domain.models import CommandKind
from shared.persistence import codec, config_source, finetune_store, llm_state, ops_store
from shared.persistence.db import db_path_from_env, open_database, write_transaction

logger = logging.getLogger(__name__)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of the ``analyze`` subcommand."""
    parser.add_argument("--config", help="YAML config (default data/config.yaml if present)")
    parser.add_argument("--db", help="SQLite file (default env TRADER_DB or data/trader.db)")
    parser.add_argument("--command-id", type=int, help="answer this queued trigger_llm command")
    parser.add_argument("--claimed", action="store_true",
                        help="the dashboard already claimed the command for this job")
    parser.add_argument("--notes", default="", help="notes for the model (untrusted data)")
    parser.add_argument("--context", default="", help="extra context (untrusted data)")


def command_analyze(args: argparse.Namespace) -> int:
    """Run one manual analysis; exit 0 when the model answered usefully, 1 otherwise.

    The config is the active version in the database, as for every other process (the file
    only before the first version is stored): a model switched off there spends no call.
    """
    default = Path("data/config.yaml")
    config_path = Path(args.config) if args.config else (default if default.exists() else None)
    conn = open_database(Path(args.db) if args.db else db_path_from_env())
    try:
        active = config_source.active_settings(conn, os.environ)
        settings = active[1] if active is not None else load_settings(config_path)
        return _analyze(conn, settings, args)
    finally:
        conn.close()


def _finish(conn, command_id: int | None, message: str, code: int) -> int:
    if command_id is not None:
        with write_transaction(conn):
            llm_state.set_command_result(conn, command_id, message)
    (logger.info if code == 0 else logger.error)("%s", message)
    return code


def _analyze(conn, settings, args: argparse.Namespace) -> int:
    payload = {"notes": args.notes, "context": args.context}
    command_id = args.command_id
    if command_id is not None:
        row = ops_store.command_outcome(conn, command_id)
        if row is None or row.kind != CommandKind.TRIGGER_LLM:
            logger.error("no trigger_llm command %s", command_id)
            return 2
        payload = json.loads(row.payload_json or "{}")
        with write_transaction(conn):
            claimed = args.claimed or llm_state.claim_command(
                conn, command_id, llm_state.JOB_CLAIM, wall_clock_utc())
        if not claimed:
            logger.info("command %s was already taken", command_id)
            return 0
    if not settings.llm.enabled:
        return _finish(conn, command_id, "the LLM is off (llm.enabled: false in the active "
                       "config): no call made", 1)
    clean = {k: str(payload.get(k) or "")[:2000] for k in ("notes", "context")}
    snapshot = snapshot_from_journal(conn, settings.llm.recent_trades_in_prompt)
    if snapshot is None:
        return _finish(conn, command_id, "no journaled decision yet: run the bot first", 1)
    trigger = Trigger(TriggerKind.MANUAL, codec.from_text(snapshot.ts), clean, command_id)
    with write_transaction(conn):
        ops_store.insert_event(conn, trigger.ts, "llm_trigger", "info", "LLM trigger manual (job)",
                           {"trigger": "manual", "command_id": command_id, **clean},
                           wall_clock_utc())
    request = build_request(trigger, snapshot)
    choice, provider = ProviderRouter(make_provider).route(
        settings.llm, request.volatility, trigger.kind.value,
        lambda model: finetune_store.approved_custom_model(conn, model))
    available, reason = provider.availability()
    if not available:
        return _finish(conn, command_id, f"LLM unavailable: {reason}", 1)
    outcome = Analyst(conn, settings.llm, provider, wall_clock_utc).analyze(
        replace(request, route=choice.name))
    return _finish(conn, command_id, outcome_summary(outcome), 0 if outcome.reply else 1)
