"""The position card's per-trade controls write the right command rows (kind, bracket, price),
offer Cancel entry only for a working unfilled entry, and are off while the bot is stopped.

supervisord's XML-RPC is replaced by a stand-in; the journal and the pages are real."""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

import shared.supervisor
from shared.domain.models import (
    Order,
    OrderRole,
    OrderStatus,
    OrderType,
    Position,
    Side,
)
from shared.persistence import journal_store, ops_store
from shared.persistence.db import open_database, write_transaction
from shared.supervisor import ProcessInfo
from tests.pages.conftest import shown, wire_dashboard

APP = str(Path(__file__).resolve().parents[2] / "streamlit_app.py")
NOW = datetime.now(UTC)
BRACKET = "MES-20250303T150000"


@pytest.fixture
def app_db(tmp_path, monkeypatch) -> tuple[Path, dict]:
    bot = {"state": "RUNNING"}
    monkeypatch.setattr(shared.supervisor, "process_info",
                        lambda name, url=None: ProcessInfo(name, bot["state"], "pid", os.getpid()))
    db = tmp_path / "trader.db"
    wire_dashboard(monkeypatch, db, tmp_path / "config.yaml")
    return db, bot


def _journal(db: Path, position: bool) -> None:
    conn = open_database(db)
    with write_transaction(conn):
        ops_store.upsert_bot_state(conn, ops_store.Heartbeat(
            heartbeat_at=datetime.now(UTC), mode="paper", symbol="MES", status="running",
            pid=os.getpid(), broker_connected=True, last_price=5004.0,
            position_side="long" if position else None, position_contracts=int(position),
            position_entry_price=5000.0 if position else None,
            position_stop_price=4990.0 if position else None,
            position_target_price=5015.0 if position else None, max_trades_per_day=10))
        journal_store.upsert_order(conn, Order(
            f"{BRACKET}-entry", BRACKET, "MES", Side.LONG, OrderRole.ENTRY, OrderType.MARKET, 1,
            None, OrderStatus.FILLED if position else OrderStatus.WORKING, NOW), NOW,
            "submitted", NOW)
        if position:
            journal_store.save_position(conn, "MES", Position(
                "MES", Side.LONG, 1, 5000.0, NOW, BRACKET, 4990.0, 5015.0), NOW)
    conn.close()


def _commands(db: Path) -> list[tuple[str, dict]]:
    conn = open_database(db)
    try:
        rows = ops_store.pending_commands(conn)
    finally:
        conn.close()
    return [(r.kind, r.payload) for r in rows]


def _button(app: AppTest, label: str):
    return next(b for b in app.button if b.label == label)


def test_move_stop_and_exit_write_commands_naming_the_trade(app_db):
    db, _ = app_db
    _journal(db, position=True)
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not [b for b in app.button if b.label == "Cancel entry"]
    assert _button(app, "Move stop").disabled, "no price typed yet"
    assert _button(app, "Exit position").disabled, "not confirmed yet"
    stop_input = next(n for n in app.number_input if n.label.startswith("New stop"))
    app = stop_input.set_value(4995.0).run()
    app = _button(app, "Move stop").click().run()
    assert _commands(db) == [("move_stop", {"bracket_id": BRACKET, "price": 4995.0})]
    assert any("sent to the bot as command #1" in i.value for i in app.info)
    app = next(c for c in app.checkbox if c.label.startswith("Confirm: exit")).check().run()
    app = _button(app, "Exit position").click().run()
    assert _commands(db)[-1] == ("exit_position", {"bracket_id": BRACKET})


def test_cancel_entry_is_offered_for_a_working_entry_and_names_it(app_db):
    db, _ = app_db
    _journal(db, position=False)
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert not [n for n in app.number_input if n.label.startswith("New stop")]
    app = _button(app, "Cancel entry").click().run()
    ((kind, payload),) = _commands(db)
    assert (kind, json.dumps(payload)) == ("cancel_entry", json.dumps({"bracket_id": BRACKET}))


def test_controls_are_off_while_the_bot_is_stopped(app_db):
    db, bot = app_db
    _journal(db, position=True)
    bot["state"] = "STOPPED"
    app = AppTest.from_file(APP, default_timeout=60).run()
    assert _button(app, "Move target").disabled and _button(app, "Exit position").disabled
    assert any("Controls are off while the bot is not running" in c.value for c in app.caption)


def test_the_brokers_refusal_of_a_move_is_shown_on_the_card_for_this_trade_only(app_db):
    db, _ = app_db
    _journal(db, position=True)
    conn = open_database(db)
    with write_transaction(conn):
        for bracket in (BRACKET, "MES-20250303T140000"):  # this trade's, then an older one's
            ops_store.insert_event(
                conn, NOW, "stop_modify_rejected", "incident",
                f"IB rejected moving the stop of {bracket} (321 Error validating request); "
                "the old stop 4990 stays working", {"order_ref": f"{bracket}-stop"}, NOW)
    conn.close()
    app = AppTest.from_file(APP, default_timeout=60).run()
    shown_errors = [shown(e.value) for e in app.error]
    mine = [e for e in shown_errors if "IB rejected moving the stop" in e]
    assert len(mine) == 1 and BRACKET in mine[0] and "the old stop 4990 stays working" in mine[0]
