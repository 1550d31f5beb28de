"""``fetch-history --continuous``: download, measure the rolls, build and check the series."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.backtest.continuous_build import build_continuous, journal_report, roll_journaler
from shared.config.settings import Settings
from shared.domain.continuous import Adjustment
from shared.domain.errors import DataFileError
from shared.persistence.db import db_path_from_env

logger = logging.getLogger(__name__)


def fetch_continuous(args: argparse.Namespace, settings: Settings, client_id: int) -> int:
    """The exit code: 0 built, 1 IB failed, 2 the cache holds no usable bars."""
    from bot.adapters.ib.history import fetch_history_command  # ib_async for this command only

    out, method = Path(args.out), Adjustment(args.continuous)
    db_path = Path(args.db) if getattr(args, "db", None) else db_path_from_env()
    code = asyncio.run(fetch_history_command(
        settings.ib, args.symbol, args.days, args.bar, out, client_id, rolls=True,
        on_roll=roll_journaler(db_path)))
    if code:
        return code
    try:
        report = build_continuous(out, args.symbol, args.bar, method, settings)
    except DataFileError as exc:
        logger.error("continuous series not built: %s", exc)
        return 2
    sys.stdout.write(journal_report(db_path, report, method) + "\n")
    return 0
