"""``llm.skill_scaled`` in the live bot: a reply is put in force with the skill the journal's
calls have shown by then (scored from the journaled bars), and the nudge scales with it."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.adapters.journal import SqliteJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core.engine import TradingEngine
from bot.core.llm_reply import parse_reply
from bot.core.sessions import CmeSessionClock
from bot.llm.analyst import AnalysisOutcome
from bot.llm.context import Snapshot, build_request
from bot.llm.types import CallStatus, Trigger, TriggerKind
from bot.runtime.llm_service import LlmService
from shared.config.settings import settings_from_mapping
from shared.domain.call_outcome import DEAD_BAND_POINTS, HORIZON_MINUTES, label_for
from shared.domain.instruments import get_instrument
from shared.persistence import llm_store
from shared.persistence.db import write_transaction
from tests.conftest import synthetic_bars

pytestmark = pytest.mark.unit

WRONG = {"BULLISH": "BEARISH", "BEARISH": "NEUTRAL", "NEUTRAL": "BULLISH"}
ACTIONS = {"BULLISH": "BUY", "BEARISH": "SELL", "NEUTRAL": "HOLD"}


class AnsweringWorker:
    """Stands in for the worker thread: hands back the outcomes it is given."""

    def __init__(self) -> None:
        self.outcomes: list[AnalysisOutcome] = []
        self.model = "stub"
        self.availability = (True, "stub")

    def start(self) -> None:
        return None

    def submit(self, request) -> bool:
        return True

    def results(self) -> list[AnalysisOutcome]:
        done, self.outcomes = self.outcomes, []
        return done

    def stop(self) -> None:
        return None

    def apply_settings(self, cfg) -> None:
        return None


def service_over_bars(conn: sqlite3.Connection, tmp_path: Path, scaled: bool
                      ) -> tuple[LlmService, AnsweringWorker, dict[datetime, float]]:
    settings = settings_from_mapping({"llm": {"enabled": True, "skill_scaled": scaled,
                                              "skill_min_calls": 30}}, env={})
    broker = PaperBroker(get_instrument(settings.instrument.symbol), 62, 1)
    engine = TradingEngine(settings, broker, SqliteJournal(conn), CmeSessionClock())
    worker = AnsweringWorker()
    service = LlmService(settings, conn, tmp_path / "t.db", engine, lambda: datetime.now(UTC),
                         worker=worker)  # type: ignore[arg-type]
    closes = {}
    for bar in synthetic_bars(4000):  # 333 minutes of 5-second bars, journaled
        engine.on_bar(bar)
        closes[bar.ts] = bar.close
    return service, worker, closes


def log_calls(conn, closes: dict[datetime, float], right: bool) -> None:
    """Forty answered calls about journaled bars, all right or all wrong."""
    times = [t for t in sorted(closes) if t + timedelta(minutes=HORIZON_MINUTES) in closes]
    for at in times[::80][:40]:  # spread over the session: moves both ways
        truth = label_for(closes[at + timedelta(minutes=HORIZON_MINUTES)] - closes[at],
                          DEAD_BAND_POINTS).bias
        bias = truth if right else WRONG[truth]
        request = build_request(Trigger(TriggerKind.VOLATILITY_SPIKE, at, {}),
                                Snapshot("MES", at.isoformat(), 5000.0, {}, {}, {}, None, 0.0))
        now = datetime.now(UTC)
        call = llm_store.CallRequest(now, now.date().isoformat(), "volatility_spike", "{}",
                                     None, "bedrock", "m", request.template_version,
                                     f"h{at.timestamp()}", request.system, request.user, "bias")
        with write_transaction(conn):
            reservation = llm_store.reserve_call(conn, call, 0.0,
                                                 llm_store.Limits(1000, 10.0, 0.8))
            llm_store.settle_call(conn, reservation.call_id, llm_store.Settlement(
                "ok", "{}", "", "", 1, 1, 0, 0, 0.0, 1.0, 0, bias, 0.8, ACTIONS[bias], now))


def put_in_force(service: LlmService, worker: AnsweringWorker) -> float:
    reply, _ = parse_reply({"bias": "BULLISH", "confidence": 0.8, "action": "BUY",
                            "rationale": "", "key_factors": [], "risk_notes": ""})
    trigger = Trigger(TriggerKind.MANUAL, service.engine.last_bar.ts, {})
    worker.outcomes.append(AnalysisOutcome(99, trigger, CallStatus.OK, reply, 0.0, ""))
    assert service.service() >= 1
    return service.engine.llm_bias.skill


@pytest.mark.parametrize(("right", "scaled"), [(False, True), (True, True), (False, False)])
def test_the_bias_carries_the_skill_the_journal_has_shown(conn, tmp_path, right, scaled):
    service, worker, closes = service_over_bars(conn, tmp_path, scaled)
    log_calls(conn, closes, right)
    skill = put_in_force(service, worker)
    if not scaled:
        assert skill == 1.0, "skill_scaled off: the nudge is as before"
    elif right:
        assert skill > 0.5, "forty calls all right clear the base rate"
    else:
        assert skill == 0.0, "forty calls all wrong: no influence left"
