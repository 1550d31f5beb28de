"""Load historical bars from a CSV or Parquet file into one clean, UTC-indexed frame.

Header and column layout are detected; malformed rows are skipped, counted and named;
duplicate timestamps keep their first row; rows out of time order are counted, named and
sorted; naive timestamps are read in the caller's timezone. The result is sorted, unique and
free of NaN. A file that cannot be used at all (missing, binary or not UTF-8, empty, wrong
columns, no usable row) raises ``DataFileError``: the same one line for the live replay feed and
the backtester, which both exit 2 with it.
"""

from __future__ import annotations

import csv
import io
import logging
import re
import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import numpy as np
import pandas as pd

from bot.adapters.feeds.fast_csv import read_clean_csv
from shared.domain.errors import ConfigError, DataFileError
from shared.domain.models import Bar

logger = logging.getLogger(__name__)

PRICE_COLUMNS = ("open", "high", "low", "close")
BAR_COLUMNS = (*PRICE_COLUMNS, "volume")
MAX_PROBLEM_EXAMPLES = 8
MAX_DUPLICATE_EXAMPLES = 2
MAX_ORDER_EXAMPLES = 3
MAX_NAMES_SHOWN = 12
NO_DATA_ROWS = "no data rows"  # the reason for a file with a header (or schema) and no rows
_TIMESTAMP_NAMES = ("timestamp", "datetime", "date/time", "date_time", "ts")
_KNOWN_NAMES = frozenset((*_TIMESTAMP_NAMES, "date", "time", *BAR_COLUMNS))
_IB_PATTERN = r"\d{8} \d{2}:\d{2}:\d{2}"
_OFFSET_PATTERN = r".*\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|UTC|[+-]\d{2}(?::?\d{2})?)"

# One check on the parsed frame: (mask of failing rows, message for the given failing rows).
_Check = tuple[np.ndarray, Callable[[np.ndarray], object]]


@dataclass(frozen=True, eq=False)
class LoadedBars:
    """Bars read from one file, and what the load skipped and why.

    ``bars`` has a tz-aware UTC ``DatetimeIndex`` named ``ts`` (bar start time), sorted and
    unique, and float columns open, high, low, close, volume. Blank lines are not counted;
    ``rows_read == len(bars) + malformed_skipped + duplicates_dropped``. ``out_of_order``
    rows (earlier than a row above them) are kept and sorted; ``order_problems`` names the
    first few with their line numbers.
    """

    bars: pd.DataFrame
    rows_read: int
    malformed_skipped: int
    duplicates_dropped: int
    problems: tuple[str, ...]
    out_of_order: int = 0
    order_problems: tuple[str, ...] = ()


