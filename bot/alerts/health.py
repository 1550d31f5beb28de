"""The alerter's watchdog pass: observe the bot, the LLM provider and equity; raise alerts.

Each poll reads supervisord's view of the bot program (XML-RPC on its unix socket; ``UNKNOWN``
when the alerter runs without supervisord) and the heartbeat row, the LLM failure streak and
the heartbeat's equity, and feeds the pure judges (``watchdog``, ``llm_outage``,
``pnl_swing``). The state lives in this process: a restarted alerter re-judges from scratch and
an outage already told keeps its key (the alerts table ignores it the second time).
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from bot.alerts import watch_messages
from bot.alerts.llm_outage import llm_verdict
from bot.alerts.messages import Alert
from bot.alerts.pnl_swing import SwingWindow
from bot.alerts.watchdog import BEATING, BotObservation, WatchState, judge, stale_after_s, step
from shared.config.settings import Settings
from shared.persistence import alert_feed_store, ops_store
from shared.supervisor import ProcessInfo, process_info

logger = logging.getLogger(__name__)
ProcessProbe = Callable[[str, str | None], ProcessInfo]


class HealthWatch:
    """Holds the bot's and the provider's watch states and the equity window between polls."""

    def __init__(self, conn: sqlite3.Connection, wall_clock: Callable[[], datetime],
                 env: Mapping[str, str], probe: ProcessProbe = process_info) -> None:
        self.conn = conn
        self.wall_clock = wall_clock
        self.supervisor_url = env.get("SUPERVISOR_URL") or None
        self.probe = probe
        self.bot = WatchState()
        self.llm = WatchState()
        self.equity = SwingWindow()

    def poll(self, settings: Settings) -> list[Alert]:
        """The alerts this pass raises (usually none); a failure is logged and raises none, so
        the journal's alerts of the same poll still go out."""
        try:
            return self._poll(settings)
        except Exception:  # a locked database or a bug: the next poll tries again
            logger.exception("watchdog pass failed; retrying on the next poll")
            return []

    def _poll(self, settings: Settings) -> list[Alert]:
        cfg = settings.alerts
        now = self.wall_clock()
        heartbeat = ops_store.read_bot_state(self.conn)
        info = self.probe(cfg.bot_program, self.supervisor_url)
        observed = BotObservation(
            now, info.state, info.pid, info.exit_status,
            datetime.fromtimestamp(info.started_at, UTC) if info.started_at > 0 else None,
            heartbeat.heartbeat_at if heartbeat else None,
            heartbeat.status if heartbeat else "", heartbeat.pid if heartbeat else None)
        stale_s = stale_after_s(cfg.bot_stale_bars, cfg.bot_stale_seconds,
                                settings.feed.bar_seconds, settings.engine.heartbeat_seconds)
        alerts: list[Alert] = []
        self.bot, change = step(self.bot, judge(observed, stale_s), now)
        if change is not None:
            alerts.append(watch_messages.bot_alert(change, cfg.bot_program))
        streak = alert_feed_store.llm_failure_streak(self.conn)
        self.llm, change = step(self.llm, llm_verdict(streak, now, cfg.llm_outage_minutes), now)
        if change is not None:
            alerts.append(watch_messages.llm_alert(change))
        if heartbeat is not None and heartbeat.status in BEATING:
            swing = self.equity.add(heartbeat.heartbeat_at, heartbeat.equity_cents,
                                    round(cfg.pnl_swing_usd * 100), cfg.pnl_swing_minutes)
            if swing is not None:
                alerts.append(watch_messages.swing_alert(swing, cfg.pnl_swing_usd,
                                                         cfg.pnl_swing_minutes))
        return alerts
