"""What the sidebar says about the bot, from supervisord's view AND the heartbeat's age.

The last heartbeat alone cannot tell a running bot from a stopped one (it stays in the table
after the process is gone), so the bot counts as running only when supervisord says RUNNING
(or, without supervisord, the heartbeat's process is alive) and its heartbeat is fresh. Only
then are the broker line and the entries line taken from the heartbeat; otherwise they say the
bot is not running. Entries are "allowed" only when neither a halt nor a risk rule (daily loss
cap, trades per day, loss streak, cooldown, session close) blocks them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from shared.persistence.ops_store import Heartbeat
from shared.process_check import process_running
from shared.supervisor import ProcessInfo

MIN_STALE_S = 15.0
STARTING_STATES = {"STARTING", "BACKOFF"}
STOPPED_STATES = {"STOPPED", "STOPPING", "EXITED", "FATAL"}


class Liveness(StrEnum):
    """Whether the bot is running, as far as the dashboard can tell."""

    RUNNING = "running"
    STARTING = "starting"
    STOPPED = "stopped"
    NOT_RESPONDING = "not responding"
    NO_HEARTBEAT = "no heartbeat yet"
    FAULT = "fault"  # up, protecting its position, entries halted (bot/runtime/engine_guard.py)


@dataclass(frozen=True, slots=True)
class BotStatus:
    """The sidebar's lines; ``running`` only when entries and broker lines are live facts."""

    liveness: Liveness
    heartbeat_line: str
    broker_line: str
    entries_line: str
    entries_allowed: bool
    stale: bool

    @property
    def running(self) -> bool:
        return self.liveness is Liveness.RUNNING


def process_alive(pid: int | None) -> bool:
    """Whether process ``pid`` exists on this machine and is not a zombie."""
    return process_running(pid)
    return True


def stale_after_s(heartbeat_seconds: float) -> float:
    """A heartbeat older than this is stale (three missed beats, at least 15 s)."""
    return max(MIN_STALE_S, 3 * heartbeat_seconds)


def liveness(process: ProcessInfo, heartbeat: Heartbeat | None, age_s: float | None,
             stale_s: float, pid_alive: bool) -> Liveness:
    """Combine supervisord's state, the heartbeat's status and age, and the pid check."""
    if process.state in STARTING_STATES:
        return Liveness.STARTING
    if process.state in STOPPED_STATES:
        return Liveness.STOPPED
    if heartbeat is None or age_s is None:
        return Liveness.STARTING if process.state == "RUNNING" else Liveness.NO_HEARTBEAT
    if heartbeat.status != "running":
        if process.state == "RUNNING" and process.pid and process.pid != heartbeat.pid:
            return Liveness.STARTING  # a new process that has not beaten yet
        if heartbeat.status == "fault" and age_s <= stale_s and (
                process.state == "RUNNING" or pid_alive):
            return Liveness.FAULT
        return Liveness.STOPPED
    if process.state == "RUNNING":
        if process.pid and heartbeat.pid and process.pid != heartbeat.pid:
            return Liveness.STARTING
        return Liveness.NOT_RESPONDING if age_s > stale_s else Liveness.RUNNING
    # supervisord unreachable (bot started by hand): trust a fresh beat of a living process
    if not pid_alive:
        return Liveness.STOPPED
    return Liveness.NOT_RESPONDING if age_s > stale_s else Liveness.RUNNING


def bot_status(process: ProcessInfo, heartbeat: Heartbeat | None, now: datetime,
               heartbeat_seconds: float, pid_alive: bool | None = None) -> BotStatus:
    """The sidebar's view of the bot at ``now``."""
    age_s = (now - heartbeat.heartbeat_at).total_seconds() if heartbeat else None
    stale_s = stale_after_s(heartbeat_seconds)
    alive = process_alive(heartbeat.pid) if pid_alive is None and heartbeat else bool(pid_alive)
    state = liveness(process, heartbeat, age_s, stale_s, alive)
    stale = age_s is not None and age_s > stale_s
    beat = "No heartbeat yet" if age_s is None else f"Last heartbeat {_age(age_s)} ago"
    if state is Liveness.FAULT:
        return BotStatus(state, beat, "Broker: connected" if heartbeat.broker_connected else
                         "Broker: **disconnected**",
                         f"Entries: **halted** ({heartbeat.halt_reason or 'fault'})", False, stale)
    if state is not Liveness.RUNNING:
        why = {Liveness.STOPPED: "bot stopped", Liveness.STARTING: "bot starting",
               Liveness.NOT_RESPONDING: "bot not responding",
               Liveness.NO_HEARTBEAT: "bot not started"}[state]
        return BotStatus(state, beat, f"Broker: unknown ({why})",
                         f"Entries: none ({why})", False, stale)
    broker = "Broker: connected" if heartbeat.broker_connected else "Broker: **disconnected**"
    if heartbeat.halted:
        entries, allowed = f"Entries: **halted** ({heartbeat.halt_reason or 'by command'})", False
    elif heartbeat.entries_blocked_reason:
        entries, allowed = f"Entries: **blocked** ({heartbeat.entries_blocked_reason})", False
    else:
        entries, allowed = "Entries: allowed", True
    return BotStatus(state, beat, broker, entries, allowed, stale)


def _age(seconds: float) -> str:
    seconds = max(0.0, seconds)
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"
