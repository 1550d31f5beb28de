"""A disk cache of the CME session clock's edges, so a process does not rebuild the calendar.

Computing every session's edges with exchange_calendars costs about a quarter of a second of CPU
(plus its import) at every bot start; the answer only changes with the date range, the library
versions and our own session code. An entry is one ``.npz`` file of plain arrays (no pickle)
under ``$TRADER_CACHE_DIR/sessions`` (default ``data/cache/sessions``), keyed by the range and a
fingerprint of those versions and sources, and carrying a SHA-256 digest of its arrays. A
missing, stale, unreadable or damaged entry is never trusted: the edges are computed afresh and
the entry rewritten (atomically), so a cache can make a start faster but never its sessions
different. It is an adapter (disk I/O), not part of the pure core: the core's clock takes the
columns it is given, and the processes that build one (live loop, backtests, review) ask
``cached_session_clock`` for it.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import tempfile
import zoneinfo
from collections.abc import Callable
from datetime import date
from functools import cache
from pathlib import Path

import numpy as np

from bot.core import sessions
from bot.core.sessions import CmeSessionClock, calendar_range

logger = logging.getLogger(__name__)

CACHE_ENV = "TRADER_CACHE_DIR"
DEFAULT_CACHE = Path("data/cache")
FORMAT_VERSION = 1
# The arrays of an entry and their kinds: the trading day's ordinal, then epoch seconds of each
# edge, then whether the NYSE trades that day.
COLUMNS: dict[str, str] = {
    "day": "i", "open": "f", "halt": "f", "end": "f", "break_end": "f", "pre_open": "f",
    "rth_open": "f", "midday": "f", "close_bucket": "f", "rth_end": "f", "cash": "b",
}
# Whatever can change a computed edge: the calendar library, pandas (holiday rules, time zones)
# and the time-zone database.
_DEPENDENCIES = ("exchange_calendars", "pandas", "tzdata")
# Entries kept (newest written first): the default range moves with the date, so a bot started
# every day writes a new entry a day; older ones are deleted.
MAX_ENTRIES = 16
_KEY = "__key__"
_DIGEST = "__digest__"

Columns = dict[str, np.ndarray]


def cache_folder() -> Path:
    """Where entries live: ``$TRADER_CACHE_DIR/sessions`` or ``data/cache/sessions``."""
    root = os.environ.get(CACHE_ENV, "").strip()
    return (Path(root) if root else DEFAULT_CACHE) / "sessions"


def _installed_version(package: str) -> str:
    """The ``*.dist-info`` folder name of an installed package (found without importing it)."""
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        return f"{package}:absent"
    site = Path(spec.origin).resolve().parent.parent
    found = sorted(p.name for p in site.glob(f"{package}-*.dist-info"))
    return ",".join(found) or f"{package}:{spec.origin}"


@cache
def fingerprint() -> str:
    """A hash of the format, the dependencies' versions and the session code's source."""
    digest = hashlib.sha256(f"format {FORMAT_VERSION}".encode())
    for package in _DEPENDENCIES:
        digest.update(_installed_version(package).encode())
    for path in (Path(__file__), Path(sessions.__file__)):
        digest.update(path.read_bytes())
    for folder in zoneinfo.TZPATH:  # the system's time-zone file, which zoneinfo prefers
        chicago = Path(folder) / "America" / "Chicago"
        if chicago.is_file():
            digest.update(chicago.read_bytes())
            break
    return digest.hexdigest()[:16]


def _key(first: date, last: date) -> str:
    return json.dumps({"first": first.isoformat(), "last": last.isoformat(),
                       "fingerprint": fingerprint()}, sort_keys=True)


def _digest(columns: Columns) -> str:
    digest = hashlib.sha256()
    for name in COLUMNS:
        array = np.ascontiguousarray(columns[name])
        digest.update(f"{name}:{array.dtype.str}:{array.shape}".encode())
        digest.update(array.tobytes())
    return digest.hexdigest()


def entry_path(first: date, last: date, folder: Path | None = None) -> Path:
    """The file of the entry for the calendar ``first``..``last``."""
    name = f"cmes-{first.isoformat()}-{last.isoformat()}-{fingerprint()}.npz"
    return (folder or cache_folder()) / name


def _check(columns: Columns) -> None:
    """Raise ValueError unless ``columns`` has the shape of a session table."""
    if set(columns) != set(COLUMNS):
        raise ValueError(f"columns {sorted(columns)}")
    lengths = {columns[name].shape for name in COLUMNS}
    if len(lengths) != 1 or len(next(iter(lengths))) != 1 or columns["day"].size == 0:
        raise ValueError(f"column shapes {lengths}")
    for name, kind in COLUMNS.items():
        if columns[name].dtype.kind != kind:
            raise ValueError(f"column {name} has dtype {columns[name].dtype}")
    if not (np.all(np.diff(columns["day"]) > 0) and np.all(np.diff(columns["end"]) > 0)
            and np.all(columns["open"] < columns["end"])):
        raise ValueError("sessions out of order")


def read_entry(path: Path, first: date, last: date) -> Columns:
    """The columns stored at ``path``; ValueError/OSError when missing, stale or damaged."""
    with np.load(path, allow_pickle=False) as stored:
        arrays = {name: stored[name] for name in stored.files}
    key = arrays.pop(_KEY, None)
    digest = arrays.pop(_DIGEST, None)
    if key is None or str(key) != _key(first, last):
        raise ValueError("stale key")
    _check(arrays)
    if digest is None or str(digest) != _digest(arrays):
        raise ValueError("digest mismatch")
    return arrays


def write_entry(path: Path, first: date, last: date, columns: Columns) -> None:
    """Store ``columns`` at ``path`` atomically (a reader sees the old file or the new one)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temp_name = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as out:
            np.savez(out, **columns, **{_KEY: np.array(_key(first, last)),
                                        _DIGEST: np.array(_digest(columns))})
        os.replace(temp_name, path)
    except BaseException:
        Path(temp_name).unlink(missing_ok=True)
        raise


