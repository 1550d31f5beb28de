"""``python -m bot fetch-history``: download IB bars for backtests, cached as Parquet per day.

Each complete UTC day is fetched from the contract that was the front month that day (expired
ones included), in chunks IB accepts for the bar size, through the pacing rules, with a
progress bar on stderr. A day already in the cache is not asked for again.

With ``--continuous`` the rolls between the cached days are measured too (``roll_gaps``): the
live roll rule names the front month of each day; where it changes, the new contract's bars of
the old contract's last day are fetched and both closes at their last common bar are written
to ``<bar>-rolls.csv`` beside the day folder (the splice is then built by
``bot.backtest.continuous_build``).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pandas as pd
from ib_async import IB

from bot.adapters.feeds.roll_journal import cached_days, read_rolls, rolls_path, write_rolls
from bot.adapters.ib.contracts import (
    ListedContract,
    choose_front_month,
    list_contracts,
    qualify,
)
from bot.adapters.ib.feed import fetch_history
from bot.adapters.ib.pacing import HistoryPacer
from shared.config.settings import IbConfig
from shared.domain.continuous import RollSplice
from shared.domain.errors import DataFileError, TemporaryError
from shared.domain.models import Bar

logger = logging.getLogger(__name__)

BAR_SECONDS = {"1min": 60, "5s": 5}
CHUNK_SECONDS = {60: 86_400, 5: 3_600}  # the longest duration IB serves per request
PROGRESS_WIDTH = 30


def cache_path(out: Path, symbol: str, bar: str, day: date) -> Path:
    """Where one day of bars is cached."""
    return out / symbol / bar / f"{day.isoformat()}.parquet"


def write_day(path: Path, bars: list[Bar]) -> None:
    """Write one day's bars (possibly none: a closed day) as Parquet, UTC timestamps."""
    frame = pd.DataFrame(
        {"ts": pd.to_datetime([b.ts for b in bars], utc=True),
         "open": [b.open for b in bars], "high": [b.high for b in bars],
         "low": [b.low for b in bars], "close": [b.close for b in bars],
         "volume": [b.volume for b in bars]})
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_suffix(".tmp")
    frame.to_parquet(temporary, index=False)
    temporary.replace(path)


class Progress:
    """A one-line text progress bar on stderr."""

    def __init__(self, total: int) -> None:
        self.total = max(total, 1)
        self.done = 0

    def step(self, label: str) -> None:
        self.done += 1
        filled = PROGRESS_WIDTH * self.done // self.total
        bar = "#" * filled + "." * (PROGRESS_WIDTH - filled)
        sys.stderr.write(f"\r[{bar}] {self.done}/{self.total} {label:<30}")
        if self.done >= self.total:
            sys.stderr.write("\n")
        sys.stderr.flush()


async def fetch_history_command(cfg: IbConfig, symbol: str, days: int, bar: str, out: Path,
                                client_id: int, rolls: bool = False,
                                on_roll: Callable[[RollSplice], None] | None = None) -> int:
    """Download ``days`` complete UTC days of ``bar`` bars (and the rolls); the exit code."""
    ib = IB()
    try:
        await ib.connectAsync(cfg.host, cfg.port, clientId=client_id,
                              timeout=cfg.connect_timeout_s, readonly=True)
    except (OSError, TimeoutError, ConnectionError) as exc:
        logger.error("cannot connect to IB at %s:%d (client id %d): %s", cfg.host, cfg.port,
                     client_id, exc or type(exc).__name__)
        return 1
    try:
        written = await download(ib, cfg, symbol, days, bar, out)
        if rolls:
            measured = await roll_gaps(ib, cfg, symbol, bar, out, on_roll)
            logger.info("history: %d roll(s) in %s", len(measured), rolls_path(out, symbol, bar))
    except (TemporaryError, DataFileError) as exc:
        logger.error("history download failed: %s", exc)
        return 1
    finally:
        ib.disconnect()
    logger.info("history: %d new day files under %s", written, out / symbol / bar)
    return 0


