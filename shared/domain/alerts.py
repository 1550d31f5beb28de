"""Alert vocabulary: the event kinds a user can be told about, the channels, and the levels.

Each channel has a level per kind: ``off`` (not sent), ``silent`` (sent without a sound where
the channel can do that: Telegram's ``disable_notification``; Slack and email deliver it as
usual) or ``on``. Channel credentials are never here: they come from the environment.
"""

from __future__ import annotations

from enum import StrEnum


class AlertKind(StrEnum):
    """What happened, as the config's per-channel levels name it."""

    ENTRY = "entry"
    EXIT = "exit"
    STOP_MOVED = "stop_moved"
    KILL_SWITCH = "kill_switch"
    HALT = "halt"
    RESUME = "resume"
    RISK_LIMIT = "risk_limit"  # daily loss cap or consecutive losses stopped entries
    BROKER_DISCONNECTED = "broker_disconnected"
    BROKER_RECONNECTED = "broker_reconnected"
    RECONCILIATION = "reconciliation"
    JOURNAL_FAILURE = "journal_failure"
    INCIDENT = "incident"  # any other event the bot journals with severity "incident"
    CONFIG_APPLIED = "config_applied"
    CONFIG_REJECTED = "config_rejected"
    LLM_QUOTA_WARNING = "llm_quota_warning"
    LLM_QUOTA_EXHAUSTED = "llm_quota_exhausted"
    LLM_LOW_CONFIDENCE = "llm_low_confidence"
    RULES_PROPOSED = "rules_proposed"  # the nightly review stored rules awaiting approval
    BACKTEST_FINISHED = "backtest_finished"
    RESEARCH_FINISHED = "research_finished"  # a research run done, failed or cancelled
    DAILY_SUMMARY = "daily_summary"
    BOT_DOWN = "bot_down"  # the watchdog: FATAL, exited unexpectedly, or heartbeat stale
    BOT_RECOVERED = "bot_recovered"
    LLM_UNAVAILABLE = "llm_unavailable"  # the provider failing for llm_outage_minutes
    LLM_RECOVERED = "llm_recovered"
    PNL_SWING = "pnl_swing"  # equity moved pnl_swing_usd within pnl_swing_minutes
    IB_LOGIN_NEEDED = "ib_login_needed"  # reconnects failing outside the gateway's restart
    RETRAIN = "retrain"  # the retrain schedule prepared a fine-tuning job's files or started it


class AlertLevel(StrEnum):
    OFF = "off"
    SILENT = "silent"
    ON = "on"


class Channel(StrEnum):
    """Where alerts go; each is configured by one environment variable (``env_var``)."""

    TELEGRAM = "telegram"
    SLACK = "slack"
    EMAIL = "email"

    @property
    def env_var(self) -> str:
        """The environment variable holding this channel's Apprise URL (with its secrets)."""
        return f"ALERT_{self.name}_URL"

    @property
    def max_message_chars(self) -> int:
        """Longest text one message may carry; longer alerts are split into parts."""
        return {"telegram": 4096, "slack": 3500, "email": 50_000}[self.value]


class DeliveryStatus(StrEnum):
    """Life of one alert on one channel in the ``alerts`` table."""

    REQUESTED = "requested"  # written by the dashboard ("send a test message"), not yet claimed
    QUEUED = "queued"
    SENT = "sent"
    FAILED = "failed"  # gave up after the configured attempts
    DROPPED = "dropped"  # never tried: queue full, too old, or the channel is not configured


TEST_KIND = "test"
COMMAND_REPLY_KIND = "command_reply"

_QUIET = frozenset({AlertKind.STOP_MOVED, AlertKind.CONFIG_APPLIED, AlertKind.LLM_LOW_CONFIDENCE,
                    AlertKind.BACKTEST_FINISHED, AlertKind.RESEARCH_FINISHED,
                    AlertKind.LLM_RECOVERED, AlertKind.RETRAIN})
_EMAIL = frozenset({AlertKind.KILL_SWITCH, AlertKind.RISK_LIMIT, AlertKind.BROKER_DISCONNECTED,
                    AlertKind.JOURNAL_FAILURE, AlertKind.INCIDENT, AlertKind.LLM_QUOTA_EXHAUSTED,
                    AlertKind.DAILY_SUMMARY, AlertKind.BOT_DOWN, AlertKind.BOT_RECOVERED,
                    AlertKind.IB_LOGIN_NEEDED})


def default_levels(channel: Channel) -> dict[AlertKind, AlertLevel]:
    """Chat channels get everything (routine kinds silent); email only what needs a person."""
    if channel is Channel.EMAIL:
        return {k: AlertLevel.ON if k in _EMAIL else AlertLevel.OFF for k in AlertKind}
    return {k: AlertLevel.SILENT if k in _QUIET else AlertLevel.ON for k in AlertKind}
