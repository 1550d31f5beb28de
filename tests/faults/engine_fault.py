"""An exception in the engine while a position is open, in a real live loop (issue 19 item 3).

A config with ``disaster_stop_usd: .inf`` made the engine raise OverflowError on every bar of a
position; the bot died, the heartbeat stayed "running" and every restart died the same way, so
the paper stop was enforced by nobody. Such a config can no longer be stored
(tests/shared/config/test_finite_bounds.py), so the driver injects the same exception by giving
the running engine that number behind validation's back, the moment a position opens, in an
in-process live loop (paper broker, synthetic feed). ``test_engine_fault.py`` asserts on the
result; ``benchmarks/bench_faults.py`` prints it as a row.
"""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.composition import paper_broker
from bot.runtime.live import LiveBot
from shared.config.settings import Settings, settings_from_mapping
from shared.domain.models import ExitReason, OrderRole
from shared.persistence import journal_store, ops_store
from shared.persistence.db import connect
from tests.faults.scenarios import FaultResult, JournalCheck

START = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)
DEADLINE_S = 60.0
BARS_AFTER_CLOSE = 200  # the bot runs on this long after the stop filled: no new entry
EXPECTED_REASON = "engine fault: OverflowError: cannot convert float infinity to integer"


def near_stop_settings() -> Settings:
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


async def _run(bot: LiveBot) -> dict[str, Any]:
    """Run the loop; break the engine at the first position; stop once it is closed and a
    later heartbeat is written (or at the deadline)."""
    seen: dict[str, Any] = {}
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
            closed = seen.get("closed_at_bar")
            if closed is not None and bot.bars_processed >= closed + BARS_AFTER_CLOSE:
                beat = ops_store.read_bot_state(reader)
                if beat is not None and beat.bars_processed > closed + BARS_AFTER_CLOSE // 2:
                    seen["heartbeat"] = beat
                    break
        bot.request_stop()
        seen["code"] = await asyncio.wait_for(task, timeout=30)
    finally:
        reader.close()
    return seen


def _problems(seen: dict[str, Any], db: Path) -> list[str]:
    position, beat = seen.get("position"), seen.get("heartbeat")
    if position is None:
        return ["no position opened"]
    if beat is None:
        return ["the position was not closed within the deadline"]
    problems = [] if seen["code"] == 0 else [f"the loop ended with {seen['code']}"]
    reader = connect(db, readonly=True)
    try:
        trade = {t.bracket_id: t for t in journal_store.all_trades(reader)}.get(
            position.bracket_id)
        entries = [o for o in journal_store.all_orders(reader) if o.role is OrderRole.ENTRY]
        faults = [e for e in ops_store.recent_events(reader, 5000) if e.kind == "engine_fault"]
        last_status = ops_store.read_bot_state(reader).status
    finally:
        reader.close()
    if trade is None or trade.exit_reason is not ExitReason.STOP:
        problems.append(f"the position did not end at its stop: {trade}")
    elif (trade.exit_price - position.stop_price) * position.side.sign > 0:
        problems.append(f"stop {position.stop_price} filled at {trade.exit_price}")
    if beat.status != "fault" or not beat.halted or beat.halt_reason != EXPECTED_REASON:
        problems.append(f"heartbeat {beat.status!r}, halted {beat.halted}: {beat.halt_reason}")
    if len(faults) != 1 or "entries halted" not in faults[0].message:
        problems.append(f"engine_fault events: {[e.message for e in faults]}")
    if entries[-1].bracket_id != position.bracket_id:
        problems.append("an entry was placed after the fault")
    if last_status != "stopped":
        problems.append(f"last heartbeat after the stop: {last_status!r}")
    return problems


def engine_exception_in_position(work: Path) -> FaultResult:
    """Break the engine in a position; the stop must fill, entries halt, the beat says fault."""
    db = work / "engine_fault.db"
    bot = LiveBot(near_stop_settings(), db, "engine fault scenario", paper_broker)
    seen = asyncio.run(_run(bot))
    problems = _problems(seen, db)
    reader = connect(db, readonly=True)
    try:
        check = JournalCheck(journal_store.journal_integrity(reader))
    finally:
        reader.close()
    if check.broken():
        problems.append(f"journal invariants broken: {check.broken()}")
    beat = seen.get("heartbeat")
    return FaultResult(
        fault="engine_exception_in_position", survived=not problems, rows_lost=check.rows_lost,
        duplicate_orders=check.duplicate_orders, naked_positions=check.naked_positions,
        restart_to_first_decision_s=None, exit_codes=(seen.get("code", -1),),
        problems=tuple(problems),
        detail={"heartbeat_status": beat.status if beat else None,
                "halt_reason": beat.halt_reason if beat else None, "journal": check.counts},
    )
