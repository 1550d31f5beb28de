"""The ``dashboard`` section: refresh interval and chart size of the pages (applied at once)."""

from __future__ import annotations

from pydantic import Field

from shared.config.sections.base import HOT, Section


class DashboardConfig(Section):
    """Read by the dashboard on every page run, so changes apply at once."""

    refresh_seconds: float = Field(
        5.0, ge=1, le=3600, json_schema_extra=HOT,
        description="Seconds between timed refreshes of the sidebar's bot status and the pages' "
        "live panels")
    chart_max_points: int = Field(2000, ge=100, json_schema_extra=HOT)
