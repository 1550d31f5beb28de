"""Is the bot alive? A pure judgement of one observation and a two-state machine over them.

The alerter follows the journal, so a bot that died (supervisord ``FATAL``, ``EXITED`` with a
non-zero status) or froze (its heartbeat stopped while supervisord still says ``RUNNING``) would
otherwise send nothing at all. Each poll observes supervisord's view of the program and the
heartbeat row; ``judge`` says up, down (and why) or "nothing to say" (stopped on purpose, still
starting, never run); ``step`` turns verdicts into at most one ``down`` alert per outage and one
``recovered`` when the bot beats again. No I/O here: the caller gathers the observation.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

EXITED_CONFIRM_S = 2.0  # supervisord restarts an unexpected exit at once: EXITED must persist
BEATING = frozenset({"running", "fault"})  # heartbeat statuses of a live process
STARTING = frozenset({"STARTING", "BACKOFF", "STOPPING"})  # supervisord's passing states
NOT_SUPERVISED = "UNKNOWN"  # supervisord unreachable: judge the heartbeat alone


class Health(StrEnum):
    UNKNOWN = "unknown"  # nothing judged yet (the alerter just started)
    UP = "up"
    DOWN = "down"


@dataclass(frozen=True, slots=True)
class BotObservation:
    """What one poll saw. ``supervisor_state`` is supervisord's state name (``UNKNOWN`` when
    it cannot be reached); times are tz-aware UTC."""

    now: datetime
    supervisor_state: str
    supervisor_pid: int = 0
    exit_status: int = 0
    started_at: datetime | None = None  # when supervisord started the current process
    heartbeat_at: datetime | None = None
    heartbeat_status: str = ""
    heartbeat_pid: int | None = None


@dataclass(frozen=True, slots=True)
class Verdict:
    """``health`` UP or DOWN (UNKNOWN: nothing to say now); ``confirm_s``: how long a DOWN
    must persist before it counts; ``since``: when the outage began (names the alert)."""

    health: Health
    reason: str = ""
    since: datetime | None = None
    confirm_s: float = 0.0


@dataclass(frozen=True, slots=True)
class WatchState:
    health: Health = Health.UNKNOWN
    outage_since: datetime | None = None  # the DOWN alert's ``since`` (its key)
    suspect_since: datetime | None = None  # first sight of a DOWN awaiting confirmation


class Change(StrEnum):
    DOWN = "down"
    RECOVERED = "recovered"


@dataclass(frozen=True, slots=True)
class Transition:
    change: Change
    reason: str
    since: datetime  # when the outage began (the same for its DOWN and RECOVERED)
    at: datetime


def _age_s(obs: BotObservation, then: datetime) -> float:
    return (obs.now - then).total_seconds()


def _heartbeat_verdict(obs: BotObservation, stale_s: float, supervised: bool) -> Verdict:
    """The judgement of a process that should be beating (or of the heartbeat alone)."""
    own_beat = obs.heartbeat_at is not None and obs.heartbeat_status in BEATING and (
        not supervised or obs.heartbeat_pid == obs.supervisor_pid)
    if own_beat and obs.heartbeat_at is not None:
        age_s = _age_s(obs, obs.heartbeat_at)
        if age_s <= stale_s:
            return Verdict(Health.UP)
        where = "supervisord says RUNNING: frozen or stuck" if supervised else "no supervisord"
        return Verdict(Health.DOWN, f"no heartbeat for {age_s:.0f} s (stale after "
                       f"{stale_s:.0f} s); {where}", obs.heartbeat_at)
    if not supervised:
        if obs.heartbeat_status == "refused" and obs.heartbeat_at is not None:
            return Verdict(Health.DOWN, "the bot refused to start (see its log)",
                           obs.heartbeat_at)
        return Verdict(Health.UNKNOWN)  # never ran, or stopped on purpose
    started = obs.started_at or obs.now
    if _age_s(obs, started) <= stale_s:
        return Verdict(Health.UNKNOWN)  # the new process has not beaten yet
    return Verdict(Health.DOWN, f"supervisord says RUNNING (pid {obs.supervisor_pid}) but "
                   f"it has written no heartbeat in {_age_s(obs, started):.0f} s", started)


def judge(obs: BotObservation, stale_s: float) -> Verdict:
    """Up, down with the reason, or UNKNOWN (stopped on purpose, starting, never run)."""
    state = obs.supervisor_state
    beating = obs.heartbeat_at is not None and obs.heartbeat_status in BEATING
    # The outage began at the last beat of a live bot; a bot stopped on purpose before (its
    # heartbeat says "stopped") failed when supervisord last started it.
    last_seen = (obs.heartbeat_at if beating else obs.started_at) or obs.now
    if state == "FATAL":
        return Verdict(Health.DOWN, "supervisord gave up restarting the bot (FATAL)", last_seen)
    if state == "EXITED" and obs.exit_status != 0:
        return Verdict(Health.DOWN, f"the bot exited unexpectedly (exit status "
                       f"{obs.exit_status}) and supervisord does not restart it", last_seen,
                       EXITED_CONFIRM_S)
    if state == "RUNNING":
        return _heartbeat_verdict(obs, stale_s, supervised=True)
    if state == NOT_SUPERVISED:
        return _heartbeat_verdict(obs, stale_s, supervised=False)
    return Verdict(Health.UNKNOWN)  # STOPPED, EXITED 0, STARTING, BACKOFF: no news


def step(state: WatchState, verdict: Verdict, now: datetime
         ) -> tuple[WatchState, Transition | None]:
    """The next state, and the transition to tell (a first UP after start is not told)."""
    if verdict.health is Health.UP:
        if state.health is Health.DOWN and state.outage_since is not None:
            return WatchState(Health.UP), Transition(Change.RECOVERED, "heartbeat fresh again",
                                                     state.outage_since, now)
        return WatchState(Health.UP), None
    if verdict.health is Health.UNKNOWN:
        return WatchState(state.health, state.outage_since), None
    if state.health is Health.DOWN:
        return state, None  # one alert per outage, whatever it turns into
    suspect = state.suspect_since or now
    if (now - suspect).total_seconds() < verdict.confirm_s:
        return WatchState(state.health, state.outage_since, suspect), None
    since = verdict.since or now
    return WatchState(Health.DOWN, since), Transition(Change.DOWN, verdict.reason, since, now)


def stale_after_s(stale_bars: float, stale_seconds: float, bar_seconds: int,
                  heartbeat_seconds: float) -> float:
    """Heartbeat age that means "down": ``stale_seconds`` when set, else ``stale_bars`` bar
    lengths; never under two heartbeat intervals (a slow beat is not an outage)."""
    chosen = stale_seconds if stale_seconds > 0 else stale_bars * bar_seconds
    return max(chosen, 2 * heartbeat_seconds)
