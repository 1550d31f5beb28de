"""The per-signal gate live: engine, LLM service and the real worker against the fake Bedrock.

Each candidate is asked once (one HTTP request), its answer decides it on the next bar, and once
the day's call quota is spent the candidates follow the fail mode without a request.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from bot.adapters.journal import SqliteJournal
from bot.adapters.paper_broker import PaperBroker
from bot.core.engine import TradingEngine
from bot.core.llm_gate import GATE_FAIL_RULE, GATE_RULE, GATE_WAIT_RULE
from bot.core.sessions import CmeSessionClock
from bot.llm.bedrock import BedrockProvider
from bot.llm.worker import LlmWorker
from bot.runtime.llm_service import LlmService
from shared.config.settings import settings_from_mapping
from shared.domain.instruments import get_instrument
from shared.domain.models import DecisionRecord, Verdict
from shared.persistence import llm_store, ops_store
from shared.persistence.db import connect, open_database
from tests.conftest import synthetic_bars
from tests.fakellm.server import FakeLlmServer
from tests.support import wait_for

pytestmark = pytest.mark.integration

BARS = 900


def gate_settings(url: str, quota: int):
    return settings_from_mapping({
        "risk": {"max_hold_minutes": 10, "max_trades_per_day": 40,
                 "cooldown_after_loss_minutes": 1},
        "events": {"triggers": []},
        "llm": {"enabled": True, "provider": "bedrock", "bedrock_endpoint_url": url,
                "timeout_s": 10, "max_attempts": 1, "reply_cache_minutes": 0,
                "daily_call_quota": quota, "gate": "candidates", "gate_wait_bars": 1,
                "gate_decisive_confidence": 1.0, "gate_fail_mode": "closed",
                "gate_cooldown_minutes": 0, "gate_max_per_hour": 60}}, env={})


def is_new_ask(record: DecisionRecord) -> bool:
    return record.risk_rule == GATE_WAIT_RULE


def run_live(db: Path, url: str, quota: int) -> tuple[list[DecisionRecord], int]:
    """Bars through engine + service; after each ask, wait for its answer to come back."""
    settings = gate_settings(url, quota)
    conn = open_database(db)
    broker = PaperBroker(get_instrument(settings.instrument.symbol), 62, 1)
    engine = TradingEngine(settings, broker, SqliteJournal(conn), CmeSessionClock())
    worker = LlmWorker(db, settings.llm, lambda: datetime.now(UTC), BedrockProvider)
    service = LlmService(settings, conn, db, engine, lambda: datetime.now(UTC), worker=worker)
    records = []
    try:
        wait_for(lambda: worker.availability[0], 30, "the LLM worker to start")
        for bar in synthetic_bars(BARS):
            record = engine.on_bar(bar)
            service.after_bar(record)
            records.append(record)
            if is_new_ask(record):
                wait_for(lambda: service.service() > 0, 30, "the gate's answer")
    finally:
        service.stop()
        conn.close()
    return records, len([r for r in records if is_new_ask(r)])


def test_each_candidate_is_asked_once_and_quota_exhaustion_follows_the_fail_mode(
        tmp_path, aws_env):
    db = tmp_path / "t.db"
    with FakeLlmServer() as fake:  # every reply: BULLISH 0.8
        records, asks = run_live(db, fake.url, quota=3)
        requests = fake.count("/converse")
    assert asks >= 5, "the synthetic market should propose several candidates"
    assert requests == 3  # one request per candidate until the quota ran out
    decided = [r for r in records if r.risk_rule in (GATE_RULE, GATE_FAIL_RULE)
               or (r.verdict is Verdict.ENTER and any("llm gate" in x for x in r.reasons))]
    rules = [r.risk_rule for r in decided]
    assert len(decided) == asks  # every ask decided its candidate on the next bar
    answered, failed = decided[:3], decided[3:]
    for record in answered:  # the model's answer (BULLISH 0.8): a long goes, a short not
        note = " ".join(record.reasons)
        assert "(call " in note, note
        if "lets long go" in note:
            assert record.verdict is Verdict.ENTER and record.bracket_id is not None, note
        else:
            assert record.risk_rule == GATE_RULE and "disagrees with short" in note, note
    assert {r.verdict for r in answered} == {Verdict.ENTER, Verdict.REJECT}  # both answers seen
    assert set(rules[3:]) == {GATE_FAIL_RULE}
    assert all("quota" in " ".join(r.reasons) for r in failed)
    conn = connect(db, readonly=True)
    calls = llm_store.recent_calls(conn, 100)
    assert sum(c.status == "ok" for c in calls) == 3
    answers = [e for e in ops_store.recent_events(conn, 10_000) if e.kind == "llm_gate_answer"]
    assert len(answers) == asks  # each answer journaled once, the advisory notes with it
    assert sum("advisory only, not used" in e.message for e in answers) == 3
