"""Faults of the IB path: the gateway drops mid-position, the bot is killed while its bracket works.

The bot is a real ``python -m bot run`` in ib_paper mode with the real ib_async client; the fake
gateway speaks the TWS wire protocol on loopback. Invariants: no order placed twice, the stop
still works after the fault, the journal's fills equal the gateway's executions.
"""

from __future__ import annotations

import random
import signal
import time

import pytest

from shared.domain.models import OrderRole, OrderStatus
from shared.persistence import journal_store
from shared.persistence.journal_store import all_trades, load_position
from tests.integration.botproc import heartbeat, query, start_bot, stop_bot, wait_for
from tests.integration.ibbot import (
    bracket_orders,
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


def test_gateway_down_mid_position_reconnect_reconcile_stop_still_works(tmp_path, fake):
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    process = start_bot(ib_config(tmp_path, fake.port,
                                  risk={"trailing_stop_enabled": False}), db, log)
    try:
        wait_trading(db, process, log)
        entry = enter_long(fake, db, process, log)[0]
        wait_for(lambda: query(db, load_position, "MES"), 20, "the journaled position",
                 process, log)
        fake.stop_listening()
        wait_for(lambda: heartbeat(db).broker_connected == 0, 20, "broker_connected = 0",
                 process, log)
        wait_for(lambda: events(db, "ib_connect_failed"), 20, "a failed reconnect", process, log)
        fake.start()
        wait_for(lambda: len(events(db, "ib_connected")) == 2, 30, "the reconnect", process, log)
        wait_trading(db, process, log, after_bars=heartbeat(db).bars_processed + 2)
        orders = bracket_orders(fake, _bracket_id(entry.order_ref))
        assert len(fake.placed_orders()) == 3, "the reconnect must not place any order"
        assert orders["stop"].status == "Submitted"
        working = {o.role for o in query(db, journal_store.working_orders, "MES")}
        assert working == {OrderRole.STOP, OrderRole.TARGET}
        fake.move_to(orders["stop"].aux - 2, bars=3)
        trade = wait_for(lambda: query(db, all_trades), 30, "the stop-out", process, log)[0]
        wait_for(lambda: journal_fills(db) == fake_fills(fake), 10, "journal = fake fills",
                 process, log)
    finally:
        code, _ = stop_bot(process)
    assert code == 0 and trade.exit_reason == "stop"
    assert len(fake.placed_orders()) == 3 and fake.position() == 0
    assert [e.kind for e in events(db, "ib_disconnected")] == ["ib_disconnected"]


@pytest.mark.parametrize("seed", [1, 2])
def test_kill_9_while_the_bracket_works_restart_adopts_without_duplicates(tmp_path, fake, seed):
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    config = ib_config(tmp_path, fake.port, risk={"trailing_stop_enabled": False})
    first = start_bot(config, db, log)
    try:
        wait_trading(db, first, log)
        entry = enter_long(fake, db, first, log)[0]
        time.sleep(random.Random(seed).uniform(0.0, 1.0))  # the kill lands at a random moment
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(timeout=10)
    orders = bracket_orders(fake, _bracket_id(entry.order_ref))
    assert orders["stop"].status == orders["target"].status == "Submitted"
    second = start_bot(config, db, log)
    try:
        wait_for(lambda: (h := heartbeat(db)) and h.pid == second.pid
                 and h.broker_connected == 1, 30, "the restarted bot connected", second, log)
        position = wait_for(lambda: query(db, load_position, "MES"), 20,
                            "the position after restart", second, log)
        assert position.contracts == int(fake.position()) and position.side == "long"
        working = {o.order_id: o for o in query(db, journal_store.working_orders, "MES")}
        assert set(working) == {orders["stop"].order_ref, orders["target"].order_ref}
        assert working[orders["stop"].order_ref].price == orders["stop"].aux
        assert len(fake.placed_orders()) == 3, "the restart must not place any order"
        fake.move_to(orders["target"].lmt + 1, bars=3)
        trade = wait_for(lambda: query(db, all_trades), 30, "the target fill", second, log)
        wait_for(lambda: journal_fills(db) == fake_fills(fake), 10, "journal = fake fills",
                 second, log)
    finally:
        code, _ = stop_bot(second)
    assert code == 0 and trade[0].exit_reason == "target"
    assert len(fake.placed_orders()) == 3
    statuses = {o.order_id: o.status for o in query(db, journal_store.all_orders)}
    assert statuses[orders["stop"].order_ref] == OrderStatus.CANCELLED
