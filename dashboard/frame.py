"""Streamlit helpers the pages share: where the database and config live, connections, status.

Each page run opens short-lived connections (read-only for views); nothing is cached across
sessions but derived data. Writes are intents only: commands, config versions, backtest
requests, alert test requests, and decisions on learned rules (author ``dashboard``); a login
lockout is journaled as an answered ``commands`` row (``shared/persistence/login_audit.py``).
"""

from __future__ import annotations

import hmac
import ipaddress
import logging
import os
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

import streamlit as st

from dashboard import login_limiter, zones
from dashboard_guard import PASSWORD_ENV, describe_address, is_loopback
from shared.config.settings import Settings
from shared.domain.errors import ConfigError
from shared.persistence import config_source, login_audit
from shared.persistence.db import (
    connect,
    db_path_from_env,
    open_database,
    write_transaction,
)
from shared.persistence.ops_store import Heartbeat

logger = logging.getLogger(__name__)


def db_path() -> Path:
    """The journal database (env TRADER_DB, default data/trader.db)."""
    return db_path_from_env()


def config_path() -> Path:
    """Where the active config is exported for hand editing (env TRADER_CONFIG, default
    data/config.yaml); the config itself lives in the database's active version."""
    return Path(os.environ.get("TRADER_CONFIG") or "data/config.yaml")


def current_settings() -> tuple[Settings, str | None]:
    """The active config version's settings (defaults before the bot stored one), and why the
    active version could not be read, if it could not."""
    with reader() as conn:
        if conn is None:
            return Settings(), None
        try:
            active = config_source.active_settings(conn, env={})
        except ConfigError as exc:
            return Settings(), str(exc)
    return (active[1] if active else Settings()), None


@contextmanager
def reader() -> Iterator[sqlite3.Connection | None]:
    """A read-only connection for this run, or None when the bot has not created the db yet."""
    path = db_path()
    if not path.exists():
        yield None
        return
    conn = connect(path, readonly=True)
    try:
        yield conn
    finally:
        conn.close()


@contextmanager
def writer() -> Iterator[sqlite3.Connection]:
    """A read-write connection (schema brought up to date) for commands and config versions."""
    conn = open_database(db_path())
    try:
        yield conn
    finally:
        conn.close()


def no_database_notice() -> None:
    """Tell the user why a page is empty."""
    st.info(f"No journal at {db_path()} yet: start the bot with `make run`.")


def utc_now() -> datetime:
    """Wall-clock time for command and config rows."""
    return datetime.now(UTC)


def heartbeat_age_s(state: Heartbeat | None) -> float | None:
    """Seconds since the bot's last heartbeat."""
    if state is None:
        return None
    return (utc_now() - state.heartbeat_at).total_seconds()


def display_zone() -> str:
    """The time zone every page shows times in (the sidebar's choice; exchange time first)."""
    zone = st.session_state.get(zones.ZONE_KEY)
    return zone if zone in zones.ZONES else zones.EXCHANGE_ZONE


def zone_selector() -> str:
    """The sidebar's time-zone choice, kept in the session across pages and in the URL
    (``?tz=UTC``), so a reload or a bookmark keeps it."""
    if st.session_state.get(zones.ZONE_KEY) not in zones.ZONES:
        wanted = st.query_params.get(zones.ZONE_PARAM)
        st.session_state[zones.ZONE_KEY] = (wanted if wanted in zones.ZONES
                                            else zones.EXCHANGE_ZONE)
    zone = st.selectbox("Times shown in", zones.ZONES, key=zones.ZONE_KEY,
                        format_func=zones.selector_label)
    if st.query_params.get(zones.ZONE_PARAM) != zone:
        st.query_params[zones.ZONE_PARAM] = zone
    return zone


def password_ok() -> bool:
    """Gate: DASHBOARD_PASSWORD (constant-time compare), mandatory off loopback.

    The launcher (``dashboard_guard``) already refuses to start off loopback without a
    password; this covers a server started some other way. An empty address is all interfaces.
    """
    expected = os.environ.get(PASSWORD_ENV, "")
    address = st.get_option("server.address")
    if not expected:
        if not is_loopback(address):
            st.error(f"The dashboard is bound to {describe_address(address)}: set "
                     f"{PASSWORD_ENV} to use it.")
            return False
        return True
    if st.session_state.get("authenticated"):
        return True
    with st.form("login"):
        password = st.text_input("Password", type="password")
        if st.form_submit_button("Log in") and _attempt_login(password, expected):
            st.session_state["authenticated"] = True
            st.rerun()
    return False


def client_key() -> str:
    """Who is logging in, for the rate limit: the websocket peer's address when Streamlit
    reports one (forwarded-for headers are not trusted), else one key shared by all."""
    try:
        address = st.context.ip_address
    except (AttributeError, RuntimeError):
        return login_limiter.UNKNOWN_CLIENT
    try:  # only a real address counts (a test harness reports a stand-in object)
        return str(ipaddress.ip_address(address)) if isinstance(address, str) else (
            login_limiter.UNKNOWN_CLIENT)
    except ValueError:
        return login_limiter.UNKNOWN_CLIENT


def _attempt_login(password: str, expected: str) -> bool:
    """Check one attempt through the rate limit; say why it failed; journal a lockout."""
    limiter = login_limiter.LIMITER
    client = client_key()
    refusal = limiter.refusal(client)
    if refusal is None and hmac.compare_digest(password.encode(), expected.encode()):
        limiter.succeeded(client)
        return True
    # an attempt while told to wait counts as a failure; one while locked out changes nothing
    lockouts = [] if refusal is not None and refusal.locked else limiter.failed(client)
    for lockout in lockouts:
        _journal_lockout(lockout)
    now_refused = limiter.refusal(client) if lockouts else refusal
    st.error(now_refused.message if now_refused else "Wrong password")
    return False


def _journal_lockout(lockout: login_limiter.Lockout) -> None:
    """Log the lockout and journal it (a failing database must not open the gate)."""
    logger.warning("dashboard login locked for %s for %.0f s after %d wrong passwords",
                   lockout.client, lockout.lockout_s, lockout.failures)
    try:
        with writer() as conn, write_transaction(conn):
            login_audit.record_login_lockout(conn, lockout.client, lockout.failures,
                                             lockout.lockout_s, utc_now())
    except (sqlite3.Error, OSError) as exc:
        logger.error("could not journal the dashboard login lockout: %s", exc)


LAYOUT_CSS = """<style>
[data-testid="stMetricValue"] { font-size: 1.6rem; }
</style>"""


def apply_layout() -> None:
    """Metric values a size that fits four to a row at 1,024 px (no "$-1,25..." cut-offs)."""
    st.markdown(LAYOUT_CSS, unsafe_allow_html=True)
