"""Per-trade control through IB: ``python -m bot run`` (ib_paper) against the fake gateway.

The stop and target are modified at the gateway (the same order id, a new aux / limit price),
a modification the gateway refuses leaves the old stop working and is journaled as such, and
the journal's last price of each order equals the gateway's. Exit position sends a market exit
for this position only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from shared.domain.models import CommandKind
from shared.persistence import journal_store, ops_store
from shared.persistence.db import open_database, write_transaction
from tests.integration.botproc import query, start_bot, stop_bot, wait_for
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


def _command(db: Path, kind: CommandKind, **payload) -> int:
    conn = open_database(db)
    try:
        with write_transaction(conn):
            return ops_store.enqueue_command(conn, kind, datetime.now(UTC), payload)
    finally:
        conn.close()


def _outcome(db: Path, command_id: int, process, log: Path) -> ops_store.CommandOutcome:
    return wait_for(lambda: (o := query(db, ops_store.command_outcome, command_id))
                    and o.processed_at is not None and o, 30, f"command {command_id}",
                    process, log)


def _journal_price(db: Path, order_ref: str) -> float | None:
    history = query(db, journal_store.order_event_history, order_ref) or []
    return history[-1][1] if history else None


def test_move_stop_and_target_modify_the_gateways_orders_and_exit_closes_only_this_trade(
        tmp_path, fake):
    db, log = tmp_path / "t.db", tmp_path / "bot.log"
    config = ib_config(tmp_path, fake.port, risk={"trailing_stop_enabled": False})
    process = start_bot(config, db, log)
    try:
        wait_trading(db, process, log)
        entry = enter_long(fake, db, process, log)[0]
        bracket_id = entry.order_ref.rsplit("-", 1)[0]
        position = wait_for(lambda: query(db, journal_store.load_position, "MES"), 20,
                            "the journaled position", process, log)
        fake.pause_bars()  # the market holds still while the trader works the bracket
        orders = bracket_orders(fake, bracket_id)
        stop, target = orders["stop"], orders["target"]
        old_stop, old_target = stop.aux, target.lmt
        assert position.stop_price == old_stop

        new_stop = old_stop + 1.0  # tighter for a long
        done = _outcome(db, _command(db, CommandKind.MOVE_STOP, bracket_id=bracket_id,
                                     price=new_stop), process, log)
        assert done.status == "done", done.result
        assert done.result.startswith(f"stop tightened {old_stop:,.2f} → {new_stop:,.2f}")
        assert done.result.endswith("a refusal is journaled as stop_modify_rejected)")
        wait_for(lambda: fake.modifications(), 10, "the modification at the gateway",
                 process, log)
        assert fake.modifications() == [(stop.order_ref, new_stop)]
        assert bracket_orders(fake, bracket_id)["stop"].order_id == stop.order_id
        assert bracket_orders(fake, bracket_id)["stop"].aux == new_stop
        assert _journal_price(db, stop.order_ref) == new_stop

        fake.reject_next_modifies(1)
        refused = _outcome(db, _command(db, CommandKind.MOVE_STOP, bracket_id=bracket_id,
                                        price=new_stop + 1.0), process, log)
        assert refused.status == "done", refused.result  # sent; IB's answer comes after
        rejected = wait_for(lambda: events(db, "stop_modify_rejected"), 20,
                            "the rejected modification journaled", process, log)[0]
        assert f"the old stop {new_stop:g} stays working" in rejected.message
        assert bracket_orders(fake, bracket_id)["stop"].aux == new_stop
        wait_for(lambda: _journal_price(db, stop.order_ref) == new_stop, 10,
                 "the journal back at the stop the gateway holds", process, log)
        assert query(db, journal_store.load_position, "MES").stop_price == new_stop

        wrong = _outcome(db, _command(db, CommandKind.MOVE_STOP, bracket_id=bracket_id,
                                      price=old_target + 5), process, log)
        assert wrong.status == "failed" and "is above the market" in wrong.result

        new_target = old_target - 1.0  # tighter for a long
        moved = _outcome(db, _command(db, CommandKind.MOVE_TARGET, bracket_id=bracket_id,
                                      price=new_target), process, log)
        assert moved.status == "done", moved.result
        wait_for(lambda: len(fake.modifications()) == 2, 10, "the target modification",
                 process, log)
        assert fake.modifications()[-1] == (target.order_ref, new_target)
        assert _journal_price(db, target.order_ref) == new_target

        cancel = _outcome(db, _command(db, CommandKind.CANCEL_ENTRY, bracket_id=bracket_id),
                          process, log)
        assert cancel.status == "failed" and "the entry has filled" in cancel.result

        exit_id = _command(db, CommandKind.EXIT_POSITION, bracket_id=bracket_id)
        exited = _outcome(db, exit_id, process, log)
        assert exited.status == "done" and "market exit sent" in exited.result, exited.result
        fake.pause_bars(False)
        trade = wait_for(lambda: query(db, journal_store.all_trades), 30, "the exit",
                         process, log)[0]
        wait_for(lambda: journal_fills(db) == fake_fills(fake), 10,
                 "journal fills equal to the fake's executions", process, log)
    finally:
        code, _ = stop_bot(process)
    assert code == 0
    assert trade.bracket_id == bracket_id and trade.exit_reason == "flatten"
    assert len(fake.placed_orders()) == 4  # the bracket and one market exit: nothing re-sent
    assert not fake.working_orders()
    for order in bracket_orders(fake, bracket_id).values():  # the journal's last word = IB's
        journaled = _journal_price(db, order.order_ref)
        expected = {"STP": order.aux, "LMT": order.lmt}.get(order.order_type)
        assert journaled == expected, (order.order_ref, journaled, expected)
    control = events(db, "trade_control")
    assert [e.severity for e in control] == ["info", "info", "warning", "info", "warning",
                                             "info"]
