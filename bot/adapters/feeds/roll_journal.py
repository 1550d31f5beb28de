"""The roll journal of an IB history cache: ``<out>/<symbol>/<bar>-rolls.csv``.

One row per roll between two cached days: when the new contract's bars begin (UTC), the two
contracts, both closes at the last bar they traded together, the gap in points and the ratio.
``fetch-history --continuous`` writes it (``bot.adapters.ib.history``); the continuous-series
builder and a person read it.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pandas as pd

from shared.domain.continuous import RollSplice


def rolls_path(out: Path, symbol: str, bar: str) -> Path:
    """The roll journal of a cache: one row per measured roll."""
    return out / symbol / f"{bar}-rolls.csv"


def cached_days(out: Path, symbol: str, bar: str) -> list[date]:
    """The days in the cache, oldest first."""
    folder = out / symbol / bar
    return sorted(date.fromisoformat(p.stem) for p in folder.glob("*.parquet"))


def read_rolls(path: Path) -> list[RollSplice]:
    """The rolls measured before (none when the file does not exist)."""
    if not path.exists():
        return []
    frame = pd.read_csv(path)
    return [RollSplice(int(pd.Timestamp(row.at).value), str(row.from_symbol),
                       str(row.to_symbol), float(row.old_close), float(row.new_close))
            for row in frame.itertuples()]


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


