"""The live loop in process: bars -> engine -> journal, stop, bad bars, restart continues."""

from __future__ import annotations

import asyncio
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.composition import paper_broker
from bot.runtime.bar_source import open_bar_source
from bot.runtime.live import LiveBot
from shared.config.settings import Settings, settings_from_mapping
from shared.domain.models import CommandKind, CommandStatus
from shared.persistence import journal_store, ops_store
from shared.persistence.db import connect, open_database, write_transaction
from tests.support import wait_for

START = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)


def fast_settings(max_bars: int) -> Settings:
    return settings_from_mapping({
        "feed": {"speed": 1_000_000, "start": START.isoformat(), "max_bars": max_bars},
        "engine": {"heartbeat_seconds": 0.05},
    }, env={})


def run_bot(settings: Settings, db: Path) -> tuple[int, LiveBot]:
    bot = LiveBot(settings, db, "test", paper_broker)
    return asyncio.run(bot.run()), bot


def test_the_loop_decides_on_every_bar_then_stops_cleanly(tmp_path):
    db = tmp_path / "t.db"
    code, bot = run_bot(fast_settings(300), db)
    reader = connect(db, readonly=True)
    assert code == 0 and bot.bars_processed == 300
    assert len(journal_store.recent_decisions(reader, 1000)) == 300
    state = ops_store.read_bot_state(reader)
    assert state.status == "stopped" and state.bars_processed == 300


def test_a_stop_requested_before_the_first_bar_processes_none(tmp_path):
    bot = LiveBot(fast_settings(300), tmp_path / "t.db", "test", paper_broker)
    bot.request_stop()
    assert asyncio.run(bot.run()) == 0 and bot.bars_processed == 0


def test_a_bad_bar_is_skipped_counted_and_journaled(tmp_path):
    db = tmp_path / "t.db"
    bot = LiveBot(fast_settings(10), db, "test", paper_broker)
    good = next(iter_first_bar(bot))
    bot.process_bar(good)
    bot.process_bar(replace(good, ts=good.ts + timedelta(seconds=5), high=good.low - 1))
    bot.process_bar(good)  # not after the last bar
    assert bot.bad_bars == 2 and bot.bars_processed == 1
    kinds = [e.kind for e in ops_store.recent_events(connect(db, readonly=True))]
    assert kinds.count("bad_bar") == 2


def test_a_restarted_bot_continues_after_the_last_journaled_bar(tmp_path):
    db = tmp_path / "t.db"
    run_bot(fast_settings(120), db)
    last_before = journal_store.recent_bars(connect(db, readonly=True), "MES", 1)[0].ts
    code, second = run_bot(fast_settings(60), db)
    bars = journal_store.recent_bars(connect(db, readonly=True), "MES", 1000)
    assert code == 0 and second.bars_processed == 60
    assert len(bars) == 180 and bars[-60].ts > last_before
    assert len({b.ts for b in bars}) == 180


def iter_first_bar(bot: LiveBot):
    return open_bar_source(bot.settings.feed, None, lambda: START).bars


def test_a_command_from_another_connection_is_carried_out_by_the_next_polls(tmp_path):
    """Other processes' writes are looked for on a wall-clock basis, not on every call: a
    halt written by the dashboard is still carried out by ``service`` soon after, and at once
    by a forced pass."""
    db = tmp_path / "t.db"
    bot = LiveBot(fast_settings(10), db, "test", paper_broker)
    bot.service(force_heartbeat=True)
    dashboard = open_database(db)
    with write_transaction(dashboard):
        halt = ops_store.enqueue_command(dashboard, CommandKind.HALT, START)
    wait_for(lambda: bot.service() or bot.engine.risk_state.halted, 10, "the halt carried out")
    assert ops_store.command_outcome(dashboard, halt).status is CommandStatus.DONE
    with write_transaction(dashboard):
        resume = ops_store.enqueue_command(dashboard, CommandKind.RESUME, START)
    bot.service(force_heartbeat=True)  # a forced pass looks at once
    assert not bot.engine.risk_state.halted
    assert ops_store.command_outcome(dashboard, resume).status is CommandStatus.DONE
    dashboard.close()
    bot.conn.close()


def test_the_loop_checkpoints_the_wal_between_bars_so_it_stays_bounded(tmp_path):
    """Automatic checkpoints are only a backstop on the bot's connection (none run inside a
    bar's commit): the service polls' checkpoints alone keep the WAL near 1,000 pages."""
    db = tmp_path / "t.db"
    bot = LiveBot(fast_settings(1500), db, "test", paper_broker)
    reader = connect(db, readonly=True)  # open at the bot's close: the WAL file is kept as is
    assert journal_store.recent_decisions(reader, 1) == []  # (SQLite opens files lazily)
    assert asyncio.run(bot.run()) == 0 and bot.bars_processed == 1500
    assert bot.checkpointer.checkpoints >= 2
    wal_pages = (db.parent / f"{db.name}-wal").stat().st_size / (4096 + 24)  # its high mark
    assert wal_pages < 2500  # 1,500 bars write ~5,000 pages without these checkpoints
    assert len(journal_store.recent_decisions(reader, 2000)) == 1500
    reader.close()
