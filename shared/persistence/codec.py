"""How values are stored: timestamps as ISO-8601 UTC text (sortable, comparable).
"""

from __future__ import annotations

from datetime import UTC, datetime


def to_text(ts: datetime) -> str:
    """Render a tz-aware timestamp as ISO-8601 UTC text."""
    if ts.tzinfo is UTC:  # the common case (every bar and decision): nothing to convert
        return ts.isoformat()
    if ts.tzinfo is None:
        raise ValueError(f"naive timestamp {ts!r}: every stored time must be tz-aware")
    return ts.astimezone(UTC).isoformat()


def from_text(text: str) -> datetime:
    """Parse stored ISO-8601 text back to a tz-aware UTC datetime."""
    return datetime.fromisoformat(text).astimezone(UTC)


def optional_ts(text: str | None) -> datetime | None:
    return from_text(text) if text else None
