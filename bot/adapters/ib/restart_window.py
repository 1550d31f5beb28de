"""Is a UTC instant inside IB Gateway's daily restart window, or its entry pause? (pure)

The window is a local wall-clock time in a named zone, so it follows daylight saving: 23:45
America/New_York is 03:45 UTC in summer and 04:45 UTC in winter. A window may cross local
midnight; the one that started the local day before is checked too.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from shared.config.ib_gateway import RestartWindowConfig


def _windows(cfg: RestartWindowConfig, now_utc: datetime) -> list[tuple[datetime, datetime]]:
    """The windows (UTC start, UTC end) that began on the local day of ``now_utc`` or before."""
    zone = ZoneInfo(cfg.timezone)
    local_day = now_utc.astimezone(zone).date()
    spans = []
    for back in (1, 0):
        day = local_day - timedelta(days=back)
        start = datetime.combine(day, cfg.start, tzinfo=zone).astimezone(UTC)
        spans.append((start, start + timedelta(minutes=cfg.duration_minutes)))
    return spans


def in_restart_window(cfg: RestartWindowConfig, now_utc: datetime) -> bool:
    """Whether a disconnect at ``now_utc`` is IB Gateway's expected daily restart."""
    if not cfg.enabled:
        return False
    return any(start <= now_utc < end for start, end in _windows(cfg, now_utc))


def entries_paused(cfg: RestartWindowConfig, now_utc: datetime) -> bool:
    """Whether a new entry at ``now_utc`` falls in the window widened by its pause margins."""
    if not cfg.enabled:
        return False
    before = timedelta(minutes=cfg.pause_before_minutes)
    after = timedelta(minutes=cfg.pause_after_minutes)
    checked = [now_utc, now_utc + before]  # a window that starts within the margin counts too
    return any(start - before <= now_utc < end + after
               for at in checked for start, end in _windows(cfg, at))


def describe(cfg: RestartWindowConfig) -> str:
    """The window in words for messages: ``23:45 America/New_York for 15 min``."""
    return f"{cfg.start:%H:%M} {cfg.timezone} for {cfg.duration_minutes:g} min"
