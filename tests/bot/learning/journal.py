"""Seeded journals for the learning tests: the engine run over synthetic bars into SQLite."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bot.backtest.data import BarData
from bot.backtest.engine_run import run_engine
from bot.learning.gate import bar_data
from shared.config.settings import Settings, settings_from_mapping
from shared.domain.models import Bar
from shared.persistence import journal_store
from shared.persistence.db import open_database, write_transaction
from tests.conftest import synthetic_bars

SESSION_OPEN = datetime(2025, 3, 2, 23, 0, tzinfo=UTC)  # trading day 2025-03-03 opens
DAY = "2025-03-03"
LOOSE_RISK = {"max_hold_minutes": 10, "max_trades_per_day": 60, "max_consecutive_losses": 50,
              "cooldown_after_loss_minutes": 0}


def journal_settings(extra: dict[str, Any] | None = None) -> Settings:
    """Settings of the seeded day: loose risk limits so the day has many trades."""
    return settings_from_mapping({"risk": LOOSE_RISK, **(extra or {})})


def day_bars(count: int = 16_000, seed: int = 7) -> list[Bar]:
    """Synthetic 5-second bars from the session open of trading day 2025-03-03."""
    return synthetic_bars(count, seed=seed, start=SESSION_OPEN)


MULTI_DAY_SECONDS = 60
REVIEWED_DAY = "2025-03-12"  # the last of the eight trading days of ``multi_day_bars``


def multi_day_settings(extra: dict[str, Any] | None = None) -> Settings:
    """Loose risk, 1-minute bars; the review mines 5 days and gates the last 3."""
    learning = {"lookback_days": 5, "backtest_days": 3, "min_sample": 10,
                "gate_permutations": 500, **(extra or {}).get("learning", {})}
    return settings_from_mapping({"risk": LOOSE_RISK, "feed": {"bar_seconds": MULTI_DAY_SECONDS},
                                  **(extra or {}), "learning": learning})


def multi_day_bars(seed: int = 11, days: int = 8) -> list[Bar]:
    """Synthetic 1-minute bars of ``days`` trading days from 2025-03-03 (about 30 trades a day)."""
    from itertools import islice

    from bot.adapters.feeds.synthetic import SyntheticMarket

    market = SyntheticMarket(seed, SESSION_OPEN, 5000.0, MULTI_DAY_SECONDS)
    return list(islice(market.iter_bars(), 1380 * days))


def engine_data(bars: list[Bar]) -> BarData:
    return bar_data(bars, 0)


def seed_journal(db: Path, settings: Settings, bars: list[Bar]) -> int:
    """Run the engine (the backtester's, same decisions) and journal bars, decisions, trades."""
    outcome = run_engine(settings, engine_data(bars), keep_decisions=True)
    conn = open_database(db)
    now = datetime.now(UTC)
    with write_transaction(conn):
        journal_store.insert_bars(conn, settings.instrument.symbol, bars)
        journal_store.insert_decisions(conn, list(outcome.decisions), now)
        for trade in outcome.trades:
            journal_store.insert_trade(conn, trade, now)
    conn.close()
    return len(outcome.trades)


class ScriptedProvider:
    """A provider answering every prompt with one fixed bias (no network)."""

    name = "fake"
    model = "anthropic.claude-3-haiku-20240307-v1:0"

    def __init__(self, reply: dict[str, Any]) -> None:
        self.reply = reply
        self.calls = 0

    def availability(self) -> tuple[bool, str]:
        return True, "scripted"

    def complete_json(self, system: str, user: str, schema: dict[str, Any]):
        from bot.llm.types import CallStatus, ProviderResult, Usage

        self.calls += 1
        return ProviderResult(CallStatus.OK, dict(self.reply), json.dumps(self.reply),
                              Usage(1000, 100), 5.0, "tool_use")


BULLISH = {"bias": "BULLISH", "confidence": 0.8, "action": "BUY", "rationale": "momentum",
           "key_factors": ["trend up"], "risk_notes": "none"}


def seed_journal_with_llm(db: Path, settings: Settings, bars: list[Bar], every: int = 2,
                          reply: dict[str, Any] | None = None, asked: int = 1) -> dict:
    """Seed a journal whose every ``every``-th entry had a (governed, logged) LLM call in force.

    The calls are real analyst calls against a scripted provider answering ``reply`` (default
    BULLISH), each prompt asked ``asked`` times (repeats are logged too); the entry decisions
    carry the last call's id as the live engine records them (``DecisionRecord.llm_call_id``).
    """
    from dataclasses import replace

    from bot.llm.analyst import Analyst
    from bot.llm.context import Snapshot, build_request
    from bot.llm.types import Trigger, TriggerKind
    from shared.domain.models import Verdict

    outcome = run_engine(settings, engine_data(bars), keep_decisions=True)
    conn = open_database(db)
    now = datetime.now(UTC)
    analyst = Analyst(conn, settings.llm, ScriptedProvider(reply or BULLISH), lambda: now)
    decisions, calls = [], {}
    entries = 0
    for decision in outcome.decisions:
        if decision.verdict is Verdict.ENTER:
            entries += 1
            if entries % every == 0:
                snapshot = Snapshot(decision.symbol, decision.ts.isoformat(), decision.close,
                                    {}, {}, {"action": decision.signal_action.value}, None, 0.0)
                request = build_request(Trigger(TriggerKind.VOLATILITY_SPIKE, decision.ts,
                                                {"n": entries}), snapshot)
                for _ in range(asked):
                    result = analyst.analyze(request)
                decision = replace(decision, llm_call_id=result.call_id)
                calls[decision.bracket_id] = result.call_id
        decisions.append(decision)
    with write_transaction(conn):
        journal_store.insert_bars(conn, settings.instrument.symbol, bars)
        journal_store.insert_decisions(conn, decisions, now)
        for trade in outcome.trades:
            journal_store.insert_trade(conn, trade, now)
    conn.close()
    return calls
