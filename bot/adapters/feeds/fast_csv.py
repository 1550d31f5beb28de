"""Columnar fast path for clean bar CSV files: pyarrow reads a million rows in under a second.

``read_clean_csv`` answers only for a clean file: the layout is recognised (a header naming the
columns, or six or more columns by position), every row has the first row's field count, every
timestamp is in one recognised format (ISO 8601 without or with a UTC offset, or IB's
``YYYYMMDD  HH:MM:SS``), every value passes the careful reader's checks, and the bars are strictly
increasing in time once in UTC. Then there is nothing to report, and the frame equals the one the
careful reader (``replay.load_bars``) builds. Anything else (a malformed, duplicate or
out-of-order row, a blank first line, an odd layout, bytes that are not UTF-8) returns None and
the careful reader loads the file, naming every problem with its file and line. The fast path
never reports a problem itself, so the two can never disagree on one.
"""

from __future__ import annotations

import codecs
import csv
import logging
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

logger = logging.getLogger(__name__)

# The careful reader's column names (replay.py); tests check that both paths agree on them.
PRICE_COLUMNS = ("open", "high", "low", "close")
BAR_COLUMNS = (*PRICE_COLUMNS, "volume")
TIMESTAMP_NAMES = ("timestamp", "datetime", "date/time", "date_time", "ts")
KNOWN_NAMES = frozenset((*TIMESTAMP_NAMES, "date", "time", *BAR_COLUMNS))
_FIRST_LINE_BYTES = 65_536
_BLOCK_BYTES = 1 << 20  # pyarrow holds several blocks: 4 MB ones cost ~70 MB more peak RSS

# Whole-column timestamp formats (RE2 syntax), each with the cast that parses it exactly as
# the careful reader's pandas calls do. Fractions beyond microseconds are left to that reader.
_CLOCK = r"\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?"
_NAIVE_ISO = rf"^\d{{4}}-\d{{2}}-\d{{2}}[T ]{_CLOCK}$"
_AWARE_ISO = rf"^\d{{4}}-\d{{2}}-\d{{2}}[T ]{_CLOCK}(?:Z|[+-]\d{{2}}(?::?\d{{2}})?)$"
_IB = r"^\d{8}\s+\d{2}:\d{2}:\d{2}$"
_FORMATS = (("ib", _IB), ("naive", _NAIVE_ISO), ("aware", _AWARE_ISO))


def read_clean_csv(path: Path, timezone: str) -> pd.DataFrame | None:
    """The bars of a clean CSV file as the careful reader builds them, or None to defer to it.

    The frame has a UTC ``DatetimeIndex`` named ``ts`` (strictly increasing) and float64
    columns open, high, low, close, volume. ``timezone`` is a valid zone name (the caller
    checked it); naive timestamps are read in it. The file is read once, by pyarrow in 1 MB
    blocks with typed columns, each checked whole and copied straight into the final columns,
    so memory stays near the size of the bars, not of the text.
    """
    try:
        layout = _layout(path)
        if layout is None:
            return None
        delimiter, header, mapping, width = layout
        if not _reads_every_column(mapping, width) and not _is_text(path):
            return None
        columns = _read_columns(path, *layout)
        if columns is None:
            return None
        kind, ts_us, values = columns
        stamps = _to_utc(ts_us, kind, timezone)
    except (pa.ArrowException, UnicodeDecodeError, ValueError, OSError, csv.Error) as exc:
        logger.debug("fast CSV path declined %s: %s", path, exc)
        return None
    if stamps is None or not _values_pass(values) or not bool(np.all(np.diff(stamps.asi8) > 0)):
        return None
    return pd.DataFrame(values, index=stamps, copy=False)


def _layout(path: Path) -> tuple[str, bool, dict[str, list[int]], int] | None:
    """Delimiter, header or not, canonical name -> field positions, and the row width."""
    with path.open("rb") as handle:
        head = handle.read(_FIRST_LINE_BYTES)
    first_line, newline, _ = head.partition(b"\n")
    if (not newline and len(head) == _FIRST_LINE_BYTES) or b"\x00" in first_line:
        return None
    text = first_line.decode("utf-8-sig").removesuffix("\r")
    if not text.strip() or "\r" in text:
        return None  # a blank first line, or lone CR line ends: left to the careful reader
    delimiter = max(",;\t", key=text.count)
    fields = next(csv.reader([text], delimiter=delimiter))
    names = [cell.strip().strip('"').lower() for cell in fields]
    if any(name in KNOWN_NAMES for name in names):
        mapping = _map_columns(names)
        return None if mapping is None else (delimiter, True, mapping, len(fields))
    if len(fields) < 6 or not _looks_like_data(fields):
        return None  # the careful reader says what is missing
    positions = {"ts": [0], **{name: [i + 1] for i, name in enumerate(BAR_COLUMNS)}}
    return delimiter, False, positions, len(fields)


