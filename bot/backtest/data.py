"""Bars for a backtest as numpy columns: synthetic, a CSV/Parquet file or the IB history cache.

File rows the live loop would skip (malformed, duplicate, off the tick grid) are skipped here
too and counted; rows out of time order are counted and sorted, as the live feed does. A file
that cannot be used at all raises the loader's ``DataFileError`` (the CLI exits 2 with it). A
file is parsed once: later runs read it from the Parquet cache (``bar_cache``). A date range
keeps up to ``warmup_bars`` earlier bars for the indicators only.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from bot.adapters.feeds.replay import (
    BAR_COLUMNS,
    NO_DATA_ROWS,
    PRICE_COLUMNS,
    LoadedBars,
    content_free,
    load_bars,
)
from bot.adapters.feeds.synthetic import SyntheticMarket
from bot.backtest.bar_cache import load_bars_cached
from bot.core.bar_quarantine import QuarantineEvent
from shared.domain.errors import ConfigError, DataFileError
from shared.domain.models import Bar

logger = logging.getLogger(__name__)

SYNTHETIC_START = datetime(2021, 1, 4, 0, 0, tzinfo=UTC)
IB_HISTORY = Path("data/history")  # where `python -m bot fetch-history` caches IB bars
_TICK_TOLERANCE = 1e-6


@dataclass(frozen=True, eq=False)
class BarData:
    """Bars as columns (start time in epoch ns, UTC); decisions start at ``first``."""

    ts_ns: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    bar_seconds: int
    first: int = 0
    rows_skipped: int = 0
    problems: tuple[str, ...] = ()
    out_of_order: int = 0
    order_problems: tuple[str, ...] = ()
    quarantine: tuple[QuarantineEvent, ...] = ()  # bars dropped as bad prints, level shifts

    def __len__(self) -> int:
        return len(self.ts_ns)

    def ts(self, index: int) -> datetime:
        """Start time of bar ``index`` (tz-aware UTC)."""
        return datetime.fromtimestamp(int(self.ts_ns[index]) / 1e9, UTC)

    def bar(self, index: int) -> Bar:
        """Bar ``index`` as the engine's ``Bar``."""
        return Bar(self.ts(index), float(self.open[index]), float(self.high[index]),
                   float(self.low[index]), float(self.close[index]), float(self.volume[index]))

    def __reduce__(self) -> tuple:
        """Pickle by fields; unpickled arrays are made aligned and contiguous (``_rebuilt``)."""
        return (_rebuilt, (self.ts_ns, self.open, self.high, self.low, self.close, self.volume,
                           self.bar_seconds, self.first, self.rows_skipped, self.problems,
                           self.out_of_order, self.order_problems, self.quarantine))

    def slice(self, start: int, stop: int, first: int = 0) -> BarData:
        """Bars [start, stop) as a new BarData whose decisions start at ``first``."""
        return BarData(
            self.ts_ns[start:stop], self.open[start:stop], self.high[start:stop],
            self.low[start:stop], self.close[start:stop], self.volume[start:stop],
            self.bar_seconds, first, self.rows_skipped, self.problems, self.out_of_order,
            self.order_problems, self.quarantine,
        )


def _rebuilt(ts_ns: np.ndarray, *rest: object) -> BarData:
    """BarData from pickled fields, its arrays aligned and contiguous.

    An array received over the network (a Dask worker's copy of scattered bars) may sit
    unaligned in the message buffer, and numpy then copies the whole array on every
    ``searchsorted``: a backtest on a worker ran five times slower than here.
    """
    columns = [np.require(a, requirements="CA") for a in (ts_ns, *rest[:5])]  # type: ignore
    return BarData(*columns, *rest[5:])  # type: ignore[arg-type]


def synthetic_data(bars: int, seed: int, bar_seconds: int, start: datetime | None) -> BarData:
    """The first ``bars`` bars of the seeded synthetic market (the live feed's very bars)."""
    market = SyntheticMarket(seed, start or SYNTHETIC_START, 5000.0, bar_seconds)
    parts: list[tuple[np.ndarray, ...]] = []
    produced = 0
    for session in market.iter_sessions() if bars > 0 else ():
        take = min(len(session.close), bars - produced)
        open_ns = _ns(session.open_utc)
        parts.append((open_ns + session.offsets_s[:take].astype(np.int64) * 1_000_000_000,
                      *(column[:take] for column in session[2:])))
        produced += take
        if produced >= bars:
            break
    if not parts:
        return BarData(np.empty(0, np.int64), *(np.empty(0) for _ in range(5)),
                       bar_seconds=bar_seconds)  # type: ignore[misc]
    ts_ns, *columns = (np.concatenate(values) for values in zip(*parts, strict=True))
    return BarData(ts_ns, *columns, bar_seconds=bar_seconds)  # type: ignore[misc]


def _native_seconds(index: pd.DatetimeIndex) -> int:
    if len(index) < 2:
        return 60
    per_second = {"s": 1, "ms": 10**3, "us": 10**6, "ns": 10**9}[index.unit]
    steps = np.diff(index.asi8) // per_second  # in the index's own unit: no converted copy
    return int(median_of_integers(steps[steps > 0]))


