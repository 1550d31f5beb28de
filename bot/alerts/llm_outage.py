"""Is the LLM provider reachable? A verdict from the calls since the last answered one.

A provider that times out, throttles or errors leaves the bot without its bias (it trades on
its local strategies alone). Calls are sparse (market open, close, volatility, news), so the
outage is measured from the first failed call after the last answered one: still no answer
``outage_minutes`` later means "unavailable". Refusals by our own governor, cache hits and
expired queue entries say nothing about the provider and are not counted. Pure: the caller
reads the streak (``alert_feed_store.llm_failure_streak``) and feeds the verdicts to
``watchdog.step``.
"""

from __future__ import annotations

from datetime import datetime

from bot.alerts.watchdog import Health, Verdict
from shared.persistence.alert_feed_store import LlmFailureStreak


def llm_verdict(streak: LlmFailureStreak | None, now: datetime, outage_minutes: float
                ) -> Verdict:
    """DOWN once failures alone span ``outage_minutes`` up to now; UP when the latest call
    reaching the provider was answered; UNKNOWN while a streak is younger (or no call yet)."""
    if streak is None:
        return Verdict(Health.UNKNOWN)
    if streak.failures == 0 or streak.first_failure_at is None:
        return Verdict(Health.UP) if streak.answered else Verdict(Health.UNKNOWN)
    minutes = (now - streak.first_failure_at).total_seconds() / 60
    if minutes < outage_minutes:
        return Verdict(Health.UNKNOWN)
    return Verdict(Health.DOWN, f"{streak.failures} call(s) failed over {minutes:.0f} min, none "
                   f"answered; last error: {streak.last_error or streak.last_status}",
                   streak.first_failure_at)
