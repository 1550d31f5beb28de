"""The dashboard's login lockouts, journaled as answered ``commands`` rows.

The dashboard may write only intents (DESIGN §5), not ``events``; a lockout is a refused
request answered without the bot, which is what ``record_answered_command`` journals (as the
refused Telegram commands are). One row per lockout, never one per wrong password.
"""

from __future__ import annotations

import sqlite3
from datetime import datetime

from shared.domain.models import CommandStatus
from shared.persistence.ops_store import record_answered_command

LOGIN_LOCKOUT = "login_lockout"


def record_login_lockout(
    conn: sqlite3.Connection, client: str, failures: int, lockout_s: float, now: datetime,
) -> int:
    """Journal that ``client`` was locked out of the dashboard after ``failures`` failures."""
    who = "every client" if client == "*" else client
    result = (f"dashboard login locked for {who} for {lockout_s / 60:g} min after "
              f"{failures} wrong passwords")
    return record_answered_command(conn, LOGIN_LOCKOUT, now, CommandStatus.FAILED, result,
                                   f"dashboard:{client}"[:80],
                                   {"client": client, "failures": failures,
                                    "lockout_s": lockout_s})