def median_of_integers(values: np.ndarray) -> float:
    """``np.median`` of an integer array, from its distinct values and their counts.

    np.median's partition takes over a second on a million steps that are nearly all the same
    value (every bar 60 s apart); counting distinct values takes milliseconds.
    """
    distinct, counts = np.unique(values, return_counts=True)
    ends = np.cumsum(counts)
    total = int(ends[-1])
    low = distinct[np.searchsorted(ends, (total - 1) // 2, side="right")]
    high = distinct[np.searchsorted(ends, total // 2, side="right")]
    return (float(low) + float(high)) / 2


def _resample(frame: pd.DataFrame, bar_seconds: int) -> pd.DataFrame:
    grouped = frame.resample(f"{bar_seconds}s", label="left", closed="left", origin="epoch")
    out = grouped.agg({"open": "first", "high": "max", "low": "min", "close": "last",
                       "volume": "sum"})
    return out.dropna(subset=["open"])


def _load_folder(folder: Path, tz: str) -> LoadedBars:
    """Every Parquet day file under ``folder`` (the IB history cache), in name order."""
    files = sorted(folder.rglob("*.parquet"))
    parts = []
    for file in files:
        try:
            parts.append(load_bars(file, timezone=tz))
        except DataFileError as exc:
            if exc.reason != NO_DATA_ROWS:
                raise
            continue  # a closed day is cached as an empty file
    if not parts:
        raise DataFileError(folder, f"no bars in {len(files)} Parquet file(s)")
    bars = pd.concat([p.bars for p in parts]).sort_index(kind="mergesort")
    duplicated = bars.index.duplicated(keep="first")
    problems = tuple(problem for p in parts for problem in p.problems)
    order_problems = tuple(problem for p in parts for problem in p.order_problems)
    return LoadedBars(bars[~duplicated], sum(p.rows_read for p in parts),
                      sum(p.malformed_skipped for p in parts),
                      sum(p.duplicates_dropped for p in parts) + int(duplicated.sum()), problems,
                      sum(p.out_of_order for p in parts), order_problems[:3])


def file_data(path: Path, tz: str, bar_seconds: int | None, tick_size: float) -> BarData:
    """Load a bar file (or a folder of Parquet days) like the replay feed, resampled if asked."""
    loaded = _load_folder(path, tz) if path.is_dir() else load_bars_cached(path, tz)
    frame = loaded.bars
    off_grid = _off_tick_grid(frame, tick_size)
    problems = list(loaded.problems)
    if off_grid.any():
        first_bad = frame.index[off_grid][0]
        problems.append(f"{int(off_grid.sum())} rows off the {tick_size} tick grid skipped, "
                        f"first at {first_bad}")
        frame = frame[~off_grid]
    if frame.empty:
        raise DataFileError(path, "no usable rows (" + "; ".join(
            content_free(problem) for problem in problems[:2]) + ")")
    native = _native_seconds(frame.index)
    wanted = bar_seconds or native
    if wanted < native:
        raise ConfigError(
            f"--bar-size of {wanted} s is finer than the file's {native}-second bars"
        )
    if wanted > native:
        if wanted % native:
            raise ConfigError(f"--bar-size of {wanted} s is not a multiple of the file's "
                              f"{native}-second bars")
        frame = _resample(frame, wanted)
    skipped = loaded.malformed_skipped + loaded.duplicates_dropped + int(off_grid.sum())
    columns = [frame[name].to_numpy(dtype=np.float64) for name in BAR_COLUMNS]
    ts_ns = frame.index.as_unit("ns").asi8
    return BarData(ts_ns, *columns, bar_seconds=wanted, rows_skipped=skipped,  # type: ignore
                   problems=tuple(problems), out_of_order=loaded.out_of_order,
                   order_problems=loaded.order_problems)


def _off_tick_grid(frame: pd.DataFrame, tick_size: float) -> np.ndarray:
    """Rows with a price off the tick grid; a column at a time, in two scratch arrays."""
    off_grid = np.zeros(len(frame), dtype=bool)
    ticks, error = np.empty(len(frame)), np.empty(len(frame))
    beyond = np.empty(len(frame), dtype=bool)
    for name in PRICE_COLUMNS:
        np.divide(frame[name].to_numpy(), tick_size, out=ticks)
        np.round(ticks, out=error)
        np.subtract(ticks, error, out=error)
        np.abs(error, out=error)
        np.greater(error, _TICK_TOLERANCE, out=beyond)
        off_grid |= beyond
    return off_grid


def parse_when(text: str | None, tz: str, end: bool = False) -> datetime | None:
    """Parse a --start/--end value (date or date-time, naive ones in ``tz``) to UTC.

    A bare ``--end`` date includes that whole day.
    """
    if text is None or not text.strip():
        return None
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"--tz: unknown timezone {tz!r}") from None
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ConfigError(
            f"{'--end' if end else '--start'}: {text!r} is not a date (YYYY-MM-DD) or an ISO "
            "date-time"
        ) from None
    date_only = len(text.strip()) <= 10
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    if end and date_only:
        value += timedelta(days=1)
    return value.astimezone(UTC)


def select_range(
    data: BarData, start: datetime | None, end: datetime | None, warmup_bars: int
) -> BarData:
    """Keep bars in [start, end) plus up to ``warmup_bars`` before start for warm-up."""
    if start is not None and end is not None and end <= start:
        raise ConfigError(f"empty date range: --end {end:%Y-%m-%d %H:%M} is not after "
                          f"--start {start:%Y-%m-%d %H:%M} (UTC)")
    lo = 0 if start is None else int(np.searchsorted(data.ts_ns, _ns(start), side="left"))
    hi = len(data) if end is None else int(np.searchsorted(data.ts_ns, _ns(end), side="left"))
    if hi <= lo:
        covered = f"{data.ts(0):%Y-%m-%d %H:%M} to {data.ts(len(data) - 1):%Y-%m-%d %H:%M} UTC"
        raise ConfigError(f"no bars in the requested date range; the data covers {covered}")
    begin = max(0, lo - warmup_bars)
    return data.slice(begin, hi, first=lo - begin)


def _ns(ts: datetime) -> int:
    return int(pd.Timestamp(ts).as_unit("ns").value)
