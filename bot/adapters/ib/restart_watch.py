"""IB Gateway's daily restart and weekly re-login, as the session reports them.

A disconnect inside ``ib.restart_window`` is the gateway's nightly restart: journaled as the
info event ``ib_restart_disconnect``, not the incident ``ib_disconnected``; failed reconnects
inside it are info too, and the reconnect after it is ``ib_restart_reconnected`` (no
"broker connected" alert every night). Reconnects that keep failing outside the window for
``ib.login_alert_after_minutes`` mean the gateway is up but not logged in (the weekly re-login,
a 2FA prompt nobody answered): one ``ib_login_needed`` incident per failing streak, which the
alerter sends as its own alert kind. Time comes from an injected clock so tests drive it.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from bot.adapters.ib.restart_window import describe, in_restart_window
from bot.ports import StreamNotice
from shared.config.settings import IbConfig

CONNECTIVITY_KINDS = frozenset({"ib_connectivity_lost", "ib_connectivity_restored"})


class RestartWatch:
    """Classifies connection events against the restart window; counts failing minutes."""

    def __init__(self, cfg: IbConfig, clock: Callable[[], datetime]) -> None:
        self.cfg = cfg
        self.clock = clock
        self.failing_since: datetime | None = None
        self.login_alerted = False
        self.expected_drop = False

    def in_window(self) -> bool:
        return in_restart_window(self.cfg.restart_window, self.clock())

    def disconnected(self, where: str, retry_s: float) -> StreamNotice:
        """The notice for a lost connection: expected inside the window, else an incident."""
        self.expected_drop = self.in_window()
        if self.expected_drop:
            return StreamNotice(
                "ib_restart_disconnect", "info",
                f"IB at {where} disconnected inside its daily restart window "
                f"({describe(self.cfg.restart_window)}): expected; new entries paused, "
                f"reconnecting in {retry_s:g} s", {"retry_s": retry_s})
        return StreamNotice(
            "ib_disconnected", "incident",
            f"lost the connection to IB at {where}; new entries stopped, "
            f"reconnecting in {retry_s:g} s", {"retry_s": retry_s})

    def connect_failed(self, where: str, reason: str, attempt: int,
                       retry_s: float) -> list[StreamNotice]:
        """The notice for one failed connect, plus ``ib_login_needed`` once the wait is long."""
        detail = {"attempt": attempt, "retry_s": retry_s}
        text = (f"cannot connect to IB at {where}: {reason}; attempt {attempt}, "
                f"retrying in {retry_s:g} s")
        now = self.clock()
        if self.in_window():
            self.failing_since = None  # the window's minutes do not count towards a login
            return [StreamNotice("ib_connect_failed", "info",
                                 f"{text} (daily restart window)", detail)]
        notices = [StreamNotice("ib_connect_failed", "warning", text, detail)]
        if self.failing_since is None:
            self.failing_since = now
        failing = now - self.failing_since
        limit = timedelta(minutes=self.cfg.login_alert_after_minutes)
        if failing >= limit and not self.login_alerted:
            self.login_alerted = True
            minutes = failing.total_seconds() / 60
            notices.append(StreamNotice(
                "ib_login_needed", "incident",
                f"IB Gateway at {where} has refused the bot for {minutes:.0f} min outside its "
                f"restart window: it probably waits for a login (weekly re-login or a 2FA "
                f"prompt); last error: {reason}", {"failing_minutes": round(minutes, 1)}))
        return notices

    def connected_kind(self) -> str:
        """``ib_restart_reconnected`` after an expected drop, else ``ib_connected`` (also after
        a login alert: whoever was told the gateway needs a login is told it is back)."""
        quiet = self.expected_drop and not self.login_alerted
        return "ib_restart_reconnected" if quiet else "ib_connected"

    def connected(self) -> None:
        """A connection is up: the failing streak and the expected drop are over."""
        self.failing_since, self.login_alerted, self.expected_drop = None, False, False

    def error_kind(self, kind: str, severity: str) -> tuple[str, str]:
        """IB's 1100/1101/1102 inside the window are the nightly reset: info, own kind."""
        if kind in CONNECTIVITY_KINDS and self.in_window():
            return f"ib_restart_{kind.removeprefix('ib_')}", "info"
        return kind, severity
