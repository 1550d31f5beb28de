"""The nightly review of one trading day: proposals with evidence and a backtest, and a lesson.

Reads the day's (and the lookback's) trades with their entry decisions, the day's decisions and
LLM calls; mines typed rule proposals (``proposals``); backtests each on the journaled bars of
the last days with and without it (``gate``); stores them as ``proposed`` (or approved by
``auto`` when ``learning.auto_apply`` and the backtest improved); asks the LLM, governed, for a
short lesson. Runs as its own process (``python -m bot review``), never in the trading loop.
"""

from __future__ import annotations

import json
import logging
import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from bot.adapters.rule_book import approved_book
from bot.core.sessions import CmeSessionClock
from bot.learning.gate import bar_data, gate
from bot.learning.lesson import ask_lesson
from bot.learning.proposals import MiningLimits, Proposal, propose
from bot.llm.types import Provider
from shared.config.settings import Settings
from shared.domain.instruments import get_instrument
from shared.domain.rules import LearnedRule, RuleStatus
from shared.persistence import learning_queries, rules_store
from shared.persistence.db import write_transaction
from shared.persistence.learning_queries import ReviewTrade

logger = logging.getLogger(__name__)

AUTHOR = "review"
AUTO_AUTHOR = "auto"


@dataclass(frozen=True)
class ReviewReport:
    """What one review did."""

    day: str
    run_id: int
    trades_reviewed: int
    day_trades: int
    proposed: list[dict[str, Any]] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    expired: list[int] = field(default_factory=list)
    lesson: str | None = None
    lesson_status: str = ""

    def summary(self) -> dict[str, Any]:
        """The review run's stored summary."""
        return {"day": self.day, "trades_reviewed": self.trades_reviewed,
                "day_trades": self.day_trades, "proposed": self.proposed,
                "skipped": self.skipped, "expired": self.expired,
                "lesson_status": self.lesson_status}


def _journal_summary(day: str, trades: list[ReviewTrade], activity: Any,
                     proposals: list[Proposal]) -> dict[str, Any]:
    """What the lesson prompt is told: the day's trades, decisions, LLM use and proposals."""
    return {
        "day": day,
        "trades": [{"id": t.trade_id, "side": t.side, "trend": t.trend,
                    "volatility": t.volatility, "time_bucket": t.time_bucket,
                    "exit_reason": t.exit_reason, "pnl_usd": t.pnl_net_cents / 100,
                    "entry_confidence": t.entry_confidence,
                    "llm_call_in_force": t.llm_call_id} for t in trades][:40],
        "decisions": activity.decisions, "entries": activity.entries,
        "rejections_by_rule": activity.rejections_by_rule,
        "llm_calls": activity.llm_calls_by_status,
        "proposed_rules": [p.summary for p in proposals],
    }


def _candidate(proposal: Proposal, expires_at: datetime) -> LearnedRule:
    return LearnedRule(0, proposal.kind, proposal.bucket, expires_at,
                       proposal.params.get("min_confidence"),
                       proposal.params.get("max_hold_minutes"))


def review_day(
    conn: sqlite3.Connection, settings: Settings, day: date, clock: CmeSessionClock,
    wall_clock: Callable[[], datetime], provider: Provider | None = None,
) -> ReviewReport:
    """Review ``day`` (a CME trading day); ValueError if it is not one."""
    day_open, day_end = clock.session_bounds(day)
    wall_now = wall_clock()
    with write_transaction(conn):
        run_id = rules_store.start_review_run(conn, day.isoformat(), wall_now)
        expired = rules_store.expire_due_rules(conn, wall_now, AUTHOR)
    try:
        report = _review(conn, settings, day, (day_open, day_end), clock, wall_clock, provider,
                         run_id, expired)
    except Exception as exc:
        with write_transaction(conn):
            rules_store.finish_review_run(conn, run_id, "failed", f"{type(exc).__name__}: {exc}",
                                          {}, wall_clock())
        raise
    message = f"{len(report.proposed)} rule(s) proposed; {report.lesson_status}"
    with write_transaction(conn):
        rules_store.finish_review_run(conn, run_id, "done", message, report.summary(),
                                      wall_clock())
    logger.info("review of %s: %s", day, message)
    return report


