"""Protections acting in backtests on real ES minutes (the 2025 file in ../shared/data).

The release blackout refuses exactly the entries decided within the window around the CPI of
Friday Oct 24 2025, 08:30 ET (September's CPI, delayed by the shutdown; listed in the shipped
calendar), and nothing outside it.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from bot.backtest.engine_run import run_engine
from bot.backtest.runner import build_settings, load_data
from bot.core.protections import ProtectionRule
from shared.config.backtest_request import BacktestRequest
from shared.config.protections import ProtectionsConfig
from shared.domain.models import Verdict

pytestmark = pytest.mark.integration

CPI_AT = datetime(2025, 10, 24, 12, 30, tzinfo=UTC)
WINDOW = timedelta(minutes=45)


def _decisions(shared_data, protections: dict):
    request = BacktestRequest(data=str(shared_data / "ES_1min_2025-08-31_2025-11-03_utc.csv"),
                              tz="UTC", start="2025-10-23", end="2025-10-24")
    settings = build_settings(request)
    data = load_data(request, settings)
    settings = settings.model_copy(update={
        "feed": settings.feed.model_copy(update={"bar_seconds": data.bar_seconds}),
        "protections": ProtectionsConfig(**protections)})
    return run_engine(settings, data, keep_decisions=True).decisions


def test_the_blackout_refuses_the_entries_around_a_real_cpi_release(shared_data):
    off = _decisions(shared_data, {})
    on = _decisions(shared_data, {"blackout_events": ["CPI"], "blackout_before_minutes": 45,
                                  "blackout_after_minutes": 45})
    inside = [d.ts for d in off
              if d.verdict is Verdict.ENTER and abs(d.ts - CPI_AT) <= WINDOW]
    assert len(inside) >= 2  # the default config enters twice around that CPI
    refused = [d for d in on if d.risk_rule == ProtectionRule.BLACKOUT]
    assert {d.ts for d in refused} >= set(inside)
    assert all(abs(d.ts - CPI_AT) <= WINDOW and d.verdict is Verdict.REJECT for d in refused)
    assert all("CPI at 2025-10-24 08:30 ET" in d.reasons[-1] for d in refused)
    assert not [d for d in on if d.verdict is Verdict.ENTER and abs(d.ts - CPI_AT) <= WINDOW]
    # outside the window the two runs decide alike until the first entry that differs
    first_change = min(inside)
    assert [(d.ts, d.verdict) for d in off if d.ts < first_change] == [
        (d.ts, d.verdict) for d in on if d.ts < first_change]
