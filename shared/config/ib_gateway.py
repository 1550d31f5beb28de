"""The ``ib.restart_window`` section: IB Gateway's daily restart, as the bot should expect it.

IB Gateway (and IBC, which keeps it logged in) restarts once a day at a configured local time;
IBKR's own North-American nightly reset starts at 23:45 US/Eastern too. A disconnect inside the
window is an expected event, not an incident, and new entries are paused from a few minutes
before it to a few minutes after it (working brackets stay at IB). Its own module so the config
model gains one line.
"""

from __future__ import annotations

from datetime import time
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import ConfigDict, Field, field_validator

from shared.config.bounds import BoundedModel


class RestartWindowConfig(BoundedModel):
    """When IB Gateway restarts each day (local time in ``timezone``) and how long it takes."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Off: every disconnect is an incident")
    start: time = Field(
        time(23, 45), description="Local start of the daily restart (IBC's AutoRestartTime)"
    )
    timezone: str = Field("America/New_York", description="IANA zone of ``start`` (US/Eastern)")
    duration_minutes: float = Field(
        15.0, gt=0, le=180, description="Disconnects this long after ``start`` are expected"
    )
    pause_before_minutes: float = Field(
        5.0, ge=0, le=120, description="No new entry from this long before the window"
    )
    pause_after_minutes: float = Field(
        5.0, ge=0, le=120, description="No new entry until this long after the window"
    )

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r} (use an IANA name such as "
                             "America/New_York)") from exc
        return value
