"""The per-bar fault guard on a real live bot (paper broker, SQLite journal): an exception
halts entries once, keeps the bars flowing to the broker and the journal, and Resume ends it."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.composition import paper_broker
from bot.runtime.bar_source import open_bar_source
from bot.runtime.engine_guard import _BarMarkingBroker
from bot.runtime.live import LiveBot
from shared.config.settings import settings_from_mapping
from shared.persistence import journal_store, ops_store
from shared.persistence.db import connect

pytestmark = pytest.mark.unit

START = datetime(2025, 3, 3, 14, 30, tzinfo=UTC)


def boom() -> None:
    raise ZeroDivisionError("division by zero")


def test_a_fault_halts_once_keeps_bars_flowing_and_resume_ends_it(tmp_path):
    db = tmp_path / "t.db"
    settings = settings_from_mapping({"feed": {"start": START.isoformat()}}, env={})
    bot = LiveBot(settings, db, "test", paper_broker)
    bars = iter(open_bar_source(settings.feed, None, lambda: START).bars)
    for _ in range(3):
        bot.process_bar(next(bars))
    assert bot.guard.status("running") == "running"

    failed = [next(bars) for _ in range(3)]
    for bar in failed:
        assert bot.guard.on_bar(bar, before=boom) is None
    assert bot.guard.status("running") == "fault" and bot.guard.status("stopped") == "stopped"
    assert bot.engine.risk_state.halted
    assert bot.engine.risk_state.halt_reason == ("engine fault: ZeroDivisionError: division "
                                                 "by zero")
    assert bot.engine.last_bar == failed[-1] and bot.guard.fault.bars_failed == 3
    reader = connect(db, readonly=True)
    stored = [b.ts for b in journal_store.recent_bars(reader, "MES", 10)]
    assert stored[-3:] == [b.ts for b in failed]  # charted, and the clock moved past them
    bot.service(force_heartbeat=True)
    assert ops_store.read_bot_state(reader).status == "fault"

    bot.engine.resume(failed[-1].ts)  # what the dashboard's Resume does
    assert bot.guard.status("running") == "running"
    bot.process_bar(next(bars))  # the engine works again
    assert bot.guard.on_bar(next(bars), before=boom) is None  # a new fault, a new incident
    faults = [e for e in ops_store.recent_events(reader, 100) if e.kind == "engine_fault"]
    assert len(faults) == 2 and bot.guard.status("running") == "fault"
    reader.close()


class _Broker:
    """A stand-in broker: one method, one value that changes."""

    def __init__(self) -> None:
        self.connected = False
        self.bars: list[object] = []

    def on_bar(self, bar: object) -> None:
        self.bars.append(bar)

    def position(self) -> str:
        return f"{len(self.bars)} bars"


def test_the_bar_marking_broker_reads_values_live_and_methods_of_the_broker():
    broker = _Broker()
    marking = _BarMarkingBroker(broker)
    assert marking.position() == "0 bars" and marking.connected is False
    broker.connected = True  # a value is read from the broker on every access
    marking.on_bar(type("B", (), {"ts": START})())
    assert marking.connected is True and marking.position() == "1 bars"
    assert marking.last_bar_ts == START and len(broker.bars) == 1