def _review(
    conn: sqlite3.Connection, settings: Settings, day: date, bounds: tuple[datetime, datetime],
    clock: CmeSessionClock, wall_clock: Callable[[], datetime], provider: Provider | None,
    run_id: int, expired: list[int],
) -> ReviewReport:
    learning = settings.learning
    day_open, day_end = bounds
    days = clock.trading_days_through(day, learning.lookback_days)
    trades = learning_queries.review_trades(conn, clock.session_bounds(days[0])[0], day_end)
    day_trades = [t for t in trades if t.exit_ts >= day_open]
    limits = MiningLimits(learning.min_sample, learning.min_losses,
                          settings.risk.min_weighted_confidence, settings.risk.max_hold_minutes)
    proposals = propose(trades, {t.trade_id for t in day_trades}, (days[0], day), limits)
    report = ReviewReport(day.isoformat(), run_id, len(trades), len(day_trades), expired=expired)
    data, bt_days = _journaled_bars(conn, settings, clock, day, day_end)
    approved, _ = approved_book(conn, wall_clock())
    for proposal in proposals:
        _store(conn, settings, proposal, data, bt_days, approved, wall_clock, report)
    activity = learning_queries.day_activity(conn, day_open, day_end)
    journal = _journal_summary(day.isoformat(), day_trades, activity, proposals)
    if day_trades:
        text, call_id, status = ask_lesson(conn, settings, day.isoformat(), journal,
                                           wall_clock, provider)
    else:
        text, call_id, status = None, None, "no trades that day: no lesson asked"
    if text:
        with write_transaction(conn):
            rules_store.insert_lesson(conn, day.isoformat(), text, call_id, wall_clock())
    return ReviewReport(report.day, run_id, report.trades_reviewed, report.day_trades,
                        report.proposed, report.skipped, expired, text, status)


def _journaled_bars(conn: sqlite3.Connection, settings: Settings, clock: CmeSessionClock,
                    day: date, day_end: datetime) -> tuple[Any, list[str]]:
    days = clock.trading_days_through(day, settings.learning.backtest_days)
    start = clock.session_bounds(days[0])[0]
    symbol = get_instrument(settings.instrument.symbol).symbol
    bars = learning_queries.bars_between(conn, symbol, start, day_end)
    if len(bars) < 2:
        return None, [d.isoformat() for d in days]
    warm = learning_queries.bars_before(conn, symbol, start, settings.features.window_bars)
    return bar_data(warm + bars, len(warm)), [d.isoformat() for d in days]


def _store(conn: sqlite3.Connection, settings: Settings, proposal: Proposal, data: Any,
           bt_days: list[str], approved: Any, wall_clock: Callable[[], datetime],
           report: ReviewReport) -> None:
    """Backtest one proposal and store it (auto-approved when configured and it improved)."""
    learning = settings.learning
    fingerprint = proposal.fingerprint()
    existing = rules_store.open_rule_with(conn, fingerprint)
    if existing is not None:
        report.skipped.append(f"{proposal.summary}: already {existing.status.value} as rule "
                              f"#{existing.id}")
        return
    expires_at = wall_clock() + timedelta(days=learning.rule_ttl_days)
    if data is None:
        backtest, improved = {"error": "no journaled bars for the backtest days",
                              "days": bt_days}, None
    else:
        result = gate(settings, data, approved, _candidate(proposal, expires_at),
                      round(learning.min_improvement_usd * 100), bt_days)
        backtest, improved = result.document, result.improved
    new = rules_store.NewRule(
        review_day=report.day, kind=proposal.kind.value,
        params_json=json.dumps(proposal.params, sort_keys=True), fingerprint=fingerprint,
        summary=proposal.summary, evidence=proposal.evidence, backtest=backtest,
        improved=improved, expires_at=expires_at)
    status = RuleStatus.PROPOSED
    with write_transaction(conn):
        rule_id = rules_store.insert_rule(conn, new, AUTHOR, wall_clock())
        if learning.auto_apply and improved:
            gain = backtest["improvement_cents"] / 100
            rules_store.decide_rule(conn, rule_id, RuleStatus.APPROVED, AUTO_AUTHOR,
                                    f"auto-applied: the backtest improved net P&L by "
                                    f"${gain:,.2f}", wall_clock())
            status = RuleStatus.APPROVED
    report.proposed.append({"rule_id": rule_id, "kind": proposal.kind.value,
                            "summary": proposal.summary, "improved": improved,
                            "status": status.value})
