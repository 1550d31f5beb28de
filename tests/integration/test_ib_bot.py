"""``python -m bot run`` in ib_paper mode against the fake gateway: a round trip and each fault.

The bot is a real process with the real ib_async client; the fake gateway speaks the TWS wire
protocol on loopback from this test process and scripts prices and faults.
"""

from __future__ import annotations

import pytest

from shared.domain.models import OrderStatus
from shared.persistence import ib_store, journal_store
from shared.persistence.journal_store import all_trades
from tests.fakeib.client import hold_client_id
from tests.fakeib.control import FakeGatewayThread, free_port
from tests.fakeib.server import GatewayConfig
from tests.integration.botproc import heartbeat, query, start_bot, stop_bot, wait_for
from tests.integration.ibbot import (
    bracket_orders,
    breakout_until,
    enter_long,
    events,
    fake_fills,
    ib_config,
    journal_fills,
    wait_trading,
)

pytestmark = pytest.mark.integration


def _bracket_id(entry_ref: str) -> str:
    return entry_ref.rsplit("-", 1)[0]


def test_round_trip_journal_matches_the_fakes_executions(tmp_path, fake):
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    process = start_bot(ib_config(tmp_path, fake.port), db, log)
    try:
        wait_trading(db, process, log)
        connected = events(db, "ib_connected")[0]
        assert fake.front_month().local_symbol in connected.message
        entry = enter_long(fake, db, process, log)[0]
        orders = bracket_orders(fake, _bracket_id(entry.order_ref))
        assert set(orders) == {"entry", "target", "stop"}
        assert orders["target"].parent_id == orders["stop"].parent_id == entry.order_id
        assert orders["stop"].outside_rth and orders["target"].outside_rth
        fake.move_to(orders["target"].lmt + 1, bars=4)
        trade = wait_for(lambda: query(db, all_trades), 30, "the closed trade",
                         process, log)[0]
        wait_for(lambda: journal_fills(db) == fake_fills(fake), 10,
                 "journal fills equal to the fake's executions", process, log)
    finally:
        code, _ = stop_bot(process)
    assert code == 0
    executions = fake.executions()
    assert len(executions) == 2
    assert journal_fills(db) == fake_fills(fake)
    assert trade.exit_reason == "target" and trade.contracts == int(executions[0].shares)
    assert (trade.entry_price, trade.exit_price) == (executions[0].price, executions[1].price)
    assert trade.commission_cents == round(100 * sum(e.commission for e in executions))
    perm_ids = {row["order_ref"]: row["perm_id"] for row in
                (query(db, ib_store.ib_order_map) or {}).values()}
    assert perm_ids == {o.order_ref: o.perm_id for o in fake.placed_orders()}


def test_next_valid_id_rolled_back_causes_no_id_collision(tmp_path, fake):
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    process = start_bot(ib_config(tmp_path, fake.port), db, log)
    try:
        wait_trading(db, process, log)
        entry = enter_long(fake, db, process, log)[0]
        first = bracket_orders(fake, _bracket_id(entry.order_ref))
        fake.move_to(first["target"].lmt + 1, bars=3)
        wait_for(lambda: query(db, all_trades), 30, "the first round trip", process, log)
        fake.restart(next_valid_id=1)
        wait_for(lambda: len(events(db, "ib_connected")) == 2, 30, "the reconnect", process, log)
        wait_trading(db, process, log, after_bars=heartbeat(db).bars_processed + 2)
        second_entry = enter_long(fake, db, process, log, brackets=2)[1]
    finally:
        code, _ = stop_bot(process)
    assert code == 0
    keys = [(o.client_id, o.order_id) for o in fake.placed_orders()]
    assert len(keys) == 6 and len(set(keys)) == 6
    assert fake.errors_sent(103) == 0
    assert second_entry.order_id > max(o.order_id for o in first.values())


def test_rejected_order_is_a_clear_event_and_no_retry_storm(tmp_path, fake):
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    process = start_bot(ib_config(tmp_path, fake.port), db, log)
    try:
        wait_trading(db, process, log)
        fake.reject_next_orders(1)
        rejected = breakout_until(fake, lambda: events(db, "order_rejected"),
                                  "the rejection event", process, log)
        assert "201" in rejected[0].message and "no new entry" in rejected[0].message
        refused = breakout_until(fake, lambda: events(db, "entry_not_sent"),
                                 "a refused second entry", process, log)
        assert "entries paused" in refused[0].message
    finally:
        code, _ = stop_bot(process)
    assert code == 0
    assert len(fake.placed_orders()) == 3, "only the rejected bracket reached IB"
    assert fake.errors_sent(201) == 1 and not fake.executions()
    statuses = {o.order_id: o.status for o in query(db, journal_store.all_orders)}
    entry_ref = next(r for r in statuses if r.endswith("-entry"))
    assert statuses[entry_ref] == OrderStatus.REJECTED
    assert OrderStatus.WORKING not in statuses.values()


def test_duplicate_client_id_is_reported_and_retried_with_backoff(tmp_path, fake):
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    squatter = hold_client_id(fake.port, 17)
    process = start_bot(ib_config(tmp_path, fake.port), db, log)
    try:
        failures = wait_for(lambda: len(found := events(db, "ib_connect_failed")) >= 3 and found,
                            30, "three refused attempts", process, log)
        assert all("client id 17 is already in use" in e.message for e in failures)
        assert heartbeat(db).broker_connected == 0 and not fake.placed_orders()
        waits = [float(e.detail_json.split('"retry_s": ')[1].rstrip("}")) for e in failures]
        assert waits == sorted(waits) and waits[1] > waits[0]
        stamps = [e.recorded_at for e in failures]
        gaps = [(b - a).total_seconds() for a, b in zip(stamps, stamps[1:], strict=False)]
        assert all(gap >= wait * 0.9 for gap, wait in zip(gaps, waits, strict=False))
        squatter.close()
        wait_trading(db, process, log)
    finally:
        squatter.close()
        code, _ = stop_bot(process)
    assert code == 0 and len(events(db, "ib_connected")) == 1


def test_gateway_absent_at_start_bot_waits_reports_and_trades_when_it_appears(tmp_path):
    port = free_port()
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    process = start_bot(ib_config(tmp_path, port), db, log)
    gateway = None
    try:
        wait_for(lambda: len(events(db, "ib_connect_failed")) >= 2, 30, "failed attempts",
                 process, log)
        state = heartbeat(db)
        assert state.broker_connected == 0 and state.status == "running"
        gateway = FakeGatewayThread(GatewayConfig(port=port)).start()
        wait_trading(db, process, log)
        enter_long(gateway, db, process, log)
        wait_for(lambda: journal_fills(db) == fake_fills(gateway) and journal_fills(db), 20,
                 "the entry fill journaled", process, log)
    finally:
        code, _ = stop_bot(process)
        if gateway is not None:
            gateway.close()
    assert code == 0
