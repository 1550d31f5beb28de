"""A timestamped CSV of headlines (backtests, imports): ``time,headline[,source][,score]``.

``time`` is ISO 8601, the moment the headline was (or would have been) received; a time
without an offset is read in the given timezone. ``score`` in [-1, 1] is optional: rows that
have one keep it (e.g. an export of Comprehend scores), the rest are scored by the caller.
Any bad row refuses the whole file with one line naming the file, the line and the problem.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from shared.domain.errors import BadNewsFileError
from shared.domain.news import Headline, clean_headline

REQUIRED = ("time", "headline")
OPTIONAL = ("source", "score")
DEFAULT_SOURCE = "csv"


@dataclass(frozen=True, slots=True)
class CsvHeadline:
    """One row: the headline and, when the file had one, its score."""

    headline: Headline
    score: float | None
    line: int


def _zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise BadNewsFileError(f"unknown timezone {name!r}") from None


def _time(text: str, zone: ZoneInfo) -> datetime:
    value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    return value if value.tzinfo is not None else value.replace(tzinfo=zone)


def _score(text: str) -> float | None:
    if not text.strip():
        return None
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or not -1.0 <= value <= 1.0:
        raise ValueError(f"score {text!r} is not a number in [-1, 1]")
    return value


def read_headlines(path: Path, tz: str = "UTC") -> list[CsvHeadline]:
    """Every row of the file, in file order; BadNewsFileError on the first bad row."""
    zone = _zone(tz)
    try:
        handle = path.open(newline="", encoding="utf-8")
    except OSError as exc:
        raise BadNewsFileError(f"{path}: cannot read: {exc.strerror or exc}") from None
    with handle:
        try:
            reader = csv.DictReader(handle)
            columns = [c.strip().lower() for c in reader.fieldnames or []]
        except (csv.Error, UnicodeDecodeError) as exc:
            raise BadNewsFileError(f"{path} line 1: {exc}") from None
        missing = [c for c in REQUIRED if c not in columns]
        if missing:
            raise BadNewsFileError(f"{path} line 1: missing column(s) {', '.join(missing)}; "
                                   f"expected time,headline[,source][,score]")
        unknown = [c for c in columns if c not in REQUIRED + OPTIONAL]
        if unknown:
            raise BadNewsFileError(f"{path} line 1: unknown column(s) {', '.join(unknown)}")
        reader.fieldnames = columns
        rows = []
        try:
            for row in reader:
                rows.append(_row(path, reader.line_num, row, zone))
        except (csv.Error, UnicodeDecodeError) as exc:
            raise BadNewsFileError(f"{path} line {reader.line_num}: {exc}") from None
    return rows


def _row(path: Path, line: int, row: dict[str, str | None], zone: ZoneInfo) -> CsvHeadline:
    if None in row:
        raise BadNewsFileError(f"{path} line {line}: more fields than columns")
    when = (row.get("time") or "").strip()
    try:
        received = _time(when, zone)
    except ValueError:
        raise BadNewsFileError(f"{path} line {line}: time {when!r} is not an ISO 8601 time"
                               ) from None
    text = clean_headline(row.get("headline") or "")
    if not text:
        raise BadNewsFileError(f"{path} line {line}: empty headline")
    try:
        score = _score(row.get("score") or "")
    except ValueError as exc:
        raise BadNewsFileError(f"{path} line {line}: {exc}") from None
    source = (row.get("source") or "").strip() or DEFAULT_SOURCE
    return CsvHeadline(Headline(source, text, received), score, line)
