"""Rate limit for the dashboard's password gate: a growing delay, then a lockout.

One limiter per dashboard process (Streamlit runs every browser session in one process), keyed
by client: the peer address Streamlit reports for the websocket (``st.context.ip_address``),
or one shared key when it reports none. Forwarded-for headers are not trusted (any client can
write them). A process-wide ceiling on all failures together also locks every client out, so
rotating addresses buys an attacker no more than ``global_lockout_failures`` guesses per window.

After ``free_failures`` wrong passwords each further attempt must wait a delay that doubles per
failure (capped); an attempt made before the delay is over is refused unchecked and counts as a
failure. ``lockout_failures`` failures within the window lock the client out for
``lockout_minutes``: every attempt, the right password included, is refused until then.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

ALL_CLIENTS = "*"
UNKNOWN_CLIENT = "unknown client"


@dataclass(frozen=True, slots=True)
class LoginPolicy:
    """How many wrong passwords are tolerated, and how long each costs."""

    free_failures: int = 2
    base_delay_s: float = 1.0
    max_delay_s: float = 30.0
    lockout_failures: int = 10
    lockout_minutes: float = 15.0
    global_lockout_failures: int = 100
    window_minutes: float = 15.0


@dataclass(frozen=True, slots=True)
class Lockout:
    """A lockout that has just begun: who, after how many failures, for how long."""

    client: str
    failures: int
    lockout_s: float


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why an attempt is refused unchecked: locked out, or asked to wait."""

    locked: bool
    message: str


@dataclass(slots=True)
class _Record:
    failures: list[float] = field(default_factory=list)
    locked_until: float = 0.0


class LoginLimiter:
    """Counts failed logins per client and process-wide; thread-safe (one per process)."""

    def __init__(self, policy: LoginPolicy | None = None,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.policy = policy or LoginPolicy()
        self.clock = clock
        self._records: dict[str, _Record] = {}
        self._lock = threading.Lock()

    def refusal(self, client: str) -> Refusal | None:
        """Why an attempt from ``client`` is refused without checking the password, or None."""
        with self._lock:
            now = self.clock()
            for key in (ALL_CLIENTS, client):
                locked_s = self._record(key, now).locked_until - now
                if locked_s > 0:
                    return Refusal(True, f"Too many wrong passwords: login is locked for "
                                         f"{_duration(locked_s)}.")
            wait_s = self._next_allowed(self._record(client, now)) - now
            if wait_s > 0:
                return Refusal(False, f"Too many wrong passwords: wait {_duration(wait_s)} "
                                      "before trying again.")
        return None

    def failed(self, client: str) -> list[Lockout]:
        """Count a failed attempt; return the lockouts it starts (client and/or everyone)."""
        started: list[Lockout] = []
        with self._lock:
            now = self.clock()
            for key, limit in ((client, self.policy.lockout_failures),
                               (ALL_CLIENTS, self.policy.global_lockout_failures)):
                record = self._record(key, now)
                record.failures.append(now)
                self._records[key] = record
                if record.locked_until <= now and len(record.failures) >= limit:
                    lockout_s = self.policy.lockout_minutes * 60
                    record.locked_until = now + lockout_s
                    started.append(Lockout(key, len(record.failures), lockout_s))
                    record.failures.clear()
        return started

    def succeeded(self, client: str) -> None:
        """Forget the client's failures after a successful login."""
        with self._lock:
            self._records.pop(client, None)

    def _record(self, key: str, now: float) -> _Record:
        """The key's record with failures older than the window dropped (a client with none
        left and no lockout is forgotten, so the table holds only recent offenders)."""
        record = self._records.get(key) or _Record()
        horizon = now - self.policy.window_minutes * 60
        record.failures[:] = [t for t in record.failures if t > horizon]
        if record.failures or record.locked_until > now:
            self._records[key] = record
        else:
            self._records.pop(key, None)
        return record

    def _next_allowed(self, record: _Record) -> float:
        extra = len(record.failures) - self.policy.free_failures
        if extra <= 0:
            return 0.0
        delay_s = min(self.policy.max_delay_s, self.policy.base_delay_s * 2 ** (extra - 1))
        return record.failures[-1] + delay_s


def _duration(seconds: float) -> str:
    whole = max(1, round(seconds))
    return f"{whole} s" if whole < 120 else f"{round(whole / 60)} min"


LIMITER = LoginLimiter()