async def download(ib: IB, cfg: IbConfig, symbol: str, days: int, bar: str, out: Path) -> int:
    """Fetch the missing days into the cache; return how many day files were written."""
    bar_seconds = BAR_SECONDS[bar]
    chunk_s = CHUNK_SECONDS[bar_seconds]
    today = (await ib.reqCurrentTimeAsync()).astimezone(UTC).date()
    wanted = [today - timedelta(days=k) for k in range(days, 0, -1)]
    missing = [d for d in wanted if not cache_path(out, symbol, bar, d).exists()]
    if not missing:
        logger.info("history: all %d days already cached", len(wanted))
        return 0
    listed = await list_contracts(ib, symbol, cfg.exchange, include_expired=True)
    pacer = HistoryPacer()
    progress = Progress(len(missing) * (86_400 // chunk_s))
    for day in missing:
        chosen = choose_front_month(listed, day, cfg.roll_days_before_expiry)
        bars = await fetch_day(ib, cfg, chosen, day, bar_seconds, pacer, progress)
        write_day(cache_path(out, symbol, bar, day), bars)
    return len(missing)


async def fetch_day(ib: IB, cfg: IbConfig, chosen: ListedContract, day: date, bar_seconds: int,
                    pacer: HistoryPacer, progress: Progress | None) -> list[Bar]:
    """One complete UTC day of ``chosen``'s bars, in time order."""
    chunk_s = CHUNK_SECONDS[bar_seconds]
    contract = await qualify(ib, chosen.con_id, cfg.exchange)
    contract.includeExpired = True
    start = datetime(day.year, day.month, day.day, tzinfo=UTC)
    bars: dict[datetime, Bar] = {}
    for offset in range(chunk_s, 86_400 + 1, chunk_s):
        end = start + timedelta(seconds=offset)
        for item in await fetch_history(ib, contract, bar_seconds, chunk_s, pacer, end):
            if start <= item.ts < start + timedelta(days=1):
                bars[item.ts] = item
        if progress is not None:
            progress.step(f"{chosen.local_symbol} {day.isoformat()} {end:%H:%M}")
    return [bars[k] for k in sorted(bars)]


def roll_days(listed: list[ListedContract], days: list[date],
              roll_days_before_expiry: int) -> list[tuple[date, ListedContract, ListedContract]]:
    """(first day of the new contract, old, new) wherever the live rule changes contract."""
    found = []
    previous: ListedContract | None = None
    for day in days:
        chosen = choose_front_month(listed, day, roll_days_before_expiry)
        if previous is not None and chosen.con_id != previous.con_id:
            found.append((day, previous, chosen))
        previous = chosen
    return found


async def roll_gaps(ib: IB, cfg: IbConfig, symbol: str, bar: str, out: Path,
                    on_roll: Callable[[RollSplice], None] | None = None) -> list[RollSplice]:
    """Measure every roll between the cached days not measured yet (each newly measured one
    is handed to ``on_roll``: the journal); return all of them."""
    path = rolls_path(out, symbol, bar)
    known = {r.at_ns: r for r in read_rolls(path)}
    days = cached_days(out, symbol, bar)
    listed = await list_contracts(ib, symbol, cfg.exchange, include_expired=True)
    pacer = HistoryPacer()
    for day, old, new in roll_days(listed, days, cfg.roll_days_before_expiry):
        at_ns = int(pd.Timestamp(datetime(day.year, day.month, day.day, tzinfo=UTC)).value)
        if at_ns in known:
            continue
        known[at_ns] = await _measure(ib, cfg, out, symbol, bar, (day, old, new), pacer, days)
        write_rolls(path, list(known.values()))  # a crash keeps what was measured
        if on_roll is not None:
            on_roll(known[at_ns])
    return sorted(known.values(), key=lambda r: r.at_ns)


async def _measure(ib: IB, cfg: IbConfig, out: Path, symbol: str, bar: str,
                   roll: tuple[date, ListedContract, ListedContract], pacer: HistoryPacer,
                   days: list[date]) -> RollSplice:
    """Both closes at the last bar the old and the new contract traded together."""
    day, old, new = roll
    for before in reversed([d for d in days if d < day][-5:]):
        frame = pd.read_parquet(cache_path(out, symbol, bar, before))
        if frame.empty:
            continue  # a closed day: look one further back
        old_close = dict(zip(pd.to_datetime(frame["ts"], utc=True), frame["close"],
                             strict=True))
        new_bars = await fetch_day(ib, cfg, new, before, BAR_SECONDS[bar], pacer, None)
        common = [b for b in new_bars if pd.Timestamp(b.ts) in old_close]
        if common:
            last = common[-1]
            return RollSplice(int(pd.Timestamp(datetime(day.year, day.month, day.day,
                                                        tzinfo=UTC)).value),
                              old.local_symbol, new.local_symbol,
                              float(old_close[pd.Timestamp(last.ts)]), last.close)
    raise TemporaryError(f"roll {old.local_symbol} -> {new.local_symbol} on {day}: no bar "
                         "where both contracts traded in the cached days before it")