def _written_at(path: Path) -> float:
    try:
        return path.stat().st_mtime
    except OSError:  # deleted meanwhile by another process's prune
        return 0.0


def prune(folder: Path, keep: int = MAX_ENTRIES) -> None:
    """Delete all but the ``keep`` most recently written entries in ``folder``."""
    entries = sorted(folder.glob("cmes-*.npz"), key=_written_at, reverse=True)
    for stale in entries[keep:]:
        stale.unlink(missing_ok=True)


def load_or_compute(
    first: date, last: date, compute: Callable[[date, date], Columns]
) -> Columns:
    """The session columns of ``first``..``last``: from the cache when its entry is sound,
    otherwise from ``compute`` (then stored for the next start)."""
    try:
        path = entry_path(first, last)
    except OSError as error:  # our sources unreadable (installed without them): no cache
        logger.warning("session cache unavailable (%s); computing the calendar", error)
        return compute(first, last)
    try:
        return read_entry(path, first, last)
    except FileNotFoundError:
        logger.debug("no session cache entry %s", path)
    except Exception as error:  # noqa: BLE001 - any damage means recompute, never trust it
        logger.warning("session cache entry %s unusable (%s); recomputing", path, error)
    columns = compute(first, last)
    try:
        _check(columns)
        write_entry(path, first, last, columns)
        prune(path.parent)
    except (OSError, ValueError) as error:
        logger.warning("could not write the session cache entry %s: %s", path, error)
    return columns


def cached_session_clock(
    start: date | str | None = None, end: date | str | None = None
) -> CmeSessionClock:
    """A ``CmeSessionClock`` over ``start``..``end`` (the calendar's defaults when None) whose
    edges come from the cache when it holds a sound entry, else computed and stored."""
    first, last = calendar_range(start, end)
    columns = load_or_compute(first, last, sessions.compute_session_columns)
    return CmeSessionClock(first, last, columns=columns)
