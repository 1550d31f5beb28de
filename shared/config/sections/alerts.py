"""The ``alerts`` section: which alert kinds go to which channel, pacing, the watchdog."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import Field, ValidationInfo, field_validator, model_validator

from shared.config.sections.base import HOT, Section
from shared.domain.alerts import AlertKind, AlertLevel, Channel, default_levels


def _levels_field(channel: Channel) -> Any:
    return Field(
        default_factory=lambda: default_levels(channel), json_schema_extra=HOT,
        description=f"Level per event kind (off / silent / on); kinds left out keep their "
        f"default. Sent only when {channel.env_var} is set.",
    )


class AlertsConfig(Section):
    """What the alerter (``python -m bot alerts``) sends where, and how it paces delivery.

    Channel URLs with their tokens come from the environment only (ALERT_TELEGRAM_URL,
    ALERT_SLACK_URL, ALERT_EMAIL_URL; ALERT_TELEGRAM_COMMAND_CHATS for remote commands).
    """

    telegram: dict[AlertKind, AlertLevel] = _levels_field(Channel.TELEGRAM)
    slack: dict[AlertKind, AlertLevel] = _levels_field(Channel.SLACK)
    email: dict[AlertKind, AlertLevel] = _levels_field(Channel.EMAIL)
    low_confidence_below: float = Field(
        0.5, ge=0, le=1, json_schema_extra=HOT,
        description="An LLM answer below this confidence is an llm_low_confidence alert",
    )
    telegram_commands: bool = Field(
        False, description="Answer /status, /halt, /flatten ... from the chats in "
        "ALERT_TELEGRAM_COMMAND_CHATS",
    )
    telegram_api_url: str = Field(
        "https://api.telegram.org", description="Bot API server (a self-hosted one, or a test "
        "stand-in); no token here",
    )
    slack_webhook_url: str = Field(
        "https://hooks.slack.com/services", description="Where Slack webhook paths are posted",
    )
    per_minute: dict[Channel, int] = Field(
        default_factory=lambda: {Channel.TELEGRAM: 20, Channel.SLACK: 20, Channel.EMAIL: 6},
        json_schema_extra=HOT, description="Messages per minute per channel (Telegram: 20 "
        "per chat)",
    )
    max_attempts: int = Field(4, ge=1, le=20, description="Attempts per message, first included")
    retry_initial_s: float = Field(2.0, gt=0, description="Backoff before the first retry")
    retry_max_s: float = Field(60.0, gt=0, description="Backoff doubles up to this")
    send_timeout_s: float = Field(10.0, gt=0, le=120, description="Connect and read timeout")
    queue_size: int = Field(200, ge=1, le=100_000, description="Messages waiting per channel")
    max_age_minutes: float = Field(
        30.0, gt=0, json_schema_extra=HOT, description="Older undelivered alerts are dropped"
    )
    poll_seconds: float = Field(1.0, gt=0, le=60, description="How often the journal is read")
    # Watchdog (docs/alerts.md): bot_down / bot_recovered, llm_unavailable, pnl_swing.
    bot_program: str = Field("bot", min_length=1, description="The bot's supervisord program")
    bot_stale_bars: float = Field(
        6.0, gt=0, le=1000, json_schema_extra=HOT, description="A heartbeat older than this "
        "many bar lengths is bot_down (at least two heartbeat intervals)",
    )
    bot_stale_seconds: float = Field(
        0.0, ge=0, le=86_400, json_schema_extra=HOT, description="When above 0: the heartbeat "
        "age that is bot_down, in place of bot_stale_bars",
    )
    llm_outage_minutes: float = Field(
        15.0, gt=0, le=1440, json_schema_extra=HOT, description="LLM calls failing (timeout, "
        "throttled, error) with none answered for this long is llm_unavailable",
    )
    pnl_swing_usd: float = Field(
        0.0, ge=0, json_schema_extra=HOT, description="Equity moving this much within "
        "pnl_swing_minutes is pnl_swing; 0 = off",
    )
    pnl_swing_minutes: float = Field(
        15.0, gt=0, le=1440, json_schema_extra=HOT, description="The window of pnl_swing_usd",
    )

    @field_validator("telegram", "slack", "email", mode="before")
    @classmethod
    def _yaml_on_off(cls, value: Any) -> Any:
        # YAML 1.1 reads a bare on/off as a boolean: take it as the level the user typed.
        if isinstance(value, Mapping):
            return {k: ({True: "on", False: "off"}[v] if isinstance(v, bool) else v)
                    for k, v in value.items()}
        return value

    @field_validator("telegram", "slack", "email", mode="after")
    @classmethod
    def _complete(cls, value: dict[AlertKind, AlertLevel], info: ValidationInfo
                  ) -> dict[AlertKind, AlertLevel]:
        return {**default_levels(Channel(info.field_name)), **value}

    @field_validator("per_minute", mode="after")
    @classmethod
    def _rates(cls, value: dict[Channel, int]) -> dict[Channel, int]:
        for channel, rate in value.items():
            if rate < 1:
                raise ValueError(f"per_minute of {channel.value} must be at least 1")
        defaults = {Channel.TELEGRAM: 20, Channel.SLACK: 20, Channel.EMAIL: 6}
        return {**defaults, **value}

    @model_validator(mode="after")
    def _backoff_order(self) -> AlertsConfig:
        if self.retry_initial_s > self.retry_max_s:
            raise ValueError("retry_initial_s must not exceed retry_max_s")
        return self
