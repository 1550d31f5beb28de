"""The ``engine`` section: the live loop's heartbeat, command polls, bar retention, shutdown."""

from __future__ import annotations

from pydantic import Field

from shared.config.sections.base import Section


class EngineConfig(Section):
    """The live loop's own timing and bookkeeping."""

    heartbeat_seconds: float = Field(5.0, gt=0, description="Wall-clock seconds between beats")
    commands_poll_seconds: float = Field(1.0, gt=0)
    bars_retention_days: int = Field(7, ge=1)
    shutdown_timeout_s: float = Field(10.0, gt=0)
    catch_up_hold_after_s: float = Field(
        10.0, ge=1, le=3600,
        description="Seconds a real-time bar may be processed after its close before new "
        "entries are held as a backlog (a frozen or starved process); released once bars are "
        "back within half of it")
