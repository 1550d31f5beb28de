"""An exception in the engine while a position is open: the stop still fills, the bot stays up.

Issue 19 item 3: a config with ``disaster_stop_usd: .inf`` made the engine raise OverflowError
on every bar of a position; the bot died, the heartbeat stayed "running" and every restart died
the same way, so the paper stop was enforced by nobody. Such a config can no longer be stored
(tests/shared/config/test_finite_bounds.py); here the same exception is injected into a real
live loop (in process, paper broker, synthetic feed) by giving the running engine that number
behind validation's back, the moment a position opens.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.composition import paper_broker
from bot.runtime.live import LiveBot
from shared.config.settings import Settings, settings_from_mapping
from shared.domain.models import ExitReason, OrderRole
from shared.persistence import journal_store, ops_store
from shared.persistence.db import connect

pytestmark = pytest.mark.faults

START = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
DEADLINE_S = 60.0


def settings() -> Settings:
    """A near stop and a far target, no trailing: the position ends at its stop."""
    return settings_from_mapping({
        "feed": {"speed": 1_000_000, "start": START.isoformat()},
        "engine": {"heartbeat_seconds": 0.05, "commands_poll_seconds": 0.05},
        "risk": {"atr_stop_multiplier": 0.5, "min_stop_points": 2, "reward_risk_ratio": 30,
                 "trailing_stop_enabled": False, "max_hold_minutes": 600},
    }, env={})


def break_the_engine(bot: LiveBot) -> None:
    """What a hot-reloaded ``disaster_stop_usd: .inf`` did (model_copy skips validation)."""
    risk = bot.engine.settings.risk.model_copy(update={"disaster_stop_usd": float("inf")})
    bot.engine.settings = bot.engine.settings.model_copy(update={"risk": risk})


async def run_until_stopped_out(bot: LiveBot) -> dict:
    """Run the loop; break the engine at the first position; stop once it is closed and the
    fault heartbeat is written (or at the deadline)."""
    seen: dict = {}
    reader = connect(bot.db_path, readonly=True)
    task = asyncio.create_task(bot.run())
    started = time.monotonic()
    try:
        while not task.done() and time.monotonic() - started < DEADLINE_S:
            await asyncio.sleep(0)
            position = bot.broker.position()
            if "position" not in seen and position is not None:
                seen["position"] = position
                break_the_engine(bot)
            if "position" in seen and position is None and "closed_at_bar" not in seen:
                seen["closed_at_bar"] = bot.bars_processed
            if "closed_at_bar" in seen and bot.bars_processed >= seen["closed_at_bar"] + 200:
                beat = ops_store.read_bot_state(reader)
                if beat is not None and beat.bars_processed > seen["closed_at_bar"] + 100:
                    seen["heartbeat"] = beat
                    bot.request_stop()
                    break
        seen["code"] = await asyncio.wait_for(task, timeout=30)
    finally:
        reader.close()
    return seen


def test_a_position_survives_an_engine_exception_with_its_stop_working(tmp_path: Path):
    db = tmp_path / "trader.db"
    bot = LiveBot(settings(), db, "test", paper_broker)
    seen = asyncio.run(run_until_stopped_out(bot))

    assert "position" in seen, "no position opened"
    assert "heartbeat" in seen, f"the position was not closed in time: {seen}"
    assert seen["code"] == 0  # the loop stayed up until asked to stop
    position = seen["position"]
    reader = connect(db, readonly=True)
    trades = {t.bracket_id: t for t in journal_store.all_trades(reader)}
    trade = trades[position.bracket_id]
    assert trade.exit_reason is ExitReason.STOP  # at its price, or beyond it on a gap
    assert (trade.exit_price - position.stop_price) * position.side.sign <= 0
    beat = seen["heartbeat"]
    assert beat.status == "fault" and beat.halted
    assert beat.halt_reason.startswith("engine fault: OverflowError: cannot convert float "
                                       "infinity to integer")
    faults = [e for e in ops_store.recent_events(reader, 5000) if e.kind == "engine_fault"]
    assert len(faults) == 1 and "entries halted" in faults[0].message
    entries = [o for o in journal_store.all_orders(reader) if o.role is OrderRole.ENTRY]
    assert [o.bracket_id for o in entries][-1] == position.bracket_id, "entered after the fault"
    integrity = journal_store.journal_integrity(reader)
    assert {k: v for k, v in integrity.items() if k != "decisions" and v} == {}
    assert ops_store.read_bot_state(reader).status == "stopped"
