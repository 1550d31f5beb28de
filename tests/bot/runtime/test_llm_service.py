"""The live LLM glue: a dropped trigger starts no cooldown; manual triggers answer plainly."""

from __future__ import annotations

import sqlite3
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from bot.adapters.journal import SqliteJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core.engine import TradingEngine
from bot.core.sessions import CmeSessionClock
from bot.llm.analyst import AnalysisRequest
from bot.runtime.llm_service import NO_DECISION, QUEUE_FULL, LlmService
from shared.config.settings import settings_from_mapping
from shared.domain.errors import CommandRejected
from shared.domain.instruments import get_instrument
from shared.persistence import ops_store
from tests.conftest import synthetic_bars


class StubWorker:
    """Stands in for the worker thread: its queue is full until ``accept`` is set."""

    def __init__(self) -> None:
        self.accept = False
        self.submitted: list[AnalysisRequest] = []
        self.model = "stub"
        self.availability = (True, "stub")

    def start(self) -> None:
        return None

    def submit(self, request: AnalysisRequest) -> bool:
        if self.accept:
            self.submitted.append(request)
        return self.accept

    def results(self) -> list[Any]:
        return []

    def stop(self) -> None:
        return None


def make_service(conn: sqlite3.Connection, tmp_path: Path) -> tuple[LlmService, StubWorker]:
    settings = settings_from_mapping({
        "llm": {"enabled": True},
        "events": {"triggers": ["volatility_spike"], "volatility_spike_atr_ratio": 2.0,
                   "cooldown_minutes": 30}}, env={})
    broker = PaperBroker(get_instrument(settings.instrument.symbol), 62, 1)
    engine = TradingEngine(settings, broker, SqliteJournal(conn), CmeSessionClock())
    worker = StubWorker()
    service = LlmService(settings, conn, tmp_path / "t.db", engine, lambda: datetime.now(UTC),
                         worker=worker)  # type: ignore[arg-type]
    return service, worker


def spike_bar(service: LlmService, bar) -> None:
    """Decide on ``bar`` with its ATR made three times its baseline, then run the detector."""
    record = service.engine.on_bar(bar)
    features = service.engine.last_features
    service.engine.last_features = replace(features, atr_points=3.0, atr_baseline_points=1.0)
    service.after_bar(record)


def event_kinds(conn: sqlite3.Connection) -> list[str]:
    return [e.kind for e in reversed(ops_store.recent_events(conn, 1000))]


def test_a_manual_trigger_before_the_first_decision_says_so(conn, tmp_path):
    service, worker = make_service(conn, tmp_path)
    worker.accept = True
    with pytest.raises(CommandRejected) as refused:
        service.manual({"notes": "now"}, 1, datetime(2025, 3, 3, 16, tzinfo=UTC))
    assert str(refused.value) == NO_DECISION and worker.submitted == []


def test_a_trigger_dropped_by_a_full_queue_starts_no_cooldown(conn, tmp_path):
    service, worker = make_service(conn, tmp_path)
    bars = synthetic_bars(4)
    spike_bar(service, bars[0])
    spike_bar(service, bars[1])
    assert service.detector.cooldowns(bars[1].ts) == {}, "dropped twice: no cooldown"
    assert event_kinds(conn).count("llm_trigger_dropped") == 1, "journaled once, not per bar"
    with pytest.raises(CommandRejected) as refused:
        service.manual({}, 7, bars[1].ts)
    assert str(refused.value) == QUEUE_FULL
    worker.accept = True
    spike_bar(service, bars[2])
    assert [r.trigger.kind.value for r in worker.submitted] == ["volatility_spike"]
    spike_bar(service, bars[3])
    assert len(worker.submitted) == 1, "now the cooldown runs"
    assert "volatility_spike" in service.detector.cooldowns(bars[3].ts)
    assert event_kinds(conn).count("llm_trigger") == 1
