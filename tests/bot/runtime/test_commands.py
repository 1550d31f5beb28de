"""Dashboard commands: every kind has its own branch, and only flatten touches the book."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from bot.adapters.journal import MemoryJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core import risk
from bot.core.engine import TradingEngine
from bot.core.sessions import CmeSessionClock
from bot.runtime.commands import execute_command, process_pending_commands
from shared.config.settings import settings_from_mapping
from shared.domain.errors import CommandRejected
from shared.domain.instruments import get_instrument
from shared.domain.models import CommandKind, CommandStatus, ExitReason
from shared.persistence import ops_store
from shared.persistence.db import write_transaction
from shared.persistence.ops_store import CommandRow
from tests.conftest import synthetic_bars
from tests.support import open_migrated_journal

NOW = datetime(2025, 3, 3, 15, 0, tzinfo=UTC)


class RecordingLlm:
    """Stands in for the LLM service: records manual triggers."""

    def __init__(self) -> None:
        self.calls: list[dict[str, Any]] = []

    def manual(self, payload: dict[str, Any], command_id: int, now: datetime) -> str:
        self.calls.append(payload)
        return "queued"


def engine_in_position() -> TradingEngine:
    settings = settings_from_mapping({"risk": {"max_trades_per_day": 40}}, env={})
    broker = PaperBroker(get_instrument("MES"), 62, 1)
    engine = TradingEngine(settings, broker, MemoryJournal(), CmeSessionClock())
    for bar in synthetic_bars(6000):
        engine.on_bar(bar)
        if broker.position() is not None:
            return engine
    raise RuntimeError("the synthetic market never opened a position")


def next_bar_after(engine: TradingEngine):
    return next(b for b in synthetic_bars(6000) if b.ts > engine.last_bar.ts)


# per-trade commands without a price, or cancel_entry while a position is open, are refused
REFUSED_WITHOUT_PAYLOAD = (CommandKind.MOVE_STOP, CommandKind.MOVE_TARGET,
                           CommandKind.CANCEL_ENTRY)


@pytest.mark.parametrize("kind", list(CommandKind), ids=str)
def test_every_command_kind_has_its_own_branch(kind):
    engine = engine_in_position()
    llm = RecordingLlm()
    if kind in REFUSED_WITHOUT_PAYLOAD:
        with pytest.raises(CommandRejected, match="refused: "):
            execute_command(engine, CommandRow(1, kind.value, {}, NOW), NOW, llm)
    else:
        status, message = execute_command(engine, CommandRow(1, kind.value, {}, NOW), NOW, llm)
        assert status is CommandStatus.DONE, message
    engine.on_bar(next_bar_after(engine))
    # only flatten and exit_position close the position; only trigger_llm reaches the LLM
    assert (engine.broker.position() is None) == (
        kind in (CommandKind.FLATTEN, CommandKind.EXIT_POSITION))
    assert (llm.calls != []) == (kind is CommandKind.TRIGGER_LLM)
    assert engine.risk_state.halted == (kind in (CommandKind.HALT, CommandKind.FLATTEN))


def test_flatten_exits_at_the_next_open_and_halts_unless_told_not_to():
    engine = engine_in_position()
    status, message = execute_command(engine, CommandRow(1, "flatten", {"halt": False}, NOW),
                                      engine.last_bar.ts, None)
    assert status is CommandStatus.DONE and "halted" not in message
    assert not engine.risk_state.halted
    engine.on_bar(next_bar_after(engine))
    assert engine.broker.position() is None
    assert engine.journal.trades[-1].exit_reason is ExitReason.FLATTEN


def test_entries_are_not_blocked_after_the_traders_own_flatten():
    engine = engine_in_position()
    before = engine.risk_state
    execute_command(engine, CommandRow(1, "flatten", {"halt": False}, NOW), engine.last_bar.ts,
                    None)
    bar = next_bar_after(engine)
    engine.on_bar(bar)
    trade = engine.journal.trades[-1]
    assert trade.exit_reason is ExitReason.FLATTEN and trade.pnl_net_cents < 0, trade
    after = engine.risk_state
    assert after.realized_today_cents == before.realized_today_cents + trade.pnl_net_cents
    assert (after.consecutive_losses, after.last_loss_ts) == (
        before.consecutive_losses, before.last_loss_ts)
    block = risk.entry_block(after, engine.settings.risk, bar.ts,
                             engine.clock.minutes_to_close(bar.ts))
    assert block is None, block


def test_an_unknown_kind_fails_naming_the_known_ones():
    engine = engine_in_position()
    status, message = execute_command(engine, CommandRow(1, "explode", {}, NOW), NOW, None)
    assert status is CommandStatus.FAILED
    assert "explode" in message and all(k.value in message for k in CommandKind)


def test_trigger_llm_without_a_worker_fails_instead_of_flattening():
    engine = engine_in_position()
    status, message = execute_command(engine, CommandRow(1, "trigger_llm", {}, NOW), NOW, None)
    assert status is CommandStatus.FAILED and "no LLM worker" in message
    assert engine.broker.position() is not None and not engine.risk_state.halted


def test_pending_commands_are_carried_out_in_order_and_marked(tmp_path):
    conn = open_migrated_journal(tmp_path / "t.db")
    with write_transaction(conn):
        first = ops_store.enqueue_command(conn, CommandKind.HALT, NOW, {"reason": "lunch"})
        second = ops_store.enqueue_command(conn, CommandKind.RESUME, NOW + timedelta(seconds=1))
        bad = ops_store.enqueue_command(conn, "explode", NOW + timedelta(seconds=2))
    engine = engine_in_position()
    handled = process_pending_commands(conn, engine, NOW, NOW, None)
    assert handled == 3 and ops_store.pending_commands(conn) == []
    outcomes = {i: ops_store.command_outcome(conn, i) for i in (first, second, bad)}
    assert outcomes[first].status == "done" and "lunch" in outcomes[first].result
    assert outcomes[second].status == "done" and not engine.risk_state.halted
    assert outcomes[bad].status == "failed"


def test_fifty_flattens_send_one_exit_and_say_so(tmp_path):
    engine = engine_in_position()
    position = engine.broker.position()
    conn = open_migrated_journal(tmp_path / "t.db")
    with write_transaction(conn):
        ids = [ops_store.enqueue_command(conn, CommandKind.FLATTEN, NOW, {"halt": True})
               for _ in range(50)]
    assert process_pending_commands(conn, engine, engine.last_bar.ts, NOW) == 50
    results = [ops_store.command_outcome(conn, i).result for i in ids]
    side = f"{position.side.value} {position.contracts}"
    assert results[0] == f"market exit sent for {side}; entries halted"
    assert set(results[1:]) == {f"market exit already working for {side}: no second exit "
                                f"sent; entries halted"}
    exits = [o for o in engine.broker.working_orders() if o.role.value == "exit"]
    assert len(exits) == 1
    engine.on_bar(next_bar_after(engine))
    assert engine.broker.position() is None
    with write_transaction(conn):
        late = ops_store.enqueue_command(conn, CommandKind.FLATTEN, NOW, {"halt": True})
    process_pending_commands(conn, engine, engine.last_bar.ts, NOW)
    assert ops_store.command_outcome(conn, late).result.startswith("flat:")
    conn.close()