def load_bars(path: str | Path, timezone: str = "UTC", fast: bool = True) -> LoadedBars:
    """Load bars from a CSV or Parquet file, reading naive timestamps in ``timezone``.

    DST: a naive wall time that does not exist in ``timezone`` (inside the spring-forward
    hour) makes its row malformed rather than guessing; one that occurs twice (the fall-back
    hour) is read as daylight time where it first appears in the file and as standard time
    where it repeats, the order a vendor writing wall-clock time produces. Timestamps that
    carry their own UTC offset ignore ``timezone``. Raises DataFileError when the file is
    missing, unreadable, binary or not UTF-8, empty, lacks columns or has no usable row, and
    ConfigError for an unknown timezone. A clean CSV is read by the columnar fast path
    (``fast_csv``; ``fast=False`` skips it); everything it declines (a bad file included) is
    read here, row by row, so every problem and every DataFileError comes from this reader.
    """
    path = Path(path)
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"{path}: unknown timezone {timezone!r}") from None
    if not path.is_file():
        raise DataFileError(path, "not a file" if path.exists() else "the file does not exist")
    clean = read_clean_csv(path, timezone) if fast and path.suffix.lower() not in (
        ".parquet", ".pq") else None
    if clean is not None:
        loaded = LoadedBars(clean, len(clean), 0, 0, ())
        _log_summary(path, loaded)
        return loaded
    if path.suffix.lower() in (".parquet", ".pq"):
        raw, width_problems = _read_parquet(path), []
    else:
        raw, width_problems = _read_csv(path)
    rows_read = len(raw) + len(width_problems)
    if rows_read == 0:
        raise DataFileError(path, NO_DATA_ROWS)

    stamps, checks = _parse_timestamps(raw, timezone)
    frame = pd.DataFrame(
        {name: pd.to_numeric(raw[name], errors="coerce") for name in BAR_COLUMNS}
    ).astype("float64")
    frame.index = pd.DatetimeIndex(stamps, name="ts")
    reasons = _first_reasons(len(frame), [*checks, *_value_checks(frame, raw)])
    bad = ~pd.isna(reasons)
    lines = raw["line"].to_numpy()
    examples = width_problems + [(int(lines[i]), str(reasons[i])) for i in np.flatnonzero(bad)]
    examples = sorted(examples)[:MAX_PROBLEM_EXAMPLES]
    malformed = len(width_problems) + int(bad.sum())

    good = frame[~bad].assign(line=lines[~bad])
    repeated = good.index.duplicated(keep="first")  # dropped below, so never "out of order"
    out_of_order, order_problems = _order_problems(path, good[~repeated])
    good = good.sort_index(kind="mergesort")
    duplicated = good.index.duplicated(keep="first")
    problems = [f"{_where(path, line)}: {text}" for line, text in examples]
    if malformed > len(problems):
        problems.append(f"... and {malformed - len(problems)} more malformed rows")
    repeats = good[duplicated].head(MAX_DUPLICATE_EXAMPLES)
    for stamp, line in zip(repeats.index, repeats["line"], strict=True):
        problems.append(f"{_where(path, line)}: duplicate timestamp {stamp} (first row kept)")
    bars = good.loc[~duplicated, list(BAR_COLUMNS)]
    if bars.empty:
        first = f"; first problem: {content_free(problems[0])}" if problems else ""
        raise DataFileError(
            path, f"no usable rows ({rows_read} read, {malformed} malformed{first})"
        )
    loaded = LoadedBars(bars, rows_read, malformed, int(duplicated.sum()), tuple(problems),
                        out_of_order, order_problems)
    _log_summary(path, loaded)
    return loaded


_QUOTED = re.compile(r"""\s*:?\s*(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")""")


def content_free(problem: str) -> str:
    """A row problem without the cell text it quotes (``open is not a number: 'abc'`` becomes
    ``open is not a number``): a refusal of a whole file must not echo what the file holds."""
    return _QUOTED.sub("", problem)


def iter_bar_objects(frame: pd.DataFrame) -> Iterator[Bar]:
    """Yield one Bar per row of a ``LoadedBars.bars`` frame (tz-aware ``DatetimeIndex``)."""
    index = frame.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None:
        raise ValueError("frame must have a tz-aware DatetimeIndex, as LoadedBars.bars has")
    stamps = index.tz_convert("UTC").to_pydatetime()
    columns = [frame[name].astype("float64").tolist() for name in BAR_COLUMNS]
    for stamp, open_, high, low, close, volume in zip(stamps, *columns, strict=True):
        yield Bar(stamp.replace(tzinfo=UTC), open_, high, low, close, volume)


