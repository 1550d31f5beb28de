"""The LLM page's calibration section (AppTest) over a real paper run's journaled bars.

Forty answered calls about bars of the run, 30 naming the move that followed and 10 not, are
logged through the call log's own functions; the page must score them (75 %), explain it in one
line, and draw the reliability diagram and the breakdown tables. The live bot's incremental
ledger (``llm.skill_scaled``) must read the same figures from the same journal.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.llm.context import Snapshot, build_request
from bot.llm.types import Trigger, TriggerKind
from bot.runtime.llm_ledger import JournalLedger
from dashboard.llm_calibration import ledger
from shared.domain.calibration import calibration, skill
from shared.domain.call_outcome import DEAD_BAND_POINTS, HORIZON_MINUTES, label_for
from shared.persistence import journal_store, llm_store
from shared.persistence.db import connect, write_transaction
from tests.pages import apptest
from tests.pages.conftest import shown

pytestmark = pytest.mark.integration

WRONG = {"BULLISH": "BEARISH", "BEARISH": "NEUTRAL", "NEUTRAL": "BULLISH"}
LIMITS = llm_store.Limits(10_000, 1000.0, 0.8)
SYMBOL = "MES"  # the paper run's instrument


def log_call(conn, symbol: str, at: datetime, bias: str, confidence: float) -> None:
    trigger = Trigger(TriggerKind.VOLATILITY_SPIKE, at, {})
    request = build_request(trigger, Snapshot(symbol, at.isoformat(), 5000.0, {}, {}, {}, None,
                                              0.0))
    now = datetime.now(UTC)
    call = llm_store.CallRequest(now, now.date().isoformat(), trigger.kind.value, "{}", None,
                                 "bedrock", "model-a", request.template_version,
                                 f"h{at.timestamp()}", request.system, request.user, "bias")
    with write_transaction(conn):
        reservation = llm_store.reserve_call(conn, call, 0.001, LIMITS)
        llm_store.settle_call(conn, reservation.call_id, llm_store.Settlement(
            "ok", "{}", "", "end_turn", 100, 20, 0, 0, 0.001, 5.0, 0, bias, confidence,
            {"BULLISH": "BUY", "BEARISH": "SELL", "NEUTRAL": "HOLD"}[bias], now))


@pytest.fixture
def scored_journal(app_env):
    conn = connect(app_env["db"])
    try:
        closes = {bar.ts: bar.close for bar in journal_store.recent_bars(conn, SYMBOL, 100_000)}
        times = sorted(closes)
        chosen = [t for t in times if t + timedelta(minutes=HORIZON_MINUTES) in closes][::20][:40]
        assert len(chosen) == 40, len(times)
        for i, at in enumerate(chosen):
            truth = label_for(closes[at + timedelta(minutes=HORIZON_MINUTES)] - closes[at],
                              DEAD_BAND_POINTS).bias
            log_call(conn, SYMBOL, at, truth if i % 4 else WRONG[truth], 0.75)
    finally:
        conn.close()
    return app_env | {"last_bar": times[-1]}


def test_the_page_scores_the_calls_and_draws_the_reliability_diagram(scored_journal):
    app = apptest.open_page("app_pages/llm.py")
    assert not app.exception
    text = " ".join(shown(t.value) for t in app.text)
    assert "Right 75% of 40 scored calls" in text, text
    assert "mean confidence of 75%" in text and "Brier" in text
    assert app.get("plotly_chart"), "the reliability diagram"
    assert any(c.value == "By model and mode" for c in app.caption)
    frames = [d.value for d in app.dataframe]
    by_model = next(f for f in frames if "model · mode" in f.columns)
    assert list(by_model["model · mode"]) == ["model-a · bias"]
    assert list(by_model["calls"]) == [40]


def test_the_live_ledger_reads_the_same_figures_from_the_journal(scored_journal):
    conn = connect(scored_journal["db"])
    try:
        live = JournalLedger(conn)
        skill_now = live.skill_at(scored_journal["last_bar"], min_calls=30)
        page_scored = ledger(conn)[0]
        before_any = JournalLedger(conn).skill_at(datetime(2000, 1, 1, tzinfo=UTC), 30)
    finally:
        conn.close()
    figures, page = calibration(live.scored), calibration(page_scored)
    assert (figures.calls, figures.hits) == (page.calls, page.hits) == (40, 30)
    assert skill_now == skill(page_scored, 30), "every horizon had ended by the last bar"
    assert before_any == 0.0, "no call's horizon had ended then: no look-ahead"

