"""IB connectivity notices and the kill switch in IB mode, against the fake gateway."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from shared.domain.models import CommandKind
from shared.persistence import journal_store, ops_store
from shared.persistence.db import open_database, write_transaction
from shared.persistence.journal_store import all_trades, load_position
from tests.fakeib.control import FakeGatewayThread
from tests.fakeib.server import GatewayConfig
from tests.integration.botproc import heartbeat, query, start_bot, stop_bot, wait_for
from tests.integration.ibbot import (
    BREAKOUT_POINTS,
    enter_long,
    events,
    fake_fills,
    ib_config,
    journal_fills,
    wait_trading,
)

pytestmark = pytest.mark.integration


def test_error_1100_stops_entries_until_1102_and_a_farm_flap_resubscribes(tmp_path, fake):
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    process = start_bot(ib_config(tmp_path, fake.port), db, log)
    try:
        wait_trading(db, process, log)
        fake.broadcast_error(1100, "Connectivity between IB and Trader Workstation has been lost.")
        wait_for(lambda: events(db, "ib_connectivity_lost"), 20, "the 1100 event", process, log)
        paused_at = heartbeat(db).bars_processed
        fake.breakout(BREAKOUT_POINTS)
        fake.move_to(fake.last_price(), bars=5)
        wait_for(lambda: fake.scripted_bars_left() == 0, 10, "the scripted bars played")
        assert not fake.placed_orders(), "no entry while IB connectivity is lost"
        assert heartbeat(db).bars_processed == paused_at
        subscriptions = len(fake.requests("50"))
        fake.broadcast_error(2103, "Market data farm connection is broken:usfarm")
        fake.broadcast_error(2104, "Market data farm connection is OK:usfarm")
        wait_for(lambda: len(fake.requests("50")) > subscriptions, 20, "a resubscription",
                 process, log)
        fake.broadcast_error(1102, "Connectivity between IB and TWS has been restored - data "
                                   "maintained.")
        wait_for(lambda: events(db, "ib_connectivity_restored"), 20, "the 1102 event",
                 process, log)
        wait_trading(db, process, log, after_bars=paused_at + 2)
        enter_long(fake, db, process, log)
    finally:
        code, _ = stop_bot(process)
    assert code == 0
    kinds = [e.kind for e in events(db, "ib_data_farm")]
    assert kinds == ["ib_data_farm", "ib_data_farm"]  # broken, then OK (routine OKs are quiet)


def test_flatten_command_exits_through_ib_and_the_oca_cancels_the_bracket(tmp_path, fake):
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    process = start_bot(ib_config(tmp_path, fake.port), db, log)
    try:
        wait_trading(db, process, log)
        enter_long(fake, db, process, log)
        wait_for(lambda: query(db, load_position, "MES"), 20, "the position", process, log)
        conn = open_database(db)
        with write_transaction(conn):
            ops_store.enqueue_command(conn, CommandKind.FLATTEN, datetime.now(UTC))
        conn.close()
        trade = wait_for(lambda: query(db, all_trades), 30, "the flatten exit",
                         process, log)[0]
        wait_for(lambda: journal_fills(db) == fake_fills(fake), 10, "journal = fake fills",
                 process, log)
    finally:
        code, _ = stop_bot(process)
    assert code == 0 and trade.exit_reason == "kill_switch"
    assert fake.position() == 0 and not fake.working_orders()
    refs = [o.order_ref.rsplit("-", 1)[1] for o in fake.placed_orders()]
    assert refs == ["entry", "target", "stop", "exit"]
    assert heartbeat(db).halted == 1


def test_the_bot_rolls_to_the_next_quarterly_on_the_roll_date_when_flat(tmp_path):
    start = datetime(2025, 3, 12, 23, 52, tzinfo=UTC)  # MESH5 expires 2025-03-21: rolls 03-13
    # The clock waits for the bot: a slow start must not find the market already past midnight.
    gateway = FakeGatewayThread(GatewayConfig(start=start, bar_interval_s=0.05,
                                              start_paused=True)).start()
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    process = start_bot(ib_config(tmp_path, gateway.port), db, log)
    try:
        connected = wait_for(lambda: events(db, "ib_connected"), 30, "connected", process, log)
        assert "MESH5" in connected[0].message
        gateway.pause_bars(False)
        rolled = wait_for(lambda: events(db, "contract_rolled"), 60, "the roll", process, log)
        next_month = gateway.call(lambda: gateway.gateway.futures("MES")[1])
        subscribed = [fields for _, fields in gateway.requests("50")]
    finally:
        code, _ = stop_bot(process)
        gateway.close()
    assert code == 0 and "from MESH5 to MESM5" in rolled[0].message
    assert subscribed[-1][3] == str(next_month.con_id)


def test_a_limit_entry_unfilled_after_its_bar_is_cancelled_with_its_bracket(tmp_path, fake):
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    config = ib_config(tmp_path, fake.port, risk={"entry_order_type": "limit"})
    process = start_bot(config, db, log)

    def script_breakout_then_gap_up():
        start = fake.gateway.path.last_price
        top = start + BREAKOUT_POINTS
        fake.gateway.path.script([
            (start, top + 0.25, start - 0.25, top, 5000.0),
            *[(top + 2, top + 3, top + 2, top + 2.5, 100.0) for _ in range(3)],
        ])

    def cancelled_entries():
        return [o for o in fake.placed_orders()
                if o.order_ref.endswith("-entry") and o.status == "Cancelled"]

    try:
        wait_trading(db, process, log)
        for _ in range(4):
            fake.call(script_breakout_then_gap_up)
            if wait_for(lambda: fake.scripted_bars_left() == 0, 10, "scripted bars") and (
                    fake.placed_orders()):
                break
        entry = wait_for(cancelled_entries, 20, "the limit entry cancelled", process, log)[0]
        wait_for(lambda: not fake.working_orders(), 10, "the bracket cancelled", process, log)
        statuses = wait_for(
            lambda: (rows := {o.order_id: o.status for o in query(db, journal_store.all_orders)})
            and "working" not in rows.values() and rows, 20, "journal caught up", process, log)
    finally:
        code, _ = stop_bot(process)
    assert code == 0 and not fake.executions()
    assert entry.order_type == "LMT" and statuses[entry.order_ref] == "cancelled"
