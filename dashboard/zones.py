"""Display time zone: every time on every page is shown in the one zone the user picked.

The sidebar selector stores the zone in ``st.session_state[ZONE_KEY]``; pages and views convert
through these helpers and name the zone next to what they show. The default is the exchange's
own time, America/Chicago (CME Globex days run 17:00 to 16:00 CT).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time
from zoneinfo import ZoneInfo

import pandas as pd

EXCHANGE_ZONE = "America/Chicago"
ZONES = (EXCHANGE_ZONE, "UTC", "America/New_York", "Europe/London", "Europe/Berlin",
         "Asia/Tokyo")
ZONE_KEY = "display_zone"
ZONE_PARAM = "tz"  # the URL query parameter remembering the choice across reloads
SESSION_OPEN_CT = time(17, 0)
TIME_FORMAT = "%Y-%m-%d %H:%M:%S"
# A UTC time written into a message (alerts write ``2025-03-03 15:00:00 UTC``; older rows ``Z``)
UTC_IN_TEXT = re.compile(r"(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}:\d{2})(?:Z| UTC)\b")


SELECTOR_LABELS = {EXCHANGE_ZONE: "Chicago (CT) · exchange", "UTC": "UTC",
                   "America/New_York": "New York (ET)", "Europe/London": "London",
                   "Europe/Berlin": "Berlin / Frankfurt", "Asia/Tokyo": "Tokyo"}


def selector_label(zone: str) -> str:
    """A short name for the sidebar's selector (fits its width)."""
    return SELECTOR_LABELS.get(zone, zone)


def zone_label(zone: str) -> str:
    """How the zone is named on the page: ``America/Chicago (CT, exchange)``."""
    if zone == EXCHANGE_ZONE:
        return f"{zone} (CT, exchange time)"
    return zone


def short_name(zone: str, at: datetime | None = None) -> str:
    """The zone's abbreviation at ``at`` (CST/CDT, UTC, ...), for compact labels."""
    moment = at or datetime.now(ZoneInfo("UTC"))
    return moment.astimezone(ZoneInfo(zone)).tzname() or zone


def fmt_time(ts: datetime | pd.Timestamp | None, zone: str, pattern: str = TIME_FORMAT) -> str:
    """A tz-aware time as text in ``zone`` with its abbreviation (``2025-03-03 09:15:00 CST``)."""
    if ts is None or (isinstance(ts, float)) or pd.isna(ts):
        return "–"
    local = pd.Timestamp(ts).tz_convert(zone) if pd.Timestamp(ts).tzinfo else (
        pd.Timestamp(ts).tz_localize("UTC").tz_convert(zone))
    return f"{local.strftime(pattern)} {local.tzname()}"


def in_zone(frame: pd.DataFrame, zone: str, columns: tuple[str, ...] | None = None
            ) -> pd.DataFrame:
    """A copy with its time columns (tz-aware, or ISO-8601 text in ``columns``) and a datetime
    index converted to ``zone``, so tables and charts show wall-clock times there."""
    result = frame.copy()
    names = list(columns or ())
    names += [c for c in result.columns if isinstance(result[c].dtype, pd.DatetimeTZDtype)]
    for name in dict.fromkeys(names):
        if name in result.columns:
            result[name] = pd.to_datetime(result[name], utc=True, format="ISO8601"
                                          ).dt.tz_convert(zone)
    if isinstance(result.index, pd.DatetimeIndex) and result.index.tz is not None:
        result.index = result.index.tz_convert(zone)
    return result


def session_hour_order(zone: str, on: datetime | None = None) -> list[int]:
    """The 24 clock hours of ``zone`` in Globex session order: from the hour holding the 17:00 CT
    open onwards (17, 18, ..., 16 in Chicago; 23, 0, ..., 22 in UTC in winter)."""
    day = (on or datetime.now(ZoneInfo("UTC"))).date()
    open_ct = datetime.combine(day, SESSION_OPEN_CT, tzinfo=ZoneInfo(EXCHANGE_ZONE))
    first = open_ct.astimezone(ZoneInfo(zone)).hour
    return [(first + step) % 24 for step in range(24)]


def text_in_zone(text: str | None, zone: str) -> str | None:
    """A message with each UTC time in it rewritten in ``zone`` with its abbreviation, so a
    table shown in CT carries no UTC text (``... 15:00:00 UTC`` -> ``... 09:00:00 CST``)."""
    if not text:
        return text

    def local(match: re.Match[str]) -> str:
        moment = datetime.fromisoformat(f"{match.group(1)}T{match.group(2)}").replace(tzinfo=UTC)
        return fmt_time(moment, zone)

    return UTC_IN_TEXT.sub(local, text)


def texts_in_zone(frame: pd.DataFrame, zone: str, columns: tuple[str, ...]) -> pd.DataFrame:
    """A copy whose text ``columns`` have their UTC times rewritten in ``zone``."""
    result = frame.copy()
    for name in columns:
        if name in result.columns:
            result[name] = pd.Series([text_in_zone(v, zone) if isinstance(v, str) else v
                                      for v in result[name]], index=result.index, dtype=object)
    return result


def fmt_iso(text: str, zone: str) -> str:
    """An ISO time written by another process (a lock file), in ``zone``; the text as it is
    when it is not a time with an offset."""
    try:
        ts = datetime.fromisoformat(text)
    except (TypeError, ValueError):
        return text
    return fmt_time(ts, zone) if ts.tzinfo is not None else text