def _map_columns(names: list[str]) -> dict[str, list[int]] | None:
    """As the careful reader maps a header: first occurrence wins; date + time when no stamp."""
    found = {name: i for i, name in reversed(list(enumerate(names)))}
    stamp = next((name for name in TIMESTAMP_NAMES if name in found), None)
    mapping = {"ts": [found[stamp]]} if stamp else {}
    if not mapping and ("date" in found or "time" in found):
        mapping["ts"] = [found[name] for name in ("date", "time") if name in found]
    mapping.update({name: [found[name]] for name in BAR_COLUMNS if name in found})
    return mapping if all(name in mapping for name in ("ts", *BAR_COLUMNS)) else None


def _looks_like_data(fields: list[str]) -> bool:
    first = pd.Series([" ".join(fields[0].split())])
    stamp = pd.to_datetime(first, format="mixed", errors="coerce", utc=True)
    numbers = pd.to_numeric(pd.Series(fields[1:5]).str.strip(), errors="coerce")
    return bool(stamp.notna().all() and numbers.notna().all())


def _reads_every_column(mapping: dict[str, list[int]], width: int) -> bool:
    """Whether every field of every row is converted (so pyarrow sees every byte after the
    first line: float fields must parse, text fields are UTF-8 checked and must then match a
    timestamp format, neither of which a NUL byte or a non-UTF-8 byte can pass)."""
    used = {position for positions in mapping.values() for position in positions}
    return len(used) == width


def _read_columns(
    path: Path, delimiter: str, header: bool, mapping: dict[str, list[int]], width: int
) -> tuple[str, np.ndarray, dict[str, np.ndarray]] | None:
    """Timestamps (microseconds, wall clock or UTC by format) and the five float columns."""
    names = [f"f{i}" for i in range(width)]
    types = {names[i]: pa.string() for i in mapping["ts"]}
    types.update({names[mapping[name][0]]: pa.float64() for name in BAR_COLUMNS})
    reader = pa_csv.open_csv(
        path,
        read_options=pa_csv.ReadOptions(column_names=names, skip_rows=1 if header else 0,
                                        block_size=_BLOCK_BYTES, use_threads=False),
        parse_options=pa_csv.ParseOptions(delimiter=delimiter),
        convert_options=pa_csv.ConvertOptions(column_types=types, include_columns=list(types),
                                              strings_can_be_null=False),
    )
    columns = _Columns(_row_estimate(path))
    kind = None
    for batch in reader:
        if batch.num_rows == 0:
            continue
        floats = [batch.column(names[mapping[name][0]]) for name in BAR_COLUMNS]
        if any(column.null_count for column in floats):
            return None
        parts = [batch.column(names[i]) for i in mapping["ts"]]
        text = parts[0] if len(parts) == 1 else pc.binary_join_element_wise(*parts, " ")
        kind = kind or _format_of(text)
        parsed = None if kind is None else _parse(text, kind)
        if parsed is None:
            return None
        columns.add(parsed, [column.to_numpy() for column in floats])
    if kind is None:
        return None
    return kind, *columns.result()


def _row_estimate(path: Path) -> int:
    """Rows to allocate for: the file size over the head's mean line length, with room."""
    with path.open("rb") as handle:
        head = handle.read(_FIRST_LINE_BYTES)
    lines = max(head.count(b"\n"), 1)
    return int(path.stat().st_size * lines / max(len(head), 1) * 1.1) + 1024


class _Columns:
    """The output columns, filled batch by batch and grown if the estimate falls short (unused
    room is never touched, so it costs address space, not memory)."""

    def __init__(self, capacity: int) -> None:
        self.rows = 0
        self.ts_us = np.empty(capacity, dtype=np.int64)
        self.values = {name: np.empty(capacity) for name in BAR_COLUMNS}

    def add(self, ts_us: np.ndarray, floats: list[np.ndarray]) -> None:
        end = self.rows + len(ts_us)
        if end > len(self.ts_us):
            self.ts_us = _grown(self.ts_us, self.rows, end)
            self.values = {name: _grown(v, self.rows, end) for name, v in self.values.items()}
        self.ts_us[self.rows : end] = ts_us
        for name, column in zip(BAR_COLUMNS, floats, strict=True):
            self.values[name][self.rows : end] = column
        self.rows = end

    def result(self) -> tuple[np.ndarray, dict[str, np.ndarray]]:
        rows = self.rows
        return self.ts_us[:rows], {name: column[:rows] for name, column in self.values.items()}


