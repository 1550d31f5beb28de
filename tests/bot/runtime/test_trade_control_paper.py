"""Per-trade control against the paper broker: commands queued in a real journal file, carried
out by the engine between bars, with the orders, order events and events the journal keeps."""

from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.journal import SqliteJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core.engine import TradingEngine
from bot.core.sessions import CmeSessionClock
from bot.runtime.commands import process_pending_commands
from shared.config.settings import settings_from_mapping
from shared.domain.instruments import get_instrument
from shared.domain.models import CommandKind, CommandStatus, ExitReason, OrderRole, Position
from shared.persistence import journal_store, ops_store
from shared.persistence.db import open_database, write_transaction
from tests.conftest import synthetic_bars

pytestmark = pytest.mark.integration

WALL = datetime(2025, 3, 3, 16, 0, tzinfo=UTC)
BARS = synthetic_bars(6000)


class Desk:
    """An engine on a paper broker journaling to a real SQLite file, fed bar by bar."""

    def __init__(self, db: Path) -> None:
        self.conn = open_database(db)
        settings = settings_from_mapping({"risk": {"max_trades_per_day": 40}}, env={})
        self.broker = PaperBroker(get_instrument("MES"), 62, 1)
        self.engine = TradingEngine(settings, self.broker, SqliteJournal(self.conn),
                                    CmeSessionClock())
        self.next_bar = 0

    def step(self) -> None:
        self.engine.on_bar(BARS[self.next_bar])
        self.next_bar += 1

    def until(self, done) -> None:
        while not done():
            self.step()

    def command(self, kind: CommandKind, **payload) -> ops_store.CommandOutcome:
        with write_transaction(self.conn):
            command_id = ops_store.enqueue_command(self.conn, kind, WALL, payload)
        now = self.engine.last_bar.ts + self.engine.bar_length
        process_pending_commands(self.conn, self.engine, now, WALL)
        return ops_store.command_outcome(self.conn, command_id)

    def events(self) -> list[ops_store.EventRow]:
        return [e for e in reversed(ops_store.recent_events(self.conn, 1000))
                if e.kind == "trade_control"]

    def position(self) -> Position:
        position = self.broker.position()
        if position is None:
            raise AssertionError("no open position")
        return position


@pytest.fixture
def desk(tmp_path: Path):
    d = Desk(tmp_path / "t.db")
    yield d
    d.conn.close()


def journal_position(conn: sqlite3.Connection) -> Position | None:
    return journal_store.load_position(conn, "MES")


def test_move_stop_tightens_at_the_broker_and_in_the_journal_and_fills_there(desk):
    desk.until(lambda: desk.broker.position() is not None)
    position = desk.position()
    sign = position.side.sign
    market = desk.engine.last_bar.close
    new_stop = get_instrument("MES").round_to_tick(market - sign * 1.0)
    outcome = desk.command(CommandKind.MOVE_STOP, bracket_id=position.bracket_id,
                           price=new_stop)
    assert outcome.status is CommandStatus.DONE, outcome.result
    assert outcome.result.startswith("stop tightened")
    assert desk.position().stop_price == new_stop
    stop_id = f"{position.bracket_id}-stop"
    history = journal_store.order_event_history(desk.conn, stop_id)
    assert history[-1] == ("working", new_stop, f"stop moved to {new_stop:g}")
    assert journal_position(desk.conn).stop_price == new_stop
    assert desk.events()[-1].severity == "info"
    assert json.loads(desk.events()[-1].detail_json)["accepted"] is True
    desk.until(lambda: desk.broker.position() is None)
    trade = journal_store.all_trades(desk.conn)[-1]
    assert trade.exit_reason in (ExitReason.STOP, ExitReason.TARGET, ExitReason.TRAILING_STOP)
    if trade.exit_reason is ExitReason.STOP:  # the moved stop filled: at it (or worse, slipped)
        assert (trade.exit_price - new_stop) * sign <= 0
        assert (trade.exit_price - position.stop_price) * sign > 0, "not at the old stop"


