"""Texts of the watchdog's alerts: the bot down or recovered, the LLM provider, a P&L swing.

Pure functions, like ``messages``. Each key names the outage by when it began, so a restarted
alerter that sees the same outage raises the same key (and the alerts table ignores it).
"""

from __future__ import annotations

from datetime import datetime

from bot.alerts.messages import Alert, usd, when
from bot.alerts.pnl_swing import Swing
from bot.alerts.watchdog import Change, Transition
from shared.domain.alerts import AlertKind


def duration(start: datetime, end: datetime) -> str:
    """``45 s``, ``12 min``, ``3.5 h``."""
    seconds = max(0.0, (end - start).total_seconds())
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def bot_alert(transition: Transition, program: str) -> Alert:
    since = transition.since.isoformat()
    if transition.change is Change.DOWN:
        text = (f"BOT DOWN: {transition.reason}\nno trading, no stop management by the bot · "
                f"last heartbeat {when(transition.since)} · checked {when(transition.at)} · "
                f"supervisord program {program!r}")
        return Alert(AlertKind.BOT_DOWN, f"bot_down:{since}", text, transition.at)
    down_for = duration(transition.since, transition.at)
    text = (f"Bot recovered: heartbeat fresh again after {down_for}"
            f"\ndown since {when(transition.since)} · {when(transition.at)}")
    return Alert(AlertKind.BOT_RECOVERED, f"bot_recovered:{since}", text, transition.at)


def llm_alert(transition: Transition) -> Alert:
    since = transition.since.isoformat()
    if transition.change is Change.DOWN:
        text = (f"LLM provider unavailable: {transition.reason}\nthe bot trades on its local "
                f"strategies alone · failing since {when(transition.since)}")
        return Alert(AlertKind.LLM_UNAVAILABLE, f"llm_down:{since}", text, transition.at)
    text = (f"LLM provider answering again after {duration(transition.since, transition.at)}"
            f"\nfailing since {when(transition.since)} · {when(transition.at)}")
    return Alert(AlertKind.LLM_RECOVERED, f"llm_recovered:{since}", text, transition.at)


def swing_alert(swing: Swing, threshold_usd: float, window_minutes: float) -> Alert:
    text = (f"P&L swing {usd(swing.change_cents)} in {duration(swing.start, swing.end)}\n"
            f"equity {usd(swing.from_cents, False)} -> {usd(swing.to_cents, False)} · "
            f"threshold ${threshold_usd:,.2f} within {window_minutes:g} min · "
            f"{when(swing.start)} to {when(swing.end)}")
    return Alert(AlertKind.PNL_SWING, f"pnl_swing:{swing.end.isoformat()}", text, swing.end)