def _grown(array: np.ndarray, rows: int, needed: int) -> np.ndarray:
    bigger = np.empty(max(needed, 2 * len(array)), dtype=array.dtype)
    bigger[:rows] = array[:rows]
    return bigger


def _is_text(path: Path) -> bool:
    """Whether the file holds no NUL byte and only UTF-8, read in chunks.

    pyarrow never looks at the columns it skips, so a NUL byte or bytes that are not UTF-8
    anywhere in the file send it to the careful reader, which refuses it naming the line.
    """
    decoder = codecs.getincrementaldecoder("utf-8")()
    with path.open("rb") as handle:
        while chunk := handle.read(1 << 22):
            if b"\x00" in chunk:
                return False
            if not chunk.isascii():
                decoder.decode(chunk)  # raises UnicodeDecodeError: declined by the caller
    decoder.decode(b"", final=True)
    return True


def _format_of(text: pa.Array) -> str | None:
    stripped = text[0].as_py().strip()
    return next((kind for kind, pattern in _FORMATS if re.fullmatch(pattern[1:-1], stripped)),
                None)


def _parse(text: pa.Array, kind: str) -> np.ndarray | None:
    """Microseconds since the epoch of each timestamp (all in format ``kind``), or None."""
    pattern = dict(_FORMATS)[kind]
    first = text[0].as_py()
    if _shaped_like_first(text, first):
        # every stamp has the first one's digits where it has digits and its other characters
        # elsewhere: each takes the first one's path through the format, so checking the
        # first checks them all (the patterns' only class holding digits is \d)
        if not pc.match_substring_regex(pa.array([first.strip()]), pattern)[0].as_py():
            return None
        trimmed = text if first == first.strip() else pc.utf8_trim_whitespace(text)
    else:
        trimmed = pc.utf8_trim_whitespace(text)
        if not pc.all(pc.match_substring_regex(trimmed, pattern)).as_py():
            return None
    if kind == "ib":
        single = pc.replace_substring_regex(trimmed, r"\s+", " ")
        parsed = pc.strptime(single, format="%Y%m%d %H:%M:%S", unit="us")
    else:
        parsed = pc.cast(trimmed, pa.timestamp("us", tz="UTC" if kind == "aware" else None))
    return parsed.cast(pa.int64()).to_numpy()


def _shaped_like_first(text: pa.Array, first: str) -> bool:
    """Whether every string has the first one's length, an ASCII digit wherever the first has
    one and the first one's byte everywhere else (vectorised over the array's bytes)."""
    template = np.frombuffer(first.encode(), dtype=np.uint8)
    width = len(template)
    lengths = pc.min_max(pc.binary_length(text))
    if width == 0 or lengths["min"].as_py() != width or lengths["max"].as_py() != width:
        return False
    digit = (template >= ord("0")) & (template <= ord("9"))
    low = np.where(digit, ord("0"), template).astype(np.uint8)
    span = np.where(digit, 9, 0).astype(np.uint8)
    if text.type != pa.string():
        return False
    _, offsets, data = text.buffers()
    start = int(np.frombuffer(offsets, dtype=np.int32, count=1, offset=text.offset * 4)[0])
    cells = np.frombuffer(data, dtype=np.uint8, count=len(text) * width, offset=start)
    return bool(((cells.reshape(-1, width) - low) <= span).all())  # uint8 wraps below low


def _to_utc(ts_us: np.ndarray, kind: str, timezone: str) -> pd.DatetimeIndex | None:
    """UTC bar times; naive ones are read in ``timezone`` (None if one does not exist there)."""
    if kind == "aware":
        return pd.DatetimeIndex(ts_us.view("M8[us]"), name="ts").tz_localize("UTC")
    wall = pd.DatetimeIndex(ts_us.view("M8[us]"))
    first_seen = ~wall.duplicated(keep="first")  # fall-back hour: daylight first, then standard
    local = wall.tz_localize(timezone, ambiguous=first_seen, nonexistent="NaT")
    if local.hasnans:
        return None  # a wall time inside a DST gap: the careful reader names its line
    return local.tz_convert("UTC").rename("ts")


def _values_pass(columns: dict[str, np.ndarray]) -> bool:
    """Whether every row passes the careful reader's value checks."""
    open_, high, low, close, volume = (columns[name] for name in BAR_COLUMNS)
    good = np.isfinite(volume) & (volume >= 0)
    for price in (open_, high, low, close):
        good &= np.isfinite(price) & (price > 0)
    good &= (high >= low) & (open_ >= low) & (open_ <= high) & (close >= low) & (close <= high)
    return bool(good.all())