def test_refused_moves_keep_the_old_levels_and_say_what_is_wrong(desk):
    desk.until(lambda: desk.broker.position() is not None)
    position = desk.position()
    market = desk.engine.last_bar.close
    wrong_side = market + position.side.sign * 5.0
    outcome = desk.command(CommandKind.MOVE_STOP, bracket_id=position.bracket_id,
                           price=wrong_side)
    relation = "above" if position.side.sign > 0 else "below"
    assert outcome.status is CommandStatus.FAILED
    assert outcome.result == (f"refused: stop {wrong_side:,.2f} is {relation} the market "
                              f"{market:,.2f} for a {position.side.value}")
    too_wide = position.entry_price - position.side.sign * 200.0
    outcome = desk.command(CommandKind.MOVE_STOP, bracket_id=position.bracket_id,
                           price=too_wide)
    assert outcome.status is CommandStatus.FAILED and "a widened stop may risk" in outcome.result
    outcome = desk.command(CommandKind.MOVE_TARGET, bracket_id="b-gone", price=market)
    assert "trade b-gone is no longer open" in outcome.result
    assert desk.position() == position, "nothing moved"
    assert [e.severity for e in desk.events()] == ["warning"] * 3
    assert all(e.message.startswith("refused: ") for e in desk.events())


def test_move_target_widens_within_the_band(desk):
    desk.until(lambda: desk.broker.position() is not None)
    position = desk.position()
    wider = position.target_price + position.side.sign * 4.0
    outcome = desk.command(CommandKind.MOVE_TARGET, bracket_id=position.bracket_id, price=wider)
    assert outcome.status is CommandStatus.DONE and "target widened" in outcome.result
    assert desk.position().target_price == wider
    assert journal_store.order_event_history(
        desk.conn, f"{position.bracket_id}-target")[-1][1] == wider


def test_cancel_entry_cancels_the_unfilled_bracket_and_nothing_fills(desk):
    desk.until(desk.broker.has_pending_entry)
    entry = next(o for o in desk.broker.working_orders() if o.role is OrderRole.ENTRY)
    outcome = desk.command(CommandKind.CANCEL_ENTRY, bracket_id=entry.bracket_id)
    assert outcome.status is CommandStatus.DONE, outcome.result
    assert not desk.broker.working_orders()
    desk.step()
    assert desk.broker.position() is None or desk.position().bracket_id != entry.bracket_id
    statuses = {o.order_id: o.status.value for o in journal_store.all_orders(desk.conn)
                if o.bracket_id == entry.bracket_id}
    assert statuses == {f"{entry.bracket_id}-{r}": "cancelled"
                        for r in ("entry", "stop", "target")}
    assert not [f for f in journal_store.all_fills(desk.conn)
                if f["order_id"].startswith(entry.bracket_id)]


def test_cancel_entry_refused_once_the_entry_filled(desk):
    desk.until(lambda: desk.broker.position() is not None)
    outcome = desk.command(CommandKind.CANCEL_ENTRY, bracket_id=desk.position().bracket_id)
    assert outcome.status is CommandStatus.FAILED and "the entry has filled" in outcome.result
    assert desk.broker.position() is not None


def test_exit_position_exits_this_position_at_the_next_open_without_halting(desk):
    desk.until(lambda: desk.broker.position() is not None)
    position = desk.position()
    outcome = desk.command(CommandKind.EXIT_POSITION, bracket_id=position.bracket_id)
    assert outcome.status is CommandStatus.DONE and "market exit sent" in outcome.result
    next_open = BARS[desk.next_bar].open
    desk.step()
    trade = journal_store.all_trades(desk.conn)[-1]
    assert trade.bracket_id == position.bracket_id and trade.exit_reason is ExitReason.FLATTEN
    assert trade.exit_price == next_open - position.side.sign * 0.25  # one tick of slippage
    assert not desk.engine.risk_state.halted
    again = desk.command(CommandKind.EXIT_POSITION, bracket_id=position.bracket_id)
    assert again.status is CommandStatus.FAILED
    assert again.result == "refused: no open position" or again.result.startswith(
        f"refused: trade {position.bracket_id} is no longer open")


@pytest.mark.parametrize(("payload", "says"), [
    ({}, "stop price None is not a number"),
    ({"price": "abc"}, "stop price 'abc' is not a number"),
    ({"price": "nan"}, "stop price nan is not a finite number"),
])
def test_a_move_without_a_usable_price_is_refused_naming_it(desk, payload, says):
    desk.until(lambda: desk.broker.position() is not None)
    outcome = desk.command(CommandKind.MOVE_STOP, **payload)
    assert outcome.status is CommandStatus.FAILED and says in outcome.result, outcome.result
