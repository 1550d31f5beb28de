"""The roll journal of an IB history cache: ``<out>/<symbol>/<bar>-rolls.csv``.

One row per roll between two cached days: when the new contract's bars begin (UTC), the two
contracts, both closes at the last bar they traded together, the gap in points and the ratio.
``fetch-history --continuous`` writes it (``bot.adapters.ib.history``); the continuous-series
builder and a person read it.
"""

from __future__ import annotations

import logging
import math
from datetime import date
from pathlib import Path

import pandas as pd

from shared.domain.continuous import RollSplice
from shared.domain.errors import DataFileError

logger = logging.getLogger(__name__)


def rolls_path(out: Path, symbol: str, bar: str) -> Path:
    """The roll journal of a cache: one row per measured roll."""
    return out / symbol / f"{bar}-rolls.csv"


def cached_days(out: Path, symbol: str, bar: str) -> list[date]:
    """The days in the cache, oldest first (a file not named by a date is passed over)."""
    days = []
    for path in (out / symbol / bar).glob("*.parquet"):
        try:
            days.append(date.fromisoformat(path.stem))
        except ValueError:
            logger.warning("%s is not a day file (YYYY-MM-DD.parquet); passed over", path)
    return sorted(days)


def read_rolls(path: Path) -> list[RollSplice]:
    """The rolls measured before (none when the file does not exist).

    Raises ``DataFileError`` naming the file and the problem when it cannot be read.
    """
    if not path.exists():
        return []
    try:
        frame = pd.read_csv(path)
        rolls = [RollSplice(int(pd.Timestamp(row.at).value), str(row.from_symbol),
                            str(row.to_symbol), float(row.old_close), float(row.new_close))
                 for row in frame.itertuples()]
    except (ValueError, TypeError, AttributeError, KeyError, pd.errors.ParserError) as exc:
        raise DataFileError(path, f"not a roll journal ({type(exc).__name__}: {exc}); "
                            "delete it to measure the rolls again") from None
    for number, roll in enumerate(rolls, start=2):
        closes = (roll.old_close, roll.new_close)
        if not all(math.isfinite(c) and c > 0 for c in closes):
            raise DataFileError(path, f"closes must be positive numbers, got {closes}", number)
    return rolls


def write_rolls(path: Path, rolls: list[RollSplice]) -> None:
    """Write the roll journal (time, contracts, both closes, gap and ratio), atomically."""
    ordered = sorted(rolls, key=lambda r: r.at_ns)
    frame = pd.DataFrame({
        "at": [pd.Timestamp(r.at_ns, tz="UTC").isoformat() for r in ordered],
        "from_symbol": [r.from_symbol for r in ordered],
        "to_symbol": [r.to_symbol for r in ordered],
        "old_close": [r.old_close for r in ordered], "new_close": [r.new_close for r in ordered],
        "gap_points": [round(r.gap_points, 4) for r in ordered],
        "ratio": [round(r.ratio, 8) for r in ordered]})
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    frame.to_csv(temporary, index=False)
    temporary.replace(path)