def _read_text(path: Path) -> str:
    """The file as text; DataFileError (with the line) for binary data or non-UTF-8 bytes."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise DataFileError(path, f"cannot read the file: {exc.strerror or exc}") from None
    nul = data.find(b"\x00")
    if nul >= 0:
        raise DataFileError(path, "binary data (a NUL byte), not CSV text",
                            data.count(b"\n", 0, nul) + 1)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataFileError(
            path, f"not UTF-8 text (byte 0x{data[exc.start]:02x}): binary or another encoding",
            data.count(b"\n", 0, exc.start) + 1,
        ) from None


def _read_csv(path: Path) -> tuple[pd.DataFrame, list[tuple[int, str]]]:
    """Read a CSV into text columns, plus the rows rejected for their field count."""
    text = _read_text(path)
    first_line = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=first_line.count)
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    try:
        rows = [(reader.line_num, fields) for fields in reader if "".join(fields).strip()]
    except csv.Error as exc:
        raise DataFileError(path, f"not CSV text: {exc}", reader.line_num) from None
    if not rows:
        raise DataFileError(path, "the file is empty")
    mapping, has_header = _layout(path, rows[0][1])
    width = len(rows[0][1])
    problems: list[tuple[int, str]] = []
    kept: list[tuple[int, list[str]]] = []
    for line, fields in rows[1:] if has_header else rows:
        if len(fields) == width:
            kept.append((line, fields))
        else:
            problems.append((line, f"expected {width} fields, found {len(fields)}"))
    cells = list(zip(*(fields for _, fields in kept), strict=True)) or [()] * width
    table: dict[str, object] = {"line": [line for line, _ in kept]}
    for name, positions in mapping.items():
        parts = [cells[position] for position in positions]
        table[name] = (
            parts[0] if len(parts) == 1 else [" ".join(p) for p in zip(*parts, strict=True)]
        )
    return pd.DataFrame(table), problems


def _layout(path: Path, first_row: list[str]) -> tuple[dict[str, list[int]], bool]:
    """Map canonical names to field positions: from the header, or by position without one."""
    names = [cell.strip().strip('"').lower() for cell in first_row]
    if any(name in _KNOWN_NAMES for name in names) or not _looks_like_data(first_row):
        return _map_columns(path, names), True
    if len(first_row) < 6:
        raise DataFileError(
            path, f"no header and only {len(first_row)} columns; "
            "expected timestamp, open, high, low, close, volume"
        )
    return {"ts": [0], **{name: [i + 1] for i, name in enumerate(BAR_COLUMNS)}}, False


def _map_columns(path: Path, names: list[str]) -> dict[str, list[int]]:
    """Find the timestamp (or date + time) and OHLCV columns among lower-cased names."""
    found = {name: i for i, name in reversed(list(enumerate(names)))}
    stamp = next((name for name in _TIMESTAMP_NAMES if name in found), None)
    mapping = {"ts": [found[stamp]]} if stamp else {}
    if not mapping and ("date" in found or "time" in found):
        mapping["ts"] = [found[name] for name in ("date", "time") if name in found]
    mapping.update({name: [found[name]] for name in BAR_COLUMNS if name in found})
    missing = [name for name in ("ts", *BAR_COLUMNS) if name not in mapping]
    if missing:
        wanted = ", ".join("timestamp" if name == "ts" else name for name in missing)
        # only names from our own vocabulary: the first line of an arbitrary file is its
        # content (a password hash, a key), never to be echoed in an error
        known = [name for name in names if name in _KNOWN_NAMES][:MAX_NAMES_SHOWN]
        recognised = f"recognised: {', '.join(known)}" if known else "none recognised"
        raise DataFileError(path, f"missing column(s) {wanted}; found {len(names)} column(s), "
                                  f"{recognised}")
    return mapping


def _looks_like_data(fields: list[str]) -> bool:
    if len(fields) < 5:
        return False
    first = pd.Series([" ".join(fields[0].split())])
    stamp = pd.to_datetime(first, format="mixed", errors="coerce", utc=True)
    numbers = pd.to_numeric(pd.Series(fields[1:5]).str.strip(), errors="coerce")
    return bool(stamp.notna().all() and numbers.notna().all())


def _read_parquet(path: Path) -> pd.DataFrame:
    try:
        table = pd.read_parquet(path)
    except (OSError, ValueError) as exc:  # pyarrow's ArrowInvalid is a ValueError
        raise DataFileError(path, f"not a readable Parquet file: {exc}") from None
    table.columns = [str(name).strip().lower() for name in table.columns]
    has_stamp = {*_TIMESTAMP_NAMES, "date", "time"}.intersection(table.columns)
    if not has_stamp and isinstance(table.index, pd.DatetimeIndex):
        table = table.reset_index(names="ts")
    mapping = _map_columns(path, list(table.columns))
    raw = pd.DataFrame({"line": np.arange(1, len(table) + 1)})
    for name, positions in mapping.items():
        if len(positions) == 1:
            raw[name] = table.iloc[:, positions[0]].to_numpy()
        else:
            raw[name] = table.iloc[:, positions].astype(str).agg(" ".join, axis=1).to_numpy()
    return raw


def _parse_timestamps(raw: pd.DataFrame, timezone: str) -> tuple[pd.Series, list[_Check]]:
    """Return UTC timestamps (NaT where unusable) and the checks that explain each NaT."""
    column = raw["ts"]
    if isinstance(column.dtype, pd.DatetimeTZDtype):
        utc = column.dt.tz_convert("UTC")
        return utc, [(utc.isna().to_numpy(), lambda _: "missing timestamp")]
    if pd.api.types.is_datetime64_dtype(column.dtype):
        text, parsed = column.astype(str), column
        aware = np.zeros(len(column), dtype=bool)
    else:
        text = column.astype(str).str.strip().str.replace(r"\s+", " ", regex=True)
        parsed, aware = _parse_text(text)
    majority_aware = bool(aware.mean() > 0.5)
    mismatch = aware != majority_aware
    unparsed = parsed.isna().to_numpy() & ~mismatch
    checks: list[_Check] = [
        (unparsed, lambda rows: "unparseable timestamp " + text.iloc[rows].map(repr)),
        (
            mismatch,
            lambda _: (
                f"timestamp {'lacks' if majority_aware else 'has'} a UTC offset, "
                "unlike the rest of the file"
            ),
        ),
    ]
    if majority_aware:
        return parsed.where(~mismatch), checks
    naive = parsed.where(~mismatch)
    first_seen = ~naive.duplicated(keep="first").to_numpy()
    local = naive.dt.tz_localize(timezone, ambiguous=first_seen, nonexistent="NaT")
    gap = local.isna().to_numpy() & naive.notna().to_numpy()
    checks.append((gap, lambda _: f"local time does not exist in {timezone} (DST change)"))
    return local.dt.tz_convert("UTC"), checks


def _parse_text(text: pd.Series) -> tuple[pd.Series, np.ndarray]:
    """Parse timestamp strings; return wall-clock (or UTC, if offsets) and which had an offset."""
    aware = text.str.fullmatch(_OFFSET_PATTERN).fillna(False).to_numpy(dtype=bool)
    if text.str.fullmatch(_IB_PATTERN).mean() > 0.5:
        return pd.to_datetime(text, format="%Y%m%d %H:%M:%S", errors="coerce"), aware
    # utc=True never fails on mixed offsets; naive strings keep their digits, read as UTC.
    parsed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=True)
    if parsed.notna().mean() < 0.5:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            inferred = pd.to_datetime(text, errors="coerce", utc=True)
        if inferred.notna().sum() > parsed.notna().sum():
            parsed = inferred
    if aware.mean() > 0.5:
        return parsed, aware
    return parsed.dt.tz_localize(None), aware


def _order_problems(path: Path, rows: pd.DataFrame) -> tuple[int, tuple[str, ...]]:
    """Count the rows (in file order) that break the time order; name the first few.

    Two readings of the same disorder: rows earlier than a row above them ("late" rows), or
    rows later than a row below them ("early" rows). The smaller set is the one to fix: one
    row dated 2099 in the middle of a file is one early row, not every row after it late. On a
    tie the late rows are named (a swapped pair: the second row of the pair).
    """
    stamps = pd.DatetimeIndex(rows.index).as_unit("ns").asi8
    if len(stamps) < 2:
        return 0, ()
    latest = np.maximum.accumulate(stamps)
    late = np.flatnonzero(stamps[1:] < latest[:-1]) + 1
    if len(late) == 0:
        return 0, ()
    earliest_below = np.minimum.accumulate(stamps[::-1])[::-1]
    early = np.flatnonzero(stamps[:-1] > earliest_below[1:])
    lines = rows["line"].to_numpy()
    if len(early) < len(late):
        return len(early), tuple(
            f"{_where(path, lines[i])}: timestamp {rows.index[i]} is out of order (later than "
            f"{pd.Timestamp(earliest_below[i + 1], tz='UTC')} below it)"
            for i in early[:MAX_ORDER_EXAMPLES]
        )
    return len(late), tuple(
        f"{_where(path, lines[i])}: timestamp {rows.index[i]} is out of order (earlier than "
        f"{pd.Timestamp(latest[i - 1], tz='UTC')} above it)"
        for i in late[:MAX_ORDER_EXAMPLES]
    )


def _value_checks(frame: pd.DataFrame, raw: pd.DataFrame) -> list[_Check]:
    """The price and volume checks, in the order their reasons are reported."""
    low, high = frame["low"].to_numpy(), frame["high"].to_numpy()
    checks: list[_Check] = []
    for name in BAR_COLUMNS:
        finite = np.isfinite(frame[name].to_numpy())
        checks.append((~finite, _text_message(f"{name} is not a number: ", raw[name])))
    lowest = frame[list(PRICE_COLUMNS)].to_numpy().min(axis=1)
    checks.append((lowest <= 0, lambda rows: [f"price {lowest[i]} is not positive" for i in rows]))
    checks.append((high < low, lambda rows: [f"high {high[i]} below low {low[i]}" for i in rows]))
    for name in ("open", "close"):
        value = frame[name].to_numpy()
        outside = (value < low) | (value > high)
        checks.append((outside, _range_message(name, value, low, high)))
    checks.append((frame["volume"].to_numpy() < 0, lambda _: "negative volume"))
    return checks


def _text_message(prefix: str, column: pd.Series) -> Callable[[np.ndarray], object]:
    return lambda rows: [prefix + repr(str(value)) for value in column.iloc[rows]]


def _range_message(
    name: str, value: np.ndarray, low: np.ndarray, high: np.ndarray
) -> Callable[[np.ndarray], object]:
    return lambda rows: [f"{name} {value[i]} outside [{low[i]}, {high[i]}]" for i in rows]


def _first_reasons(count: int, checks: list[_Check]) -> np.ndarray:
    """Return, per row, the message of the first failing check (None when all pass)."""
    reasons = np.full(count, None, dtype=object)
    for mask, message in checks:
        rows = np.flatnonzero(mask & pd.isna(reasons))
        if len(rows):
            text = message(rows)
            reasons[rows] = text if isinstance(text, str) else np.asarray(text, dtype=object)
    return reasons


def _where(path: Path, line: object) -> str:
    kind = "row" if path.suffix.lower() in (".parquet", ".pq") else "line"
    return f"{path.name} {kind} {line}"


def _log_summary(path: Path, loaded: LoadedBars) -> None:
    level = logging.WARNING if loaded.malformed_skipped or loaded.out_of_order else logging.INFO
    logger.log(
        level,
        "loaded %d bars from %s (%d rows read, %d malformed, %d duplicates dropped, "
        "%d out of order sorted)",
        len(loaded.bars),
        path,
        loaded.rows_read,
        loaded.malformed_skipped,
        loaded.duplicates_dropped,
        loaded.out_of_order,
    )
    for problem in (*loaded.problems, *loaded.order_problems):
        logger.log(level, "bar file problem: %s", problem)
