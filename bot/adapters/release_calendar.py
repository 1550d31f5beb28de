"""Load the economic-release calendar the protections' blackouts use (file I/O, at start).

The live loop and the backtester both build it here, so both refuse the same entries.
"""

from __future__ import annotations

from bot.core.protections import NO_RELEASES, ReleaseCalendar
from shared.calendars.releases import load_releases, releases_path
from shared.config.protections import ProtectionsConfig


def release_calendar(cfg: ProtectionsConfig) -> ReleaseCalendar:
    """The releases of ``cfg.blackout_events`` (none when blackouts are off); a missing or
    malformed file raises ``ConfigError`` naming it and the line."""
    if not cfg.blackout_events:
        return NO_RELEASES
    return ReleaseCalendar(load_releases(releases_path(cfg.releases_file), cfg.blackout_events))
