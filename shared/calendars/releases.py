"""Economic release times (CPI, NFP, FOMC...) from a user-editable CSV, for entry blackouts.

The file holds one release a line, ``date,time_et,event,status``, times in US Eastern time;
``#`` lines are comments. Reading it is the composition root's job (live loop, backtester): the
decision core gets the parsed, sorted ``Release`` values. A malformed line is refused with an
error naming the file and the line, never skipped silently.
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import UTC, date, datetime, time
from pathlib import Path
from zoneinfo import ZoneInfo

from shared.domain.errors import ConfigError

EASTERN = ZoneInfo("America/New_York")
COLUMNS = ("date", "time_et", "event", "status")
SHIPPED_RELEASES = Path(__file__).with_name("economic_releases.csv")
MAX_FILE_BYTES = 1_000_000


@dataclass(frozen=True, slots=True)
class Release:
    """One scheduled release, at a UTC instant."""

    at: datetime
    event: str
    status: str = ""


def releases_path(configured: str) -> Path:
    """The file named in ``protections.releases_file``, or the shipped one when empty."""
    return Path(configured) if configured.strip() else SHIPPED_RELEASES


def _parse_row(cells: list[str], where: str) -> Release:
    if len(cells) < 3 or len(cells) > len(COLUMNS):
        raise ConfigError(f"{where}: want {','.join(COLUMNS)} (status optional), got "
                          f"{len(cells)} field(s): {','.join(cells)!r}")
    day_text, time_text, event = (c.strip() for c in cells[:3])
    try:
        day = date.fromisoformat(day_text)
    except ValueError:
        raise ConfigError(f"{where}: date {day_text!r} is not YYYY-MM-DD") from None
    try:
        clock = time.fromisoformat(time_text)
    except ValueError:
        raise ConfigError(f"{where}: time_et {time_text!r} is not HH:MM") from None
    if not event:
        raise ConfigError(f"{where}: the event name is empty")
    at = datetime.combine(day, clock, EASTERN).astimezone(UTC)
    status = cells[3].strip() if len(cells) > 3 else ""
    return Release(at, event.upper(), status)


def parse_releases(text: str, source: str) -> tuple[Release, ...]:
    """Every release in ``text`` (the CSV), sorted by time; ``source`` names it in errors."""
    releases: list[Release] = []
    header_seen = False
    for number, cells in enumerate(csv.reader(io.StringIO(text)), start=1):
        if not cells or not "".join(cells).strip() or cells[0].lstrip().startswith("#"):
            continue
        if not header_seen:
            if tuple(c.strip() for c in cells[:3]) != COLUMNS[:3]:
                raise ConfigError(f"{source} line {number}: want the header "
                                  f"{','.join(COLUMNS)}, got {','.join(cells)!r}")
            header_seen = True
            continue
        releases.append(_parse_row(cells, f"{source} line {number}"))
    if not header_seen:
        raise ConfigError(f"{source}: no header line {','.join(COLUMNS)}")
    return tuple(sorted(releases, key=lambda r: r.at))


def load_releases(path: Path, events: tuple[str, ...]) -> tuple[Release, ...]:
    """The releases of the kinds in ``events`` from the CSV at ``path`` (sorted by time).

    A kind named in ``events`` that the file never lists is an error (a typo would otherwise
    leave the blackout silently empty).
    """
    try:
        if path.stat().st_size > MAX_FILE_BYTES:
            raise ConfigError(f"releases file {path} is larger than {MAX_FILE_BYTES:,} bytes")
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(f"releases file {path} does not exist "
                          "(protections.releases_file)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read releases file {path}: {exc}") from None
    releases = parse_releases(text, f"releases file {path}")
    listed = {r.event for r in releases}
    missing = [e for e in events if e not in listed]
    if missing:
        raise ConfigError(f"protections.blackout_events {', '.join(missing)}: not in releases "
                          f"file {path} (it lists {', '.join(sorted(listed)) or 'nothing'})")
    wanted = set(events)
    return tuple(r for r in releases if r.event in wanted)
