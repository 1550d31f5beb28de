"""Follow the journal by id watermarks and turn new rows into alerts.

Each followed table has a watermark in ``alert_state``; ``poll`` reads rows above it (up to the
table's highest id, taken first) and returns the alerts with the new watermarks, which the
caller stores in the same transaction as the deliveries (and, when a poll raised nothing, at
most every few seconds: rows that raised nothing raise nothing when read again, and every
alert's key is unique per channel). A restart resumes where the last stored poll ended:
nothing lost, nothing sent twice. On the very first start
the watermarks begin ``BACKFILL`` before now, so an old journal is not replayed as alerts.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import datetime, timedelta

from bot.alerts import messages
from bot.alerts.messages import Alert
from shared.config.settings import AlertsConfig
from shared.persistence import alert_feed_store as feed
from shared.persistence import alerts_store

BACKFILL = timedelta(minutes=10)
UNSETTLED_WAIT = timedelta(minutes=10)  # an LLM call still pending after this is passed over
BACKTESTS = "backtests"


class JournalFollower:
    """Reads what the bot (and the LLM worker, and backtests) journaled since the last poll."""

    def __init__(self, conn: sqlite3.Connection, wall_clock: Callable[[], datetime]) -> None:
        self.conn = conn
        self.wall_clock = wall_clock
        self.marks: dict[str, str] = {}  # ahead of the stored ones between two saves

    def advance(self, marks: dict[str, str]) -> None:
        """Take the watermarks a poll returned (stored by the caller now or a little later)."""
        self.marks.update(marks)

    def initial_watermarks(self) -> dict[str, str]:
        """Watermarks for tables never followed before (empty once all are known)."""
        since = self.wall_clock() - BACKFILL
        marks = {}
        for table in feed.FOLLOWED:
            if alerts_store.get_state(self.conn, table) is None:
                marks[table] = str(feed.max_id_recorded_before(self.conn, table, since))
        if alerts_store.get_state(self.conn, BACKTESTS) is None:
            marks[BACKTESTS] = feed.latest_finished_at(self.conn)
        return marks

    def _mark(self, table: str) -> int:
        return int(self.marks.get(table) or alerts_store.get_state(self.conn, table) or 0)

    def poll(self, cfg: AlertsConfig) -> tuple[list[Alert], dict[str, str]]:
        """New alerts, in journal order per source, and the watermarks after them."""
        alerts: list[Alert] = []
        marks: dict[str, str] = {}
        conn = self.conn
        upto = {table: feed.max_id(conn, table) for table in feed.FOLLOWED}
        lows = {table: self._mark(table) for table in feed.FOLLOWED}
        alerts += [messages.entry_alert(f) for f in
                   feed.entry_fills_between(conn, lows["fills"], upto["fills"])]
        alerts += [messages.stop_moved_alert(m) for m in
                   feed.stop_moves_between(conn, lows["order_events"], upto["order_events"])]
        alerts += [messages.exit_alert(trade_id, trade) for trade_id, trade in
                   feed.trades_between(conn, lows["trades"], upto["trades"])]
        for event in feed.events_between(conn, lows["events"], upto["events"]):
            alert = messages.event_alert(event)
            if alert is not None:
                alerts.append(alert)
        alerts += self._risk_alerts(lows["decisions"], upto["decisions"])
        alerts.sort(key=lambda alert: alert.event_ts)  # the bot's time order across tables
        llm_alerts, upto["llm_calls"] = self._llm_alerts(lows["llm_calls"], upto["llm_calls"],
                                                         cfg)
        alerts += llm_alerts
        for table in feed.FOLLOWED:
            if upto[table] > lows[table]:
                marks[table] = str(upto[table])
        warnings, warned = self._llm_warnings()
        alerts += warnings
        marks.update(warned)
        backtests = feed.runs_finished_after(
            conn, self.marks.get(BACKTESTS) or alerts_store.get_state(conn, BACKTESTS) or "")
        alerts += [messages.backtest_alert(run) for run in backtests]
        if backtests:
            marks[BACKTESTS] = max(run.finished_at for run in backtests).isoformat()
        return alerts, marks

    def _risk_alerts(self, after: int, upto: int) -> list[Alert]:
        refusals = feed.risk_refusals_between(self.conn, after, upto, messages.RISK_RULES)
        seen: set[str] = set()
        alerts = []
        for refusal in refusals:
            alert = messages.risk_alert(refusal)
            if alert.key not in seen:  # one per rule per day (the table's key does the rest)
                seen.add(alert.key)
                alerts.append(alert)
        return alerts

    def _llm_alerts(self, after: int, upto: int, cfg: AlertsConfig) -> tuple[list[Alert], int]:
        alerts, done = [], after
        patience = self.wall_clock() - UNSETTLED_WAIT
        for call in feed.llm_calls_between(self.conn, after, upto):
            if not call.settled and call.created_at > patience:
                break  # read it again once it is settled
            alert = messages.llm_call_alert(call, cfg.low_confidence_below)
            if alert is not None:
                alerts.append(alert)
            done = call.call_id
        else:
            done = upto
        return alerts, done

    def _llm_warnings(self) -> tuple[list[Alert], dict[str, str]]:
        now = self.wall_clock()
        since = (now - timedelta(days=1)).date().isoformat()
        alerts, marks = [], {}
        for day in feed.llm_days_since(self.conn, since):
            for what, flagged, used in (("calls", day.calls_warned, f"{day.calls} calls"),
                                        ("cost", day.cost_warned, f"${day.cost_usd:.4f}")):
                name = f"llm_warned:{what}:{day.day}"
                seen = name in self.marks or alerts_store.get_state(self.conn, name) is not None
                if flagged and not seen:
                    alerts.append(messages.llm_warning_alert(day.day, what, used, now))
                    marks[name] = "1"
        return alerts, marks
