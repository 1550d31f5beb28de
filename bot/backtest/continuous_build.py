"""Build a continuous series from the IB history cache: splice, adjust, check, journal.

``python -m bot fetch-history --continuous none|back-adjusted|ratio`` downloads the days and
measures the rolls (``bot.adapters.ib.history``), then calls ``build_continuous``: the cached
front-month days are loaded like a backtest loads them, the rolls from ``<bar>-rolls.csv`` are
applied (``shared.domain.continuous``), and the result is written to
``<out>/<symbol>/<bar>-<method>.parquet``, an ordinary bar file (ts, open, high, low, close,
volume) that ``backtest --data`` and the replay feed (``feed.replay_path``) read as they read
any file. Splices are found with the live bot's own level-shift detector
(``bot.core.bar_quarantine``) on the written series: a jump at a roll means the roll is not
adjusted (``none``); a jump elsewhere is a data gap or a roll the rule did not see, and is
journaled as a ``history_splice`` warning. Each newly measured roll is a ``history_roll`` event.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pandas as pd

from bot.adapters.feeds.roll_journal import read_rolls, rolls_path
from bot.backtest.data import BarData, file_data
from bot.backtest.quarantine import judge
from bot.core.bar_quarantine import BAD_BAR, LEVEL_SHIFT, JumpLimits, QuarantineEvent
from shared.config.settings import Settings
from shared.domain.continuous import PRICE_NAMES, Adjustment, RollSplice, adjust
from shared.domain.instruments import get_instrument
from shared.persistence import ops_store
from shared.persistence.db import open_database, write_transaction

logger = logging.getLogger(__name__)

AT_ROLL_NS = 3600 * 10**9  # a jump within an hour after a roll's first bar is that roll's


@dataclass(frozen=True, slots=True)
class Splice:
    """A jump the level-shift detector flagged in a series, and the roll it belongs to."""

    ts: datetime
    kind: str  # level_shift, or bad_bar (a jump not confirmed, quarantined)
    message: str
    roll: RollSplice | None


@dataclass(frozen=True, slots=True)
class ContinuousReport:
    """What a build wrote and found."""

    path: Path
    bars: int
    rolls: tuple[RollSplice, ...]
    splices: tuple[Splice, ...]

    @property
    def splices_at_rolls(self) -> int:
        return sum(s.roll is not None for s in self.splices)


def adjusted_data(data: BarData, rolls: list[RollSplice], method: Adjustment,
                  tick_size: float) -> BarData:
    """``data`` with its prices adjusted across ``rolls``."""
    prices = {name: getattr(data, name) for name in PRICE_NAMES}
    return replace(data, **adjust(data.ts_ns, prices, rolls, method, tick_size))


def find_splices(data: BarData, rolls: list[RollSplice], settings: Settings) -> list[Splice]:
    """The jumps the live quarantine flags in ``data`` (filter on, whatever the config says)."""
    tick = get_instrument(settings.instrument.symbol).tick_size
    limits = replace(JumpLimits.from_config(settings.feed, tick, data.bar_seconds), enabled=True)
    _, events = judge(data, limits)
    starts = np.array(sorted(r.at_ns for r in rolls), dtype=np.int64)
    by_start = {r.at_ns: r for r in rolls}
    found = []
    for event in _jumps(events):
        ns = int(pd.Timestamp(event.ts).value)
        index = int(np.searchsorted(starts, ns, side="right")) - 1
        roll = None
        if index >= 0 and ns - starts[index] <= AT_ROLL_NS:
            roll = by_start[int(starts[index])]
        found.append(Splice(event.ts, event.kind, event.message, roll))
    return found


def _jumps(events: list[QuarantineEvent]) -> list[QuarantineEvent]:
    """Level shifts, and gap quarantines not followed by their level shift (one per jump)."""
    jumps: list[QuarantineEvent] = []
    for event in events:
        if event.kind == LEVEL_SHIFT or (event.kind == BAD_BAR
                                         and event.detail.get("reason") == "gap"):
            if jumps and (event.ts - jumps[-1].ts).total_seconds() < 3600:
                if event.kind == LEVEL_SHIFT:
                    jumps[-1] = event  # the confirmation replaces the gaps that led to it
                continue
            jumps.append(event)
    return jumps


def write_series(path: Path, data: BarData) -> None:
    """The series as an ordinary bar Parquet file (UTC timestamps), written atomically."""
    frame = pd.DataFrame({"ts": pd.to_datetime(data.ts_ns, utc=True), "open": data.open,
                          "high": data.high, "low": data.low, "close": data.close,
                          "volume": data.volume})
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    frame.to_parquet(temporary, index=False)
    temporary.replace(path)


def build_continuous(out: Path, symbol: str, bar: str, method: Adjustment,
                     settings: Settings) -> ContinuousReport:
    """Splice the cached days of ``symbol``/``bar`` across the journaled rolls and write it."""
    tick = get_instrument(symbol).tick_size
    data = file_data(out / symbol / bar, "UTC", None, tick)
    rolls = read_rolls(rolls_path(out, symbol, bar))
    series = adjusted_data(data, rolls, method, tick)
    path = out / symbol / f"{bar}-{method.value}.parquet"
    write_series(path, series)
    splices = find_splices(series, rolls, settings)
    return ContinuousReport(path, len(series), tuple(rolls), tuple(splices))


def roll_message(roll: RollSplice) -> str:
    day = pd.Timestamp(roll.at_ns, tz="UTC")
    return (f"roll {roll.from_symbol} -> {roll.to_symbol} from {day:%Y-%m-%d %H:%M} UTC: gap "
            f"{roll.gap_points:+.2f} points (ratio {roll.ratio:.6f})")


def roll_journaler(db_path: Path) -> Callable[[RollSplice], None]:
    """A callback journaling each newly measured roll as a ``history_roll`` event."""
    def record(roll: RollSplice) -> None:
        logger.info("%s", roll_message(roll))
        _journal(db_path, [("history_roll", "info", roll_message(roll), {
            "from": roll.from_symbol, "to": roll.to_symbol, "gap_points": roll.gap_points,
            "ratio": roll.ratio, "old_close": roll.old_close, "new_close": roll.new_close})])
    return record


def journal_report(db_path: Path, report: ContinuousReport, method: Adjustment) -> str:
    """Journal the splices not at a roll (``history_splice`` warnings); the summary line."""
    stray = [s for s in report.splices if s.roll is None]
    for splice in stray:
        logger.warning("price jump not at a roll: %s", splice.message)
    rows = [("history_splice", "warning", f"{report.path.name}: a price jump not at a roll "
             f"({s.message})", {"ts": s.ts.isoformat(), "kind": s.kind}) for s in stray]
    _journal(db_path, rows)
    return (f"continuous {method.value}: {report.bars} bars, {len(report.rolls)} roll(s), "
            f"{report.splices_at_rolls} splice(s) at rolls, {len(stray)} elsewhere -> "
            f"{report.path}")


def _journal(db_path: Path, rows: list[tuple[str, str, str, dict]]) -> None:
    if not rows:
        return
    conn = open_database(db_path)
    try:
        now = datetime.now(UTC)
        with write_transaction(conn):
            for kind, severity, message, detail in rows:
                ops_store.insert_event(conn, now, kind, severity, message, detail, now)
    finally:
        conn.close()
