"""IB Gateway's daily restart window and the "login needed" alert, against the fake gateway.

The real ib_async client of ``IbSession`` talks to the fake gateway on loopback; the session's
clock (and the broker's, for the entry pause) is a ``StepClock`` the test moves, so the nightly
window and ten minutes of refused reconnects take milliseconds. Notices are journaled the way
the live loop does (``events`` rows), and the alerter reads them like in production.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.ib.session import IbSession, open_ib
from bot.alerts.service import Alerter
from bot.ports import StreamNotice
from shared.config.settings import Settings
from shared.domain.models import OrderPlan, OrderType, Side
from shared.persistence import alerts_store, ops_store
from shared.persistence.db import connect, open_database, write_transaction
from tests.fakechat.server import FakeChatServer
from tests.support import wait_for

pytestmark = pytest.mark.integration

# 3 March 2025 is before daylight saving: 23:45 New York = 04:45 UTC the next day.
OUTSIDE = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)
INSIDE = datetime(2025, 3, 4, 4, 50, tzinfo=UTC)
WAIT_S = 30.0
TOKEN = "123456789:ABCdefGHIjklMNOpqr"


class StepClock:
    """A clock the test sets and advances."""

    def __init__(self, at: datetime) -> None:
        self.at = at

    def __call__(self) -> datetime:
        return self.at


def settings(port: int, **alerts: object) -> Settings:
    return Settings.model_validate({
        "broker": {"mode": "ib_paper"},
        "ib": {"port": port, "connect_timeout_s": 3, "reconnect_initial_s": 0.05,
               "reconnect_max_s": 0.1, "commission_wait_s": 0.5, "bar_timeout_s": 30,
               "login_alert_after_minutes": 10},
        "features": {"window_bars": 120, "atr_baseline_bars": 100},
        "alerts": {"poll_seconds": 0.05, "retry_initial_s": 0.01, "retry_max_s": 0.05,
                   **alerts},
    })


class Harness:
    """A session on the fake gateway; every notice it raises is kept and journaled."""

    def __init__(self, config: Settings, db: Path, clock: StepClock) -> None:
        self.conn = open_database(db)
        self.last_bar_ts: datetime | None = None  # as the live loop's engine: history gaps only
        self.broker, self.session = open_ib(config, self.conn, [], None, 62, clock,
                                            lambda: self.last_bar_ts, clock)
        self.notices: list[StreamNotice] = []
        self.live_bars_after_connect = 0  # real-time bars since the last connect notice

    def kinds(self) -> list[str]:
        return [n.kind for n in self.notices]

    async def until(self, probe: Callable[[], object], what: str) -> None:
        """Pump the session (as the live loop does) until ``probe`` holds."""
        deadline = time.monotonic() + WAIT_S
        while not probe():
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out waiting for {what}; notices {self.kinds()}")
            item = await self.session.next_item(0.02)
            if item is not None and item.bars:
                self.last_bar_ts = item.bars[-1].ts
            if item is not None and item.live:
                self.live_bars_after_connect += len(item.bars)
            self.session.needs_reconcile()
            self._journal(self.session.drain_notices())

    async def streaming(self, connect_kind: str) -> None:
        """Wait for ``connect_kind``, then for live bars: the connect is complete."""
        await self.until(lambda: connect_kind in self.kinds(), connect_kind)
        self.live_bars_after_connect = 0
        await self.until(lambda: self.live_bars_after_connect > 0, "live bars")

    def _journal(self, notices: list[StreamNotice]) -> None:
        self.notices += notices
        with write_transaction(self.conn):
            for notice in notices:
                ops_store.insert_event(self.conn, datetime.now(UTC), notice.kind,
                                       notice.severity, notice.message, notice.detail,
                                       datetime.now(UTC))


def plan(price: float) -> OrderPlan:
    return OrderPlan("MES", Side.LONG, 1, OrderType.MARKET, price, price - 10, price + 20,
                     10.0, 20.0, "test")


async def run(harness: Harness, scenario: Callable[[IbSession], object]) -> None:
    await harness.session.start()
    try:
        await scenario(harness.session)
    finally:
        await harness.session.close()


def test_a_drop_inside_the_window_is_an_event_outside_an_incident_and_entries_pause(
        tmp_path, fake):
    clock = StepClock(INSIDE - timedelta(minutes=3))  # inside the 5-minute pause before it
    harness = Harness(settings(fake.port), tmp_path / "t.db", clock)

    async def scenario(session: IbSession) -> None:
        await harness.streaming("ib_connected")
        harness.broker.place_bracket(plan(fake.last_price()), "MES-1", clock())
        await harness.until(lambda: "entry_not_sent" in harness.kinds(), "the paused entry")
        assert not fake.placed_orders(), "no entry in the pause before the restart"
        clock.at = OUTSIDE
        harness.broker.place_bracket(plan(fake.last_price()), "MES-2", clock())
        wait_for(lambda: fake.position() == 1 and len(fake.working_orders()) == 2, WAIT_S,
                 "the entry filled, its stop and target working")
        clock.at = INSIDE
        fake.drop_connections()
        await harness.streaming("ib_restart_reconnected")
        assert len(fake.working_orders()) == 2, "the working bracket stays at IB"
        await harness.until(lambda: harness.broker.position() is not None
                            and len(harness.broker.working_orders()) == 2, "the book restored")
        clock.at = OUTSIDE + timedelta(days=1)
        fake.drop_connections()
        await harness.until(lambda: harness.kinds().count("ib_connected") == 2,
                            "the reconnect after the incident")

    asyncio.run(run(harness, scenario))
    by_kind = {n.kind: n for n in harness.notices}
    assert "ib_restart_disconnect" in by_kind and by_kind["ib_restart_disconnect"].severity == (
        "info")
    assert "daily restart window (23:45 America/New_York for 15 min)" in by_kind[
        "ib_restart_disconnect"].message
    assert [n.severity for n in harness.notices if n.kind == "ib_disconnected"] == ["incident"]
    order = harness.kinds()
    assert order.index("ib_restart_disconnect") < order.index("ib_disconnected")
    assert "daily restart" in by_kind["entry_not_sent"].message


def test_refused_reconnects_outside_the_window_for_ten_minutes_raise_a_login_alert(tmp_path,
                                                                                   fake):
    clock = StepClock(INSIDE)
    db = tmp_path / "t.db"
    with FakeChatServer() as telegram:
        config = settings(fake.port, telegram_api_url=telegram.url)
        harness = Harness(config, db, clock)

        def failures() -> int:
            return harness.kinds().count("ib_connect_failed")

        async def refused_for(minutes: int) -> None:
            for _ in range(minutes):
                seen = failures()
                await harness.until(lambda seen=seen: failures() > seen, "a refused reconnect")
                clock.at += timedelta(minutes=1)

        async def scenario(session: IbSession) -> None:
            await harness.streaming("ib_connected")
            fake.stop_listening()  # the gateway restarts and then waits at its login dialog
            await refused_for(10)  # 23:50 ... 23:59 New York: all in the window (till 00:00)
            assert "ib_login_needed" not in harness.kinds()
            await refused_for(10)  # 00:00 ... 00:09: failing for nine minutes outside it
            assert "ib_login_needed" not in harness.kinds()
            await refused_for(2)
            assert harness.kinds().count("ib_login_needed") == 1
            await refused_for(3)  # one alert per failing streak
            assert harness.kinds().count("ib_login_needed") == 1

        asyncio.run(run(harness, scenario))
        alerter = Alerter(config, db, {"ALERT_TELEGRAM_URL": f"tgram://{TOKEN}/-100200300"})
        try:
            alerter.start()
            alerter.poll_once()
            rows = wait_for(lambda: len(sent := [d for d in delivered(db)
                                                 if d.status == "sent"]) == 2 and sent,
                            WAIT_S, "the alerts sent")
        finally:
            alerter.close()
        sent = telegram.sends()
    # The start's connect, then the login: no "broker disconnected" for the nightly restart.
    assert [(r.kind, r.channel) for r in rows] == [("broker_reconnected", "telegram"),
                                                   ("ib_login_needed", "telegram")]
    assert rows[1].text.startswith("IB Gateway needs a login: IB Gateway at 127.0.0.1:")
    assert len(sent) == 2 and "waits for a login" in sent[1].text
    restart = [n for n in harness.notices if n.kind == "ib_connect_failed"]
    assert {n.severity for n in restart[:10]} == {"info"}  # the window's failures are expected
    assert {n.severity for n in restart[10:]} == {"warning"}


def delivered(db: Path) -> list[alerts_store.DeliveryRow]:
    conn = connect(db, readonly=True)
    try:
        return list(reversed(alerts_store.recent_deliveries(conn, 100)))
    finally:
        conn.close()
