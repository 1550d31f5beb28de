"""The governor: atomic reservations shared by processes, 80% warnings, cost arithmetic."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.core.llm_reply import reply_json_schema
from bot.llm.cost import cost_usd, price_for, reserve_usd
from bot.llm.types import Usage
from shared.config.settings import LlmConfig
from shared.persistence import llm_store
from shared.persistence.db import connect, write_transaction
from tests.bot.llm.conftest import request
from tests.bot.llm.governor_proc import MODEL
from tests.fakellm.server import FakeLlmServer, Step
from tests.support import REPO_ROOT, migrated_journal, open_migrated_journal, wait_for

PROCESSES, THREADS, CALLS = 2, 4, 6


def run_callers(tmp_path: Path, fake: FakeLlmServer, quota: int, limit_usd: float) -> Path:
    db = tmp_path / "trader.db"
    migrated_journal(db)
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    procs = [
        subprocess.Popen([sys.executable, "-m", "tests.bot.llm.governor_proc", str(db),
                          fake.url, str(THREADS), str(CALLS), str(quota), str(limit_usd),
                          str(tmp_path)], cwd=REPO_ROOT, env=env)
        for _ in range(PROCESSES)
    ]
    wait_for(lambda: len(list(tmp_path.glob("ready-*"))) == PROCESSES, 60, "callers ready")
    (tmp_path / "go").touch()
    for proc in procs:
        assert proc.wait(timeout=120) == 0
    return db


def statuses(db: Path) -> dict[str, int]:
    conn = connect(db, readonly=True)
    try:
        counts: dict[str, int] = {}
        for row in llm_store.recent_calls(conn, 10_000):
            counts[row.status] = counts.get(row.status, 0) + 1
        return counts
    finally:
        conn.close()


@pytest.mark.integration
def test_two_processes_never_exceed_the_call_quota(tmp_path):
    with FakeLlmServer() as fake:
        db = run_callers(tmp_path, fake, quota=13, limit_usd=1000.0)
        sent = fake.count("/converse")
    counts = statuses(db)
    assert sent == 13 and counts == {"ok": 13, "refused": PROCESSES * THREADS * CALLS - 13}
    conn = connect(db, readonly=True)
    day = llm_store.recent_calls(conn, 1)[0].day
    assert llm_store.daily_usage(conn, day).calls == 13


@pytest.mark.integration
def test_two_processes_never_exceed_the_dollar_limit(tmp_path):
    cfg = LlmConfig()
    price = price_for(MODEL, cfg, "bedrock")
    req = request("same prompt")
    prompt_text = req.system + req.user + json.dumps(reply_json_schema())
    per_call = reserve_usd(prompt_text, cfg.max_output_tokens, price, MODEL)
    worst_tokens = len(prompt_text.encode()) + 1000
    # the fake bills exactly the reservation, so the limit admits exactly 7 calls
    step = Step(input_tokens=worst_tokens, output_tokens=cfg.max_output_tokens)
    assert cost_usd(Usage(worst_tokens, cfg.max_output_tokens), price, MODEL) == per_call
    with FakeLlmServer(step) as fake:
        db = run_callers(tmp_path, fake, quota=1000, limit_usd=per_call * 7.5)
        sent = fake.count("/converse")
    assert sent == 7 and statuses(db)["ok"] == 7
    conn = connect(db, readonly=True)
    rows = llm_store.recent_calls(conn, 10_000)
    assert sum(r.cost_usd for r in rows) <= per_call * 7.5


def _req(conn_day: str = "2026-01-02") -> llm_store.CallRequest:
    from datetime import UTC, datetime

    return llm_store.CallRequest(datetime(2026, 1, 2, tzinfo=UTC), conn_day, "manual", "{}",
                                 None, "bedrock", MODEL, "v", "h", "s", "u")


def test_warning_at_80_percent_once(tmp_path):
    conn = open_migrated_journal(tmp_path / "t.db")
    limits = llm_store.Limits(call_quota=5, cost_limit_usd=100.0, warn_fraction=0.8)
    with write_transaction(conn):
        warnings = [llm_store.reserve_call(conn, _req(), 1.0, limits).warnings for _ in range(5)]
    assert [len(w) for w in warnings] == [0, 0, 0, 1, 0]
    assert "4 of 5" in warnings[3][0]


def test_settlement_replaces_the_reservation_with_the_actual_cost(tmp_path):
    from datetime import UTC, datetime

    conn = open_migrated_journal(tmp_path / "t.db")
    limits = llm_store.Limits(call_quota=5, cost_limit_usd=1.0, warn_fraction=0.8)
    with write_transaction(conn):
        first = llm_store.reserve_call(conn, _req(), 0.6, limits)
    with write_transaction(conn):
        refused = llm_store.reserve_call(conn, _req(), 0.6, limits)
    assert first.granted and not refused.granted and "cost limit" in refused.reason
    with write_transaction(conn):
        llm_store.settle_call(conn, first.call_id, llm_store.Settlement(
            "ok", "{}", "", "tool_use", 10, 10, 0, 0, 0.1, 5.0, 0, "BULLISH", 0.5, "BUY",
            datetime(2026, 1, 2, tzinfo=UTC)))
    assert llm_store.daily_usage(conn, "2026-01-02").cost_usd == pytest.approx(0.1)
    with write_transaction(conn):
        assert llm_store.reserve_call(conn, _req(), 0.6, limits).granted


def test_calls_left_pending_by_a_dead_process_are_closed_at_their_reserved_cost(tmp_path):
    from datetime import UTC, datetime, timedelta

    conn = open_migrated_journal(tmp_path / "t.db")
    limits = llm_store.Limits(call_quota=5, cost_limit_usd=10.0, warn_fraction=0.8)
    with write_transaction(conn):
        stale = llm_store.reserve_call(conn, _req(), 0.25, limits)
    closed_at = datetime(2026, 1, 2, 1, tzinfo=UTC)
    with write_transaction(conn):
        assert llm_store.abandon_pending(conn, closed_at - timedelta(minutes=30), closed_at) == 1
    row = llm_store.recent_calls(conn)[0]
    assert (row.call_id, row.status, row.cost_usd) == (stale.call_id, "timeout", 0.25)
    assert llm_store.daily_usage(conn, "2026-01-02").cost_usd == pytest.approx(0.25)
